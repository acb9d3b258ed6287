"""metrics: ``signals.metrics`` (keyed by dimension) → ``metrics_daily``, ``alerts.sentiment``, team ``alerts.burnout``.

One aggregator state per dimension (``all``, ``team:…``, ``channel:…``, ``product:…``) in
the Faust table ``dimension-metrics``; the math is ``models.learners.metrics.apply``.
Team numbers and team alerts count distinct people, and those below the minimum group size
(settings, raise-only) are never written or sent; team burnout numbers (``burnout_mean_risk``,
``burnout_at_risk``) come from here, so they include people whose own predictions are not stored.
"""

from __future__ import annotations

import json

import faust
from collections import defaultdict

from pulsewire.models.learners.metrics import apply, new_dim_state
from pulsewire.schemas.alerts import kafka_record, make_cloudevent

from . import drift
from ._common import Batch, Record, log, run_batches

TABLE = "dimension-metrics"


def install(app, ctx) -> None:
    s, cfg = ctx.settings, ctx.learner_config
    table = app.Table(TABLE, default=None, partitions=s.topic_partitions,
                      schema=faust.Schema(key_serializer="json", value_serializer="json"),
                      help="per-dimension daily aggregates, sentiment baselines and team flags (JSON)")
    watch_drift = drift.channel_watch(app, ctx)

    async def handle(batch: Batch) -> None:
        by_dim: dict[str, list[Record]] = defaultdict(list)
        for rec in batch.records:
            dim = rec.key.decode() if isinstance(rec.key, bytes) else str(rec.key)
            by_dim[dim].append(rec)
        rows: dict[tuple, dict] = {}
        for dim, recs in by_dim.items():
            items = [item for rec in recs for item in rec.value]
            try:
                st = table.data.get(dim) or new_dim_state()
                st, new_rows, alerts = apply(
                    st, dim, items, min_group_size=s.min_group_size,
                    min_comment_group_size=s.min_comment_group_size, spike_min_texts=cfg.spike_min_texts,
                    spike_margin=cfg.spike_margin, spike_cooldown_days=cfg.spike_cooldown_days,
                    team_burnout_min_flagged=cfg.team_burnout_min_flagged, burnout_threshold=cfg.burnout_threshold,
                    alerts_from=cfg.alerts_from_t)
                table.data[dim] = st
                table.send_changelog(recs[-1].partition, dim, st)
                for r in new_rows:
                    rows[(r["metric"], r["dimension"], r["dimension_value"], r["day"])] = r
                for a in alerts:
                    key_b, value_b, headers = kafka_record(make_cloudevent(a))
                    await ctx.topics[f"alerts.{a['alert_type']}"].send(key=key_b, value=value_b,
                                                                        headers=headers)
            except Exception as exc:
                log.exception("metrics failed for %s", dim)
                for rec in recs:
                    await batch.dead(rec, exc)
        await ctx.sinks["metrics_daily"].write(list(rows.values()))
        for dim, recs in by_dim.items():
            if dim.startswith("channel:"):
                await watch_drift(dim, recs)

    @app.agent(ctx.topics["signals.metrics"], name="pulsewire.metrics")
    async def metrics(stream):
        await run_batches(ctx, stream, "metrics", size=1000, within=1.0, parse=json.loads, handle=handle)

    ctx.agents["metrics"] = metrics
