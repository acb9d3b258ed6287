"""The SMB metrics, sentiment spikes and team-level burnout, aggregated per dimension in event time.

Events are partitioned by entity, metrics by *dimension* (``all``,
``team:<id>``, ``channel:<id>``, ``product:<id>``): the features agent turns
each event into small *contributions* (``contributions``), sends them keyed by
dimension, and one aggregator per dimension folds them in (``apply``). The
aggregator writes ``metrics_daily`` rows and raises ``alerts.sentiment`` /
team-level ``alerts.burnout``.

Definitions (value for ``day`` over a trailing window of ``WINDOW[metric]`` days ending that day):

* ``enps``: % promoters (9-10) minus % detractors (0-6) among answers; n = distinct respondents. 28 days.
* ``csat``: % of ticket ratings that are 4 or 5; n = ratings. 1 day.
* ``retention_rate``: % of the customers active at the window start who did not cancel in it; n = those
  customers. 28 days.
* ``voluntary_turnover_rate``: voluntary exits as % of the headcount at the window start; n = headcount. 28 days.
* ``sentiment_customer``: mean sentiment score (-1..1) of texts; n = texts. 1 day.
* ``sentiment_employee``: mean sentiment score of employees' texts; n = distinct authors. 28 days.
* ``burnout_mean_risk`` (teams): mean of each person's latest burnout probability; n = distinct people
  with a prediction in the window. 28 days.
* ``burnout_at_risk`` (teams): people whose latest probability is at or above the alert threshold;
  n = the same distinct people. 28 days.

Privacy: every number about employees counts distinct people, never texts or events: rows (``enps``,
``voluntary_turnover_rate``, ``sentiment_employee``, ``burnout_*``) are not written when n is below
``min_group_size`` (``min_comment_group_size`` distinct authors for comment sentiment), and team alerts
need as many: a team sentiment spike needs ``min_comment_group_size`` distinct authors that day, a team
burnout alert ``min_group_size`` people with a burnout probability. The burnout numbers include people
who did not consent to per-person alerts: they are the only place their risk shows, as part of a group.

>>> st = new_dim_state()
>>> items = [{"k": "enps", "d": 100, "t": 0.0, "v": v, "r": f"emp_{i}"} for i, v in enumerate([10, 9, 9, 3, 7])]
>>> st, rows, alerts = apply(st, "team:team-a", items, min_group_size=5)
>>> [(r["metric"], r["dimension"], r["value"], r["n"]) for r in rows]
[('enps', 'team', 40.0, 5)]
>>> st, rows, _ = apply(new_dim_state(), "team:team-b", items[:4], min_group_size=5)   # 4 < 5: suppressed
>>> rows
[]
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

from .features import event_time, is_negative
from .policy import DAY

WINDOW = {"enps": 28, "csat": 1, "retention_rate": 28, "voluntary_turnover_rate": 28,
          "sentiment_customer": 1, "sentiment_employee": 28, "burnout_mean_risk": 28, "burnout_at_risk": 28}
KEEP_DAYS = 35
EPOCH = date(1970, 1, 1)


def day_of(t: float) -> int:
    return int(t // DAY)


def day_date(d: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + d)


# ---------------------------------------------------------------------------- contributions (features agent)
def contributions(ev: dict, sentiment: dict | None, entity_type: str | None, team_id: str = "",
                  entity_id: str | None = None, *, team_risk: dict | None = None,
                  previous_team: str = "") -> list[tuple[str, dict]]:
    """Small items keyed by dimension that one event contributes (already pseudonymised ids only).

    Employee items carry the person's pseudonym (``e``/``r``) so that the aggregator counts distinct
    people; ``team_risk`` is the burnout probability of this event's prediction, ``previous_team`` the
    team the person just left (their probability is withdrawn from it).

    >>> ev = {"kind": "chat", "type": "message", "employee_id": "emp_1", "occurred_at": "2026-05-01T10:00:00+00:00"}
    >>> [(d, i["k"]) for d, i in contributions(ev, {"score": -0.8, "label": "negative"}, "employee", "t1", "emp_1",
    ...                                         team_risk={"p": 0.7, "warm": True}, previous_team="t0")]
    [('all', 'es'), ('team:t1', 'es'), ('team:t1', 'risk'), ('team:t0', 'risk')]
    """
    t = event_time(ev)
    d = day_of(t)
    kind, typ = ev.get("kind"), ev.get("type")
    out: list[tuple[str, dict]] = []

    def add(dims, item):
        item.update(d=d, t=t)
        for dim in dims:
            if dim:
                out.append((dim, dict(item)))

    has_score = sentiment is not None and sentiment.get("score") is not None
    if entity_type == "customer":
        ch = f"channel:{ev['channel']}" if ev.get("channel") else None
        pr = f"product:{ev['product']}" if ev.get("product") else None
        if has_score:
            add(["all", ch, pr], {"k": "cs", "s": float(sentiment["score"]), "neg": int(is_negative(sentiment))})
        if kind == "ticket" and ev.get("csat") is not None:
            add(["all", ch], {"k": "csat", "v": int(ev["csat"])})
        if kind == "account" and typ in ("signup", "cancellation"):
            add(["all"], {"k": "acct", "op": 1 if typ == "signup" else -1})
    elif entity_type == "employee":
        tm = f"team:{team_id}" if team_id else None
        who = entity_id or ev.get("employee_id", "")
        if has_score:
            add(["all", tm], {"k": "es", "s": float(sentiment["score"]), "neg": int(is_negative(sentiment)), "e": who})
        if kind == "hr" and typ == "enps" and ev.get("score") is not None:
            add(["all", tm], {"k": "enps", "v": int(ev["score"]), "r": who})
        if kind == "hr" and typ in ("hire", "exit"):
            add(["all", tm], {"k": "hc", "op": 1 if typ == "hire" else -1,
                              "vol": int(typ == "exit" and ev.get("exit_type") == "voluntary")})
        if team_risk is not None and tm and who:
            add([tm], {"k": "risk", "e": who, "p": team_risk["p"], "w": bool(team_risk.get("warm"))})
        if previous_team and who:
            add([f"team:{previous_team}"], {"k": "risk", "e": who, "p": None, "w": False})
    return out


# ---------------------------------------------------------------------------- aggregation (metrics agent)
def new_dim_state() -> dict:
    return {"days": {}, "active": 0, "hc": 0, "spike": {}, "risk": {}, "team_alert": {}}


def _day(st: dict, d: int) -> dict:
    return st["days"].setdefault(str(d), {})


def _window(st: dict, d: int, w: int):
    for i in range(d - w + 1, d + 1):
        b = st["days"].get(str(i))
        if b:
            yield b


def apply(st: dict, dim_key: str, items: list[dict], *, min_group_size: int = 5, min_comment_group_size: int = 10,
          spike_min_texts: int = 8, spike_margin: float = 0.15, spike_cooldown_days: float = 7.0,
          team_burnout_min_flagged: int = 2, burnout_threshold: float = 0.5,
          alerts_from: float | None = None) -> tuple[dict, list[dict], list[dict]]:
    """Fold contributions into the dimension's state; return (state, metrics rows, alerts).

    An item before ``alerts_from`` (epoch seconds; replayed history) raises no alert and counts as none,
    so a team still at risk at that time alerts on its next item.

    Team numbers count people: twelve texts by one person make no ``sentiment_employee`` row.

    >>> texts = [{"k": "es", "s": -0.9, "neg": 1, "e": "emp_a", "d": 20000, "t": 20000 * DAY + h} for h in range(12)]
    >>> apply(new_dim_state(), "team:solo", texts)[1]
    []
    >>> many = [dict(it, e=f"emp_{i}") for i, it in enumerate(texts)]
    >>> [(r["metric"], r["n"]) for r in apply(new_dim_state(), "team:ten", many)[1]]
    [('sentiment_employee', 12)]
    """
    dimension, _, value = dim_key.partition(":")
    touched: set[int] = set()
    alerts: list[dict] = []
    st.setdefault("risk", {})
    st.pop("flags", None)  # state written before team aggregates counted people's probabilities
    for it in sorted(items, key=lambda i: i["t"]):
        if it["k"] == "erase":  # pulsewire forget: the person's answers and flag leave the state
            touched.update(forget_entity(st, it["e"]))
            continue
        d, k = int(it["d"]), it["k"]
        if dimension in ("channel", "product", "team") and k in ("cs", "es"):
            a = _spike_step(st, dim_key, d, it["t"], spike_min_texts, spike_margin, spike_cooldown_days,
                            min_comment_group_size if dimension == "team" else 0,
                            quiet=alerts_from is not None and it["t"] < alerts_from)
            if a:
                alerts.append(a)
        b = _day(st, d)
        touched.add(d)
        if k in ("cs", "es"):
            s = b.setdefault(k, [0.0, 0, 0])
            s[0] += it["s"]
            s[1] += 1
            s[2] += it["neg"]
            if k == "es" and it.get("e"):
                authors = b.setdefault("esw", [])
                if it["e"] not in authors:
                    authors.append(it["e"])
        elif k == "csat":
            s = b.setdefault("csat", [0, 0])
            s[0] += int(it["v"] >= 4)
            s[1] += 1
        elif k == "enps":
            s = b.setdefault("enps", {})
            s[it["r"]] = it["v"]  # the respondent's latest answer that day
        elif k == "acct":
            b.setdefault("acct", [0, 0])[0 if it["op"] > 0 else 1] += 1
            st["active"] = max(0, st["active"] + it["op"])
        elif k == "hc":
            s = b.setdefault("hc", [0, 0, 0])  # hires, exits, voluntary exits
            s[0 if it["op"] > 0 else 1] += 1
            s[2] += it["vol"]
            st["hc"] = max(0, st["hc"] + it["op"])
        elif k == "risk":
            if it["p"] is None:
                st["risk"].pop(it["e"], None)
            else:
                st["risk"][it["e"]] = [float(it["p"]), it["t"]]
            b["risk"] = 1
            if it.get("w"):
                a = _team_burnout_step(st, value, it["t"], min_group_size, team_burnout_min_flagged,
                                       burnout_threshold, quiet=alerts_from is not None and it["t"] < alerts_from)
                if a:
                    alerts.append(a)
    rows = []
    for d in sorted(touched):
        rows.extend(metric_rows(st, dimension, value, d, min_group_size, min_comment_group_size, burnout_threshold))
    if st["days"]:
        newest = max(int(x) for x in st["days"])
        for x in [x for x in st["days"] if int(x) < newest - KEEP_DAYS]:
            del st["days"][x]
    return st, rows, alerts


def latest_risks(st: dict, end_t: float) -> dict[str, float]:
    """Each person's latest burnout probability, for those predicted in the ``WINDOW`` before ``end_t``."""
    since = end_t - WINDOW["burnout_mean_risk"] * DAY
    return {e: p for e, (p, t) in st.get("risk", {}).items() if since < t <= end_t}


