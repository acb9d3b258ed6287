"""Every Kafka topic pulsewire uses, declared once, and the map from their logical names to Kafka's.

The app creates them (with these partition counts and configs) before any
worker starts: a Faust worker that finds a topic auto-created with the wrong
partition count refuses to run, and an auto-created topic gets one partition.

Code names topics by their logical name (``events.review``); a ``TopicMap``, built once
from the settings, turns that into the physical name on the broker (the tenant's prefix
first) and names the consumer group. Every process that touches Kafka (worker, connectors,
``pulsewire topics``, demo, evaluate) takes the same map, so a prefixed tenant's parts agree.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pulsewire.schemas.events import KINDS

from .kafka_security import ClientFailureReasons, KafkaConnection, KafkaSecurityError

log = logging.getLogger(__name__)


class BrokerUnreachable(RuntimeError):
    """No broker answered at the configured bootstrap address."""


def kafka_failure(exc: BaseException) -> str:
    """The exception's name once, then its message (kafka-python's errors already start with their name).

    >>> class KafkaTimeoutError(Exception):
    ...     def __str__(self): return "KafkaTimeoutError: Failed to update metadata after 15.0 secs."
    >>> kafka_failure(KafkaTimeoutError())
    'KafkaTimeoutError: Failed to update metadata after 15.0 secs.'
    >>> kafka_failure(OSError("connection refused"))
    'OSError: connection refused'
    """
    name, text = type(exc).__name__, str(exc)
    return text if text.startswith(name) else f"{name}: {text}" if text else name


class BrokerRefused(BrokerUnreachable):
    """The broker answered but refused us (an untrusted certificate, a failed SASL login): retrying cannot help."""


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


EVENT_KINDS = KINDS  # from the canonical event schemas' discriminated union

EVENT_TOPICS = tuple(
    TopicSpec(f"events.{k}", "entity id (customer, else pseudonymised employee)", "schemas.events (v1, JSON)",
              doc=f"Raw {k} events as connectors produce them; validated by the validate agent.")
    for k in EVENT_KINDS
)
VALID = TopicSpec("events.valid", "entity id", "schemas.events (v1, JSON), employee ids pseudonymised",
                  doc="Validated, normalised events; input of the scoring agent.")
#: The one topic that keeps raw rejected records (personal data): a short retention, set per deployment
#: (``PULSEWIRE_DLQ_RETENTION_DAYS``, read into the ``TopicMap``); ClickHouse keeps only redacted copies.
DLQ_RETENTION_DAYS = 7
DLQ = TopicSpec("events.dlq", "source topic", "schemas.dead_letter.DeadLetter (JSON)",
                retention_ms=DLQ_RETENTION_DAYS * DAY_MS,
                doc="Bad input with the original payload and a machine-readable reason, for its retention.")
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
DRIFT = TopicSpec("alerts.drift", "the series that drifted (e.g. sentiment/channel:email, churn/error)",
                  "CloudEvents 1.0 JSON (schemas/json/drift.v1.schema.json)", retention_ms=30 * DAY_MS,
                  doc="Drift events: a watched series (sentiment per channel, a learner's error or feature) changed.")
OUTCOMES = TopicSpec("alerts.outcomes", "alert id", "alert outcome v1, JSON (schemas/json/alert_outcome.v1.schema.json)",
                     retention_ms=30 * DAY_MS, doc="What people did with each alert (acted, not_useful, wrong, "
                     "already_known): written by a CRM / HR system, `pulsewire outcome` or its webhook.")
ERASURE = TopicSpec("privacy.erasure", "entity id (customer, else pseudonymised employee), as on scored.text",
                    "erasure request (JSON, streams/erasure.py)",
                    doc="`pulsewire forget` -> the worker that owns the person's state; partitioned like scored.text.")
ERASURE_RECEIPTS = TopicSpec("privacy.erasure.receipts", "request id", "erasure receipt (JSON): what was removed, "
                             "the subject as a keyed hash only", partitions=1,
                             doc="The worker's answer to each erasure request; `pulsewire forget` waits for it.")
CURSORS = TopicSpec("connectors.cursors", "connector instance", "cursor (string)", partitions=1, compacted=True,
                    retention_ms=None, doc="Last delivered position of each connector instance.")
# compacted and deleted after a week: a replay older than a connector's age limit is refused by its age
DELIVERIES = TopicSpec("connectors.deliveries", "connector instance + delivery id", "when it was accepted (ISO time)",
                       partitions=1, retention_ms=7 * DAY_MS, configs={"cleanup.policy": "compact,delete"},
                       doc="Delivery ids a webhook accepted: a restarted webhook refuses a replayed delivery.")

ALL_TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, VALID, DLQ, SCORED, LEARN_CHURN, LEARN_BURNOUT,
                                     MODEL_SNAPSHOTS, SIGNALS, *ALERT_TOPICS, DRIFT, OUTCOMES, CURSORS, DELIVERIES,
                                     ERASURE, ERASURE_RECEIPTS)
BY_NAME = {t.name: t for t in ALL_TOPICS}
#: What a connector writes to (and creates when it starts before any worker).
CONNECTOR_TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, DLQ, CURSORS, DELIVERIES)
#: The pipeline's topics: their lag under the worker's group is what the health board shows.
#: (alerts.* are audited by the worker too, but their consumer of record is a CRM or HR system;
#: models.snapshots is read by every worker without a group, connectors.cursors by connectors.)
GROUP_TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, VALID, DLQ, SCORED, LEARN_CHURN, LEARN_BURNOUT, SIGNALS)


def partitions_of(spec: TopicSpec, default: int) -> int:
    return spec.partitions if spec.partitions is not None else default


@dataclass(frozen=True)
class TopicMap:
    """Logical topic name -> the topic on the broker, plus the consumer group, for one deployment.

    >>> m = TopicMap(prefix="acme.", group="acme-pulsewire")
    >>> m.name("events.review"), m.logical("acme.events.review")
    ('acme.events.review', 'events.review')
    >>> m.names(EVENT_TOPICS)[:2]
    ['acme.events.review', 'acme.events.ticket']
    >>> m.name("events.tweet")
    Traceback (most recent call last):
    ...
    KeyError: "no topic named 'events.tweet' is declared in streams/topics.py"

    The deployment's retention of the raw dead letters replaces the declared one:

    >>> TopicMap(dlq_retention_ms=2 * DAY_MS).kafka_configs(DLQ)
    {'retention.ms': '172800000'}
    """

    prefix: str = ""
    group: str = "pulsewire"
    default_partitions: int = 4
    dlq_retention_ms: int = DLQ_RETENTION_DAYS * DAY_MS

    @classmethod
    def from_settings(cls, settings) -> "TopicMap":
        return cls(prefix=settings.topic_prefix, group=settings.app_id,
                   default_partitions=settings.topic_partitions,
                   dlq_retention_ms=round(settings.dlq_retention_days * DAY_MS))

    def name(self, logical: str) -> str:
        if logical not in BY_NAME:
            raise KeyError(f"no topic named {logical!r} is declared in streams/topics.py")
        return self.prefix + logical

    def names(self, specs) -> list[str]:
        return [self.name(s.name) for s in specs]

    def logical(self, physical: str) -> str:
        """The logical name of a topic read from the broker (which carries the prefix)."""
        return physical.removeprefix(self.prefix)

    def partitions(self, spec: TopicSpec) -> int:
        return partitions_of(spec, self.default_partitions)

    def retention_ms(self, spec: TopicSpec) -> int | None:
        return self.dlq_retention_ms if spec.name == DLQ.name else spec.retention_ms

    def kafka_configs(self, spec: TopicSpec) -> dict[str, str]:
        """The topic configs this deployment wants on the broker."""
        cfg = spec.kafka_configs()
        if spec.name == DLQ.name:
            cfg["retention.ms"] = str(self.dlq_retention_ms)
        return cfg


class TopicConfigRefused(RuntimeError):
    """The broker refused to change an existing topic's configs."""


