"""features: ``scored.text`` → per-entity feature state → predictions, training examples, alerts, metric signals.

``scored.text`` is keyed by entity id (customer, else pseudonymised employee), so one
entity's events meet on one partition and its state lives in the Faust table
``entity-features`` (changelog-backed; the changelog is written to the partition of
the event that changed it, so a rebalanced or restarted worker recovers exactly its
partitions' states, pending predictions included). Per event (``models.learners.processor``):

1. a label (cancellation / renewal / voluntary exit / burnout pulse answer) is joined to the
   entity's pending predictions → training examples on ``learn.churn`` / ``learn.burnout``;
2. the features are updated and the current model (``ctx.models``, the worker's ``ModelRegistry``) predicts → ``predictions``
   and ``risk_latest`` rows; the prediction is kept as pending with its features;
3. the alert policy (hysteresis + cooldown, event time) may fire → CloudEvent on ``alerts.churn``
   or, for an employee who consented, ``alerts.burnout`` (others only count in team-level alerts);
4. metric contributions go, keyed by dimension, to the internal topic ``signals.metrics``.
"""

from __future__ import annotations

import asyncio
import json

import faust
from collections import defaultdict
from datetime import datetime, timezone

from pulsewire.models.learners.metrics import contributions
from pulsewire.models.learners.processor import process_event, route
from pulsewire.schemas.alerts import kafka_record, make_cloudevent

from ._common import Batch, log, run_batches

SIGNALS_TOPIC = "signals.metrics"  # declared in streams/topics.py
TABLE = "entity-features"


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), timezone.utc)


def prediction_rows(p: dict) -> tuple[dict, dict]:
    pred = {"model": p["model"], "entity_id": p["entity_id"], "team_id": p["team_id"], "event_id": p["event_id"],
            "predicted_at": _ts(p["t"]), "probability": float(p["probability"]), "baseline": float(p["baseline"]),
            "model_version": p["model_version"], "n_labels": int(p["n_labels"]), "n_pos": int(p["n_pos"]),
            "alerted": int(p["alerted"]), "consent": int(bool(p["consent"]))}
    risk = {"model": p["model"], "entity_type": p["entity_type"], "entity_id": p["entity_id"],
            "team_id": p["team_id"], "probability": float(p["probability"]), "model_version": p["model_version"],
            "reasons": [r["text"] for r in p["reasons"]], "event_id": p["event_id"], "scored_at": _ts(p["t"])}
    return pred, risk


def publishable(out) -> bool:
    """Per-person burnout alerts only for employees who consented; customers always."""
    return out.entity_type != "employee" or bool(out.consent)


def install(app, ctx) -> None:
    s, cfg, registry = ctx.settings, ctx.learner_config, ctx.models
    table = app.Table(TABLE, default=None, partitions=s.topic_partitions,
                      schema=faust.Schema(key_serializer="json", value_serializer="json"),
                      help="per-entity feature state, pending predictions and alert state (JSON)")
    signals = ctx.topics[SIGNALS_TOPIC]

    async def handle(batch: Batch) -> None:
        models = registry.handles
        dirty: dict[str, int] = {}
        preds, risks, dims = [], [], defaultdict(list)
        for rec in batch.records:
            try:
                e, sentiment = rec.value["event"], rec.value.get("sentiment")
                r = route(e)
                key = f"{r[0]}:{r[1]}" if r else None
                state, out = process_event(table.data.get(key) if key else None, e, sentiment, models, cfg)
                if key:
                    table.data[key] = state
                    dirty[key] = rec.partition
                for ex in out.examples:
                    await ctx.topics[f"learn.{ex['model']}"].send(key=ex["entity_id"].encode(),
                                                                   value=json.dumps(ex).encode())
                if out.prediction:
                    pred, risk = prediction_rows(out.prediction)
                    preds.append(pred)
                    risks.append(risk)
                if out.alert and publishable(out):
                    key_b, value_b, headers = kafka_record(make_cloudevent(out.alert))
                    await ctx.topics[f"alerts.{out.alert['alert_type']}"].send(
                        key=key_b, value=value_b, headers=headers)
                for dim, item in contributions(e, sentiment, out.entity_type, out.team_id, out.team_flag,
                                               out.entity_id):
                    dims[dim].append(item)
            except Exception as exc:
                log.exception("features failed on %s[%s]@%s", rec.topic, rec.partition, rec.offset)
                await batch.dead(rec, exc)
        for key, partition in dirty.items():
            if key in table.data:  # the erase agent may have dropped it meanwhile (pulsewire forget)
                table.send_changelog(partition, key, table.data[key])
        for dim, items in dims.items():
            await signals.send(key=dim.encode(), value=json.dumps(items).encode())
        await ctx.sinks["predictions"].write(preds)
        await ctx.sinks["risk_latest"].write(risks)

    @app.agent(ctx.topics["scored.text"], name="pulsewire.features")
    async def features(stream):
        try:
            await asyncio.wait_for(registry.ready.wait(), timeout=30)
        except asyncio.TimeoutError:
            log.warning("model snapshots not read within 30 s; predicting with what we have")
        await run_batches(ctx, stream, "features", size=500, within=0.5, parse=json.loads, handle=handle)

    ctx.agents["features"] = features