def forget_entity(st: dict, entity_id: str) -> set[int]:
    """Drop one person's eNPS answers and latest burnout risk from a dimension's state; return the days changed.

    >>> st = {"days": {"3": {"enps": {"emp_a": 9, "emp_b": 2}}, "4": {"es": [0.5, 1, 0]}}, "risk": {"emp_a": [0.9, 1.0]}}
    >>> forget_entity(st, "emp_a"), st["days"]["3"]["enps"], st["risk"]
    ({0, 3}, {'emp_b': 2}, {})
    """
    days = {int(d) for d, b in st["days"].items() if b.get("enps", {}).pop(entity_id, None) is not None}
    for d, b in st["days"].items():
        if entity_id in b.get("esw", ()):
            b["esw"].remove(entity_id)
            days.add(int(d))
    if (risk := st.setdefault("risk", {}).pop(entity_id, None)) is not None:
        days.add(day_of(risk[1]))  # the team's burnout rows of that day are recomputed without them
    return days


def metric_rows(st: dict, dimension: str, value: str, d: int, min_group_size: int,
                min_comment_group_size: int, burnout_threshold: float = 0.5) -> list[dict]:
    rows = []

    def row(metric, v, n, floor=0):
        if n <= 0 or (floor and n < floor):
            return
        rows.append({"day": day_date(d), "metric": metric, "dimension": dimension, "dimension_value": value,
                     "value": round(float(v), 4), "n": int(n), "window_days": WINDOW[metric]})

    b = st["days"].get(str(d), {})
    if dimension in ("all", "channel"):
        if "cs" in b:
            row("sentiment_customer", b["cs"][0] / b["cs"][1], b["cs"][1])
        if "csat" in b:
            row("csat", 100.0 * b["csat"][0] / b["csat"][1], b["csat"][1])
    if dimension in ("all", "team"):
        win = [x for x in _window(st, d, WINDOW["sentiment_employee"]) if "es" in x]
        if win and "es" in b:
            texts = sum(x["es"][1] for x in win)
            authors = len({e for x in win for e in x.get("esw", [])})
            row("sentiment_employee", sum(x["es"][0] for x in win) / texts, authors, min_comment_group_size)
        answers: dict[str, int] = {}
        for x in _window(st, d, WINDOW["enps"]):
            answers.update(x.get("enps", {}))
        if answers and "enps" in b:
            v = list(answers.values())
            row("enps", 100.0 * (sum(a >= 9 for a in v) - sum(a <= 6 for a in v)) / len(v), len(v), min_group_size)
        if "hc" in b:
            win = list(_window(st, d, WINDOW["voluntary_turnover_rate"]))
            hires = sum(x.get("hc", [0, 0, 0])[0] for x in win)
            exits = sum(x.get("hc", [0, 0, 0])[1] for x in win)
            vol = sum(x.get("hc", [0, 0, 0])[2] for x in win)
            start = st["hc"] + exits - hires
            if start > 0:
                row("voluntary_turnover_rate", 100.0 * vol / start, start, min_group_size)
    if dimension == "team" and "risk" in b:
        people = latest_risks(st, (d + 1) * DAY)
        if people:
            n = len(people)
            row("burnout_mean_risk", sum(people.values()) / n, n, min_group_size)
            row("burnout_at_risk", sum(p >= burnout_threshold for p in people.values()), n, min_group_size)
    if dimension == "all" and "acct" in b:
        win = list(_window(st, d, WINDOW["retention_rate"]))
        signups = sum(x.get("acct", [0, 0])[0] for x in win)
        cancels = sum(x.get("acct", [0, 0])[1] for x in win)
        start = st["active"] + cancels - signups
        if start > 0:
            row("retention_rate", 100.0 * max(0, start - cancels) / start, start)
    return rows


