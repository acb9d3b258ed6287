"""An idle worker's consumer must not busy-poll the broker (streams/fetch_pacing.py).

The embedded broker answers an empty fetch at once instead of holding it for fetch.max.wait.ms;
without pacing an idle consumer sent thousands of fetch requests a second (measured: about 2,300/s,
a core of CPU). Counted, not timed: the bound is two orders of magnitude under the bug.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.protocol.fetch import FetchRequest

from pulsewire.streams.app import create_app
from pulsewire.streams.settings import Settings
from pulsewire.streams.topics import TopicMap, ensure_topics

pytestmark = pytest.mark.integration

IDLE_S = 3.0
# paced at the default 0.1 s: at most about 30 empty fetches in IDLE_S; a broker that holds them: about 2
MAX_IDLE_FETCHES = 100


async def _idle_then_receive(bootstrap: str, topic: str) -> tuple[int, list[bytes]]:
    # The same long-poll wait faust-streaming gives its consumer (fetch_max_wait_ms=1500).
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest",
                                fetch_max_wait_ms=1500)
    await consumer.start()
    fetches = 0
    send = consumer._client.send

    async def counting_send(node_id, request, *args, **kwargs):
        nonlocal fetches
        fetches += isinstance(request, FetchRequest)
        return await send(node_id, request, *args, **kwargs)

    consumer._client.send = counting_send
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=200)
        fetches = 0
        idle_until = time.monotonic() + IDLE_S
        while time.monotonic() < idle_until:
            assert not await consumer.getmany(timeout_ms=200)
        idle_fetches = fetches

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"r{i}".encode())
        finally:
            await producer.stop()
        got: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(got) < 10 and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got += [r.value for r in records]
        return idle_fetches, got
    finally:
        await consumer.stop()


def test_an_idle_consumer_does_not_busy_poll_and_still_gets_new_records(broker, namespace, pseudonym_key, tmp_path):
    settings = Settings(broker_url=f"kafka://{broker}", topic_prefix=namespace, app_id=namespace.rstrip("."),
                        data_dir=tmp_path)
    create_app(settings, key=pseudonym_key.encode())  # what the worker does: installs the pacing
    topics = TopicMap.from_settings(settings)
    ensure_topics(broker, topics)
    idle_fetches, got = asyncio.run(_idle_then_receive(broker, topics.name("events.review")))
    assert idle_fetches < MAX_IDLE_FETCHES, f"{idle_fetches} fetch requests in {IDLE_S} s with no traffic"
    assert sorted(got) == sorted(f"r{i}".encode() for i in range(10))