def ensure_topics(broker: "str | KafkaConnection", topics: TopicMap, specs=ALL_TOPICS, timeout_s: float = 30.0,
                  updated: list[str] | None = None) -> list[str]:
    """Create the missing ``specs`` under their physical names; return the names created.

    ``broker``: a ``KafkaConnection`` (``settings.kafka``), or a plain ``host:port`` without TLS or SASL.

    Existing topics are left alone, unless ``updated`` is a list: then their configs (retention,
    cleanup policy) are set to what this deployment declares, and the names changed are appended
    to it. Only ``pulsewire topics`` asks for that, so a connector or worker started with other
    settings never changes a deployment's retention."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    conn = KafkaConnection.of(broker)
    try:
        conn.check_tls()
    except KafkaSecurityError as exc:
        raise BrokerRefused(str(exc)) from None
    deadline = time.monotonic() + timeout_s
    with ClientFailureReasons() as reasons:
        while True:
            try:
                admin = KafkaAdminClient(**conn.kafka_python_kwargs(
                    client_id="pulsewire-admin", request_timeout_ms=10_000, bootstrap_timeout_ms=5_000))
                break
            except Exception as exc:  # broker still starting, unless it refused us
                if (refusal := reasons.refusal(conn)) is not None:
                    raise BrokerRefused(refusal) from None
                if time.monotonic() > deadline:
                    raise BrokerUnreachable(f"cannot reach Kafka at {conn}: {kafka_failure(exc)}"
                                            f"{reasons.hint(conn)}") from exc
                time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(topics.name(s.name), topics.partitions(s), 1, topic_configs=topics.kafka_configs(s))
               for s in specs if topics.name(s.name) not in existing]
        created = []
        for topic in new:  # one by one: a broker that rejects one config must not block the rest
            try:
                admin.create_topics([topic], timeout_ms=15_000)
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics: %s", ", ".join(created))
        if updated is not None:
            updated.extend(_update_configs(admin, topics, [s for s in specs if topics.name(s.name) in existing]))
        return created
    finally:
        admin.close()


def _update_configs(admin, topics: TopicMap, specs) -> list[str]:
    """Set the declared configs on existing topics where the broker has others; return their names."""
    from kafka.admin import ConfigResource, ConfigResourceType

    wanted = {topics.name(s.name): topics.kafka_configs(s) for s in specs}
    wanted = {name: cfg for name, cfg in wanted.items() if cfg}
    if not wanted:
        return []
    found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in wanted],
                                   config_filter="all").get("topic", {})
    changes = {}
    for name, cfg in wanted.items():
        have = found.get(name, {})
        diff = {k: v for k, v in cfg.items() if (have.get(k) or {}).get("value") != v}
        if diff:
            changes[name] = diff
    if not changes:
        return []
    result = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=cfg)
                                  for name, cfg in changes.items()], raise_on_unknown=False).get("topic", {})
    refused = {name: r for name, r in result.items() if r != "OK"}
    if refused:
        raise TopicConfigRefused("the broker refused to change topic configs: " +
                                 "; ".join(f"{name}: {r}" for name, r in sorted(refused.items())))
    for name, cfg in changes.items():
        log.info("changed configs of %s: %s", name, ", ".join(f"{k}={v}" for k, v in sorted(cfg.items())))
    return sorted(changes)
