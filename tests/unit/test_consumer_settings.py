"""What the worker's Kafka consumer is built with (faust-streaming builds an aiokafka consumer from them).

Faust hands fetched records to the agents in rounds and a round waits while any agent's queue is full; an
unbounded round (thousands of backlog records for one agent) held back every other agent's records
(bench/bench_freshness.py measures the time to the first stored row).
"""

from __future__ import annotations

import asyncio

import pytest

from pulsewire.streams.app import create_app
from pulsewire.streams.settings import Settings


def _aiokafka_consumer(settings: Settings):
    app, _ = create_app(settings, key=b"k" * 32)

    async def build():
        return app.consumer._thread._create_worker_consumer(app.transport)

    return asyncio.run(build())


def test_rounds_are_bounded_so_no_agent_waits_behind_a_backlog(tmp_path):
    assert _aiokafka_consumer(Settings(data_dir=tmp_path))._max_poll_records == 500
    assert _aiokafka_consumer(Settings(data_dir=tmp_path, max_poll_records=50))._max_poll_records == 50


def test_fetch_pacing_wraps_only_the_pinned_aiokafka():
    import re
    from pathlib import Path

    from pulsewire.streams import fetch_pacing

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"aiokafka=={fetch_pacing.PINNED_AIOKAFKA}"' in pyproject
    with pytest.raises(fetch_pacing.UnsupportedAiokafkaVersion, match=re.escape("aiokafka 0.99.0 is installed")):
        fetch_pacing.check_aiokafka_version("0.99.0")
