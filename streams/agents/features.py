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

Churn by inactivity (``PULSEWIRE_LEARN_CHURN_DEFINITION=inactivity``): a customer who went silent sends no
event that could label them churned, so each partition keeps an event-time watermark (its newest
``occurred_at`` minus ``churn_sweep_lateness_hours``, kept in the table under ``sweep:<partition>``) and,
each time it passes 00:00 UTC of a new day, sweeps that partition's customer states at that moment
(``processor.sweep_entity``): lapsed customers' y = 1 examples, silent customers' predictions and win-back
alerts. The sweep runs before the record that advanced the watermark is processed, exactly as in the
in-process replay. With ``churn_sweep_idle_hours`` > 0 (live streams only), a timer also lets the
watermark of a partition that has been quiet that long follow the wall clock from its last event.

Consent: an employee's burnout prediction, reasons and latest risk are stored only after an explicit
yes from a consent source (unknown means no); everyone's probability still feeds the team aggregates
(metrics agent). Every accepted change of consent is recorded in ``consent_audit``; a withdrawal removes
the person's stored burnout rows.
"""

from __future__ import annotations

import asyncio
import json
import time

import faust
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pulsewire.models.learners.features import event_time
from pulsewire.models.learners.inactivity import advance
from pulsewire.models.learners.metrics import contributions
from pulsewire.models.learners.processor import Output, process_event, route, sweep_entity
from pulsewire.schemas.alerts import kafka_record, make_cloudevent

from ..sinks import forget_burnout_rows
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
    """Per-person burnout predictions, risk rows and alerts only for employees who consented; customers always."""
    return out.entity_type != "employee" or bool(out.consent)


def consent_row(e: dict, change: dict, entity_id: str) -> dict:
    """One ``consent_audit`` row: an accepted change of an employee's consent."""
    old = change["old"]
    return {"entity_id": entity_id, "old_consent": None if old is None else int(old),
            "new_consent": int(change["new"]), "source": e.get("source", ""), "event_id": e.get("event_id", ""),
            "occurred_at": datetime.fromisoformat(e["occurred_at"]), "recorded_at": datetime.now(timezone.utc)}


@dataclass
class SignalRows:
    """What one batch stores: predictions and latest risk (customers, and employees who consented),
    consent changes, and the people who withdrew consent (their stored burnout rows are removed).

    >>> rows = SignalRows()
    >>> hire = {"source": "hris", "event_id": "ek_1", "occurred_at": "2026-05-01T09:00:00+00:00"}
    >>> rows.add(hire, Output(entity_type="employee", entity_id="emp_a", consent=False,
    ...                       consent_change={"old": None, "new": False}, prediction=None))
    >>> [(c["entity_id"], c["old_consent"], c["new_consent"]) for c in rows.consents], rows.predictions
    ([('emp_a', None, 0)], [])
    """

    predictions: list = field(default_factory=list)
    risks: list = field(default_factory=list)
    consents: list = field(default_factory=list)
    withdrawn: set = field(default_factory=set)

    def add(self, e: dict, out) -> None:
        if out.consent_change:
            self.consents.append(consent_row(e, out.consent_change, out.entity_id))
            if out.consent_change["old"] and not out.consent_change["new"]:
                self.withdrawn.add(out.entity_id)
                self.predictions = [p for p in self.predictions if not _burnout_of(p, out.entity_id)]
                self.risks = [r for r in self.risks if not _burnout_of(r, out.entity_id)]
        if out.prediction and publishable(out):
            pred, risk = prediction_rows(out.prediction)
            self.predictions.append(pred)
            self.risks.append(risk)


def _burnout_of(row: dict, entity_id: str) -> bool:
    return row["model"] == "burnout" and row["entity_id"] == entity_id


