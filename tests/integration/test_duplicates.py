"""A duplicate event_id through the real worker: the first version stays, other content is a dead letter,
an exact replay changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration


def test_first_version_wins_and_a_conflicting_duplicate_is_dead_lettered(pipeline):
    when = (datetime.now(timezone.utc) - timedelta(days=2)).replace(microsecond=0).isoformat()
    e1 = {"event_id": "dup-e1", "source": "itest", "kind": "review", "customer_id": "c-dup", "occurred_at": when,
          "text": "The onboarding call was great", "rating": 5}
    other = {**e1, "text": "Cancelled: nobody answered", "rating": 1}

    pipeline.produce([("events.review", "c-dup", json.dumps(e1).encode())])
    pipeline.start()
    pipeline.wait_processed(1)
    pipeline.produce([("events.review", "c-dup", json.dumps(other).encode())])
    pipeline.wait_processed(3)  # scored, then dead-lettered by the sink
    pipeline.produce([("events.review", "c-dup", json.dumps(e1).encode())])  # an exact replay
    pipeline.wait_processed(4)
    assert pipeline.stop() in (0, -15)

    r = pipeline.query(
        final="SELECT text, rating FROM events_scored FINAL WHERE event_id = 'dup-e1'",
        versions="SELECT count() AS n FROM events_scored WHERE event_id = 'dup-e1'",
        dead="SELECT reason, stage, payload, payload_fields, detail FROM dead_letters FINAL "
             "WHERE reason = 'conflicting_duplicate'",
        health="SELECT sum(dead_letters) AS n FROM pipeline_health WHERE stage = 'sink'",
    )
    assert r["final"] == [{"text": e1["text"], "rating": 5}]
    assert r["versions"] == [{"n": 1}]  # the replay stored nothing new
    assert len(r["dead"]) == 1 and r["dead"][0]["stage"] == "sink"
    # the text is personal: ClickHouse keeps the record's shape, not its values (the raw copy is on events.dlq)
    assert r["dead"][0]["payload"] == "" and "event" in r["dead"][0]["payload_fields"]
    assert other["text"] not in r["dead"][0]["detail"]
    assert r["health"][0]["n"] == 1
