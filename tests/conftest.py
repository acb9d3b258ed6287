"""Shared fixtures.

``broker`` yields a Kafka bootstrap address. It is the embedded broker (noida-db,
started here on a free loopback port) and, when ``PULSEWIRE_TEST_KAFKA`` names a
running Apache Kafka (``.ci/run`` starts one), the same tests run against it too.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest


def pytest_configure(config) -> None:
    """The suite must pass with the calendar moved (``faketime -f '+400d' pytest``).

    libfaketime (0.9.10) also shifts the monotonic clock by default, but the kernel measures timed
    lock waits (``threading.Event.wait(0.2)``: Python's sem_clockwait) on the real one, so each such
    wait blocks for 400 days. The calendar is what the tests must not depend on; the monotonic clock
    is not a date. So re-run once with the monotonic clock left alone, and with a ``time.sleep``
    that works in that mode (tests/under_faketime/sitecustomize.py, inherited by subprocesses).
    """
    if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") != "1":
        capture = config.pluginmanager.getplugin("capturemanager")
        if capture is not None:  # give the re-run the terminal back, not pytest's capture file
            capture.stop_global_capturing()
        fix = str(Path(__file__).resolve().parent / "under_faketime")
        path = os.pathsep.join(p for p in (fix, os.environ.get("PYTHONPATH", "")) if p)
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]],
                  {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "PYTHONPATH": path})


REAL_KAFKA = os.environ.get("PULSEWIRE_TEST_KAFKA")
BROKER_KINDS = ["embedded"] + (["kafka"] if REAL_KAFKA else [])


@pytest.fixture(scope="session")
def embedded_broker(tmp_path_factory):
    from pulsewire.infra.broker.embedded import EmbeddedBroker

    with EmbeddedBroker(tmp_path_factory.mktemp("broker")) as broker:
        yield broker


@pytest.fixture(scope="session", params=BROKER_KINDS)
def broker(request) -> str:
    """A bootstrap address (``host:port``) of a running broker."""
    if request.param == "kafka":
        return REAL_KAFKA
    return request.getfixturevalue("embedded_broker").bootstrap


@pytest.fixture
def namespace() -> str:
    """A unique topic prefix and app id, so tests on one broker never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture(scope="session")
def pseudonym_key() -> str:
    return "test-key-" + "0123456789abcdef" * 2


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """The one in-process chDB store of this test session (chDB allows one store path per process).

    Tests share it: use unique ids and never assume empty tables."""
    from pulsewire.streams.store import open_store

    s = open_store(f"chdb://{tmp_path_factory.mktemp('store').resolve()}")
    yield s
    s.close()
