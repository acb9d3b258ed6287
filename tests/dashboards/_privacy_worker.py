"""Fill a fresh chDB store with a privacy scenario and read it back as a dashboard viewer would: the real
panels over given time ranges, and every object Grafana's read-only user may read.

Run in its own process (chDB allows one store path per process):
``python _privacy_worker.py SPEC_JSON OUT_JSON``. The spec (built by test_privacy_views.py):

* ``events``: events_scored rows (missing columns get their defaults), times as ISO strings;
* ``metrics``: metrics_daily rows ``[day, metric, dimension, dimension_value, value, n]``;
* ``alerts``: burnout alerts ``[team, employee, occurred_at]``;
* ``access``: StoreAccess arguments applied after migrating (thresholds), or absent;
* ``settings_rows``: raw ``[name, value]`` rows written into privacy_settings afterwards;
* ``ranges``: ``[[from, to], ...]``: every board's panels run once per range;
* ``board``: ``[from, to]``: also render ``pulsewire board``'s HTML (default thresholds 5/10 passed in),
  returned as ``board_html``.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from _store_worker import _safe  # noqa: E402  (run as a script from this directory)

BLANK = {"customer_id": "", "employee_id": "", "team_id": "", "channel": "", "text": "", "answer": None,
         "question": "", "hours": None, "sentiment_label": "", "sentiment_score": None, "model_version": ""}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    from pulsewire.dashboards.build import boards
    from pulsewire.dashboards.macros import TimeRange
    from pulsewire.dashboards.runner import run_panel
    from pulsewire.streams.store import open_store
    from pulsewire.streams.store_access import GRANTED, StoreAccess

    data_dir = out.parent / "privacy-store"
    access = StoreAccess(**spec["access"]) if spec.get("access") else None
    result: dict = {"ranges": [], "granted": {}}
    with open_store(f"chdb://{data_dir.resolve()}", access=access) as store:
        events, accepted = [], datetime.now(timezone.utc)
        for ev in spec.get("events", []):
            row = {**BLANK, **ev}
            row["occurred_at"] = datetime.fromisoformat(ev["occurred_at"])
            row["ingested_at"] = accepted  # the validator's clock: when the worker took the event in
            events.append(row)
        # one column set per insert: rows with and without text differ in nothing but values
        for i in range(0, len(events), 1000):
            store.insert_rows("events_scored", events[i:i + 1000])
        if spec.get("metrics"):
            store.client.insert("metrics_daily", [[date.fromisoformat(d), m, dim, dv, float(v), int(n)]
                                                  for d, m, dim, dv, v, n in spec["metrics"]],
                                column_names=["day", "metric", "dimension", "dimension_value", "value", "n"])
        if spec.get("alerts"):
            store.client.insert("alerts_audit", [
                [f"alert-{subject}-{at}", "burnout", subject, "employee", team, 0.9, 0.7, "test", [], "{}",
                 "alerts.burnout", datetime.fromisoformat(at), datetime.fromisoformat(at)]
                for team, subject, at in spec["alerts"]], column_names=[
                "alert_id", "alert_type", "subject", "subject_type", "team_id", "score", "threshold",
                "model_version", "reasons", "inputs", "topic", "created_at", "occurred_at"])
        if spec.get("settings_rows"):
            store.client.insert("privacy_settings", spec["settings_rows"], column_names=["name", "value"])
        for start, end in spec.get("ranges", []):
            tr = TimeRange(datetime.fromisoformat(start), datetime.fromisoformat(end))
            panels = {}
            for b in boards():
                for p in b.dashboard["panels"]:
                    f = run_panel(store, p, tr).frames[0]
                    panels[f"{b.uid}/{p['title']}"] = {"columns": f.columns, "error": f.error,
                                                       "rows": [_safe(list(r)) for r in f.rows]}
            result["ranges"].append(panels)
        if spec.get("board"):
            from pulsewire.dashboards.board import write_board

            start, end = (datetime.fromisoformat(t) for t in spec["board"])
            write_board(store, out.parent / "board.html", start=start, end=end, min_group=5, min_comment_group=10)
            result["board_html"] = (out.parent / "board.html").read_text()
        for name in GRANTED:
            res = store.client.query(f"SELECT * FROM {name}")
            result["granted"][name] = {"columns": list(res.column_names),
                                       "rows": [_safe(list(r)) for r in res.result_rows]}
        result["thresholds"] = store.query_dicts("SELECT * FROM privacy_thresholds")[0]
    out.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
