"""The changes pulsewire makes to faust-streaming, in one place, for the pinned version only.

faust-streaming 0.15.3 can lose records at a restart on a backlog (see docs/architecture.md,
"Known limits", and docs/decisions/0001-faust-streaming-patches.md for the upstream reports).
``install()`` makes three changes to its classes, and one to how its consumer drains aiokafka's
fetcher (aiokafka 0.14.0, pinned with it); ``create_app`` calls it before building the app.
They reach into faust's internals, so ``install()`` refuses to run on any other version: an
upgrade must re-check each patch against the new code (and drop those fixed upstream).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger(__name__)

PINNED = "0.15.3"
_installed = False


class UnsupportedFaustVersion(RuntimeError):
    pass


def check_version(installed: str | None) -> None:
    """Refuse any faust-streaming but the one the patches were written and tested against.

    >>> check_version("0.15.3")
    >>> check_version("0.16.0")
    Traceback (most recent call last):
    ...
    pulsewire.streams.faust_patches.UnsupportedFaustVersion: faust-streaming 0.16.0 is installed, ...
    """
    if installed != PINNED:
        raise UnsupportedFaustVersion(
            f"faust-streaming {installed or '(not installed)'} is installed, but pulsewire's patches to its "
            f"consumer and flow control (streams/faust_patches.py) are written for {PINNED} only; "
            f"install faust-streaming=={PINNED} (pip install -e .), or re-check each patch against "
            f"the new version before changing the pin")


def installed_version() -> str | None:
    try:
        return version("faust-streaming")
    except PackageNotFoundError:
        return None


def install() -> None:
    """Apply the patches once per process (idempotent); fails loudly on another faust-streaming."""
    global _installed
    if _installed:
        return
    check_version(installed_version())
    from .fetch_pacing import check_aiokafka_version, installed_aiokafka

    check_aiokafka_version(installed_aiokafka())  # _serve_every_partition_each_round wraps aiokafka's fetcher
    _never_skip_offsets()
    _clear_queues_only_after_a_suspension()
    _serve_every_partition_each_round()
    _installed = True


def known_holes(consumer) -> set:
    """Partitions whose fetcher skipped offsets since their last repair (see agents/health.py)."""
    return consumer.__dict__.setdefault("_pulsewire_holes", set())


def _never_skip_offsets() -> None:
    """Make faust-streaming treat a jump in offsets as records still to read, never as read.

    Faust marks a jump between the last read offset and the next fetched one as a "gap" and
    acknowledges it, for compacted or transactional topics where offsets really are missing. Our
    stream topics are neither, and after a restart on a backlog (tables recovering while records are
    in flight) faust-streaming 0.15.3 can drop in-flight records: the gap rule then commits past them
    and they are lost (reproduced by the SIGKILL restart test). Without it, the hole stays unacked,
    the stall check in agents/health.py seeks back, and the records are read again.
    """
    from faust.transport.consumer import Consumer

    async def _no_gap(self, tp, offset_from: int, offset_to: int) -> None:
        # At every restart on a backlog, recovery resets the read position to the committed offset
        # after the fetcher has already queued records past it; those are processed (see
        # _clear_queues_only_after_a_suspension), so this is logged at info. Whatever was really
        # lost, the stall check in agents/health.py reads again, with a warning.
        log.info("offsets %s..%s of %s[%s] were not seen in order by the fetcher; any of them not "
                 "acknowledged will be read again", offset_from, offset_to - 1, tp.topic, tp.partition)
        known_holes(self).add(tp)  # the stall check repairs it at its next-but-one round

    Consumer._add_gap = _no_gap

    # Faust refuses to commit over a hole at the head of a partition only when it is 2+ records
    # wide; one lost record (offset == committed) was committed past. Refuse for any hole.
    original_new_offset = Consumer._new_offset

    def _new_offset(self, tp):
        acked = self._acked.get(tp)
        committed = self._committed_offset.get(tp)
        if acked and committed is not None and min(acked) > committed:
            return None
        return original_new_offset(self, tp)

    Consumer._new_offset = _new_offset


def _clear_queues_only_after_a_suspension() -> None:
    """Stop faust-streaming from emptying the agents' queues when the flow was never suspended.

    Faust's stream queues are cleared whenever ``app.flow_control.resume()`` runs (records queued
    while a rebalance suspended the flow are stale: the partitions are sought back to their
    committed offsets). But table recovery calls ``resume()`` when it finishes even when the flow is
    already running, and the fetcher has by then queued records of a backlog: they were dropped
    (measured on real Kafka at every restart on a backlog, each time leaving holes that the stall
    check had to repair 20-30 s later). A resume that changes nothing now clears nothing.
    """
    from mode.utils.queues import FlowControlEvent

    original = FlowControlEvent.resume

    def resume(self) -> None:
        if self.is_active():
            return
        original(self)

    FlowControlEvent.resume = resume


def share(remaining: int, partitions_left: int) -> int:
    """This partition's part of a round's ``remaining`` records, ``partitions_left`` (it included) to serve.

    >>> [share(500, n) for n in (1, 3, 24, 600)]
    [500, 166, 20, 1]
    """
    return max(1, remaining // partitions_left)


def _serve_every_partition_each_round() -> None:
    """Hand the agents some records of every fetched partition in each round, not the oldest fetch first.

    aiokafka's ``fetched_records`` serves buffered fetches oldest first and stops at
    ``max_records`` (``max_poll_records``): on a backlog, each of the ~20 input partitions holds
    a fetch of 1,000-2,000 records, so ``scored.text`` records fetched after them waited 15-20 s
    (behind every input record fetched before) before the sink saw one; the first row reached
    ClickHouse 30-50 s after the worker was ready, and the stall check re-read partitions whose
    records were only waiting their turn. Now each round splits ``max_records`` over the fetched
    partitions the consumer asks for, so a stage's output reaches the next stage in the next round.
    """
    from aiokafka.consumer.fetcher import Fetcher, FetchResult

    original = Fetcher.fetched_records

    async def fetched_records(self, partitions, timeout=0, max_records=None):
        asked = [(tp, res) for tp, res in self._records.items() if not partitions or tp in partitions]
        ready = [tp for tp, res in asked if type(res) is FetchResult]
        # A fetch error is the original's to raise (after the records fetched before it).
        if (max_records is None or len(ready) < 2 or len(ready) < len(asked)
                or self._subscriptions.reassignment_in_progress):
            return await original(self, partitions, timeout=timeout, max_records=max_records)
        # With timeout=0 and no reassignment the original never awaits: the round is one step.
        drained, remaining = {}, max_records
        for i, tp in enumerate(ready):
            if remaining <= 0:
                break
            got = await original(self, {tp}, timeout=0, max_records=share(remaining, len(ready) - i))
            drained.update(got)
            remaining -= sum(len(records) for records in got.values())
        if drained:
            return drained
        return await original(self, partitions, timeout=timeout, max_records=max_records)

    Fetcher.fetched_records = fetched_records
