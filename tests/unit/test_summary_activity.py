"""``pulsewire summary`` counts activity events, which are stored apart from ``events_scored``
(streams/activity.py): without them the demo's totals did not add up to the events sent."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

from pulsewire.streams.activity import ActivitySink, activity_row
from pulsewire.streams.sinks import SINKS, EventSink, TableSink
from pulsewire.streams.summary import store_summary


def _sink(store) -> ActivitySink:
    async def dead_letter(dl):
        raise AssertionError(f"no row here is poison: {dl}")

    return ActivitySink(EventSink(TableSink(SINKS["activity_events"], lambda: store, chunk_rows=100,
                                            dead_letter=dead_letter, first_delay_s=0.01)), 7)


def _rows(source: str) -> list[dict]:
    t = (datetime.now(timezone.utc) - timedelta(days=2)).replace(microsecond=0)
    types = ["login", "login", "order_placed"]
    return [activity_row({"event_id": f"{source}-{i}", "source": source, "kind": "activity", "type": typ,
                          "customer_id": f"{source}-c", "occurred_at": (t + timedelta(minutes=i)).isoformat(),
                          "ingested_at": (t + timedelta(minutes=i, seconds=1)).isoformat()})
            for i, typ in enumerate(types)]


def test_a_summary_counts_the_activity_events_stored(store):
    source = f"sum-{uuid.uuid4().hex[:8]}"
    before = store_summary(store)
    asyncio.run(_sink(store).write(_rows(source)))
    asyncio.run(_sink(store).write(_rows(source)))  # a replay: counted once
    after = store_summary(store)
    assert after["activity_events"] - before["activity_events"] == 3
    assert after["activity_raw_rows"] - before["activity_raw_rows"] == 3
    assert after["activity_unique_ids"] - before["activity_unique_ids"] == 3
    mine = [(r["type"], r["events"]) for r in after["activity_by_source_type"] if r["source"] == source]
    assert mine == [("login", 2), ("order_placed", 1)]
    assert after["stored_events"] == before["stored_events"]  # not in events_scored
    json.dumps(after, default=str)


def test_the_printed_summary_shows_activity(store, capsys):
    from pulsewire.streams.cli.pipeline import print_summary

    source = f"sum-{uuid.uuid4().hex[:8]}"
    asyncio.run(_sink(store).write(_rows(source)))
    summary = store_summary(store)
    print_summary(summary)
    out = capsys.readouterr().out
    assert f"activity events: {summary['activity_events']}" in out
    assert source in out and "order_placed" in out