# ---------------------------------------------------------------------------- sentiment spikes
def _spike_step(st: dict, dim_key: str, d: int, t: float, min_texts: int, margin: float,
                cooldown_days: float, min_authors: int = 0, quiet: bool = False) -> dict | None:
    """Called before folding an item of day ``d``: when a new day starts, judge the day that just closed
    (a day with fewer than ``min_authors`` distinct authors is neither judged nor learned from)."""
    sp = st["spike"]
    cur = sp.get("day")
    if cur is None:
        sp["day"] = d
        return None
    if d <= cur:
        return None
    sp["day"] = d
    b = st["days"].get(str(cur), {})
    k = "es" if dim_key.startswith("team:") else "cs"
    if k not in b or b[k][1] <= 0:
        return None
    if min_authors and len(b.get("esw", [])) < min_authors:
        return None
    n, neg = b[k][1], b[k][2]
    share = neg / n
    base = sp.setdefault("base", [0.0, 0.0, 0])  # EW mean, EW variance, days seen
    alert = None
    if n >= min_texts and base[2] >= 5:
        thr = base[0] + max(margin, 2.0 * math.sqrt(base[1]))
        a = sp.setdefault("alert", {})
        last = a.get("last_t")
        if not a.get("armed", True) and share < (base[0] + thr) / 2:
            a["armed"] = True
        if a.get("armed", True) and share >= thr and (last is None or t - last >= cooldown_days * DAY) and not quiet:
            a.update(armed=False, last_t=t, n=a.get("n", 0) + 1)
            dim, _, val = dim_key.partition(":")
            when = day_date(cur).isoformat()
            alert = {"alert_type": "sentiment", "subject": val, "subject_type": dim, "team_id": val if dim == "team"
                     else "", "score": round(share, 4), "threshold": round(thr, 4), "model_version": "spike-ewma-v1",
                     "reasons": [{"feature": "negative_share", "value": round(share, 4),
                                  "contribution": round(share - base[0], 4),
                                  "text": f"{neg} of {n} messages on {when} were negative ({share:.0%}); "
                                          f"usual for this {dim} is {base[0]:.0%}"}],
                     "inputs": {"day": when, "texts": n, "negative": neg, "baseline_share": round(base[0], 4),
                                "baseline_days": base[2]},
                     "t": t, "trigger_event_id": f"{dim_key}|{when}", "n_alerts": a["n"]}
    if n >= 3:
        alpha = 0.15 if base[2] >= 5 else 1.0 / (base[2] + 1)
        diff = share - base[0]
        base[0] += alpha * diff
        base[1] = (1 - alpha) * (base[1] + alpha * diff * diff)
        base[2] += 1
    return alert


