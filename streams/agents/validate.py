"""validate: ``events.<kind>`` → ``events.valid`` (or ``events.dlq`` with a reason)."""

from __future__ import annotations

from pulsewire.schemas.events import event_to_json

from ..topics import EVENT_TOPICS
from ..validation import validate_record
from ._common import Batch, run_batches, send_dead_letter


def _raw(value: bytes) -> bytes:
    return value or b""


def install(app, ctx) -> None:
    s = ctx.settings
    sources = app.topic(*ctx.topic_map.names(EVENT_TOPICS), value_type=bytes, key_type=bytes,
                        value_serializer="raw", key_serializer="raw")
    valid = ctx.topics["events.valid"]
    consent_sources = s.consent_source_names

    async def handle(batch: Batch) -> None:
        for rec in batch.records:
            try:
                ev, dl = validate_record(rec.value, rec.topic, keys=ctx.keys, consent_sources=consent_sources,
                                         max_text_chars=s.max_text_chars, max_payload_bytes=s.max_payload_bytes,
                                         partition=rec.partition, offset=rec.offset,
                                         max_future_days=s.max_future_days, earliest_event_date=s.earliest_event_date)
                if ev is not None:
                    await valid.send(key=ev.entity_id.encode(), value=event_to_json(ev))
                if dl is not None:  # refused, or accepted with an ignored consent value
                    batch.dead_letters += 1
                    await send_dead_letter(ctx, dl)
            except Exception as exc:  # never let one record stop the worker
                await batch.dead(rec, exc)

    @app.agent(sources, name="pulsewire.validate")
    async def validate(stream):
        await run_batches(ctx, stream, "validate", size=s.score_batch_size, within=s.score_batch_within_s,
                          parse=_raw, handle=handle)

    ctx.agents["validate"] = validate