def install(app, ctx) -> None:
    s, cfg, registry = ctx.settings, ctx.learner_config, ctx.models
    table = app.Table(TABLE, default=None, partitions=s.topic_partitions,
                      schema=faust.Schema(key_serializer="json", value_serializer="json"),
                      help="per-entity feature state, pending predictions and alert state (JSON)")
    signals = ctx.topics[SIGNALS_TOPIC]
    by_inactivity = cfg.churn_definition == "inactivity"
    lateness_s = cfg.churn_sweep_lateness_hours * 3600
    lock = asyncio.Lock()  # the batch loop and the idle timer never sweep or update states at once
    newest: dict[int, tuple[float, float]] = {}  # partition -> (newest event time, wall clock when seen)

    async def publish(out) -> None:
        for ex in out.examples:
            await ctx.topics[f"learn.{ex['model']}"].send(key=ex["entity_id"].encode(), value=json.dumps(ex).encode())
        if out.alert and publishable(out):
            key_b, value_b, headers = kafka_record(make_cloudevent(out.alert))
            await ctx.topics[f"alerts.{out.alert['alert_type']}"].send(key=key_b, value=value_b, headers=headers)

    async def sweep(partition: int, t: float, dirty: dict, rows: "SignalRows") -> None:
        """Advance the partition's watermark to event time ``t``; sweep its customers at each day passed."""
        mark_key = f"sweep:{partition}"
        mark = dict(table.data.get(mark_key) or {})
        times = advance(mark, t, lateness_s)
        if not times:
            return
        table.data[mark_key] = mark
        dirty[mark_key] = partition
        models = registry.handles
        for now in times:
            for key, state in list(table.data.items()):
                if not key.startswith("customer:") or not state or state.get("partition") != partition:
                    continue
                try:
                    out = sweep_entity(state, now, models, cfg)
                except Exception:  # one broken state must not stop the sweep, nor dead-letter the record that moved it
                    log.exception("inactivity sweep failed for %s at %s", key, now)
                    continue
                if out.examples or out.prediction or out.notes:
                    dirty[key] = partition
                    await publish(out)
                    rows.add({}, out)

    async def handle(batch: Batch) -> None:
        async with lock:
            await _handle(batch)

    async def _handle(batch: Batch) -> None:
        dirty: dict[str, int] = {}
        rows, dims = SignalRows(), defaultdict(list)
        for rec in batch.records:
            try:
                e, sentiment = rec.value["event"], rec.value.get("sentiment")
                if by_inactivity:
                    t = event_time(e)
                    newest[rec.partition] = (max(t, newest.get(rec.partition, (t, 0))[0]), time.time())
                    await sweep(rec.partition, t, dirty, rows)
                r = route(e)
                key = f"{r[0]}:{r[1]}" if r else None
                state, out = process_event(table.data.get(key) if key else None, e, sentiment, registry.handles, cfg)
                if key:
                    state["partition"] = rec.partition  # the sweep finds a partition's states by it
                    table.data[key] = state
                    dirty[key] = rec.partition
                await publish(out)
                rows.add(e, out)
                for dim, item in contributions(e, sentiment, out.entity_type, out.team_id, out.entity_id,
                                               team_risk=out.team_risk, previous_team=out.previous_team):
                    dims[dim].append(item)
            except Exception as exc:
                log.exception("features failed on %s[%s]@%s", rec.topic, rec.partition, rec.offset)
                await batch.dead(rec, exc)
        await store(dirty, rows, dims)

    async def store(dirty: dict, rows: "SignalRows", dims: dict) -> None:
        for key, partition in dirty.items():
            if key in table.data:  # the erase agent may have dropped it meanwhile (pulsewire forget)
                table.send_changelog(partition, key, table.data[key])
        for dim, items in dims.items():
            await signals.send(key=dim.encode(), value=json.dumps(items).encode())
        await ctx.sinks["consent_audit"].write(rows.consents)
        if rows.withdrawn:
            await ctx.sinks["risk_latest"].call(f"removal of the burnout rows of {len(rows.withdrawn)} people",
                                                forget_burnout_rows, sorted(rows.withdrawn))
        await ctx.sinks["predictions"].write(rows.predictions)
        await ctx.sinks["risk_latest"].write(rows.risks)

    if by_inactivity and cfg.churn_sweep_idle_hours > 0:
        @app.timer(min(600.0, cfg.churn_sweep_idle_hours * 900), name="pulsewire.features.idle_sweep")
        async def idle_sweep():
            """A live partition that has been quiet for churn_sweep_idle_hours: its event time follows the clock."""
            assigned = {tp.partition for tp in app.consumer.assignment()
                        if tp.topic == ctx.topic_map.name("scored.text")}
            async with lock:
                dirty, rows = {}, SignalRows()
                for partition, (t, wall) in list(newest.items()):
                    quiet = time.time() - wall
                    if partition in assigned and quiet >= cfg.churn_sweep_idle_hours * 3600:
                        await sweep(partition, t + quiet, dirty, rows)
                await store(dirty, rows, {})

    @app.agent(ctx.topics["scored.text"], name="pulsewire.features")
    async def features(stream):
        try:
            await asyncio.wait_for(registry.ready.wait(), timeout=30)
        except asyncio.TimeoutError:
            log.warning("model snapshots not read within 30 s; predicting with what we have")
        await run_batches(ctx, stream, "features", size=500, within=0.5, parse=json.loads, handle=handle)

    ctx.agents["features"] = features