def _team_burnout_step(st: dict, team: str, t: float, min_group_size: int, min_flagged: int,
                       threshold: float, quiet: bool = False) -> dict | None:
    """A team-level burnout alert (no person named) when enough of the team's people are at risk, counted
    over at least ``min_group_size`` distinct people with a burnout probability."""
    people = latest_risks(st, t)
    n, k = len(people), sum(p >= threshold for p in people.values())
    a = st["team_alert"]
    need = max(min_flagged, 1)
    if not a.get("armed", True) and k < need:
        a["armed"] = True
    if n < min_group_size or k < need or not a.get("armed", True) or quiet:
        return None
    last = a.get("last_t")
    if last is not None and t - last < 21 * DAY:
        return None
    a.update(armed=False, last_t=t, n=a.get("n", 0) + 1)
    when = datetime.fromtimestamp(t, timezone.utc).date().isoformat()
    return {"alert_type": "burnout", "subject": team, "subject_type": "team", "team_id": team,
            "score": round(k / n, 4), "threshold": round(need / n, 4), "model_version": "team-aggregate-v1",
            "reasons": [{"feature": "at_risk_share", "value": round(k / n, 4), "contribution": round(k / n, 4),
                         "text": f"{k} of {n} people in {team} show a high burnout risk (as of {when})"}],
            "inputs": {"at_risk": k, "people": n}, "t": t, "trigger_event_id": f"team:{team}|{when}|{k}",
            "n_alerts": a["n"]}
