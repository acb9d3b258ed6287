"""The changes pulsewire makes to faust-streaming, in one place, for the pinned version only.

faust-streaming 0.15.3 can lose records at a restart on a backlog (see docs/architecture.md,
"Known limits", and docs/decisions/0001-faust-streaming-patches.md for the upstream reports).
``install()`` makes three changes to its classes; ``create_app`` calls it before building the app.
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
    _never_skip_offsets()
    _clear_queues_only_after_a_suspension()
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
