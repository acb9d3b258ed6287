"""The two faust-streaming 0.15.3 behaviours pulsewire changes (streams/app.py), on the real classes."""

import asyncio

import pulsewire.streams.app  # noqa: F401  (applies the patches)
from mode.utils.queues import FlowControlEvent, FlowControlQueue


def test_a_resume_that_changes_nothing_keeps_queued_records():
    async def scenario():
        flow = FlowControlEvent(initially_suspended=False)
        queue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        queue.put_nowait("record 1")
        queue.put_nowait("record 2")
        flow.resume()  # table recovery does this while the flow is running: nothing is stale
        kept = queue.qsize()
        flow.suspend()  # a rebalance: what is queued now is stale
        flow.resume()
        return kept, queue.qsize()

    assert asyncio.run(scenario()) == (2, 0)


def test_never_commits_over_a_hole_at_the_head_of_a_partition():
    from faust.transport.consumer import Consumer

    class Bookkeeping:  # the attributes _new_offset reads, as plain data
        def __init__(self, committed, acked):
            self._committed_offset = {"tp": committed}
            self._acked = {"tp": list(acked)}
            self._acked_index = {"tp": set(acked)}
            self._gap = {"tp": None}

    assert Consumer._new_offset(Bookkeeping(10, [11, 12]), "tp") is None   # offset 10 was never acked
    assert Consumer._new_offset(Bookkeeping(10, [10, 11, 12]), "tp") == 13
