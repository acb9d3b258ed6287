"""`pulsewire topics` applies a changed events.dlq retention to the topic that exists already (it used to
leave existing topics alone, so a deployment kept raw dead letters for the old 30 days)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _topics(broker: str, namespace: str, **env: str):
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "topics"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PULSEWIRE_BROKER_URL": f"kafka://{broker}",
                                            "PULSEWIRE_TOPIC_PREFIX": namespace, **env})


def _retention_ms(broker: str, topic: str) -> str:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
        return found["topic"][topic]["retention.ms"]["value"]
    finally:
        admin.close()


def test_topics_applies_a_changed_dlq_retention_to_an_existing_topic(broker, namespace):
    dlq, review = f"{namespace}events.dlq", f"{namespace}events.review"
    r = _topics(broker, namespace, PULSEWIRE_DLQ_RETENTION_DAYS="30")  # a deployment made with the old retention
    assert r.returncode == 0, r.stderr
    assert _retention_ms(broker, dlq) == str(30 * 86_400_000)

    r = _topics(broker, namespace)  # the default now: 7 days
    assert r.returncode == 0, r.stderr
    lines = {line.split()[1]: line for line in r.stdout.splitlines()}
    assert lines[dlq].startswith("updated") and "retention=7d" in lines[dlq]
    assert lines[review].startswith("exists") and "retention=7d" in lines[review]
    assert _retention_ms(broker, dlq) == str(7 * 86_400_000)

    r = _topics(broker, namespace, PULSEWIRE_DLQ_RETENTION_DAYS="2")
    assert r.returncode == 0 and _retention_ms(broker, dlq) == str(2 * 86_400_000)
    again = _topics(broker, namespace, PULSEWIRE_DLQ_RETENTION_DAYS="2")
    assert all(not line.startswith("updated") for line in again.stdout.splitlines())  # idempotent
