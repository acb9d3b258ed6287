"""score: ``events.valid`` → ``scored.text``, sentiment in micro-batches (``stream.take``)."""

from __future__ import annotations

import asyncio
import json

from ._common import failure, log, now, send_dead_letter


def _sentiment(res) -> dict:
    return {"label": res.label, "probabilities": res.probabilities, "score": res.score,
            "model_version": res.model_version, "truncated": res.truncated}


def install(app, ctx) -> None:
    s = ctx.settings
    scored = ctx.topics["scored.text"]

    async def score_batch(events: list[dict]) -> list[dict | None]:
        idx = [i for i, ev in enumerate(events) if ev.get("text")]
        out: list[dict | None] = [None] * len(events)
        if idx:
            results = await asyncio.to_thread(ctx.scorer.score, [events[i]["text"] for i in idx])
            for i, res in zip(idx, results):
                out[i] = _sentiment(res)
        return out

    @app.agent(ctx.topics["events.valid"], name="pulsewire.score")
    async def score(stream):
        async for values in stream.take(s.score_batch_size, within=s.score_batch_within_s):
            t0 = now()
            events, bad = [], 0
            for raw in values:
                try:
                    events.append(json.loads(raw))
                except Exception as exc:
                    bad += 1
                    await send_dead_letter(ctx, failure("events.valid", raw, exc, "score"))
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
            for ev, sent in zip(events, sentiments):
                if isinstance(sent, Exception):
                    bad += 1
                    await send_dead_letter(ctx, failure("events.valid", json.dumps(ev), sent, "score"))
                    continue
                key = (ev.get("customer_id") or ev.get("employee_id") or ev.get("team_id") or ev["event_id"])
                await scored.send(key=key.encode(), value=json.dumps(
                    {"schema_version": 1, "event": ev, "sentiment": sent}, ensure_ascii=False).encode())
            ctx.stats.add("score", len(values), now() - t0, dead_letters=bad)

    ctx.agents["score"] = score
