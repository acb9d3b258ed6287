"""events.dlq keeps raw rejected records (personal data): its retention is short and comes from the
settings, for every part that creates the topic."""

from __future__ import annotations

from pulsewire.streams.settings import Settings
from pulsewire.streams.topics import DAY_MS, DLQ, EVENT_TOPICS, TopicMap


def test_dlq_retention_defaults_to_seven_days_and_follows_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("PULSEWIRE_DLQ_RETENTION_DAYS", raising=False)
    assert TopicMap.from_settings(Settings(data_dir=tmp_path)).kafka_configs(DLQ) == {"retention.ms": str(7 * DAY_MS)}
    monkeypatch.setenv("PULSEWIRE_DLQ_RETENTION_DAYS", "2.5")
    topics = TopicMap.from_settings(Settings(data_dir=tmp_path))
    assert topics.kafka_configs(DLQ) == {"retention.ms": str(int(2.5 * DAY_MS))}
    assert topics.retention_ms(DLQ) == int(2.5 * DAY_MS)
    assert topics.kafka_configs(EVENT_TOPICS[0]) == {"retention.ms": str(7 * DAY_MS)}  # the others as declared


def test_the_worker_declares_events_dlq_with_the_setting(tmp_path):
    from pulsewire.streams.app import create_app

    settings = Settings(data_dir=tmp_path, dlq_retention_days=3)
    _, ctx = create_app(settings, key=b"k" * 16, installers=[])
    assert ctx.topics["events.dlq"].retention == 3 * 86400  # seconds, as Faust creates it
