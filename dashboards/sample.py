"""Synthetic, deterministic rows for the boards' tests and benchmark.

TEST AND BENCHMARK DATA ONLY. The sentiment here is a deterministic function of a
rating or score plus seeded noise, not the output of a model; the risks, alerts and
metrics follow the 0003 schema but are made up. It exists so that every panel's SQL
can be run against a filled store without running Kafka, the scorer and the learners.

What it guarantees (the tests rely on it):

* five teams, one of them (``team-legal``) with 4 members: below the minimum group
  size, so it must never appear on a board;
* customer sentiment per channel with a negative spike on ``chat``;
* rows in every table a panel reads: events_scored (and, through its materialized
  view, sentiment_minute), risk_latest, alerts_audit, alert_outcomes (people's outcomes of
  about two alerts in three, some alerts without any), metrics_daily (including rows
  for the small team, which the boards must hide), pipeline_health, consumer_lag,
  dead_letters, bias_audit_daily (the real audit over made-up customers; the ``enterprise``
  plan alerted more often among those who stay) and drift_events (a real watcher over a
  made-up series that shifts on ``chat``).

>>> cfg = SampleConfig(events=1000, end=datetime(2026, 11, 1, tzinfo=timezone.utc))
>>> cfg.start.isoformat(), cfg.end.isoformat()
('2026-10-18T00:00:00+00:00', '2026-11-01T00:00:00+00:00')

By default the sample ends at today's midnight (UTC): the store's TTLs (30 days for
pipeline_health and consumer_lag, 90 for raw text) would expire rows dated at a fixed day.

>>> SampleConfig().end == today_utc() and today_utc().hour == 0
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

TEAMS = {"team-support": 24, "team-sales": 15, "team-engineering": 30, "team-operations": 8, "team-legal": 4}
SMALL_TEAM = "team-legal"
CHANNELS = ["email", "chat", "phone", "web", "app_store"]
PRODUCTS = ["core", "mobile", "billing"]
KINDS = ["review", "ticket", "chat", "hr", "account"]
KIND_P = [0.18, 0.34, 0.26, 0.14, 0.08]
SPIKE_CHANNEL = "chat"
MODEL_VERSION = "sample-test-data"
DL_REASONS = ["malformed_json", "missing_field", "wrong_type", "text_too_large", "naive_timestamp", "unknown_kind"]
STAGES = ["validate", "score", "sink"]
TOPICS = ["events.review", "events.ticket", "events.chat", "events.hr", "events.account", "scored.text"]

CHURN_REASONS = ["3 negative tickets in 14 days", "CSAT fell below 3", "usage down 40% month over month",
                 "downgraded plan", "no reply to last 2 tickets", "negative app-store review"]
BURNOUT_REASONS = ["overtime 10 h/week above team median", "pulse 'workload' at 2/5", "no leave in 90 days",
                   "comment sentiment falling"]


#: Mean burnout risk per team (the sample's risks scatter around it).
BURNOUT_BASE = {"team-support": 0.35, "team-sales": 0.2, "team-engineering": 0.55, "team-operations": 0.3,
                "team-legal": 0.6}


def today_utc() -> datetime:
    """Today's midnight, UTC."""
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class SampleConfig:
    events: int = 20_000
    seed: int = 7
    days: int = 14
    end: datetime = field(default_factory=lambda: today_utc())
    pipeline_minutes: int = 60

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


def employees() -> dict[str, list[str]]:
    """Pseudonymised-looking employee ids per team (stable)."""
    return {team: ["emp-" + hashlib.sha1(f"{team}/{i}".encode()).hexdigest()[:12] for i in range(n)]
            for team, n in TEAMS.items()}


