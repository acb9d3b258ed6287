"""sinks: ``scored.text`` → ``events_scored`` (+ ``pipeline_health``) and ``events.dlq`` → ``dead_letters``.

Activity events go to ``activity_events`` and ``activity_daily`` instead (``streams/activity.py``).

Rows are written through the table sinks (``streams/sinks.py``) before the batch is
acknowledged (Faust's ``take`` acks after the loop body; the producer is flushed before
offsets are committed), so a crash replays the batch, and ReplacingMergeTree keeps one row
per event_id. A duplicate event_id keeps its first version: an exact replay changes nothing,
other content becomes a dead letter (``conflicting_duplicate``; see ``streams/dedup.py``).
Dead letters of personal sources are stored redacted (``rows.dead_letter_row``): no value of them
reaches ClickHouse; the raw record stays on ``events.dlq`` for its short retention.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone

from pulsewire.schemas.dead_letter import DeadLetter, Reason

from ..activity import activity_row, is_activity
from ..rows import dead_letter_row, scored_row
from ._common import Batch, failure, run_batches, send_dead_letter

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def health_rows(stats: dict[str, dict], ts: datetime | None = None) -> list[dict]:
    ts = ts or datetime.now(timezone.utc)
    return [{"ts": ts, "worker": WORKER, "stage": stage, "events": c["events"], "batches": c["batches"],
             "busy_s": c["busy_s"], "dead_letters": c["dead_letters"]} for stage, c in stats.items()]


def install(app, ctx) -> None:
    s = ctx.settings

    def scored(raw: bytes) -> tuple[bool, dict]:
        """(is it an activity event, its row): activity has tables of its own."""
        ev = json.loads(raw)
        return (True, activity_row(ev["event"])) if is_activity(ev["event"]) else (False, scored_row(ev))

    async def store_scored(batch: Batch) -> None:
        conflicts = []
        for activity, sink in ((False, ctx.events), (True, ctx.activity)):
            recs = [rec for rec in batch.records if rec.value[0] is activity]
            if recs:
                conflicts += [recs[i] for i in await sink.write([rec.value[1] for rec in recs])]
        for rec in conflicts:
            row = rec.value[1]
            batch.dead_letters += 1
            await send_dead_letter(ctx, DeadLetter.make(
                rec.topic, rec.raw, Reason.CONFLICTING_DUPLICATE,
                f"event_id {row['event_id']!r} is already stored with other content; the first version "
                f"stays (this version's content hash {row['content_hash'][:16]})", where="sink",
                partition=rec.partition, offset=rec.offset))
        await ctx.sinks["pipeline_health"].write(health_rows(ctx.stats.drain()))

    def dead_letter(raw: bytes) -> dict:
        try:
            dl = DeadLetter.model_validate_json(raw)
        except Exception as exc:  # a dead letter we cannot read: keep it, raw, as its own reason
            dl = failure("events.dlq", raw or b"", exc, "dead_letter_sink")
        return dead_letter_row(dl, ctx.keys)

    async def store_dead_letters(batch: Batch) -> None:
        await ctx.sinks["dead_letters"].write([rec.value for rec in batch.records])

    @app.agent(ctx.topics["scored.text"], name="pulsewire.sink")
    async def sink(stream):
        await run_batches(ctx, stream, "sink", size=s.sink_batch_size, within=s.sink_batch_within_s,
                          parse=scored, handle=store_scored)

    @app.agent(ctx.topics["events.dlq"], name="pulsewire.dead_letter_sink")
    async def dead_letter_sink(stream):
        await run_batches(ctx, stream, "dead_letter_sink", size=s.sink_batch_size, within=s.sink_batch_within_s,
                          parse=dead_letter, handle=store_dead_letters)

    ctx.agents["sink"] = sink
    ctx.agents["dead_letter_sink"] = dead_letter_sink
