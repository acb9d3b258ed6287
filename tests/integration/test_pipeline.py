"""The worker end to end: broker → validate → score → ClickHouse, with bad input and crashes.

Runs against the embedded broker and, in CI, against real Apache Kafka too.
"""

from __future__ import annotations

import json

import pytest

from .conftest import generated

pytestmark = pytest.mark.integration

GOOD_REVIEW = {"event_id": "bad-input-good", "source": "itest", "kind": "review", "customer_id": "c-1",
               "occurred_at": "2026-11-01T10:00:00+00:00", "text": "Absolutely love it, great support", "rating": 5}


def bad_inputs() -> list[tuple[str, str, bytes, str]]:
    """(topic, key, payload, expected reason) — each kind of bad input the issue names."""
    def j(d):
        return json.dumps(d).encode()
    base = {k: v for k, v in GOOD_REVIEW.items() if k != "event_id"}
    return [
        ("events.review", "c-1", b'{"event_id": "x", "kind": "review", oops', "malformed_json"),
        ("events.review", "c-1", j({**base, "event_id": "b-missing", "customer_id": None} | {"customer_id": None}),
         "wrong_type"),
        ("events.review", "c-1", j({k: v for k, v in {**base, "event_id": "b-miss"}.items() if k != "customer_id"}),
         "missing_field"),
        ("events.review", "c-1", j({**base, "event_id": "b-type", "rating": "five"}), "wrong_type"),
        ("events.review", "c-1", j({**base, "event_id": "b-kind", "kind": "tweet"}), "unknown_kind"),
        ("events.review", "c-1", j({**base, "event_id": "b-big", "text": "word " * 5000}), "text_too_large"),
        ("events.review", "c-1", j({**base, "event_id": "b-naive", "occurred_at": "2026-11-01T10:00:00"}),
         "naive_timestamp"),
        ("events.review", "c-1", j({**base, "event_id": "b-drift", "stars": 4}), "schema_drift"),
    ]


def test_valid_events_are_stored_once_and_bad_input_is_dead_lettered(pipeline):
    good = generated(400)
    bad = bad_inputs()
    dup = [("events.review", "c-1", json.dumps(GOOD_REVIEW).encode())] * 3  # a duplicate is not an error
    pipeline.produce(good + [b[:3] for b in bad] + dup)
    pipeline.start()
    pipeline.wait_processed(len(good) + len(bad) + len(dup))
    assert pipeline.stop() in (0, -15)

    r = pipeline.query(
        # activity events are stored apart (activity_events), never as events_scored rows
        totals="SELECT count() AS n, uniqExact(event_id) AS ids FROM (SELECT event_id FROM events_scored FINAL "
               "UNION ALL SELECT event_id FROM activity_events FINAL)",
        activity_wide="SELECT count() AS n FROM events_scored FINAL WHERE kind = 'activity'",
        review="SELECT sentiment_label, text_truncated, model_version FROM events_scored FINAL "
               "WHERE event_id = 'bad-input-good'",
        windows="SELECT text_windows, sentiment_min_window_score - sentiment_score AS gap FROM events_scored FINAL "
                "WHERE event_id = 'bad-input-good'",
        dead="SELECT reason, count() AS n FROM dead_letters FINAL GROUP BY reason",
        emp="SELECT count() AS n FROM events_scored FINAL WHERE employee_id != '' AND employee_id NOT LIKE 'emp\\_%'",
        scored="SELECT countIf(sentiment_label != '') AS with_sentiment FROM events_scored FINAL",
    )
    assert r["totals"][0] == {"n": len(good) + 1, "ids": len(good) + 1}
    assert any(json.loads(v).get("kind") == "activity" for _, _, v in good) and r["activity_wide"] == [{"n": 0}]
    assert r["review"] == [{"sentiment_label": "positive", "text_truncated": 0, "model_version": r["review"][0]["model_version"]}]
    # a short text is one window: its most negative window is the text itself
    assert r["windows"][0]["text_windows"] == 1 and r["windows"][0]["gap"] == pytest.approx(0.0, abs=1e-6)
    expected = {}
    for *_, reason in bad:
        expected[reason] = expected.get(reason, 0) + 1
    assert {d["reason"]: d["n"] for d in r["dead"]} == expected
    assert r["emp"] == [{"n": 0}], "a raw employee id reached ClickHouse"
    with_text = sum(1 for _, _, v in good if json.loads(v).get("text")) + 1
    assert r["scored"][0]["with_sentiment"] == with_text  # every text was scored, nothing else was


def test_replaying_the_whole_stream_leaves_no_duplicates(pipeline):
    good = generated(300, seed=5)
    pipeline.produce(good)
    pipeline.start()
    pipeline.wait_processed(len(good))
    pipeline.stop()
    # Replay: the same events arrive again (a connector restarted from an old cursor).
    pipeline.produce(good)
    pipeline.start()
    pipeline.wait_processed(2 * len(good))
    pipeline.stop()
    r = pipeline.query(final="SELECT count() AS n FROM (SELECT event_id FROM events_scored FINAL "
                             "UNION ALL SELECT event_id FROM activity_events FINAL)",
                       ids="SELECT uniqExact(event_id) AS n FROM (SELECT event_id FROM events_scored "
                           "UNION ALL SELECT event_id FROM activity_events)")
    assert r["final"] == [{"n": len(good)}] and r["ids"] == [{"n": len(good)}]


def test_sigkill_mid_stream_then_restart_keeps_every_event_exactly_once(crash_pipeline):
    pipeline = crash_pipeline
    good = generated(2000, seed=3, bad_rate=0.01)
    n_bad = sum(1 for topic, _, v in good if _is_bad(topic, v))
    pipeline.produce(good)
    pipeline.start()
    pipeline.wait_progress(300)
    pipeline.kill()  # SIGKILL: no flush, no commit, no goodbye
    pipeline.broker.after_worker_crash()
    pipeline.reader.close()
    pipeline.reader = type(pipeline.reader)(pipeline.bootstrap, pipeline.group, pipeline.reader.topics)
    pipeline.start()
    pipeline.wait_processed(len(good))
    pipeline.stop()
    r = pipeline.query(totals="SELECT count() AS n, uniqExact(event_id) AS ids FROM (SELECT event_id FROM "
                              "events_scored FINAL UNION ALL SELECT event_id FROM activity_events FINAL)",
                       dead="SELECT count() AS n FROM dead_letters FINAL")
    assert r["totals"][0] == {"n": len(good) - n_bad, "ids": len(good) - n_bad}
    assert r["dead"][0]["n"] == n_bad


def _is_bad(topic: str, value: bytes) -> bool:
    from pulsewire.streams.privacy import KeyRing
    from pulsewire.streams.validation import validate_record

    ev, _ = validate_record(value, topic, keys=KeyRing(b"x" * 16), max_text_chars=20_000,
                            max_payload_bytes=256 * 1024)
    return ev is None
