"""Writing to ClickHouse: one sink per table, the only way agents write to the store.

Every table the worker writes is declared once here (``SINKS``) with what happens to a row the
store refuses. One rule for all of them:

* **Nothing accepted is lost.** ``TableSink.write`` returns only when every row is stored (or
  isolated, below). While the store does not answer, it retries with backoff, forever; the agent
  is still inside its loop body, so its batch stays unacknowledged and a crash replays it.
* **A poison row does not block the rest.** When a chunk is refused, its rows are inserted one by
  one; a row that is refused while the store answers ``SELECT 1`` is poison. The rest are stored;
  the poison row goes to ``events.dlq`` with reason ``store_rejected`` (``dead_letters`` itself
  stores a minimal fallback row instead: a dead letter never loops back to the topic it came from).
* Rows are inserted in chunks of ``settings.sink_batch_size``. The tables are idempotent on a
  stable id (ReplacingMergeTree), so a replayed batch changes nothing a query with ``FINAL`` sees.

>>> [s.table for s in SINKS.values() if s.on_poison is OnPoison.FALLBACK_ROW]
['dead_letters']
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Awaitable, Callable

from pulsewire.schemas.dead_letter import DeadLetter, Reason

from .dedup import Plan, Version, triage

log = logging.getLogger("pulsewire.sinks")


class OnPoison(str, Enum):
    DEAD_LETTER = "dead_letter"    # the refused row goes to events.dlq (reason store_rejected)
    FALLBACK_ROW = "fallback_row"  # a minimal row built by the sink's ``fallback`` is stored instead


@dataclass(frozen=True)
class SinkSpec:
    table: str
    written_by: str
    on_poison: OnPoison = OnPoison.DEAD_LETTER


SINKS: dict[str, SinkSpec] = {s.table: s for s in (
    SinkSpec("events_scored", "sink"),
    SinkSpec("dead_letters", "dead_letter_sink", OnPoison.FALLBACK_ROW),
    SinkSpec("pipeline_health", "sink"),
    SinkSpec("predictions", "features"),
    SinkSpec("risk_latest", "features"),
    SinkSpec("learn_examples", "learn"),
    SinkSpec("metrics_daily", "metrics"),
    SinkSpec("alerts_audit", "alerts_audit"),
    SinkSpec("consumer_lag", "health"),
    SinkSpec("consent_audit", "features"),
    SinkSpec("erasures", "erase"),
    SinkSpec("drift_events", "metrics, learn (drift watch)"),
    SinkSpec("bias_audit_daily", "audit"),
    SinkSpec("alert_outcomes", "outcomes"),
    SinkSpec("activity_events", "sink"),
)}

#: What a withdrawn consent removes: the person's stored burnout predictions, latest risk and examples.
BURNOUT_ROWS_OF_A_PERSON = (
    "DELETE FROM predictions WHERE model = 'burnout' AND entity_id = {e:String}",
    "DELETE FROM risk_latest WHERE model = 'burnout' AND entity_id = {e:String}",
    "DELETE FROM learn_examples WHERE model = 'burnout' AND entity_id = {e:String}",
)


def forget_burnout_rows(store, entity_ids: list[str]) -> None:
    """Remove the per-person burnout rows of people who withdrew their consent (lightweight deletes)."""
    for entity_id in entity_ids:
        for sql in BURNOUT_ROWS_OF_A_PERSON:
            store.command(sql, {"e": entity_id})


class StoreUnavailable(RuntimeError):
    """The store did not answer: retry the chunk later (nothing was judged poison)."""


def insert_or_isolate(store, table: str, rows: list[dict]) -> list[tuple[dict, Exception]]:
    """Insert ``rows``; if refused, insert them one by one and return the rows the store refuses
    while it answers other queries. Raises ``StoreUnavailable`` when the store is the problem."""
    try:
        store.insert_rows(table, rows)
        return []
    except Exception as exc:
        first = exc
    bad = [(rows[0], first)] if len(rows) == 1 else []
    if len(rows) > 1:
        for row in rows:
            try:
                store.insert_rows(table, [row])
            except Exception as exc:
                bad.append((row, exc))
    if bad:
        try:
            store.ping()
        except Exception as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from first
    return bad


DeadLetterFn = Callable[[DeadLetter], Awaitable[None]]


def dead_letter_fallback(row: dict, exc: Exception) -> dict:
    """What ``dead_letters`` stores for a dead letter it refused: the same id and source, plain values
    only, and why (the original stays on ``events.dlq``)."""
    return {"dl_id": str(row.get("dl_id") or ""), "source_topic": str(row.get("source_topic") or ""),
            "reason": Reason.STORE_REJECTED.value,
            "detail": f"ClickHouse refused this dead letter ({type(exc).__name__}: {exc}); "
                      "the original is on events.dlq"[:4000],
            "payload": "", "payload_encoding": "utf-8", "payload_hash": str(row.get("payload_hash") or ""),
            "redacted": 1, "stage": "sink:dead_letters", "partition": None, "offset": None,
            "failed_at": datetime.now(timezone.utc)}


class TableSink:
    """Batches rows into one table under the rules above. ``store`` is called for the store
    (opened lazily by the worker); ``dead_letter`` sends a DeadLetter to events.dlq."""

    def __init__(self, spec: SinkSpec, store: Callable[[], object], *, chunk_rows: int,
                 dead_letter: DeadLetterFn | None = None, fallback: Callable[[dict, Exception], dict] | None = None,
                 first_delay_s: float = 0.5, max_delay_s: float = 30.0):
        if spec.on_poison is OnPoison.DEAD_LETTER and dead_letter is None:
            raise ValueError(f"the {spec.table} sink dead-letters poison rows: pass dead_letter")
        if spec.on_poison is OnPoison.FALLBACK_ROW and fallback is None:
            raise ValueError(f"the {spec.table} sink stores a fallback for poison rows: pass fallback")
        self.spec, self._store, self.chunk_rows = spec, store, chunk_rows
        self._dead_letter, self._fallback = dead_letter, fallback
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.poisoned = 0

    @property
    def table(self) -> str:
        return self.spec.table

    async def write(self, rows: list[dict]) -> int:
        """Store ``rows`` (retrying while the store is away); return how many were poison."""
        poisoned = 0
        for i in range(0, len(rows), self.chunk_rows):
            for row, exc in await self._retry(rows[i:i + self.chunk_rows]):
                poisoned += 1
                await self._isolate(row, exc)
        self.poisoned += poisoned
        return poisoned

    async def _retry(self, chunk: list[dict]) -> list[tuple[dict, Exception]]:
        return await self.call(f"insert of {len(chunk)} rows into {self.table}", insert_or_isolate, self.table, chunk)

    async def call(self, what: str, fn, *args):
        """``fn(store, *args)`` in a thread, retried with backoff until it returns."""
        delay, attempt = self.first_delay_s, 0
        while True:
            attempt += 1
            try:
                return await asyncio.to_thread(fn, self._store(), *args)
            except Exception as exc:  # the store is down, a network blip, a store still opening
                log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, exc, delay)
                await asyncio.sleep(delay)
                delay = min(self.max_delay_s, delay * 2)

    async def _isolate(self, row: dict, exc: Exception) -> None:
        detail = f"ClickHouse refused the row for {self.table}: {type(exc).__name__}: {exc}"
        log.error("poison row in %s isolated (%s)", self.table, exc)
        if self.spec.on_poison is OnPoison.FALLBACK_ROW:
            fallback = self._fallback(row, exc)
            for bad, exc2 in await self._retry([fallback]):  # built from plain values: refused only by a broken schema
                log.error("the fallback row for %s was refused too (%s); the dead letter stays on events.dlq: %r",
                          self.table, exc2, bad)
            return
        await self._dead_letter(DeadLetter.make(f"clickhouse.{self.table}", json.dumps(row, default=str),
                                                Reason.STORE_REJECTED, detail, where=f"sink:{self.table}",
                                                known_fields=list(row)))  # our table's columns


class EventSink:
    """``events_scored`` (or ``activity_events``: the table of ``sink``) with first-wins de-duplication
    (``streams/dedup.py``).

    Per batch: look up the versions already stored for its event_ids, store only first versions,
    then look again, because another worker may have stored an earlier version of the same id
    meanwhile: whichever version is first stays and the other is removed, so the stored row is the
    first even under that race. Returns the indexes of the conflicting duplicates in ``rows``
    (the caller dead-letters them with the records they came from)."""

    def __init__(self, sink: TableSink):
        self.sink = sink

    async def write(self, rows: list[dict]) -> list[int]:
        ids = [r["event_id"] for r in rows]
        versions = [Version(r["ingested_at"], r["content_hash"]) for r in rows]
        plan = await self._resolve(ids, versions)
        await self.sink.write([rows[i] for i in plan.insert])
        if not plan.insert:
            return plan.conflicts
        again = await self._resolve([ids[i] for i in plan.insert], [versions[i] for i in plan.insert])
        return sorted(plan.conflicts + [plan.insert[j] for j in again.conflicts])

    async def _resolve(self, ids: list[str], versions: list[Version]) -> Plan:
        stored = await self.sink.call(f"look-up of {len(set(ids))} event ids", _stored_versions, self.sink.table,
                                      sorted(set(ids)))
        plan = triage(ids, versions, stored)
        if plan.remove:
            log.warning("removing %d later versions of events stored by a concurrent writer: %s", len(plan.remove),
                        ", ".join(e for e, _ in plan.remove[:5]))
            await self.sink.call("removal of later versions", _remove_versions, self.sink.table, plan.remove)
        return plan


def _stored_versions(store, table: str, ids: list[str]) -> dict[str, list[Version]]:
    out: dict[str, list[Version]] = {}
    for r in store.query_dicts(f"SELECT event_id, ingested_at, content_hash FROM {table} "
                               "WHERE event_id IN {ids:Array(String)}", {"ids": ids}):
        out.setdefault(r["event_id"], []).append(Version(r["ingested_at"], r["content_hash"]))
    return out


def _remove_versions(store, table: str, pairs: list[tuple[str, str]]) -> None:
    for event_id, digest in pairs:
        store.command(f"DELETE FROM {table} WHERE event_id = {{e:String}} AND content_hash = {{h:String}}",
                      {"e": event_id, "h": digest})
