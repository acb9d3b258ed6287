"""health: consumer lag for the boards, and the watchdog that un-sticks partitions.

Lag is read from the broker (committed vs end offsets), so it is the group's lag, whichever
worker records it; the Pipeline health board and the consumer-lag alert rule read it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ._common import log

# Checks (``stall_check_interval_s`` apart) that a partition must sit still, behind its end, before
# the watchdog re-reads it: when none of its records is in an agent's hands, and when some are
# (a sink waiting on ClickHouse holds its records legitimately; re-reading them is then only a cost).
STALL_CHECKS = 3
STALL_CHECKS_HELD = 12
# When the fetcher is known to have skipped offsets, waiting one more round only lets the records
# after the hole reach the agents first.
STALL_CHECKS_KNOWN_HOLE = 2


@dataclass(frozen=True)
class PartitionState:
    """What the consumer knows of one partition, as plain numbers (Kafka offsets: ``committed`` is
    the next offset to read, ``read`` the offset of the last record handed to an agent)."""

    committed: int
    end: int
    read: int | None = None
    acked: tuple[int, ...] = ()  # acknowledged offsets not yet committed (lowest first)
    in_flight: int = 0           # records handed to an agent and still held by it
    hole: bool = False           # the fetcher skipped offsets here since the last repair

    @property
    def mark(self) -> tuple:
        """What must change for the partition to count as moving. With a hole before acknowledged
        records, new records being read do not count: the commit cannot pass the hole anyway."""
        if self.acked and self.acked[0] > self.committed:
            return ("hole", self.committed, self.acked[0])
        return ("behind", self.committed, self.read)


def stalled_partitions(states: dict, seen: dict) -> list:
    """The partitions that are behind their end and have not moved for long enough.

    ``seen`` carries (mark, checks) between calls. Whatever the cause inside the consumer (records
    dropped in flight, a hole before acknowledged records, a partition paused and never resumed),
    the symptom is the same: records exist after the committed offset and nothing moves.

    >>> seen = {}
    >>> stuck = PartitionState(committed=40, end=74, read=73)           # read, never acknowledged
    >>> [stalled_partitions({"p": stuck}, seen) for _ in range(3)]
    [[], [], ['p']]
    >>> idle = PartitionState(committed=74, end=74, read=73)            # all done
    >>> [stalled_partitions({"p": idle}, seen) for _ in range(3)]
    [[], [], []]
    >>> moving = [PartitionState(committed=c, end=500, read=c + 10) for c in (100, 132, 164)]
    >>> [stalled_partitions({"p": s}, seen) for s in moving]
    [[], [], []]
    >>> busy = [PartitionState(committed=40, end=e, read=e - 1, acked=tuple(range(45, e))) for e in (60, 80, 99)]
    >>> [stalled_partitions({"p": s}, seen) for s in busy]   # traffic flows, but the commit is stuck at 40
    [[], [], ['p']]
    >>> skipped = PartitionState(committed=40, end=74, read=73, acked=(60, 61), hole=True)  # known lost
    >>> [stalled_partitions({"p": skipped}, seen) for _ in range(2)]
    [[], ['p']]
    """
    out = []
    for tp, st in states.items():
        if st.end <= st.committed:
            seen.pop(tp, None)
            continue
        last, times = seen.get(tp, (None, 0))
        times = times + 1 if last == st.mark else 1
        need = STALL_CHECKS_KNOWN_HOLE if st.hole else STALL_CHECKS_HELD if st.in_flight else STALL_CHECKS
        if times >= need:
            out.append(tp)
            seen.pop(tp, None)
        else:
            seen[tp] = (st.mark, times)
    return out


async def partition_states(consumer) -> dict:
    """Snapshot faust-streaming's per-partition bookkeeping (0.15.3 internals, pinned)."""
    c = consumer
    tps = [tp for tp in c.assignment() if not c._is_changelog_tp(tp)]
    if not tps:
        return {}
    ends = await c.highwaters(*tps)
    held: dict = {}
    for m in list(c._unacked_messages):
        held[m.tp] = held.get(m.tp, 0) + 1
    from ..faust_patches import known_holes

    holes = known_holes(c)
    out = {}
    for tp in tps:
        if ends.get(tp) is None:
            continue
        out[tp] = PartitionState(committed=c._committed_offset.get(tp) or 0, end=ends[tp],
                                 read=c._read_offset.get(tp), acked=tuple(sorted(c._acked.get(tp) or ())),
                                 in_flight=held.get(tp, 0), hole=tp in holes)
    return out


def install(app, ctx) -> None:
    s = ctx.settings
    state: dict = {}

    def read_progress():
        from ..progress import ProgressReader
        from ..topics import GROUP_TOPICS

        names = ctx.topic_map
        if "reader" not in state:
            state["reader"] = ProgressReader(s.kafka, names.group, names.names(GROUP_TOPICS))
        return state["reader"].read()

    seen: dict = {}

    @app.timer(s.stall_check_interval_s, name="pulsewire.health.stalls")
    async def repair_stalled_partitions():
        """faust-streaming 0.15.3 can drop records between its fetcher and the agents (a partition
        paused during a rebalance or table recovery, a generation change mid-batch, a flow suspended
        mid-delivery); its commit then stops at the hole for good (see faust_patches.py), or the partition is
        never fetched again. The sinks are idempotent, so the repair is simple: resume the partition
        and seek it back to its committed offset; what was lost is read again."""
        from ..faust_patches import known_holes

        c = app.consumer
        if getattr(app, "rebalancing", False) or getattr(app, "in_recovery", False):
            seen.clear()
            return
        try:
            states = await partition_states(c)
            known_holes(c).difference_update(tp for tp, st in states.items() if st.end <= st.committed)
            for tp in stalled_partitions(states, seen):
                st = states[tp]
                log.warning("partition %s[%s] is stuck at committed offset %s of %s (last read %s, %s acked "
                            "after a hole, %s in flight, %s); resuming it and reading again from %s",
                            tp.topic, tp.partition, st.committed, st.end, st.read, len(st.acked), st.in_flight,
                            "paused" if tp in c._paused_partitions else "active", st.committed)
                known_holes(c).discard(tp)
                c.resume_partitions([tp])
                await c.seek(tp, st.committed)
        except Exception as exc:  # never stop the worker for it
            log.warning("stall check failed: %s", exc)

    @app.timer(s.lag_interval_s, name="pulsewire.health.lag")
    async def record_consumer_lag():
        from pulsewire.dashboards.lag import lag_rows

        try:
            progress = await asyncio.to_thread(read_progress)
        except Exception as exc:  # the broker is away: no sample this round; never stop the worker for it
            log.warning("could not read consumer lag: %s", exc)
            state.pop("reader", None)
            return
        await ctx.sinks["consumer_lag"].write(lag_rows(progress, group=ctx.topic_map.group))
