"""Every Kafka topic pulsewire uses, declared once.

The app creates them (with these partition counts and configs) before any
worker starts: a Faust worker that finds a topic auto-created with the wrong
partition count refuses to run, and an auto-created topic gets one partition.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class BrokerUnreachable(RuntimeError):
    """No broker answered at the configured bootstrap address."""


DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    value: str
    partitions: int | None = None  # None: settings.topic_partitions
    retention_ms: int | None = 7 * DAY_MS
    compacted: bool = False
    doc: str = ""
    configs: dict[str, str] = field(default_factory=dict)

    def kafka_configs(self) -> dict[str, str]:
        cfg = dict(self.configs)
        if self.compacted:
            cfg["cleanup.policy"] = "compact"
        if self.retention_ms is not None and not self.compacted:
            cfg["retention.ms"] = str(self.retention_ms)
        return cfg


EVENT_KINDS = ("review", "ticket", "chat", "hr", "account")

EVENT_TOPICS = tuple(
    TopicSpec(f"events.{k}", "entity id (customer, else pseudonymised employee)", "schemas.events (v1, JSON)",
              doc=f"Raw {k} events as connectors produce them; validated by the validate agent.")
    for k in EVENT_KINDS
)
VALID = TopicSpec("events.valid", "entity id", "schemas.events (v1, JSON), employee ids pseudonymised",
                  doc="Validated, normalised events; input of the scoring agent.")
DLQ = TopicSpec("events.dlq", "source topic", "schemas.dead_letter.DeadLetter (JSON)", retention_ms=30 * DAY_MS,
                doc="Bad input with the original payload and a machine-readable reason. Never dropped.")
SCORED = TopicSpec("scored.text", "entity id", "schemas.scored.ScoredEvent (JSON)",
                   doc="Every valid event with its sentiment (None for events without text).")
LEARN_CHURN = TopicSpec("learn.churn", "none", "training example (features known at prediction time + label)",
                        partitions=1, retention_ms=30 * DAY_MS, doc="Consumed by the single churn learner.")
LEARN_BURNOUT = TopicSpec("learn.burnout", "none", "training example (features known at prediction time + label)",
                          partitions=1, retention_ms=30 * DAY_MS, doc="Consumed by the single burnout learner.")
MODEL_SNAPSHOTS = TopicSpec("models.snapshots", "model name", "versioned serialized model", partitions=1,
                            compacted=True, retention_ms=None, doc="Latest model per name; every worker loads it.")
SIGNALS = TopicSpec("signals.metrics", "metric dimension (e.g. team:<id>, channel:<name>)",
                    "metric contributions (JSON list)", doc="Internal: per-entity agents → metrics agent.")
ALERT_TOPICS = tuple(
    TopicSpec(f"alerts.{k}", "entity id", f"CloudEvents 1.0 JSON (schemas/json/alert.{k}.schema.json)",
              retention_ms=30 * DAY_MS, doc=f"Explained {k} alerts for a CRM / HR system.")
    for k in ("churn", "burnout", "sentiment")
)

ALL_TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, VALID, DLQ, SCORED, LEARN_CHURN, LEARN_BURNOUT,
                                     MODEL_SNAPSHOTS, SIGNALS, *ALERT_TOPICS)
BY_NAME = {t.name: t for t in ALL_TOPICS}


def partitions_of(spec: TopicSpec, default: int) -> int:
    return spec.partitions if spec.partitions is not None else default


def ensure_topics(bootstrap: str, default_partitions: int, specs=ALL_TOPICS, timeout_s: float = 30.0,
                  prefix: str = "") -> list[str]:
    """Create missing topics (named ``prefix + spec.name``); return the names created. Existing ones are left alone."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="pulsewire-admin",
                                     request_timeout_ms=10_000)
            break
        except Exception as exc:  # broker still starting
            if time.monotonic() > deadline:
                raise BrokerUnreachable(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(prefix + s.name, partitions_of(s, default_partitions), 1, topic_configs=s.kafka_configs())
               for s in specs if prefix + s.name not in existing]
        created = []
        for topic in new:  # one by one: a broker that rejects one config must not block the rest
            try:
                admin.create_topics([topic], timeout_ms=15_000)
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        admin.close()
