"""score: ``events.valid`` → ``scored.text``, sentiment in micro-batches (``stream.take``)."""

from __future__ import annotations

import asyncio
import json

from ..activity import is_activity
from ._common import Batch, log, run_batches


def to_score(events: list[dict]) -> list[int]:
    """Indexes of the events whose text is scored: those with text, never an activity event (high
    volume, no text; it passes on to ``scored.text`` unscored, so the features agent sees it).

    >>> to_score([{"kind": "chat", "text": "slow"}, {"kind": "activity", "text": "x"}, {"kind": "review"}])
    [0]
    """
    return [i for i, ev in enumerate(events) if ev.get("text") and not is_activity(ev)]


def install(app, ctx) -> None:
    s = ctx.settings
    scored = ctx.topics["scored.text"]

    async def score_batch(events: list[dict]) -> list[dict | None]:
        idx = to_score(events)
        out: list[dict | None] = [None] * len(events)
        if idx:
            results = await asyncio.to_thread(ctx.scorer.score, [events[i]["text"] for i in idx])
            for i, res in zip(idx, results):
                out[i] = res.to_dict()
        return out

    async def handle(batch: Batch) -> None:
        events = [rec.value for rec in batch.records]
        try:
            sentiments = await score_batch(events)
        except Exception:
            log.exception("scoring a batch of %d failed; scoring one by one", len(events))
            sentiments = []
            for ev in events:
                try:
                    sentiments.append((await score_batch([ev]))[0])
                except Exception as exc:
                    sentiments.append(exc)
        for rec, sent in zip(batch.records, sentiments):
            if isinstance(sent, Exception):
                await batch.dead(rec, sent)
                continue
            ev = rec.value
            key = (ev.get("customer_id") or ev.get("employee_id") or ev.get("team_id") or ev["event_id"])
            await scored.send(key=key.encode(), value=json.dumps(
                {"schema_version": 1, "event": ev, "sentiment": sent}, ensure_ascii=False).encode())

    @app.agent(ctx.topics["events.valid"], name="pulsewire.score")
    async def score(stream):
        await run_batches(ctx, stream, "score", size=s.score_batch_size, within=s.score_batch_within_s,
                          parse=json.loads, handle=handle)

    ctx.agents["score"] = score
