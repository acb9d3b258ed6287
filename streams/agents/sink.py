"""sinks: ``scored.text`` → ``events_scored`` and ``events.dlq`` → ``dead_letters`` in ClickHouse.

Rows are inserted before the batch is acknowledged (Faust's ``take`` acks after
the loop body; the producer is flushed before offsets are committed), so a
crash replays the batch, and ReplacingMergeTree keeps one row per event_id.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone

from pulsewire.schemas.dead_letter import DeadLetter

from ..rows import dead_letter_row, scored_row
from ._common import failure, log, now, retry_forever, send_dead_letter

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def _insert_or_isolate(store, table: str, rows: list[dict]) -> list[tuple[dict, Exception]]:
    """Insert the batch; if the batch is refused, insert row by row and return the rows that fail."""
    try:
        store.insert_rows(table, rows)
        return []
    except Exception:
        if len(rows) == 1:
            raise
    bad = []
    for row in rows:
        try:
            store.insert_rows(table, [row])
        except Exception as exc:
            bad.append((row, exc))
    if len(bad) == len(rows):  # nothing went in: the store is the problem, not the rows
        raise bad[0][1]
    return bad


def install(app, ctx) -> None:
    s = ctx.settings

    def health_rows(stats: dict[str, dict]) -> list[dict]:
        ts = datetime.now(timezone.utc)
        return [{"ts": ts, "worker": WORKER, "stage": stage, "events": c["events"], "batches": c["batches"],
                 "busy_s": c["busy_s"], "dead_letters": c["dead_letters"]} for stage, c in stats.items()]

    async def write(table: str, rows: list[dict]) -> list[tuple[dict, Exception]]:
        return await retry_forever(f"insert into {table}", _insert_or_isolate, ctx.store, table, rows)

    @app.agent(ctx.topics["scored.text"], name="pulsewire.sink")
    async def sink(stream):
        async for values in stream.take(s.sink_batch_size, within=s.sink_batch_within_s):
            t0 = now()
            rows = []
            for raw in values:
                try:
                    rows.append(scored_row(json.loads(raw)))
                except Exception as exc:
                    await send_dead_letter(ctx, failure("scored.text", raw, exc, "sink"))
            try:
                for row, exc in await write("events_scored", rows):
                    await send_dead_letter(ctx, failure("scored.text", json.dumps(row, default=str), exc, "sink"))
                ctx.stats.add("sink", len(values), now() - t0)
                await write("pipeline_health", health_rows(ctx.stats.drain()))
            except Exception:  # unreachable unless retry_forever is bounded; never escape
                log.exception("sink batch failed")

    @app.agent(ctx.topics["events.dlq"], name="pulsewire.dead_letter_sink")
    async def dead_letter_sink(stream):
        async for values in stream.take(s.sink_batch_size, within=s.sink_batch_within_s):
            rows = []
            for raw in values:
                try:
                    rows.append(dead_letter_row(DeadLetter.model_validate_json(raw), ctx.pseudonymise))
                except Exception as exc:  # a dead letter we cannot read: keep it, raw, as its own reason
                    rows.append(dead_letter_row(failure("events.dlq", raw, exc, "dead_letter_sink"), ctx.pseudonymise))
            try:
                await write("dead_letters", rows)
            except Exception:
                log.exception("dead-letter sink batch failed")

    ctx.agents["sink"] = sink
    ctx.agents["dead_letter_sink"] = dead_letter_sink
