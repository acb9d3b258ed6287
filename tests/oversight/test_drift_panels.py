"""The drift panels run on chDB through the granted view and show what a drift event says."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from pulsewire.dashboards import build, oversight_drift
from pulsewire.dashboards.macros import TimeRange
from pulsewire.dashboards.runner import run_panel
from pulsewire.models.oversight.drift import Change, DetectorParams
from pulsewire.schemas.drift import Series, drift_row, make_drift_cloudevent
from pulsewire.streams.store_access import GRANTED


def board() -> build.Board:
    p = build._Panels()
    assert oversight_drift.add_panels(p, 4) == 12
    return build.Board(build._dashboard("pulsewire-drift-test", "Drift", "test", p.panels, "now-30d", "1m"), "")


def test_the_panels_read_only_the_granted_view():
    for panel in board().dashboard["panels"]:
        names = set(re.findall(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", panel["targets"][0]["rawSql"]))
        assert names == {oversight_drift.VIEW} and names <= set(GRANTED)


def test_the_panels_show_a_stored_drift_event_once_on_chdb(store):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    found = now - timedelta(days=2)
    c = Change("down", (found - timedelta(days=1)).timestamp(), found.timestamp(), 0.11, 420, -0.72, 44, 0.5)
    series = Series("sentiment", "sentiment", dimension=f"channel:panel-test-{now.timestamp():.0f}")
    ce = make_drift_cloudevent(series, c, DetectorParams())
    store.insert_rows("drift_events", [drift_row(ce)])
    store.insert_rows("drift_events", [drift_row(ce)])  # a replayed row: the view shows it once
    tr = TimeRange(now - timedelta(days=7), now)
    count, table = (run_panel(store, panel, tr) for panel in board().dashboard["panels"])
    assert count.error is None and table.error is None, (count.error, table.error)
    frame = table.frames[0]
    rows = [dict(zip(frame.columns, r)) for r in frame.rows if r[frame.columns.index("series")] == series.key]
    assert len(rows) == 1
    row = rows[0]
    assert (row["direction"], row["mean before"], row["n before"], row["mean after"], row["n after"]) == \
        ("down", 0.11, 420, -0.72, 44)
    assert row["change (sd)"] == round(ce["data"]["change_sd"], 2)
    assert count.frames[0].rows[0][0] >= 1
    # outside the time range: not shown
    old = run_panel(store, board().dashboard["panels"][1], TimeRange(now - timedelta(days=60), now - timedelta(days=30)))
    assert all(r[1] != series.key for r in old.frames[0].rows)
