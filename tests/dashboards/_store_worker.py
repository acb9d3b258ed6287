"""Fill a chDB store and run every panel and alert rule; write the results as JSON.

Run in its own process (chDB allows one store path per process, and other test modules may
open theirs): ``python _store_worker.py sample|generator DATA_DIR OUT_JSON``.
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
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (list, tuple)):
        return [_safe(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


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


def main() -> None:
    mode, data_dir, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    from pulsewire.dashboards import sample
    from pulsewire.dashboards.build import RULES, _sql, boards
    from pulsewire.dashboards.lag import record_lag
    from pulsewire.dashboards.macros import TimeRange, expand
    from pulsewire.dashboards.runner import anchor_time, dashboard_range, run_panel, run_sql
    from pulsewire.streams.store import open_store

    result: dict = {"mode": mode, "panels": [], "rules": []}
    with open_store(f"chdb://{(data_dir / 'clickhouse').resolve()}") as store:
        if mode == "sample":
            result["info"] = sample.fill(store, sample.SampleConfig(events=20_000))
        else:
            fill_generator(store)
            result["info"] = {}
        # employees and teams as the data has them: the suppression tests compare against these
        result["team_sizes"] = {r["team_id"]: r["n"] for r in store.query_dicts(
            "SELECT team_id, uniqExact(employee_id) AS n FROM events_scored "
            "WHERE employee_id != '' AND team_id != '' GROUP BY team_id")}
        small = [t for t, n in result["team_sizes"].items() if n < 5]
        result["small_team_employees"] = [r["e"] for r in store.query_dicts(
            "SELECT DISTINCT employee_id AS e FROM events_scored WHERE team_id IN %(t)s", {"t": tuple(small) or ("-",)})]
        for b in boards():
            now = anchor_time(store, b.anchor_sql)
            tr = dashboard_range(b.dashboard, now)
            for p in b.dashboard["panels"]:
                r = run_panel(store, p, tr)
                f = r.frames[0]
                result["panels"].append({
                    "board": b.uid, "id": p["id"], "title": p["title"], "type": p["type"],
                    "team_panel": p["id"] in b.team_panels, "columns": f.columns, "types": f.types,
                    "kinds": f.kinds(), "rows": [_safe(list(row)) for row in f.rows], "error": f.error,
                    "ms": f.elapsed_ms})
        pipe_now = anchor_time(store, "SELECT max(ts) FROM pipeline_health")
        for spec in RULES:
            f = run_sql(store, expand(_sql(spec.sql), TimeRange(pipe_now - timedelta(seconds=spec.window_s), pipe_now)))
            result["rules"].append({"uid": spec.uid, "columns": f.columns, "kinds": f.kinds(),
                                    "rows": [_safe(list(r)) for r in f.rows], "error": f.error})
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
