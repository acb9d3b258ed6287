"""What every agent shares: the batch loop, dead letters, stage counters."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pulsewire.schemas.dead_letter import DeadLetter, Reason

log = logging.getLogger("pulsewire.agents")


class StageStats:
    """Counters per stage since the last flush to the pipeline_health table."""

    def __init__(self):
        self._c = defaultdict(lambda: {"events": 0, "batches": 0, "busy_s": 0.0, "dead_letters": 0})

    def add(self, stage: str, events: int, busy_s: float, dead_letters: int = 0) -> None:
        c = self._c[stage]
        c["events"] += events
        c["batches"] += 1
        c["busy_s"] += busy_s
        c["dead_letters"] += dead_letters

    def drain(self) -> dict[str, dict]:
        out, self._c = dict(self._c), defaultdict(lambda: {"events": 0, "batches": 0, "busy_s": 0.0, "dead_letters": 0})
        return out


async def send_dead_letter(ctx, dl: DeadLetter) -> None:
    await ctx.topics["events.dlq"].send(key=dl.source_topic.encode(), value=dl.model_dump_json().encode())


def failure(topic: str, raw: bytes | str, exc: BaseException, where: str, **kw) -> DeadLetter:
    return DeadLetter.make(topic, raw, Reason.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}", where=where, **kw)


@dataclass
class Record:
    """One record of a batch: its parsed value, the bytes it came as, and where it came from."""

    value: Any
    raw: bytes
    key: bytes | None
    topic: str  # logical name
    partition: int
    offset: int


class Batch:
    """The records of one ``take`` that parsed, and a way to dead-letter any of them."""

    def __init__(self, ctx, stage: str):
        self.ctx, self.stage = ctx, stage
        self.records: list[Record] = []
        self.dead_letters = 0

    async def dead(self, rec: Record, exc: BaseException) -> None:
        await self.dead_raw(rec.raw, rec.topic, rec.partition, rec.offset, exc)

    async def dead_raw(self, raw: bytes | str, topic: str, partition: int | None, offset: int | None,
                       exc: BaseException) -> None:
        self.dead_letters += 1
        await send_dead_letter(self.ctx, failure(topic, raw if raw is not None else b"", exc, self.stage,
                                                 partition=partition, offset=offset))


async def run_batches(ctx, stream, stage: str, *, size: int, within: float, parse: Callable[[bytes], Any],
                      handle: Callable[[Batch], Awaitable[None]]) -> None:
    """The loop every agent runs, Faust style: take up to ``size`` records (or what arrived within
    ``within`` seconds), parse each (one that does not parse becomes a dead letter), hand the batch
    to ``handle``, count the stage. Faust acknowledges the batch after ``handle`` returns.

    An exception never escapes the agent: one that ``handle`` did not deal with itself turns the
    batch's records into dead letters (reason processing_failed), so they are kept, not lost."""
    async for events in stream.take_events(size, within=within):
        t0 = now()
        batch = Batch(ctx, stage)
        for ev in events:
            msg = ev.message
            topic = ctx.topic_map.logical(msg.topic)
            try:
                batch.records.append(Record(parse(ev.value), ev.value, ev.key, topic, msg.partition, msg.offset))
            except Exception as exc:
                await batch.dead_raw(ev.value, topic, msg.partition, msg.offset, exc)
        try:
            if batch.records:
                await handle(batch)
        except Exception as exc:
            log.exception("%s: a batch of %d records failed; they go to the dead letters", stage, len(batch.records))
            for rec in batch.records:
                try:
                    await batch.dead(rec, exc)
                except Exception:
                    log.exception("%s: could not dead-letter %s[%s]@%s", stage, rec.topic, rec.partition, rec.offset)
        ctx.stats.add(stage, len(events), now() - t0, dead_letters=batch.dead_letters)


def now() -> float:
    return time.perf_counter()
