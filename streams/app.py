"""The pulsewire Faust app: one App, agents per domain (see streams/agents/).

    events.<kind> ──validate──► events.valid ──score──► scored.text ──sink──► ClickHouse
          └────────────► events.dlq ──dead_letter_sink──► ClickHouse

Values travel as raw bytes of JSON: validation needs the exact bytes a source
sent (malformed JSON must reach the validator, not crash a deserializer), and
pydantic parses JSON faster than Faust's codecs on this path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import faust

from . import faust_patches
from .privacy import Pseudonymiser
from .settings import Settings
from .topics import ALL_TOPICS, TopicMap

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    """What agents share: settings, the pseudonymiser, and lazily opened resources."""

    settings: Settings
    pseudonymise: Pseudonymiser
    topic_map: TopicMap
    topics: dict[str, faust.TopicT] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    stats: Any = None
    _store: Any = None
    _scorer: Any = None

    @property
    def store(self):
        if self._store is None:
            from .store import open_from_settings

            self._store = open_from_settings(self.settings)
        return self._store

    @property
    def scorer(self):
        if self._scorer is None:
            from pulsewire.models.sentiment import load_scorer

            self._scorer = load_scorer(model_dir=self.settings.model_dir, threads=self.settings.model_threads,
                                       max_tokens=self.settings.model_max_tokens)
        return self._scorer


def create_app(settings: Settings, *, key: bytes | None = None,
               topics: TopicMap | None = None) -> tuple[faust.App, WorkerContext]:
    key = key if key is not None else settings.require_pseudonym_key()
    topics = topics or TopicMap.from_settings(settings)
    faust_patches.install()
    app = faust.App(
        topics.group,
        broker=settings.broker_url,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=settings.commit_interval_s,
        web_enabled=False,
        datadir=str(settings.data_dir / "faust"),
        producer_acks=-1,
    )
    from .agents._common import StageStats

    ctx = WorkerContext(settings=settings, pseudonymise=Pseudonymiser(key), topic_map=topics, stats=StageStats())
    for spec in ALL_TOPICS:
        ctx.topics[spec.name] = app.topic(
            topics.name(spec.name), partitions=topics.partitions(spec),
            value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw",
            retention=(spec.retention_ms / 1000 if spec.retention_ms else None), compacting=spec.compacted,
        )
    from .agents import install_all

    install_all(app, ctx)
    return app, ctx

