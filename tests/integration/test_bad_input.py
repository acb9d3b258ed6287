"""Bad input the fuzz run found, through the real worker: dead letters keep their reason and origin,
and the good events around them are stored and aggregated."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration


def test_deep_and_far_dated_events_are_dead_lettered_with_reason_and_origin_and_metrics_go_on(pipeline):
    when = datetime.combine(datetime.now(timezone.utc).date() - timedelta(days=1), time(12), timezone.utc)
    good = [("events.review", "c-win", json.dumps({
        "event_id": f"win-{i}", "source": "itest", "kind": "review", "customer_id": "c-win",
        "occurred_at": (when + timedelta(seconds=i)).isoformat(), "text": "Great support, thank you",
        "rating": 5}).encode()) for i in range(40)]
    deep = b'{"event_id": "deep", "kind": "review", "attributes": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    far = json.dumps({"event_id": "year-9999", "source": "itest", "kind": "review", "customer_id": "c-win",
                      "occurred_at": "9999-12-31T23:00:00+00:00", "text": "From the far future", "rating": 1}).encode()
    # the bad ones in the middle of the good ones, on the same key, so they share the metrics batches
    pipeline.produce(good[:20] + [("events.review", "c-win", deep), ("events.review", "c-win", far)] + good[20:])
    pipeline.start()
    pipeline.wait_processed(len(good) + 2)
    assert pipeline.stop() in (0, -15)

    r = pipeline.query(
        dead="SELECT source_topic, reason, stage, partition IS NOT NULL AS has_offset, "
             f"payload_bytes = {len(deep)} AND payload = '' AS deep FROM dead_letters FINAL ORDER BY reason",
        stored="SELECT count() AS n FROM events_scored FINAL WHERE source = 'itest'",
        metric=f"SELECT n FROM metrics_daily FINAL WHERE metric = 'sentiment_customer' AND dimension = 'all' "
               f"AND day = '{when.date().isoformat()}'",
        far_days="SELECT count() AS n FROM metrics_daily FINAL WHERE day > today() + 1",
    )
    assert r["dead"] == [
        {"source_topic": "events.review", "reason": "nesting_too_deep", "stage": "validate", "has_offset": 1, "deep": 1},
        {"source_topic": "events.review", "reason": "timestamp_out_of_range", "stage": "validate", "has_offset": 1,
         "deep": 0}]
    assert r["stored"] == [{"n": len(good)}]
    assert [row["n"] for row in r["metric"]] == [len(good)]  # every good review aggregated
    assert r["far_days"] == [{"n": 0}]
    assert "could not write" not in pipeline.log_tail(10**7)
