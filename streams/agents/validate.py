"""validate: ``events.<kind>`` → ``events.valid`` (or ``events.dlq`` with a reason)."""

from __future__ import annotations

from pulsewire.schemas.events import event_to_json

from ..topics import EVENT_KINDS
from ..validation import validate_record
from ._common import failure, log, now, send_dead_letter


def install(app, ctx) -> None:
    s = ctx.settings
    sources = app.topic(*(s.topic(f"events.{k}") for k in EVENT_KINDS), value_type=bytes, key_type=bytes,
                        value_serializer="raw", key_serializer="raw")
    valid = ctx.topics["events.valid"]

    @app.agent(sources, name="pulsewire.validate")
    async def validate(stream):
        async for event in stream.events():
            msg, t0 = event.message, now()
            try:
                logical = msg.topic[len(s.topic_prefix):]
                ev, dl = validate_record(event.value, logical, pseudonymise=ctx.pseudonymise,
                                         max_text_chars=s.max_text_chars, max_payload_bytes=s.max_payload_bytes,
                                         partition=msg.partition, offset=msg.offset,
                                         max_future_days=s.max_future_days, earliest_event_date=s.earliest_event_date)
                if ev is not None:
                    await valid.send(key=ev.entity_id.encode(), value=event_to_json(ev))
                else:
                    await send_dead_letter(ctx, dl)
                ctx.stats.add("validate", 1, now() - t0, dead_letters=int(ev is None))
            except Exception as exc:  # never let one record stop the worker
                log.exception("validate failed on %s[%s]@%s", msg.topic, msg.partition, msg.offset)
                await send_dead_letter(ctx, failure(msg.topic[len(s.topic_prefix):], event.value or b"", exc, "validate",
                                                    partition=msg.partition, offset=msg.offset))

    ctx.agents["validate"] = validate
