"""alerts audit: ``alerts.churn`` / ``alerts.burnout`` / ``alerts.sentiment`` → ``alerts_audit`` in ClickHouse.

Every alert that reached a topic is recorded with its inputs and model version,
inserted before the batch is acknowledged (a crash replays it; ReplacingMergeTree
keeps one row per alert id, which is deterministic).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ._common import failure, log, now, retry_forever, send_dead_letter

ALERT_TOPICS = ("alerts.churn", "alerts.burnout", "alerts.sentiment")


def audit_row(ce: dict, topic: str) -> dict:
    d = ce["data"]
    return {"alert_id": ce["id"], "alert_type": d["alert_type"], "subject": ce["subject"],
            "subject_type": d["subject_type"], "team_id": d.get("team_id", ""), "score": float(d["score"]),
            "threshold": float(d["threshold"]), "model_version": d["model_version"],
            "reasons": [r["text"] for r in d["reasons"]],
            "inputs": json.dumps({"inputs": d["inputs"], "reasons": d["reasons"],
                                  "trigger_event_id": d["trigger_event_id"]}, separators=(",", ":")),
            "topic": topic, "created_at": datetime.now(timezone.utc),
            "occurred_at": datetime.fromisoformat(d["occurred_at"])}


def install(app, ctx) -> None:
    source = app.topic(*(ctx.topic_map.name(t) for t in ALERT_TOPICS), value_type=bytes, key_type=bytes,
                       value_serializer="raw", key_serializer="raw")

    @app.agent(source, name="pulsewire.alerts_audit")
    async def alerts_audit(stream):
        async for events in stream.take_events(500, within=1.0):
            t0, rows = now(), []
            for ev in events:
                msg = ev.message
                try:
                    rows.append(audit_row(json.loads(ev.value), msg.topic))
                except Exception as exc:
                    await send_dead_letter(ctx, failure(msg.topic, ev.value or b"", exc, "alerts_audit",
                                                        partition=msg.partition, offset=msg.offset))
            try:
                if rows:
                    await retry_forever("insert into alerts_audit", ctx.store.insert_rows, "alerts_audit", rows)
            except Exception:
                log.exception("alerts audit batch failed")
            ctx.stats.add("alerts_audit", len(events), now() - t0)

    ctx.agents["alerts_audit"] = alerts_audit
