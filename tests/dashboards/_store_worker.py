"""Fill a chDB store and run every panel and alert rule; write the results as JSON.

Run in its own process (chDB allows one store path per process, and other test modules may
open theirs): ``python _store_worker.py sample|generator|truth|empty DATA_DIR OUT_JSON``.

``truth`` is a small store built by hand so that the right answer of a panel is known exactly
(:data:`TRUTH` says what it holds); ``empty`` is a migrated store without a row.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path


def _safe(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return "NaN"  # a suppressed cell: kept apart from NULL (no data)
    if isinstance(v, float) and math.isinf(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_safe(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def tables_read(store, sql: str) -> list[str]:
    """What a query reads, from ClickHouse's own parse (EXPLAIN AST): every table or view by name, and
    every table function as 'function:NAME' (url(), file(), remote()... read around the grants)."""
    lines = [r[0] for r in store.client.query(f"EXPLAIN AST {sql}").result_rows]
    out = []
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("TableIdentifier "):
            out.append(text.split()[1])
        elif text.startswith("Function ") and i and lines[i - 1].strip().startswith("TableExpression"):
            out.append("function:" + text.split()[1])
    return sorted(set(out))


def fill_generator(store, n: int = 6000) -> None:
    """Events from the project's generator (SmbSimulation), scored by a deterministic fake
    sentiment (TEST DATA ONLY), plus the non-event tables from the sample module."""
    from pulsewire.dashboards import sample
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation
    from pulsewire.streams.rows import scored_row

    # the simulation ends today: rows at a fixed date would expire under the store's TTLs
    weeks = GeneratorConfig().weeks
    start = (sample.today_utc() - timedelta(weeks=weeks)).isoformat()
    rows = []
    for ev in SmbSimulation(GeneratorConfig(seed=7, start=start)).records(limit=n):
        if not isinstance(ev, dict):
            continue
        ev = dict(ev)
        ev.setdefault("ingested_at", ev["occurred_at"])
        sentiment = None
        if ev.get("text"):
            grade = ev.get("rating") or ev.get("csat") or (ev.get("score") if ev.get("kind") == "hr" else None)
            if grade is None:
                grade = int(hashlib.sha1(ev["text"].encode()).hexdigest(), 16) % 5 + 1
            top = 10 if ev.get("kind") == "hr" and ev.get("type") == "enps" else 5
            s = max(-1.0, min(1.0, (float(grade) - (top + 1) / 2) / ((top - 1) / 2)))
            pos, neg = (1 + s) / 2 * 0.9, (1 - s) / 2 * 0.9
            label = "negative" if s < -0.25 else "positive" if s > 0.25 else "neutral"
            sentiment = {"label": label, "score": pos - neg, "model_version": "fake-test",
                         "probabilities": {"negative": neg, "neutral": 1 - pos - neg, "positive": pos}}
        rows.append(scored_row({"event": ev, "sentiment": sentiment}))
    for i in range(0, len(rows), 2000):
        store.insert_rows("events_scored", rows[i:i + 2000])
    end = store.query_dicts("SELECT max(occurred_at) AS t FROM events_scored")[0]["t"]
    cfg = sample.SampleConfig(events=2000, end=end.replace(tzinfo=timezone.utc) if end.tzinfo is None else end)
    import numpy as np

    df = store.client.query_df("SELECT * FROM events_scored")
    rng = np.random.default_rng(1)
    sample._fill_risks_and_alerts(store, cfg, df, rng)
    sample._fill_metrics(store, cfg, df)
    sample._fill_pipeline(store, cfg, rng)


#: What the truth store holds, relative to its anchor T (an hour before today's midnight, UTC).
TRUTH = {
    "stored_events": 1000,          # events_scored, stored in the ten minutes before T (the sink counted 1,500)
    "dead_letters": 60,             # dead_letters, from four stages; pipeline_health counts none of them
    "latest_lag": 0 + 40 + 7,       # chat 0 and review 40 (group pulsewire, sampled after T), chat 7 (group other)
    "max_lag": 9000,
    "churn_risk": 0.57,             # just above the churn alert threshold (0.55): red, like an alert
    "pulse_teams": {"team-alpha": 6, "team-beta": 7},
}
LONG_REASON = "three negative tickets in fourteen days about the billing export and invoices"


def fill_truth(store) -> dict:
    """A store small enough to know every answer; see :data:`TRUTH`."""
    from pulsewire.dashboards import sample

    t_end = sample.today_utc() - timedelta(hours=1)
    health, dls, lag = [], [], []
    for i in range(10):
        ts = t_end - timedelta(minutes=9 - i)
        health.append([ts, "worker-1", "validate", 100, 2, 0.01, 0])
        # the sink's counter also counts re-read batches: 150 handled per minute, 100 of them new
        health.append([ts, "worker-1", "sink", 150, 1, 0.02, 0])
    stored = [[f"truth-{i}", "truth", "account", "cancellation", t_end - timedelta(days=1),
               t_end - timedelta(minutes=9, seconds=-i * 0.5), t_end - timedelta(minutes=9, seconds=-i * 0.5)]
              for i in range(TRUTH["stored_events"])]
    store.client.insert("events_scored", stored, column_names=["event_id", "source", "kind", "type", "occurred_at",
                                                               "ingested_at", "stored_at"])
    for i in range(TRUTH["dead_letters"]):
        stage = ["connector", "score", "sink", "validate"][i % 4]
        dls.append([f"dl-{i}", "events.chat", "malformed_json" if i % 2 else "processing_failed", "truth", "{}",
                    "utf-8", stage, 0, i, t_end - timedelta(minutes=9) + timedelta(seconds=8 * i)])
    for ts, group, topic, value in [
            (t_end - timedelta(minutes=5), "pulsewire", "events.chat", TRUTH["max_lag"]),
            (t_end, "pulsewire", "events.chat", 5000),
            (t_end + timedelta(seconds=30, milliseconds=901), "pulsewire", "events.chat", 0),  # the newest row:
            # a sub-second time, which a range ending at the newest row must still include
            (t_end - timedelta(minutes=5), "pulsewire", "events.review", 100),
            (t_end + timedelta(seconds=30, milliseconds=901), "pulsewire", "events.review", 40),
            (t_end - timedelta(minutes=1), "other", "events.chat", 7)]:
        lag.append([ts, group, topic, -1, 1000, 1000 + value, value])
    store.client.insert("pipeline_health", health, column_names=["ts", "worker", "stage", "events", "batches",
                                                                 "busy_s", "dead_letters"])
    store.client.insert("dead_letters", dls, column_names=[
        "dl_id", "source_topic", "reason", "detail", "payload", "payload_encoding", "stage", "partition", "offset",
        "failed_at"])
    store.client.insert("consumer_lag", lag, column_names=["ts", "consumer_group", "topic", "partition",
                                                            "committed", "end_offset", "lag"])

    # pulse weeks (ISO weeks, the privacy views' windows): alpha answers in weeks 0 and 3, has no survey in
    # week 1, has 3 respondents (too few) in week 2; beta answers in weeks 0 to 3; week 4 has no survey at
    # all; the week of T carries one beta answer to anchor the board.
    monday = (t_end - timedelta(days=t_end.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    bucket = [monday - timedelta(weeks=5 - k) for k in range(5)]
    answers = {("team-alpha", 0): 6, ("team-alpha", 2): 3, ("team-alpha", 3): 6,
               ("team-beta", 0): 7, ("team-beta", 1): 7, ("team-beta", 2): 7, ("team-beta", 3): 7}
    events = []
    for (team, k), n in answers.items():
        for e in range(n):
            events.append({"event_id": f"pulse-{team}-{k}-{e}", "source": "hris", "kind": "hr", "type": "pulse",
                           "occurred_at": bucket[k] + timedelta(days=2, hours=e),
                           "ingested_at": bucket[k] + timedelta(days=2, hours=e), "employee_id": f"emp-{team}-{e}",
                           "team_id": team, "answer": 3 + e % 2, "question": "workload"})
    # eNPS from 2 people of alpha (too few: suppressed), none from beta (no data); comments from 3 people of
    # beta (too few for comment sentiment), none from alpha
    for e in range(2):
        events.append({"event_id": f"enps-alpha-{e}", "source": "hris", "kind": "hr", "type": "enps",
                       "occurred_at": bucket[0] + timedelta(days=3, hours=e), "ingested_at": bucket[0] + timedelta(days=3),
                       "employee_id": f"emp-team-alpha-{e}", "team_id": "team-alpha", "answer": 9})
    for e in range(3):
        events.append({"event_id": f"comment-beta-{e}", "source": "slack", "kind": "chat", "type": "message",
                       "occurred_at": bucket[1] + timedelta(days=1, hours=e), "ingested_at": bucket[1] + timedelta(days=1),
                       "employee_id": f"emp-team-beta-{e}", "team_id": "team-beta", "channel": "slack",
                       "text": "sample text (test data)", "sentiment_label": "negative", "sentiment_score": -0.5,
                       "p_negative": 0.7, "p_neutral": 0.1, "p_positive": 0.2, "model_version": "truth"})
    events.append({"event_id": "pulse-anchor", "source": "hris", "kind": "hr", "type": "pulse",
                   "occurred_at": t_end, "ingested_at": t_end, "employee_id": "emp-team-beta-0",
                   "team_id": "team-beta", "answer": 4, "question": "workload"})
    # customers: text on three channels; one customer at a churn risk just above the threshold,
    # alerted on an event 10 days before T and sent (wall clock) at T
    for i in range(30):
        at = t_end - timedelta(days=i % 10, hours=i)
        events.append({"event_id": f"cust-ev-{i}", "source": "zendesk", "kind": "ticket", "type": "comment",
                       "occurred_at": at, "ingested_at": at, "customer_id": f"cust-{i % 5}",
                       "channel": ["email", "chat", "phone"][i % 3], "text": "sample text (test data)",
                       "sentiment_label": "negative" if i % 4 == 0 else "positive",
                       "sentiment_score": -0.6 if i % 4 == 0 else 0.5, "p_negative": 0.7 if i % 4 == 0 else 0.1,
                       "p_neutral": 0.1, "p_positive": 0.2 if i % 4 == 0 else 0.8, "model_version": "truth"})
    blank = {"customer_id": "", "employee_id": "", "team_id": "", "channel": "", "text": "", "answer": None,
             "question": "", "sentiment_label": "", "sentiment_score": None, "p_negative": None, "p_neutral": None,
             "p_positive": None, "model_version": ""}
    store.insert_rows("events_scored", [{**blank, **ev} for ev in events])
    store.client.insert("risk_latest", [
        ["churn", "customer", "cust-0", "", TRUTH["churn_risk"], "churn-truth", [LONG_REASON, "CSAT fell below 3"],
         "cust-ev-0", t_end]], column_names=["model", "entity_type", "entity_id", "team_id", "probability",
                                             "model_version", "reasons", "event_id", "scored_at"])
    event_time = t_end - timedelta(days=10)
    store.client.insert("alerts_audit", [
        ["alert-truth", "churn", "cust-0", "customer", "", TRUTH["churn_risk"], 0.55, "churn-truth",
         [LONG_REASON], "{}", "alerts.churn", t_end, event_time]], column_names=[
        "alert_id", "alert_type", "subject", "subject_type", "team_id", "score", "threshold", "model_version",
        "reasons", "inputs", "topic", "created_at", "occurred_at"])
    return {"truth": TRUTH, "long_reason": LONG_REASON, "t_end": t_end.isoformat(), "weeks": [b.isoformat() for b in bucket], "alert_event_time":
            event_time.isoformat(), "alert_sent_at": t_end.isoformat()}


def main() -> None:
    mode, data_dir, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    from pulsewire.dashboards import sample
    from pulsewire.dashboards.build import RULES, _sql, boards, pipeline_health
    from pulsewire.dashboards.lag import record_lag
    from pulsewire.dashboards.macros import TimeRange, expand
    from pulsewire.dashboards.runner import anchor_time, dashboard_range, run_panel, run_sql
    from pulsewire.streams.store import open_store

    result: dict = {"mode": mode, "panels": [], "rules": []}
    with open_store(f"chdb://{(data_dir / 'clickhouse').resolve()}") as store:
        if mode == "sample":
            result["info"] = sample.fill(store, sample.SampleConfig(events=20_000))
        elif mode == "truth":
            result["info"] = fill_truth(store)
        elif mode == "generator":
            fill_generator(store)
            result["info"] = {}
        else:
            assert mode == "empty", mode
            result["info"] = {}
        # employees and teams as the data has them: the suppression tests compare against these
        result["team_sizes"] = {r["team_id"]: r["n"] for r in store.query_dicts(
            "SELECT team_id, uniqExact(employee_id) AS n FROM events_scored "
            "WHERE employee_id != '' AND team_id != '' GROUP BY team_id")}
        small = [t for t, n in result["team_sizes"].items() if n < 5]
        result["small_team_employees"] = [r["e"] for r in store.query_dicts(
            "SELECT DISTINCT employee_id AS e FROM events_scored WHERE team_id IN %(t)s", {"t": tuple(small) or ("-",)})]
        for b in boards():
            now = anchor_time(store, b.anchor_sql) or datetime.now(timezone.utc)
            tr = dashboard_range(b.dashboard, now)
            for p in b.dashboard["panels"]:
                r = run_panel(store, p, tr)
                f = r.frames[0]
                result["panels"].append({
                    "board": b.uid, "id": p["id"], "title": p["title"], "type": p["type"],
                    "team_panel": p["id"] in b.team_panels, "columns": f.columns, "types": f.types,
                    "range": [tr.start.isoformat(), tr.end.isoformat()],
                    "kinds": f.kinds(), "rows": [_safe(list(row)) for row in f.rows], "error": f.error,
                    "ms": f.elapsed_ms, "reads": tables_read(store, f.sql)})
        pipe_now = anchor_time(store, pipeline_health().anchor_sql) or datetime.now(timezone.utc)
        for spec in RULES:
            f = run_sql(store, expand(_sql(spec.sql), TimeRange(pipe_now - timedelta(seconds=spec.window_s), pipe_now)))
            result["rules"].append({"uid": spec.uid, "columns": f.columns, "kinds": f.kinds(),
                                    "rows": [_safe(list(r)) for r in f.rows], "error": f.error,
                                    "reads": tables_read(store, f.sql)})
        result["anchors"] = {b.uid: tables_read(store, b.anchor_sql) for b in boards()}
        if mode == "sample":
            # the negative-spike rule at the spike the sample plants on the chat channel
            spike_at = store.query_dicts(
                "SELECT max(created_at) AS t FROM alerts_audit WHERE alert_type = 'sentiment'")[0]["t"]
            spec = next(s for s in RULES if s.uid == "pulsewire-negative-spike")
            # the sample is sparse (about 5 chat texts per 15 minutes), so look at 3 hours of the 6-hour spike
            f = run_sql(store, expand(_sql(spec.sql), TimeRange(spike_at - timedelta(hours=1), spike_at + timedelta(hours=2))))
            result["spike_rule_at_spike"] = {"rows": [_safe(list(r)) for r in f.rows], "error": f.error}
            # per-team commenters (for the comment-suppression check)
            result["commenters"] = {r["team_id"]: r["n"] for r in store.query_dicts(
                "SELECT team_id, uniqExactIf(employee_id, sentiment_label != '') AS n FROM events_scored FINAL "
                "WHERE employee_id != '' AND team_id != '' GROUP BY team_id")}
            # the lag writer, round trip
            from types import SimpleNamespace

            ts = sample.today_utc()
            n = record_lag(store, SimpleNamespace(committed={"events.chat": 40}, end={"events.chat": 100}),
                           group="test-group", ts=ts, partitions={("events.chat", 0): (10, 30)})
            result["lag_written"] = n
            result["lag_rows"] = [_safe(list(r.values())) for r in store.query_dicts(
                "SELECT topic, partition, committed, end_offset, lag FROM consumer_lag "
                "WHERE consumer_group = 'test-group' ORDER BY partition")]
    out.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
