"""Storing activity events (what a customer does): raw rows kept briefly, daily totals kept long.

Activity is high volume and has no text, so it is not stored one wide row each in ``events_scored``.
The sink writes each event once into ``activity_events`` (first version wins, as for every event:
``streams/dedup.py``), then recomputes the ``activity_daily`` rows of every (customer, UTC day) the
batch touched from ``activity_events FINAL``. A replay (the same events again, or a batch replayed
after a crash before its ack) stores no raw row twice and recomputes the same totals, so nothing a
query sees changes.

Raw rows are kept ``activity_raw_days`` (``PULSEWIRE_ACTIVITY_RAW_DAYS``, default 7) counted from
the UTC day they were stored, so all rows stored on one day expire together. ``activity_daily`` keeps
one row per ``stored_on`` day besides (customer, day, type, currency), and only the buckets whose raw
rows are all still kept are recomputed: raw rows expiring never shrink a total, and a late event for
an old day adds a bucket of its own. Totals are the sum over ``stored_on`` (``DAILY_TOTALS``).
An event id is recognised as a replay only while its raw row is kept: the same event sent again
after that is counted again (docs/decisions/0012).

>>> row = activity_row({"event_id": "o-1", "source": "shop", "kind": "activity", "type": "order_placed",
...     "occurred_at": "2026-11-01T10:00:00+00:00", "ingested_at": "2026-11-01T10:00:01+00:00",
...     "customer_id": "c-1", "amount": 42.5, "currency": "EUR", "session_id": "s-9"})
>>> row["customer_id"], row["amount"], row["currency"], row["quantity"], row["product"], len(row["content_hash"])
('c-1', 42.5, 'EUR', None, '', 64)
>>> touched([row, dict(row, event_id="o-2")])
['c-1\\x1f2026-11-01']
"""

from __future__ import annotations

from datetime import datetime

from pulsewire.schemas.events import PURCHASE_TYPES

from .dedup import content_hash

KIND = "activity"
RAW_TABLE = "activity_events"
DAILY_TABLE = "activity_daily"
_SEP = "\x1f"


def is_activity(event: dict) -> bool:
    return event.get("kind") == KIND


def _ts(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def activity_row(ev: dict) -> dict:
    """One ``activity_events`` row from a validated activity event (as JSON)."""
    return {
        "event_id": ev["event_id"], "source": ev["source"], "type": ev["type"],
        "occurred_at": _ts(ev["occurred_at"]), "ingested_at": _ts(ev["ingested_at"]),
        "customer_id": ev["customer_id"], "quantity": ev.get("quantity"), "amount": ev.get("amount"),
        "currency": ev.get("currency") or "", "product": ev.get("product") or "",
        "session_id": ev.get("session_id") or "",
        "attributes": {str(k): str(v) for k, v in (ev.get("attributes") or {}).items()},
        "content_hash": content_hash(ev),
    }


def touched(rows: list[dict]) -> list[str]:
    """The (customer, UTC day) keys a batch of rows touches, as ``customer<US>YYYY-MM-DD`` strings."""
    return sorted({f"{r['customer_id']}{_SEP}{_ts(r['occurred_at']).date().isoformat()}" for r in rows})


# Recomputes the buckets of the touched (customer, day) keys whose raw rows are all kept: a bucket
# stored on day S expires at S + raw_days (TTL in migration 0049), so S > today - raw_days is whole.
RECOMPUTE = f"""
INSERT INTO {DAILY_TABLE} (customer_id, day, type, currency, stored_on, events, purchases, quantity_sum,
                           amount_sum, first_at, last_at)
SELECT customer_id, toDate(occurred_at) AS day, type, currency, toDate(stored_at) AS stored_on,
       count() AS events,
       countIf(type IN {{purchase_types:Array(String)}} OR ifNull(amount, 0) > 0) AS purchases,
       sum(ifNull(quantity, 0)) AS quantity_sum, sum(ifNull(amount, 0)) AS amount_sum,
       min(occurred_at) AS first_at, max(occurred_at) AS last_at
FROM {RAW_TABLE} FINAL
WHERE customer_id IN {{customers:Array(String)}}
  AND has({{keys:Array(String)}}, concat(customer_id, '{_SEP}', toString(toDate(occurred_at))))
  AND toDate(stored_at) > toDate(now('UTC')) - {{raw_days:UInt32}}
GROUP BY customer_id, day, type, currency, stored_on"""

#: What a consumer reads: one row per customer, UTC day, type and currency.
DAILY_TOTALS = f"""
SELECT customer_id, day, type, currency, sum(events) AS events, sum(purchases) AS purchases,
       sum(quantity_sum) AS quantity_sum, sum(amount_sum) AS amount_sum, min(first_at) AS first_at,
       max(last_at) AS last_at
FROM {DAILY_TABLE} FINAL
GROUP BY customer_id, day, type, currency"""


def recompute_daily(store, keys: list[str], raw_days: int) -> None:
    """Rewrite the ``activity_daily`` rows of ``keys`` (from ``touched``) from the raw rows kept."""
    if not keys:
        return
    store.command(RECOMPUTE, {"keys": keys, "customers": sorted({k.split(_SEP, 1)[0] for k in keys}),
                              "raw_days": int(raw_days), "purchase_types": sorted(PURCHASE_TYPES)})


class ActivitySink:
    """``activity_events`` (first version wins, through an ``EventSink`` on that table), then the
    touched ``activity_daily`` rows. Returns the indexes of conflicting duplicates, like ``EventSink``.

    The recompute covers every touched key, replays included: a crash between the raw insert and the
    recompute leaves raw rows whose replay stores nothing, and the recompute catches them up."""

    def __init__(self, raw, raw_days: int):
        self.raw, self.raw_days = raw, raw_days  # raw: EventSink over activity_events

    async def write(self, rows: list[dict]) -> list[int]:
        conflicts = await self.raw.write(rows)
        keys = touched(rows)
        await self.raw.sink.call(f"recompute of {len(keys)} activity days", recompute_daily, keys, self.raw_days)
        return conflicts
