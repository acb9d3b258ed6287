"""validate: ``events.<kind>`` → ``events.valid`` (or ``events.dlq`` with a reason)."""

from __future__ import annotations

from pulsewire.schemas.events import event_to_json

from ..topics import EVENT_TOPICS
from ..validation import validate_record
from ._common import failure, log, now, send_dead_letter


def install(app, ctx) -> None:
    s = ctx.settings
    names = ctx.topic_map
    sources = app.topic(*names.names(EVENT_TOPICS), value_type=bytes, key_type=bytes,
                        value_serializer="raw", key_serializer="raw")
    valid = ctx.topics["events.valid"]

    @app.agent(sources, name="pulsewire.validate")
    async def validate(stream):
        async for event in stream.events():
            msg, t0 = event.message, now()
            try:
                logical = names.logical(msg.topic)
                ev, dl = validate_record(event.value, logical, pseudonymise=ctx.pseudonymise,
                                         max_text_chars=s.max_text_chars, max_payload_bytes=s.max_payload_bytes,
                                         partition=msg.partition, offset=msg.offset)
                if ev is not None:
                    await valid.send(key=ev.entity_id.encode(), value=event_to_json(ev))
                else:
                    await send_dead_letter(ctx, dl)
                ctx.stats.add("validate", 1, now() - t0, dead_letters=int(ev is None))
            except Exception as exc:  # never let one record stop the worker
                log.exception("validate failed on %s[%s]@%s", msg.topic, msg.partition, msg.offset)
                await send_dead_letter(ctx, failure(names.logical(msg.topic), event.value or b"", exc, "validate",
                                                    partition=msg.partition, offset=msg.offset))

    ctx.agents["validate"] = validate
