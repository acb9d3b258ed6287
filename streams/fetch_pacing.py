"""Keep an idle consumer from busy-polling a broker that answers empty fetches at once.

A Kafka fetch is a long poll: with no new records the broker holds the request for up to
``fetch.max.wait.ms`` (faust-streaming sets 1.5 s) before answering empty. The embedded broker
(noida-db 0.2.3) answers an empty fetch immediately, whatever the wait asked for, and aiokafka's
fetcher sends the next request as soon as the previous one returns: an idle worker sent about
2,300 fetch requests a second and held a core, and a busy one spent a quarter of its time writing
fetch requests while the scorer and the sinks waited for the GIL.

``pace_empty_fetches`` makes the client keep the pace the broker should have kept: after an empty
answer that came back sooner than ``pause_s``, the fetcher waits out the rest of ``pause_s`` before
fetching from that broker again. A broker that honours the wait (Apache Kafka) answers empty only
after the full wait, so nothing changes there; a record produced during the pause waits at most
``pause_s`` longer than on such a broker.
"""

from __future__ import annotations

import asyncio
import time
from importlib.metadata import PackageNotFoundError, version

#: The aiokafka whose private ``Fetcher._proc_fetch_request`` this module wraps.
PINNED_AIOKAFKA = "0.14.0"
_state = {"pause_s": 0.0, "original": None}


class UnsupportedAiokafkaVersion(RuntimeError):
    pass


def check_aiokafka_version(installed: str | None) -> None:
    """Refuse to wrap any aiokafka but the pinned one: the wrapped methods (here and in
    faust_patches) are private.

    >>> check_aiokafka_version("0.14.0")
    >>> check_aiokafka_version("0.15.0")
    Traceback (most recent call last):
    ...
    pulsewire.streams.fetch_pacing.UnsupportedAiokafkaVersion: aiokafka 0.15.0 is installed, ...
    """
    if installed != PINNED_AIOKAFKA:
        raise UnsupportedAiokafkaVersion(
            f"aiokafka {installed or '(not installed)'} is installed, but pulsewire's fetch pacing "
            f"(streams/fetch_pacing.py) wraps a private method of aiokafka {PINNED_AIOKAFKA} only; install "
            f"aiokafka=={PINNED_AIOKAFKA} (pip install -e .), or re-check the wrapper and change the pin, or "
            f"set PULSEWIRE_EMPTY_FETCH_PAUSE_S=0 to run without it")


def installed_aiokafka() -> str | None:
    try:
        return version("aiokafka")
    except PackageNotFoundError:
        return None


def idle_wait_s(got_records: bool, elapsed_s: float, pause_s: float, max_wait_s: float) -> float:
    """How long the fetcher should wait after a fetch that took ``elapsed_s`` before the next one.

    >>> idle_wait_s(False, 0.001, 0.1, 1.5)    # empty at once (noida-db): keep the pace
    0.099
    >>> idle_wait_s(True, 0.001, 0.1, 1.5)     # records: fetch again at once
    0.0
    >>> idle_wait_s(False, 1.5, 0.1, 1.5)      # the broker waited itself (Kafka): nothing to add
    0.0
    >>> idle_wait_s(False, 0.0, 0.1, 0.05)     # never longer than the wait the consumer asked for
    0.05
    >>> idle_wait_s(False, 0.0, 0.0, 1.5)      # pacing off
    0.0
    """
    if got_records or pause_s <= 0:
        return 0.0
    return round(max(0.0, min(pause_s, max_wait_s) - elapsed_s), 6)


def pace_empty_fetches(pause_s: float) -> None:
    """Install (or, with ``pause_s <= 0``, remove) the pacing on aiokafka's fetcher, process-wide."""
    from aiokafka.consumer.fetcher import Fetcher

    if pause_s > 0:
        check_aiokafka_version(installed_aiokafka())
    if _state["original"] is None:
        _state["original"] = Fetcher._proc_fetch_request
    _state["pause_s"] = pause_s
    if pause_s <= 0:
        Fetcher._proc_fetch_request = _state["original"]
        return
    original = _state["original"]

    async def _proc_fetch_request(self, assignment, node_id, request):
        started = time.monotonic()
        got_records = await original(self, assignment, node_id, request)
        wait = idle_wait_s(got_records, time.monotonic() - started, _state["pause_s"],
                           self._fetch_max_wait_ms / 1000)
        if wait:
            # The node stays "in flight" while this task runs, so no other fetch goes to it meanwhile.
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:  # assignment changed or consumer closing: as aiokafka does
                return False
        return got_records

    Fetcher._proc_fetch_request = _proc_fetch_request
