"""Helpers shared by agents: dead-letter sending, stats, retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

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


async def retry_forever(what: str, fn, *args, first_delay: float = 0.5, max_delay: float = 30.0, attempts_before_raise: int | None = None):
    """Run a blocking ``fn`` in a thread until it succeeds (the caller has not acked yet)."""
    delay, attempt = first_delay, 0
    while True:
        attempt += 1
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:  # the store is down, a network blip, ...
            if attempts_before_raise is not None and attempt >= attempts_before_raise:
                raise
            log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, exc, delay)
            await asyncio.sleep(delay)
            delay = min(max_delay, delay * 2)


def now() -> float:
    return time.perf_counter()
