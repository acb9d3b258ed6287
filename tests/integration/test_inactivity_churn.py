"""Churn by inactivity through a real worker: a customer who goes silent for more than N days of event
time is labelled churned by the worker's event-time sweep (another customer's later events move the
watermark of the one partition on), once; a restarted worker that is sent everything again adds no
example, no prediction and no alert.

Event times are relative to now: nothing here depends on today's date.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from ..connectors.conftest import read_topics
from .conftest import Pipeline

pytestmark = pytest.mark.integration
N_DAYS = 30


def review(eid: str, cid: str, when: datetime) -> tuple[str, str, bytes]:
    e = {"event_id": eid, "source": "itest", "kind": "review", "customer_id": cid,
         "occurred_at": when.replace(microsecond=0).isoformat(), "text": "Fine, as usual", "rating": 4}
    return "events.review", cid, json.dumps(e).encode()


def churn_records(p: Pipeline, cid: str) -> tuple[list[dict], list[dict]]:
    recs = read_topics(p.bootstrap, [p.topic("learn.churn"), p.topic("alerts.churn")], 20.0)
    values = [(r.topic, json.loads(r.value)) for r in recs]
    examples = [v for t, v in values if t == p.topic("learn.churn") and v["entity_id"] == cid]
    alerts = [v for t, v in values if t == p.topic("alerts.churn") and v["subject"] == cid]
    return examples, alerts


def test_a_silent_customer_is_labelled_churned_once_by_the_sweep_and_a_resend_adds_nothing(
        broker, namespace, tmp_path, pseudonym_key):
    p = Pipeline(broker, namespace, tmp_path / "data", pseudonym_key, partitions=1)
    p.data_dir.mkdir()
    base_env = p.env
    p.env = lambda: {**base_env(), "PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity",
                     "PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": str(N_DAYS),
                     "PULSEWIRE_LEARN_MIN_POSITIVES_TO_ALERT": "0"}
    start = datetime.now(timezone.utc) - timedelta(days=120)
    gone = [review(f"gone-{d}", "c-gone", start + timedelta(days=d)) for d in (0, 4, 8)]
    clock = [review(f"clock-{d}", "c-clock", start + timedelta(days=d, hours=1)) for d in range(0, 70, 2)]
    items = sorted(gone + clock, key=lambda it: json.loads(it[2])["occurred_at"])
    try:
        p.start()
        p.produce(items)
        p.wait_processed(len(items), timeout_s=300)
        assert p.stop() in (0, -15)
        examples, alerts = churn_records(p, "c-gone")

        lapse_t = (start + timedelta(days=8 + N_DAYS)).replace(microsecond=0).timestamp()
        churned = [x for x in examples if x["y"] == 1]
        assert churned, examples
        assert len({x["label_event_id"] for x in churned}) == 1              # one lapse
        assert all(x["labelled_at"] == lapse_t for x in churned)              # at last activity + N
        assert {x["pred_event_id"] for x in churned} >= {"gone-8"}
        assert all(x["predicted_at"] < lapse_t for x in churned)
        zeros = {x["pred_event_id"] for x in examples if x["y"] == 0}
        assert {"gone-0", "gone-4"} <= zeros and "gone-8" not in zeros     # active again within N: 0
        assert len({x["id"] for x in examples}) == len(examples)             # each example once
        assert len([a for a in alerts if a["data"].get("action") == "win_back"]) <= 1
        got = p.query(silent="SELECT event_id FROM predictions WHERE entity_id = 'c-gone' "
                             "AND event_id LIKE 'silence:c-gone:%' ORDER BY event_id")
        silent_ids = [r["event_id"] for r in got["silent"]]
        assert silent_ids and len(silent_ids) == len(set(silent_ids))       # one sweep prediction a day
        assert {x["pred_event_id"] for x in churned} - {"gone-8"} <= set(silent_ids)

        # a restart (states and watermark from the changelog) and every event again
        p.start()
        p.produce(items)
        p.wait_processed(2 * len(items), timeout_s=300)
        assert p.stop() in (0, -15)
        examples2, alerts2 = churn_records(p, "c-gone")
        assert sorted(x["id"] for x in examples2) == sorted(x["id"] for x in examples)
        assert sorted(a["id"] for a in alerts2) == sorted(a["id"] for a in alerts)
        got2 = p.query(n="SELECT count() AS n FROM predictions WHERE entity_id = 'c-gone' "
                          "AND event_id LIKE 'silence:c-gone:%'")
        assert got2["n"] == [{"n": len(silent_ids)}]
    finally:
        p.close()


def test_on_a_quiet_live_stream_the_idle_timer_moves_the_watermark_with_the_clock(
        broker, namespace, tmp_path, pseudonym_key):
    p = Pipeline(broker, namespace, tmp_path / "data", pseudonym_key, partitions=1)
    p.data_dir.mkdir()
    base_env = p.env
    # N of about a second, no lateness, and a partition quiet for 2 s follows the clock
    p.env = lambda: {**base_env(), "PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity",
                     "PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": "0.00001", "PULSEWIRE_LEARN_CHURN_INACTIVE_MIN_DAYS": "0.00001",
                     "PULSEWIRE_LEARN_CHURN_SWEEP_LATENESS_HOURS": "0",
                     "PULSEWIRE_LEARN_CHURN_SWEEP_IDLE_HOURS": str(2 / 3600)}
    now = datetime.now(timezone.utc)
    midnight = datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)
    last = midnight - timedelta(seconds=20)  # the only event, just before the next 00:00 UTC (maybe in the future)
    try:
        p.start()
        p.produce([review("live-1", "c-live", last)])
        p.wait_processed(1, timeout_s=240)
        deadline = time.monotonic() + 90
        churned = []
        while not churned and time.monotonic() < deadline:
            time.sleep(3)
            examples, _ = churn_records(p, "c-live")
            churned = [x for x in examples if x["y"] == 1]
        assert p.stop() in (0, -15)
        assert [x["pred_event_id"] for x in churned] == ["live-1"], p.log_tail()
        assert churned[0]["labelled_at"] < midnight.timestamp()
    finally:
        p.close()
