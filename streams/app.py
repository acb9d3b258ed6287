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

from . import readiness
from .fetch_pacing import pace_empty_fetches
from .privacy import Pseudonymiser
from .settings import Settings
from .topics import ALL_TOPICS, partitions_of

log = logging.getLogger(__name__)


def _never_skip_offsets() -> None:
    """Make faust-streaming treat a jump in offsets as records still to read, never as read.

    Faust marks a jump between the last read offset and the next fetched one as a "gap" and
    acknowledges it, for compacted or transactional topics where offsets really are missing. Our
    stream topics are neither, and after a restart on a backlog (tables recovering while records are
    in flight) faust-streaming 0.15.3 can drop in-flight records: the gap rule then commits past them
    and they are lost (reproduced by the SIGKILL restart test). Without it, the hole stays unacked,
    the stall check in agents/health.py seeks back, and the records are read again.
    """
    from faust.transport.consumer import Consumer

    async def _no_gap(self, tp, offset_from: int, offset_to: int) -> None:
        # Measured: at every restart on a backlog, recovery resets the read position to the committed
        # offset after the fetcher has already queued records past it; those are processed (see
        # _clear_queues_only_after_a_suspension), so this is logged at info. Whatever was really
        # lost, the stall check in agents/health.py reads again, with a warning.
        log.info("offsets %s..%s of %s[%s] were not seen in order by the fetcher; any of them not "
                 "acknowledged will be read again", offset_from, offset_to - 1, tp.topic, tp.partition)
        known_holes(self).add(tp)  # the stall check repairs it at its next-but-one round

    Consumer._add_gap = _no_gap

    # Faust refuses to commit over a hole at the head of a partition only when it is 2+ records
    # wide; one lost record (offset == committed) was committed past. Refuse for any hole.
    original_new_offset = Consumer._new_offset

    def _new_offset(self, tp):
        acked = self._acked.get(tp)
        committed = self._committed_offset.get(tp)
        if acked and committed is not None and min(acked) > committed:
            return None
        return original_new_offset(self, tp)

    Consumer._new_offset = _new_offset


def _clear_queues_only_after_a_suspension() -> None:
    """Stop faust-streaming from emptying the agents' queues when the flow was never suspended.

    Faust's stream queues are cleared whenever ``app.flow_control.resume()`` runs (records queued
    while a rebalance suspended the flow are stale: the partitions are sought back to their
    committed offsets). But table recovery calls ``resume()`` when it finishes even when the flow is
    already running, and the fetcher has by then queued records of a backlog: they were dropped
    (measured on real Kafka: "resume clears 28 queued records" at every restart on a backlog, each
    time leaving holes that the stall check had to repair 20-30 s later). A resume that changes
    nothing now clears nothing.
    """
    from mode.utils.queues import FlowControlEvent

    original = FlowControlEvent.resume

    def resume(self) -> None:
        if self.is_active():
            return
        original(self)

    FlowControlEvent.resume = resume


def known_holes(consumer) -> set:
    """Partitions whose fetcher skipped offsets since their last repair (see agents/health.py)."""
    return consumer.__dict__.setdefault("_pulsewire_holes", set())


_never_skip_offsets()
_clear_queues_only_after_a_suspension()


@dataclass
class WorkerContext:
    """What agents share: settings, the pseudonymiser, and lazily opened resources."""

    settings: Settings
    pseudonymise: Pseudonymiser
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


def create_app(settings: Settings, *, key: bytes | None = None) -> tuple[faust.App, WorkerContext]:
    key = key if key is not None else settings.require_pseudonym_key()
    pace_empty_fetches(settings.empty_fetch_pause_s)
    app = faust.App(
        settings.app_id,
        broker=settings.broker_url,
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
    from .agents._common import StageStats

    ctx = WorkerContext(settings=settings, pseudonymise=Pseudonymiser(key), stats=StageStats())
    for spec in ALL_TOPICS:
        ctx.topics[spec.name] = app.topic(
            settings.topic(spec.name), partitions=partitions_of(spec, settings.topic_partitions),
            value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw",
            retention=(spec.retention_ms / 1000 if spec.retention_ms else None), compacting=spec.compacted,
        )
    from .agents import install_all

    install_all(app, ctx)
    readiness.install(app)
    return app, ctx

