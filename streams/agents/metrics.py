"""metrics: ``signals.metrics`` (keyed by dimension) → ``metrics_daily``, ``alerts.sentiment``, team ``alerts.burnout``.

One aggregator state per dimension (``all``, ``team:…``, ``channel:…``, ``product:…``) in
the Faust table ``dimension-metrics``; the math is ``models.learners.metrics.apply``.
Team rows below the minimum group size (settings, raise-only) are never written.
"""

from __future__ import annotations

import asyncio
import json

import faust
from collections import defaultdict

from pulsewire.models.learners.metrics import apply, new_dim_state
from pulsewire.schemas.alerts import make_cloudevent

from ._common import failure, log, now, send_dead_letter

TABLE = "dimension-metrics"


def install(app, ctx) -> None:
    s = ctx.settings
    from pulsewire.models.learners.processor import LearnerConfig

    cfg = getattr(ctx, "learner_config", None) or LearnerConfig.from_env()
    table = app.Table(TABLE, default=None, partitions=s.topic_partitions,
                      schema=faust.Schema(key_serializer="json", value_serializer="json"),
                      help="per-dimension daily aggregates, sentiment baselines and team flags (JSON)")
    signals = ctx.topics["signals.metrics"]

    @app.agent(signals, name="pulsewire.metrics")
    async def metrics(stream):
        async for events in stream.take_events(1000, within=1.0):
            t0 = now()
            by_dim: dict[str, list] = defaultdict(list)
            part_of: dict[str, int] = {}
            for ev in events:
                try:
                    dim = ev.key.decode() if isinstance(ev.key, bytes) else str(ev.key)
                    by_dim[dim].extend(json.loads(ev.value))
                    part_of[dim] = ev.message.partition
                except Exception as exc:
                    msg = ev.message
                    await send_dead_letter(ctx, failure(msg.topic, ev.value or b"", exc, "metrics",
                                                        partition=msg.partition, offset=msg.offset))
            rows: dict[tuple, dict] = {}
            for dim, items in by_dim.items():
                try:
                    st = table.data.get(dim) or new_dim_state()
                    st, new_rows, alerts = apply(
                        st, dim, items, min_group_size=s.min_group_size,
                        min_comment_group_size=s.min_comment_group_size, spike_min_texts=cfg.spike_min_texts,
                        spike_margin=cfg.spike_margin, spike_cooldown_days=cfg.spike_cooldown_days,
                        team_burnout_min_flagged=cfg.team_burnout_min_flagged)
                    table.data[dim] = st
                    table.send_changelog(part_of[dim], dim, st)
                    for r in new_rows:
                        rows[(r["metric"], r["dimension"], r["dimension_value"], r["day"])] = r
                    for a in alerts:
                        ce = make_cloudevent(a)
                        await ctx.topics[f"alerts.{a['alert_type']}"].send(key=ce["subject"].encode(),
                                                                            value=json.dumps(ce).encode())
                except Exception as exc:
                    log.exception("metrics failed for %s", dim)
                    await send_dead_letter(ctx, failure("signals.metrics", json.dumps(items), exc, "metrics"))
            if rows:
                try:
                    await asyncio.to_thread(ctx.store.insert_rows, "metrics_daily", list(rows.values()))
                except Exception:
                    log.exception("could not write %d metrics_daily rows", len(rows))
            ctx.stats.add("metrics", len(events), now() - t0)

    ctx.agents["metrics"] = metrics
