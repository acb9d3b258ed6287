"""alerts audit: ``alerts.churn`` / ``alerts.burnout`` / ``alerts.sentiment`` → ``alerts_audit`` in ClickHouse.

Every alert that reached a topic is recorded with its inputs and model version,
inserted before the batch is acknowledged (a crash replays it; ReplacingMergeTree
keeps one row per alert id, which is deterministic).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ._common import Batch, run_batches

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

    async def handle(batch: Batch) -> None:
        rows = []
        for rec in batch.records:
            try:
                rows.append(audit_row(rec.value, ctx.topic_map.name(rec.topic)))
            except Exception as exc:
                await batch.dead(rec, exc)
        await ctx.sinks["alerts_audit"].write(rows)

    @app.agent(source, name="pulsewire.alerts_audit")
    async def alerts_audit(stream):
        await run_batches(ctx, stream, "alerts_audit", size=500, within=1.0, parse=json.loads, handle=handle)

    ctx.agents["alerts_audit"] = alerts_audit
