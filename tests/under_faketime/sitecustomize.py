"""Loaded (through PYTHONPATH) only when the tests run under libfaketime; see tests/conftest.py.

libfaketime 0.9.10 (Debian 12) with a real monotonic clock still shifts the absolute deadline
that Python's ``time.sleep`` passes to ``clock_nanosleep``, which then fails with EINVAL. A sleep
on ``select``'s relative timeout measures the same duration on the same clock.
"""

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
