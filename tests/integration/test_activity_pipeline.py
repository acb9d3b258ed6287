"""Activity events through a real worker: daily totals in activity_daily, raw rows in activity_events,
nothing in events_scored; the same events sent again change nothing; bad ones are dead letters."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration


def _activity(i: int, customer: str, type_: str, when: datetime, **extra) -> tuple[str, str, bytes]:
    ev = {"event_id": f"act-{customer}-{i}", "source": "shop", "kind": "activity", "type": type_,
          "customer_id": customer, "occurred_at": (when + timedelta(minutes=i)).isoformat(), **extra}
    return "events.activity", customer, json.dumps(ev).encode()


def test_activity_is_aggregated_replays_change_nothing_and_bad_records_are_dead_letters(pipeline):
    when = datetime.combine(datetime.now(timezone.utc).date() - timedelta(days=1), time(9), timezone.utc)
    good = ([_activity(i, "c-act1", "login", when, session_id=f"s{i % 3}") for i in range(30)]
            + [_activity(100 + i, "c-act1", "order_placed", when, amount=10.0, currency="EUR", quantity=2.0)
               for i in range(5)]
            + [_activity(200 + i, "c-act2", "feature_used", when, product="reports") for i in range(12)])
    bad = [_activity(900, "c-act1", "order_placed", when, amount=5.0),               # amount without currency
           _activity(901, "c-act1", "login", when, text="hello"),                    # text on an activity
           _activity(902, "c-act1", "Order Placed", when)]                           # a type not normalised
    review = ("events.review", "c-act1", json.dumps({
        "event_id": "act-review-1", "source": "itest", "kind": "review", "customer_id": "c-act1",
        "occurred_at": when.isoformat(), "text": "Great shop", "rating": 5}).encode())
    pipeline.produce(good + bad)
    pipeline.start()
    pipeline.wait_processed(len(good) + len(bad))
    pipeline.produce(good + [review])  # the same events again, while the worker runs, and one review after them
    pipeline.wait_processed(2 * len(good) + len(bad) + 1)
    assert pipeline.stop() in (0, -15)

    r = pipeline.query(
        daily="SELECT customer_id, toString(day) AS day, type, currency, sum(events) AS events, "
              "sum(purchases) AS purchases, sum(quantity_sum) AS quantity, sum(amount_sum) AS amount "
              "FROM activity_daily FINAL GROUP BY customer_id, day, type, currency ORDER BY customer_id, type",
        raw="SELECT count() AS n, uniqExact(event_id) AS ids FROM activity_events FINAL",
        versions="SELECT count() AS n FROM activity_events",
        scored="SELECT kind, count() AS n FROM events_scored FINAL GROUP BY kind ORDER BY kind",
        dead="SELECT reason, stage, detail FROM dead_letters FINAL WHERE source_topic = 'events.activity' "
             "ORDER BY detail",
        other_dead="SELECT source_topic, reason, stage FROM dead_letters FINAL WHERE source_topic != 'events.activity'",
    )
    day = when.date().isoformat()
    assert r["daily"] == [
        {"customer_id": "c-act1", "day": day, "type": "login", "currency": "", "events": 30, "purchases": 0,
         "quantity": 0.0, "amount": 0.0},
        {"customer_id": "c-act1", "day": day, "type": "order_placed", "currency": "EUR", "events": 5,
         "purchases": 5, "quantity": 10.0, "amount": 50.0},
        {"customer_id": "c-act2", "day": day, "type": "feature_used", "currency": "", "events": 12,
         "purchases": 0, "quantity": 0.0, "amount": 0.0}]
    assert r["raw"] == [{"n": len(good), "ids": len(good)}]
    assert r["versions"] == [{"n": len(good)}]  # the replay stored no raw row
    assert r["scored"] == [{"kind": "review", "n": 1}]  # no activity in events_scored; the worker went on
    assert [(d["reason"], d["stage"]) for d in r["dead"]] == [("invalid_value", "validate")] * 3
    details = " ".join(d["detail"] for d in r["dead"])
    assert r["other_dead"] == []  # no later stage refused an activity event
    assert "needs currency" in details and "carry no text" in details and "activity.type" in details