def _probs(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p_pos = 0.9 * (1 + s) ** 2 / 4 + 0.033
    p_neg = 0.9 * (1 - s) ** 2 / 4 + 0.033
    return p_neg, 1.0 - p_pos - p_neg, p_pos


def event_frame(cfg: SampleConfig):
    """The events_scored rows as a pandas DataFrame (column-oriented: fast for 1M rows)."""
    import pandas as pd

    rng = np.random.default_rng(cfg.seed)
    n = cfg.events
    span = cfg.days * 86400.0
    kind = rng.choice(len(KINDS), size=n, p=KIND_P)
    t = np.sort(rng.uniform(0, span, size=n))
    occurred = pd.Timestamp(cfg.start) + pd.to_timedelta(np.round(t * 1000).astype("int64"), unit="ms")
    ingested = occurred + pd.to_timedelta(rng.integers(200, 5000, size=n), unit="ms")

    n_cust = max(100, n // 40)
    cust_idx = rng.zipf(1.3, size=n) % n_cust
    emps = employees()
    all_emp = [e for team in TEAMS for e in emps[team]]
    emp_team = [team for team in TEAMS for _ in emps[team]]
    emp_idx = rng.integers(0, len(all_emp), size=n)
    team_bias = {"team-support": -0.1, "team-sales": 0.15, "team-engineering": -0.35, "team-operations": 0.05,
                 "team-legal": -0.5}
    chan_bias = {"email": -0.05, "chat": 0.1, "phone": -0.15, "web": 0.05, "app_store": 0.2}

    is_hr = kind == 3
    is_account = kind == 4
    is_chat = kind == 2
    chat_emp = is_chat & (rng.random(n) < 0.25)
    is_emp = is_hr | chat_emp

    channel = np.empty(n, dtype=object)
    channel[:] = ""
    cust_rows = ~is_emp & ~is_account
    channel[cust_rows] = rng.choice(CHANNELS, size=int(cust_rows.sum()), p=[0.3, 0.25, 0.15, 0.15, 0.15])
    channel[is_chat & ~chat_emp] = "chat"
    channel[kind == 0] = rng.choice(["web", "app_store"], size=int((kind == 0).sum()))
    channel[chat_emp] = "slack"
    product = np.where((kind == 0) | (kind == 1), rng.choice(PRODUCTS, size=n), "")

    latent = rng.normal(0.05, 0.45, size=n)
    latent += np.array([chan_bias.get(c, 0.0) for c in channel])
    team_of = np.array(emp_team, dtype=object)[emp_idx]
    latent += np.where(is_emp, np.array([team_bias[x] for x in team_of]), 0.0)
    spike = (channel == SPIKE_CHANNEL) & (t > span * 0.62) & (t < span * 0.62 + 6 * 3600)
    latent[spike] -= 1.1
    s = np.tanh(latent)

    rating = np.where(kind == 0, np.clip(np.round(3 + 2 * s + rng.normal(0, 0.5, n)), 1, 5), np.nan)
    ticket_type = rng.choice(["created", "comment", "status_changed", "rated"], size=n, p=[0.35, 0.3, 0.1, 0.25])
    csat = np.where((kind == 1) & (ticket_type == "rated"), np.clip(np.round(3.9 + 2 * s + rng.normal(0, 0.6, n)), 1, 5),
                    np.nan)
    hr_type = rng.choice(["pulse", "enps", "overtime", "leave", "exit"], size=n, p=[0.5, 0.25, 0.17, 0.075, 0.005])
    acc_type = rng.choice(["signup", "renewal", "cancellation", "plan_change"], size=n, p=[0.3, 0.4, 0.15, 0.15])
    etype = np.select([kind == 0, kind == 1, kind == 2, kind == 3], ["review", ticket_type, "message", hr_type], acc_type)
    question = np.where(is_hr & (hr_type == "pulse"), rng.choice(["workload", "recognition", "burnout"], size=n), "")
    answer = np.where(is_hr & (hr_type == "pulse"), np.clip(np.round(3 + 1.6 * s + rng.normal(0, 0.5, n)), 1, 5),
                      np.where(is_hr & (hr_type == "enps"), np.clip(np.round(7.9 + 3.5 * s + rng.normal(0, 1, n)), 0, 10),
                               np.nan))
    hours = np.where(is_hr & (hr_type == "overtime"), np.round(np.clip(rng.gamma(2.0, 3.0, n) - 3 * s, 0, 60), 1), np.nan)
    days = np.where(is_hr & (hr_type == "leave"), rng.integers(1, 10, size=n).astype(float), np.nan)
    exit_type = np.where(is_hr & (hr_type == "exit"), rng.choice(["voluntary", "involuntary"], size=n, p=[0.7, 0.3]), "")
    plan = np.where(is_account, rng.choice(["starter", "team", "business"], size=n), "")
    mrr = np.where(is_account, np.round(rng.choice([29.0, 99.0, 299.0], size=n) * (acc_type != "cancellation"), 2),
                   np.nan)

    text_p = np.select([kind == 0, kind == 1, kind == 2, kind == 3], [0.9, 0.65, 1.0, 0.0], 0.0)
    text_p = np.where(is_hr & (hr_type == "pulse"), 0.45, np.where(is_hr & (hr_type == "enps"), 0.35, text_p))
    has_text = (rng.random(n) < text_p) & ~((kind == 1) & (ticket_type == "status_changed"))
    p_neg, p_neu, p_pos = _probs(s)
    label = np.where(s < -0.25, "negative", np.where(s > 0.25, "positive", "neutral"))
    label = np.where(has_text, label, "")

    ids = np.arange(n)
    customer = np.array([f"cust-{i:05d}" for i in range(n_cust)], dtype=object)[cust_idx]
    employee = np.array(all_emp, dtype=object)[emp_idx]
    src = np.select([kind == 0, kind == 1, kind == 2, kind == 3],
                    ["trustpilot", "zendesk", np.where(chat_emp, "slack", "intercom"), "hris"], "billing")

    def nullable(mask_values: np.ndarray, dtype: str):
        return pd.array(np.where(np.isnan(mask_values), pd.NA, mask_values), dtype=dtype)

    def masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, values, np.nan)

    df = pd.DataFrame({
        "event_id": np.char.add(np.char.add(np.array(KINDS)[kind].astype(str), f"-s{cfg.seed}-"), ids.astype(str)),
        "source": src, "kind": np.array(KINDS)[kind], "type": etype,
        "occurred_at": occurred, "ingested_at": ingested, "stored_at": ingested,
        "customer_id": np.where(is_emp, "", customer),
        "employee_id": np.where(is_emp, employee, ""),
        "team_id": np.where(is_emp, team_of, ""),
        "channel": channel, "product": product,
        "text": np.where(has_text, "sample text (test data)", ""),
        "rating": nullable(rating, "UInt8"), "csat": nullable(csat, "UInt8"), "answer": nullable(answer, "UInt8"),
        "question": question, "hours": nullable(hours, "Float32"), "days": nullable(days, "Float32"),
        "status": np.where((kind == 1) & (ticket_type == "status_changed"), "solved", ""),
        "exit_type": exit_type, "plan": plan, "mrr": nullable(mrr, "Float64"),
        "consent": pd.array(np.where(is_hr, (rng.random(n) < 0.3).astype(float), np.nan), dtype="Float64").astype("UInt8"),
        "sentiment_label": label,
        "sentiment_score": nullable(masked(p_pos - p_neg, has_text), "Float32"),
        "p_negative": nullable(masked(p_neg, has_text), "Float32"),
        "p_neutral": nullable(masked(p_neu, has_text), "Float32"),
        "p_positive": nullable(masked(p_pos, has_text), "Float32"),
        "text_truncated": np.zeros(n, dtype="uint8"),
        "model_version": np.where(has_text, MODEL_VERSION, ""),
    })
    return df


def _insert_df(store, table: str, df, chunk: int = 200_000) -> None:
    for i in range(0, len(df), chunk):
        store.client.insert_df(table, df.iloc[i:i + chunk])


def fill(store, cfg: SampleConfig | None = None) -> dict:
    """Insert the sample into an open, migrated store. Returns what the tests need to know."""
    cfg = cfg or SampleConfig()
    df = event_frame(cfg)
    _insert_df(store, "events_scored", df)
    rng = np.random.default_rng(cfg.seed + 1)
    _fill_risks_and_alerts(store, cfg, df, rng)
    _fill_metrics(store, cfg, df)
    _fill_pipeline(store, cfg, rng)
    _fill_bias_audit(store, cfg, np.random.default_rng(cfg.seed + 3))
    _fill_drift(store, cfg, np.random.default_rng(cfg.seed + 4))
    return {"start": cfg.start.isoformat(), "end": cfg.end.isoformat(), "events": cfg.events,
            "small_team": SMALL_TEAM, "teams": dict(TEAMS), "small_team_employees": employees()[SMALL_TEAM],
            "pipeline_start": (cfg.end - timedelta(minutes=cfg.pipeline_minutes)).isoformat()}


def _fill_risks_and_alerts(store, cfg: SampleConfig, df, rng) -> None:
    cust = df[df.customer_id != ""]
    g = cust.groupby("customer_id").agg(neg=("sentiment_label", lambda x: float((x == "negative").mean())),
                                        n=("event_id", "size"), last=("occurred_at", "max"),
                                        ev=("event_id", "last"))
    prob = 1 / (1 + np.exp(-(6 * (g.neg.to_numpy() - 0.3) + rng.normal(0, 0.6, len(g)))))
    risk_rows = []
    for (cid, row), p in zip(g.iterrows(), prob):
        k = int(rng.integers(1, 4))
        reasons = [CHURN_REASONS[j] for j in rng.choice(len(CHURN_REASONS), size=k, replace=False)]
        risk_rows.append(["churn", "customer", cid, "", float(p), "churn-sample-1", reasons, row.ev,
                          row["last"].to_pydatetime()])
    emps = employees()
    burnout_base = BURNOUT_BASE
    for team, ids in emps.items():
        for e in ids:
            p = float(np.clip(burnout_base[team] + rng.normal(0, 0.18), 0.01, 0.99))
            k = int(rng.integers(1, 3))
            reasons = [BURNOUT_REASONS[j] for j in rng.choice(len(BURNOUT_REASONS), size=k, replace=False)]
            risk_rows.append(["burnout", "employee", e, team, p, "burnout-sample-1", reasons, f"hr-{e}",
                              cfg.end - timedelta(hours=float(rng.uniform(1, 48)))])
    store.client.insert("risk_latest", risk_rows, column_names=[
        "model", "entity_type", "entity_id", "team_id", "probability", "model_version", "reasons", "event_id",
        "scored_at"])

    alerts = []
    span = (cfg.end - cfg.start).total_seconds()
    for r in risk_rows:
        model, _, entity, team, p, version, reasons, ev, _ = r
        if p < 0.7:
            continue
        occurred = cfg.start + timedelta(seconds=float(rng.uniform(0.1, 0.999) * span))
        alerts.append([hashlib.sha1(f"{model}/{entity}".encode()).hexdigest(), model, entity,
                       "customer" if model == "churn" else "employee", team, p, 0.7, version, reasons,
                       json.dumps({"probability": round(p, 3)}), f"alerts.{model}",
                       occurred + timedelta(seconds=2), occurred])
    # make sure the small team has burnout alerts too: the boards must not show their count
    for e in emps[SMALL_TEAM][:2]:
        occurred = cfg.end - timedelta(days=2)
        alerts.append([hashlib.sha1(f"burnout/{e}/extra".encode()).hexdigest(), "burnout", e, "employee",
                       SMALL_TEAM, 0.9, 0.7, "burnout-sample-1", ["overtime 10 h/week above team median"],
                       "{}", "alerts.burnout", occurred, occurred])
    spike_at = cfg.start + timedelta(seconds=span * 0.62 + 3600)
    alerts.append([hashlib.sha1(b"sentiment/chat").hexdigest(), "sentiment", SPIKE_CHANNEL, "channel", "", 0.58,
                   0.25, MODEL_VERSION, ["negative share 58% vs 21% baseline"], "{}", "alerts.sentiment",
                   spike_at, spike_at])
    store.client.insert("alerts_audit", alerts, column_names=[
        "alert_id", "alert_type", "subject", "subject_type", "team_id", "score", "threshold", "model_version",
        "reasons", "inputs", "topic", "created_at", "occurred_at"])
    _fill_outcomes(store, alerts, np.random.default_rng(cfg.seed + 2))  # its own stream: other tables stay as they were


def _fill_bias_audit(store, cfg: SampleConfig, rng) -> None:
    """bias_audit_daily as the worker writes it: the real audit over made-up customers, where the
    ``enterprise`` plan's customers who stay are alerted three times as often as the others'."""
    from pulsewire.models.oversight.audit import ATTRIBUTES, Subject, audit_model
    from pulsewire.streams.bias_audit import daily_rows

    subjects = []
    for i in range(600):
        plan = ("starter", "growth", "business", "enterprise")[i % 4]
        label = int(rng.uniform() < 0.15)
        fp = 0.3 if plan == "enterprise" else 0.08
        alerted = bool(rng.uniform() < (0.7 if label else fp))
        risk = float(np.clip((0.75 if alerted else 0.3) + rng.normal(0, 0.1), 0.01, 0.99))
        subjects.append(Subject(groups={"plan": plan, "channel": CHANNELS[i % len(CHANNELS)],
                                        "tenure": ("<3 months", "3-12 months", ">1 year")[i % 3]},
                                alerted=alerted, risk=risk, score=risk, label=label))
    rows = audit_model("churn", subjects, ATTRIBUTES["churn"], 5)
    report = {"window": {"from": cfg.start.isoformat(), "to": cfg.end.isoformat()}, "min_group": 5,
              "rows": [r.as_dict() for r in rows]}
    out = daily_rows(report, cfg.end.date())
    cols = list(out[0])
    store.client.insert("bias_audit_daily", [[r[c] for c in cols] for r in out], column_names=cols)


def _fill_drift(store, cfg: SampleConfig, rng) -> None:
    """drift_events as the worker writes them: a real watcher over chat's customer sentiment, which falls by
    half a point two thirds of the way through the sample."""
    from pulsewire.models.oversight.drift import DetectorParams, Watcher
    from pulsewire.schemas.drift import drift_row, make_drift_cloudevent, series

    params = DetectorParams()
    watcher = Watcher.new(params)
    t0, span, n = cfg.start.timestamp(), (cfg.end - cfg.start).total_seconds(), 1200
    rows = []
    for i in range(n):
        shifted = i > n * 2 // 3
        change = watcher.observe(float(np.clip(rng.normal(-0.4 if shifted else 0.1, 0.35), -1, 1)), t0 + span * i / n)
        if change is not None:
            rows.append(drift_row(make_drift_cloudevent(series("sentiment", "sentiment", dimension=SPIKE_CHANNEL),
                                                        change, params)))
    if rows:
        cols = list(rows[0])
        store.client.insert("drift_events", [[r[c] for c in cols] for r in rows], column_names=cols)


OUTCOME_SHARES = {"acted": 0.5, "not_useful": 0.2, "wrong": 0.15, "already_known": 0.15}


def _fill_outcomes(store, alerts: list[list], rng) -> None:
    """alert_outcomes as the outcomes agent writes them: about two alerts in three judged, hours to days after
    the trigger (an outcome in the future of the sample is left out: nobody has looked yet)."""
    kinds, shares = list(OUTCOME_SHARES), list(OUTCOME_SHARES.values())
    now = today_utc()
    rows = []
    for alert_id, kind, subject, subject_type, team, _, _, version, _, _, _, created, occurred in alerts:
        if rng.uniform() > 0.65:
            continue
        at = occurred + timedelta(hours=float(rng.exponential(30.0)))
        if at >= now:
            continue
        outcome = kinds[int(rng.choice(len(kinds), p=shares))]
        rows.append([f"o-{alert_id[:20]}", alert_id, outcome, "account_manager" if kind == "churn" else "hr_partner",
                     "", at, kind, subject, subject_type, team, version, created, occurred, "sample"])
    store.client.insert("alert_outcomes", rows, column_names=[
        "outcome_id", "alert_id", "outcome", "role", "note", "outcome_at", "alert_type", "subject", "subject_type",
        "team_id", "model_version", "alert_created_at", "alert_occurred_at", "content_hash"])


def _fill_metrics(store, cfg: SampleConfig, df) -> None:
    """metrics_daily as the metrics job writes it (rates in percent), plus small-team rows it should not write
    (the boards hide them)."""
    rows = []
    day = df.occurred_at.dt.date
    hr = df[df.kind == "hr"].assign(day=day)
    enps = hr[hr.type == "enps"]
    for (d, team), grp in enps.groupby(["day", "team_id"]):
        v = 100 * (((grp.answer >= 9).sum() - (grp.answer <= 6).sum()) / len(grp))
        rows.append([d, "enps", "team", team, float(v), int(grp.employee_id.nunique())])
    for d, grp in enps.groupby("day"):
        v = 100 * (((grp.answer >= 9).sum() - (grp.answer <= 6).sum()) / len(grp))
        rows.append([d, "enps", "all", "", float(v), int(grp.employee_id.nunique())])
    tick = df[(df.kind == "ticket") & df.csat.notna()].assign(day=day)
    for d, grp in tick.groupby("day"):
        rows.append([d, "csat", "all", "", float(100 * (grp.csat >= 4).mean()), len(grp)])
    for (d, ch), grp in tick.groupby(["day", "channel"]):
        rows.append([d, "csat", "channel", ch, float(100 * (grp.csat >= 4).mean()), len(grp)])
    n_days = cfg.days
    emp = df[(df.employee_id != "") & (df.team_id != "")]
    team_sizes = {str(t): int(g.employee_id.nunique()) for t, g in emp.groupby("team_id")}
    for i in range(n_days):
        d = (cfg.start + timedelta(days=i)).date()
        rows.append([d, "retention_rate", "all", "", float(93.0 - 0.2 * i + 0.4 * np.sin(i)), 1200])
        rows.append([d, "voluntary_turnover_rate", "all", "", float(1.1 + 0.08 * np.cos(i / 2)), 81])
        for team, size in team_sizes.items():
            rows.append([d, "voluntary_turnover_rate", "team", team, float(1.0 + 0.2 * (size % 3)), size])
            # team burnout as the metrics job writes it (teams below the minimum already left out by the
            # writer; the views leave them out whatever it writes)
            risk = BURNOUT_BASE[team] + 0.05 * float(np.sin(i + size))
            rows.append([d, "burnout_mean_risk", "team", team, risk, size])
            rows.append([d, "burnout_at_risk", "team", team, float(round(size * risk / 2)), size])
    store.client.insert("metrics_daily", rows, column_names=["day", "metric", "dimension", "dimension_value",
                                                             "value", "n"])


def _fill_pipeline(store, cfg: SampleConfig, rng) -> None:
    start = cfg.end - timedelta(minutes=cfg.pipeline_minutes)
    steps = cfg.pipeline_minutes * 12
    health, lag, dls = [], [], []
    for i in range(steps):
        ts = start + timedelta(seconds=5 * i)
        load = 1.0 + 0.5 * np.sin(i / 40) + (1.5 if steps * 0.6 < i < steps * 0.65 else 0)
        for w in ("worker-1", "worker-2"):
            n = int(rng.poisson(400 * load))
            bad = int(rng.poisson(n * 0.004))
            health.append([ts, w, "validate", n, max(1, n // 50), n * 0.00004, bad])
            health.append([ts, w, "score", n - bad, max(1, (n - bad) // 64),
                           (n - bad) * float(rng.normal(0.0042, 0.0004)), 0])
            health.append([ts, w, "sink", n - bad, 1, 0.02 + (n - bad) * 0.00001, 0])
            for _ in range(bad):
                reason = DL_REASONS[int(rng.integers(0, len(DL_REASONS)))]
                topic = TOPICS[int(rng.integers(0, 5))]
                off = int(rng.integers(0, 10**7))
                dls.append([hashlib.sha1(f"{topic}|{w}|{off}|{i}".encode()).hexdigest(), topic, reason,
                            f"sample {reason}", "{}", "utf-8", "validate", 0, off,
                            ts + timedelta(milliseconds=int(rng.integers(0, 5000)))])
        for topic in TOPICS:
            base = 150 if topic != "scored.text" else 60
            value = int(max(0, rng.normal(base * load, base * 0.3)))
            if steps * 0.6 < i < steps * 0.68:
                value += int(20000 * np.sin(np.pi * (i - steps * 0.6) / (steps * 0.08)))
            lag.append([ts, "pulsewire", topic, -1, 10**6 + i * 400, 10**6 + i * 400 + value, value])
    store.client.insert("pipeline_health", health, column_names=["ts", "worker", "stage", "events", "batches",
                                                                 "busy_s", "dead_letters"])
    store.client.insert("consumer_lag", lag, column_names=["ts", "consumer_group", "topic", "partition",
                                                            "committed", "end_offset", "lag"])
    store.client.insert("dead_letters", dls, column_names=[
        "dl_id", "source_topic", "reason", "detail", "payload", "payload_encoding", "stage", "partition", "offset",
        "failed_at"])
