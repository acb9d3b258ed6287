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

from pulsewire.infra.broker.embedded import free_port
from pulsewire.models.learners.processor import LearnerConfig

from . import faust_patches, readiness
from .agents._common import StageStats
from .activity import ActivitySink
from .agents.learn import ModelRegistry, follow_snapshots
from .fetch_pacing import pace_empty_fetches
from .privacy import KeyRing, Pseudonymiser
from .settings import Settings
from .sinks import SINKS, EventSink, TableSink, dead_letter_fallback
from .store import Store
from .topics import ALL_TOPICS, TopicMap

log = logging.getLogger(__name__)


class Resources:
    """The worker's heavy resources, opened on first use (the worker opens both before it joins the
    group, to fail fast; tests that never score or store never pay for them)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._scorer = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from .store import open_from_settings

            self._store = open_from_settings(self.settings, apply_retention=True)  # the worker sets TTLs and thresholds
        return self._store

    @property
    def scorer(self):
        if self._scorer is None:
            self._scorer = self.settings.load_scorer()
        return self._scorer


@dataclass
class WorkerContext:
    """Everything agents share, built completely by ``create_app`` before any agent is installed,
    so no agent depends on another having been installed first."""

    settings: Settings
    topic_map: TopicMap
    keys: KeyRing  # subkeys of the pseudonym key, one per purpose
    pseudonymise: Pseudonymiser
    topics: dict[str, faust.TopicT]
    stats: StageStats
    resources: Resources
    sinks: dict[str, TableSink]
    events: EventSink  # events_scored, first version wins
    activity: ActivitySink  # activity_events (first version wins), then activity_daily
    models: ModelRegistry
    learner_config: LearnerConfig
    agents: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.resources.store

    @property
    def scorer(self):
        return self.resources.scorer


def build_sinks(settings: Settings, resources: Resources, topics: dict[str, faust.TopicT]) -> dict[str, TableSink]:
    """One ``TableSink`` per declared table (``streams/sinks.py``)."""
    from pulsewire.schemas.dead_letter import DeadLetter

    async def dead_letter(dl: DeadLetter) -> None:
        await topics["events.dlq"].send(key=dl.source_topic.encode(), value=dl.model_dump_json().encode())

    return {spec.table: TableSink(spec, lambda: resources.store, chunk_rows=settings.sink_batch_size,
                                  dead_letter=dead_letter, fallback=dead_letter_fallback)
            for spec in SINKS.values()}


def create_app(settings: Settings, *, key: bytes | None = None, topics: TopicMap | None = None,
               installers=None) -> tuple[faust.App, WorkerContext]:
    """The composition root: the app, the typed context every agent shares, then the agents
    (``installers``: ``agents.INSTALLERS`` filtered by the settings when not given)."""
    key = key if key is not None else settings.require_pseudonym_key()
    topic_map = topics or TopicMap.from_settings(settings)
    faust_patches.install()
    pace_empty_fetches(settings.empty_fetch_pause_s)
    app = faust.App(
        topic_map.group,
        broker=settings.kafka.faust_url,
        broker_credentials=settings.kafka.faust_credentials(),
        store="memory://",
        topic_partitions=settings.topic_partitions,
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=settings.commit_interval_s,
        # The web server only serves the readiness probe (streams/readiness.py); Faust's pages that
        # show table contents (personal data) or internals stay off.
        web_enabled=True,
        web_port=settings.worker_web_port or free_port(settings.worker_web_bind),
        web_bind=settings.worker_web_bind,
        web_host=settings.worker_web_bind,
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        datadir=str(settings.data_dir / "faust"),
        producer_acks=-1,
        broker_max_poll_records=settings.max_poll_records,
    )
    faust_topics = {
        spec.name: app.topic(topic_map.name(spec.name), partitions=topic_map.partitions(spec), value_type=bytes,
                             key_type=bytes, value_serializer="raw", key_serializer="raw",
                             retention=(topic_map.retention_ms(spec) / 1000 if spec.retention_ms else None),
                             compacting=spec.compacted)
        for spec in ALL_TOPICS
    }
    keys = KeyRing(key)
    resources = Resources(settings)
    sinks = build_sinks(settings, resources, faust_topics)
    ctx = WorkerContext(
        settings=settings, topic_map=topic_map, keys=keys, pseudonymise=keys.pseudonymise, topics=faust_topics,
        stats=StageStats(), resources=resources,
        sinks=sinks, events=EventSink(sinks["events_scored"]),
        activity=ActivitySink(EventSink(sinks["activity_events"]), settings.activity_raw_days),
        models=ModelRegistry(keys.snapshot_key, settings.data_dir), learner_config=LearnerConfig.from_env())

    from .agents import install_all, selected_installers

    if settings.signals_enabled:
        @app.task
        async def follow_model_snapshots():
            await follow_snapshots(ctx)

    install_all(app, ctx, selected_installers(settings) if installers is None else installers)
    readiness.install(app)
    return app, ctx
