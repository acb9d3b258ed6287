"""health: every ``lag_interval_s`` seconds, record the worker group's consumer lag in ClickHouse.

Lag is read from the broker (committed vs end offsets), so it is the group's lag, whichever
worker records it; the Pipeline health board and the consumer-lag alert rule read it.
"""

from __future__ import annotations

import asyncio
import os

from ._common import log


def install(app, ctx) -> None:
    s = ctx.settings
    state: dict = {}

    def sample() -> int:
        from pulsewire.dashboards.lag import record_lag

        from ..progress import ProgressReader
        from ..topics import ALL_TOPICS

        if "reader" not in state:
            topics = [s.topic(t.name) for t in ALL_TOPICS if not t.name.startswith(("alerts.", "models."))]
            state["reader"] = ProgressReader(s.bootstrap_servers, s.app_id, topics)
        return record_lag(ctx.store, state["reader"].read(), group=s.app_id)

    stalled: dict = {}

    @app.timer(s.stall_check_interval_s, name="pulsewire.health.stalls")
    async def repair_stalled_partitions():
        """faust-streaming 0.15.3 can lose the in-flight records of a partition when a worker starts
        on a backlog while its tables recover: they are read but never acknowledged, so the
        partition's commit stops at that hole forever (reproduced by tests/integration restart
        tests). We seek such a partition back to its committed offset: the missing records are
        read again (the sinks are idempotent), acknowledged, and commits move on."""
        try:
            for tp in stalled_partitions(app, stalled):
                committed = app.consumer._committed_offset.get(tp)
                log.warning("partition %s[%s] has been stuck at committed offset %s with later offsets "
                            "acknowledged; seeking back to re-read the missing records", tp.topic,
                            tp.partition, committed)
                await app.consumer.seek(tp, committed)
        except Exception as exc:
            log.warning("stall check failed: %s", exc)

    @app.timer(s.lag_interval_s, name="pulsewire.health.lag")
    async def record_consumer_lag():
        if os.environ.get("PULSEWIRE_DIAG"):
            log.warning("consumer diagnostics: %s", consumer_diagnostics(app))
        try:
            await asyncio.to_thread(sample)
        except Exception as exc:  # health is best effort: never stop the worker for it
            log.warning("could not record consumer lag: %s", exc)
            state.pop("reader", None)


def consumer_diagnostics(app) -> dict:
    """Per assigned stream partition: paused?, read/committed offsets, pending acks (for stall hunting)."""
    c = app.consumer
    out = {}
    active = c._get_active_partitions()
    for tp in sorted(c.assignment()):
        if c._is_changelog_tp(tp):
            continue
        acked = c._acked.get(tp) or []
        out[f"{tp.topic}[{tp.partition}]"] = {
            "paused": tp not in active, "read": c._read_offset.get(tp), "committed": c._committed_offset.get(tp),
            "acked": len(acked), "min_acked": min(acked) if acked else None,
            "gap": bool(c._gap.get(tp)) if hasattr(c, "_gap") else None,
        }
    return out


def stalled_partitions(app, seen: dict) -> list:
    """Partitions whose acknowledged offsets start after a hole that did not move since the last check."""
    c = app.consumer
    out = []
    for tp in list(c.assignment()):
        if c._is_changelog_tp(tp):
            continue
        acked = c._acked.get(tp) or []
        committed = c._committed_offset.get(tp)
        hole = bool(acked) and committed is not None and min(acked) - committed > 1
        mark = (committed, min(acked)) if hole else None
        if hole and seen.get(tp) == mark:
            out.append(tp)
            seen.pop(tp, None)
        elif hole:
            seen[tp] = mark
        else:
            seen.pop(tp, None)
    return out
