"""The faust-streaming 0.15.3 behaviours pulsewire changes (streams/faust_patches.py), on the real classes."""

import asyncio

import pytest
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from pulsewire.streams import faust_patches

faust_patches.install()


def test_patches_refuse_any_faust_streaming_but_the_pinned_one(monkeypatch):
    monkeypatch.setattr(faust_patches, "_installed", False)
    monkeypatch.setattr(faust_patches, "installed_version", lambda: "0.16.1")
    with pytest.raises(faust_patches.UnsupportedFaustVersion, match=r"faust-streaming 0\.16\.1 is installed.*0\.15\.3"):
        faust_patches.install()


def test_the_pin_in_the_package_metadata_is_the_version_the_patches_are_for():
    from importlib.metadata import requires

    assert f"faust-streaming=={faust_patches.PINNED}" in [r.split(";")[0].strip() for r in requires("pulsewire")]


def test_creating_the_app_installs_the_patches_and_importing_it_does_not(tmp_path):
    import subprocess
    import sys

    code = ("import pulsewire.streams.app, faust.transport.consumer as c; "
            "from pulsewire.streams import faust_patches as p; "
            "before = c.Consumer._add_gap.__qualname__; "
            "from pulsewire.streams.settings import Settings; "
            f"pulsewire.streams.app.create_app(Settings(data_dir={str(tmp_path)!r}), key=b'k' * 16); "
            "print(before, c.Consumer._add_gap.__qualname__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["Consumer._add_gap", "_never_skip_offsets.<locals>._no_gap"]


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
