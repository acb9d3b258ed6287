"""Smoke test against a real Apache Kafka broker.

Skipped unless PULSEWIRE_TEST_KAFKA is set to a bootstrap "host:port" (``make test`` sets it
after ``infra/kafka/kafka.sh start`` when Java and Maven are available).

Checks, with the exact client versions the pipeline pins: topic creation with kafka-python's
admin client, keyed produce with headers through aiokafka, consumption in a consumer group,
offset commit, and that a second consumer of the same group resumes after the commit.
"""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest

BOOTSTRAP = os.environ.get("PULSEWIRE_TEST_KAFKA", "")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.skipif(not BOOTSTRAP, reason="PULSEWIRE_TEST_KAFKA is not set (no real Kafka broker)"),
]

PARTITIONS = 3
FIRST_BATCH = 30
SECOND_BATCH = 12


def _create_topic(name: str) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="pulsewire-smoke-admin",
                             request_timeout_ms=15_000)
    try:
        admin.create_topics([NewTopic(name=name, num_partitions=PARTITIONS, replication_factor=1)])
        described = admin.describe_topics([name])
        assert len(described[0]["partitions"]) == PARTITIONS, described
    finally:
        admin.close()


async def _produce(topic: str, start: int, count: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                key=f"customer-{i % 7}".encode(),
                value=f"event-{i}".encode(),
                headers=[("source", b"smoke"), ("seq", str(i).encode())],
            )
            for i in range(start, start + count)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _consume(topic: str, group: str, expected: int, *, commit: bool) -> list:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
    )
    await consumer.start()
    records = []
    try:
        async def _read() -> None:
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for recs in batch.values():
                    records.extend(recs)

        await asyncio.wait_for(_read(), timeout=25)
        # Nothing beyond what was expected.
        extra = await consumer.getmany(timeout_ms=300)
        records.extend(r for recs in extra.values() for r in recs)
        if commit:
            await consumer.commit()
    finally:
        await consumer.stop()
    return records


def test_produce_consume_commit_resume() -> None:
    topic = f"pulsewire-smoke-{uuid.uuid4().hex[:10]}"
    group = f"{topic}-group"
    _create_topic(topic)

    async def scenario() -> None:
        await _produce(topic, 0, FIRST_BATCH)
        first = await _consume(topic, group, FIRST_BATCH, commit=True)
        assert len(first) == FIRST_BATCH
        assert {r.value for r in first} == {f"event-{i}".encode() for i in range(FIRST_BATCH)}
        assert {r.partition for r in first} <= set(range(PARTITIONS))
        assert len({r.partition for r in first}) > 1, "keys should spread over partitions"
        for r in first:
            i = int(r.value.decode().split("-")[1])
            assert r.key == f"customer-{i % 7}".encode()
            assert dict(r.headers) == {"source": b"smoke", "seq": str(i).encode()}
        # Same key -> same partition, in order.
        by_key: dict[bytes, set[int]] = {}
        for r in first:
            by_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(p) == 1 for p in by_key.values()), by_key

        await _produce(topic, FIRST_BATCH, SECOND_BATCH)
        second = await _consume(topic, group, SECOND_BATCH, commit=True)
        assert sorted(int(r.value.decode().split("-")[1]) for r in second) == list(
            range(FIRST_BATCH, FIRST_BATCH + SECOND_BATCH)
        ), "the second consumer of the group must resume after the committed offsets"

    asyncio.run(scenario())
