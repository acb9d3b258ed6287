"""A duplicate event_id keeps its first version (streams/dedup.py, EventSink) on the real chDB store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

from pulsewire.streams.rows import scored_row
from pulsewire.streams.sinks import SINKS, EventSink, TableSink


T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)  # relative to today: the store has TTLs


def _row(eid: str, text: str, ingested_s: float) -> dict:
    t0 = T0
    ev = {"event_id": eid, "source": "dup", "kind": "review", "type": "review", "customer_id": "c1",
          "occurred_at": t0.isoformat(), "ingested_at": (t0 + timedelta(seconds=ingested_s)).isoformat(),
          "text": text, "attributes": {}}
    return scored_row({"event": ev, "sentiment": None})


def _events(store) -> EventSink:
    async def dead_letter(dl):
        raise AssertionError(f"no row here is poison: {dl}")

    return EventSink(TableSink(SINKS["events_scored"], lambda: store, chunk_rows=100, dead_letter=dead_letter,
                               first_delay_s=0.01))


def _stored(store, eid: str) -> tuple[list[str], int]:
    final = store.query_dicts("SELECT text FROM events_scored FINAL WHERE event_id = {e:String}", {"e": eid})
    versions = store.query_dicts("SELECT count() AS n FROM events_scored WHERE event_id = {e:String}", {"e": eid})
    return [r["text"] for r in final], versions[0]["n"]


def test_first_wins_a_replay_changes_nothing_and_other_content_is_a_conflict(store):
    e1, e2 = f"dup-{uuid.uuid4().hex[:8]}", f"dup-{uuid.uuid4().hex[:8]}"
    sink = _events(store)
    assert asyncio.run(sink.write([_row(e1, "first words", 1)])) == []
    # later: e1 again with other text, e1 replayed as it was, and e2 twice in one batch with two texts
    later = [_row(e1, "other words", 5), _row(e1, "first words", 6), _row(e2, "e2 a", 7), _row(e2, "e2 b", 8)]
    assert asyncio.run(sink.write(later)) == [0, 3]
    assert _stored(store, e1) == (["first words"], 1)  # the replay stored nothing new
    assert _stored(store, e2) == (["e2 a"], 1)


def test_two_writers_racing_keep_the_first_version(store):
    eid = f"race-{uuid.uuid4().hex[:8]}"
    first, later = _row(eid, "written first", 1), _row(eid, "written later", 3)
    # Two workers each found nothing stored and inserted their version; ReplacingMergeTree(ingested_at)
    # alone would now show the later one.
    store.insert_rows("events_scored", [first])
    store.insert_rows("events_scored", [later])
    assert _stored(store, eid) == (["written later"], 2)
    # The later writer's check (after its insert, or its replay after a crash) finds the earlier version.
    assert asyncio.run(_events(store).write([later])) == [0]
    assert _stored(store, eid) == (["written first"], 1)


def test_an_earlier_version_arriving_second_still_wins(store):
    eid = f"race-{uuid.uuid4().hex[:8]}"
    store.insert_rows("events_scored", [_row(eid, "validated later", 9)])  # another worker was faster to store
    assert asyncio.run(_events(store).write([_row(eid, "validated first", 2)])) == []
    assert _stored(store, eid) == (["validated first"], 1)
