"""Activity events on the real chDB store: raw rows (first version wins) and daily totals recomputed
from them (streams/activity.py, migration 0049)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

from pulsewire.streams.activity import DAILY_TOTALS, ActivitySink, activity_row
from pulsewire.streams.erasure import Subject, erase_rows
from pulsewire.streams.sinks import SINKS, EventSink, TableSink

# relative to today: the store has TTLs, and the raw rows' window counts from the day they were stored
DAY = (datetime.now(timezone.utc) - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


def _event(customer: str, eid: str, type_: str, minute: int, **extra) -> dict:
    t = DAY + timedelta(minutes=minute)
    return {"event_id": eid, "source": "shop", "kind": "activity", "type": type_, "customer_id": customer,
            "occurred_at": t.isoformat(), "ingested_at": (t + timedelta(seconds=1)).isoformat(), **extra}


def _sink(store, raw_days: int = 7) -> ActivitySink:
    async def dead_letter(dl):
        raise AssertionError(f"no row here is poison: {dl}")

    raw = EventSink(TableSink(SINKS["activity_events"], lambda: store, chunk_rows=100, dead_letter=dead_letter,
                              first_delay_s=0.01))
    return ActivitySink(raw, raw_days)


def _totals(store, customer: str) -> list[dict]:
    return store.query_dicts(f"SELECT * FROM ({DAILY_TOTALS}) WHERE customer_id = {{c:String}} "
                             "ORDER BY day, type, currency", {"c": customer})


def _batch(customer: str) -> list[dict]:
    return [activity_row(e) for e in (
        _event(customer, f"{customer}-1", "login", 0),
        _event(customer, f"{customer}-2", "login", 5, session_id="s1"),
        _event(customer, f"{customer}-3", "order_placed", 10, amount=40.0, currency="EUR", quantity=2.0),
        _event(customer, f"{customer}-4", "order_placed", 20, amount=2.5, currency="EUR", quantity=1.0),
        _event(customer, f"{customer}-5", "order_placed", 30, amount=10.0, currency="USD"),
        _event(customer, f"{customer}-6", "refund", 40, amount=-5.0, currency="EUR"),
    )]


def test_daily_totals_per_customer_day_type_and_currency(store):
    c = f"act-{uuid.uuid4().hex[:8]}"
    assert asyncio.run(_sink(store).write(_batch(c))) == []
    got = [(r["type"], r["currency"], r["events"], r["purchases"], r["quantity_sum"], r["amount_sum"])
           for r in _totals(store, c)]
    assert got == [("login", "", 2, 0, 0.0, 0.0), ("order_placed", "EUR", 2, 2, 3.0, 42.5),
                   ("order_placed", "USD", 1, 1, 0.0, 10.0), ("refund", "EUR", 1, 0, 0.0, -5.0)]
    login = _totals(store, c)[0]
    assert (login["day"], login["first_at"], login["last_at"]) == (
        DAY.date(), DAY, DAY + timedelta(minutes=5))
    assert store.query_dicts("SELECT count() AS n FROM events_scored WHERE customer_id = {c:String}",
                             {"c": c})[0]["n"] == 0


def test_a_replay_changes_nothing_a_consumer_sees(store):
    c = f"act-{uuid.uuid4().hex[:8]}"
    sink = _sink(store)
    asyncio.run(sink.write(_batch(c)))
    before = _totals(store, c)
    assert asyncio.run(sink.write(_batch(c))) == []
    assert asyncio.run(sink.write(_batch(c)[2:4])) == []
    after = _totals(store, c)
    assert [{k: v for k, v in r.items()} for r in after] == before
    raw = store.query_dicts("SELECT count() AS n FROM activity_events WHERE customer_id = {c:String}", {"c": c})
    assert raw[0]["n"] == 6


def test_a_crash_between_raw_insert_and_recompute_is_caught_up_by_the_replay(store):
    c = f"act-{uuid.uuid4().hex[:8]}"
    rows = _batch(c)
    store.insert_rows("activity_events", rows)  # the raw insert happened, the worker died before the daily one
    assert _totals(store, c) == []
    assert asyncio.run(_sink(store).write(rows)) == []  # the replay stores no raw row, but recomputes
    assert sum(r["events"] for r in _totals(store, c)) == 6


def test_other_content_under_a_stored_event_id_is_a_conflict(store):
    c = f"act-{uuid.uuid4().hex[:8]}"
    sink = _sink(store)
    asyncio.run(sink.write(_batch(c)))
    changed = _event(c, f"{c}-3", "order_placed", 10, amount=99.0, currency="EUR", quantity=2.0)
    changed = activity_row(dict(changed, ingested_at=(DAY + timedelta(hours=1)).isoformat()))  # a later version
    assert asyncio.run(sink.write([changed])) == [0]
    eur = [r for r in _totals(store, c) if r["currency"] == "EUR" and r["type"] == "order_placed"]
    assert eur[0]["amount_sum"] == 42.5


def test_raw_rows_past_their_window_never_shrink_a_total(store):
    """Rows stored more days ago than the raw window may be expiring: their bucket is left as it is,
    and a late event for the same customer and day adds to the day's total."""
    c = f"act-{uuid.uuid4().hex[:8]}"
    # the store's clock, not ours: the window and the TTL are the store's (under faketime the two differ)
    store_now = store.query_dicts("SELECT now64(3, 'UTC') AS t")[0]["t"]
    stored_before = store_now - timedelta(days=5)  # the table's own TTL keeps them (7 days)
    old = [dict(r, stored_at=stored_before) for r in _batch(c)[:2]]  # two logins, stored 5 days ago
    store.insert_rows("activity_events", old)
    asyncio.run(_sink(store, raw_days=30).write(old))  # within a 30-day window: counted in their bucket
    assert [r["events"] for r in _totals(store, c)] == [2]
    # One of the two expired (TTL deletes rows part by part); a new login arrives for the same day.
    store.command("DELETE FROM activity_events WHERE event_id = {e:String}", {"e": old[0]["event_id"]})
    late = activity_row(_event(c, f"{c}-late", "login", 50))
    assert asyncio.run(_sink(store, raw_days=3).write([late])) == []  # a 3-day window: the old bucket is past it
    assert [r["events"] for r in _totals(store, c)] == [3]
    assert _totals(store, c)[0]["last_at"] == DAY + timedelta(minutes=50)


def test_forget_removes_a_customers_activity(store):
    c, other = f"act-{uuid.uuid4().hex[:8]}", f"act-{uuid.uuid4().hex[:8]}"
    asyncio.run(_sink(store).write(_batch(c) + _batch(other)))
    removed, _ = erase_rows(store, Subject("customer", c, "h" * 32))
    assert removed["activity_events"] == 6 and removed["activity_daily"] == 4
    assert _totals(store, c) == []
    assert store.query_dicts("SELECT count() AS n FROM activity_events WHERE customer_id = {c:String}",
                             {"c": c})[0]["n"] == 0
    assert sum(r["events"] for r in _totals(store, other)) == 6
