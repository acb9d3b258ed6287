"""health: every ``lag_interval_s`` seconds, record the worker group's consumer lag in ClickHouse.

Lag is read from the broker (committed vs end offsets), so it is the group's lag, whichever
worker records it; the Pipeline health board and the consumer-lag alert rule read it.
"""

from __future__ import annotations

import asyncio

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
                log.warning("partition %s[%s] has been stuck at committed offset %s (records read after it "
                            "were lost in flight); seeking back to re-read them", tp.topic, tp.partition, committed)
                await app.consumer.seek(tp, committed)
        except Exception as exc:
            log.warning("stall check failed: %s", exc)

    @app.timer(s.lag_interval_s, name="pulsewire.health.lag")
    async def record_consumer_lag():
        try:
            await asyncio.to_thread(sample)
        except Exception as exc:  # health is best effort: never stop the worker for it
            log.warning("could not record consumer lag: %s", exc)
            state.pop("reader", None)


def stalled_partitions(app, seen: dict) -> list:
    """Partitions whose commit cannot move and has not moved since the last check: either records
    after a hole are acknowledged while the hole never will be, or records were read past the
    committed offset and none of them is waiting to be acknowledged (they were dropped in flight)."""
    c = app.consumer
    out = []
    for tp in list(c.assignment()):
        if c._is_changelog_tp(tp):
            continue
        acked = c._acked.get(tp) or []
        committed = c._committed_offset.get(tp)
        read = c._read_offset.get(tp)
        if committed is None:
            seen.pop(tp, None)
            continue
        hole = (min(acked) > committed) if acked else (read is not None and read >= committed)
        mark = (committed, min(acked) if acked else None, read)
        if not hole:
            seen.pop(tp, None)
            continue
        last, times = seen.get(tp, (None, 0))
        times = times + 1 if last == mark else 1
        # unchanged over STALL_CHECKS checks: a slow batch still in an agent's hands moves or acks by then
        if times >= STALL_CHECKS:
            out.append(tp)
            seen.pop(tp, None)
        else:
            seen[tp] = (mark, times)
    return out


STALL_CHECKS = 3
