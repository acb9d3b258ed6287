"""Run a connector: map -> validate -> produce in bounded batches -> store the cursor.

* Backpressure: one batch (``batch_size`` records) is in flight at a time; the source is not
  read again until the batch is acknowledged by the broker, so a slow broker slows the source
  down and memory stays bounded by one batch.
* No loss: the cursor is stored (compacted topic ``connectors.cursors``) only after its batch
  is flushed, and ``Raw.ack`` is called only then. Broker down: retry with backoff, forever
  unless stopped. A crash between flush and cursor store replays that batch: same event_ids,
  so sinks de-duplicate.
* Dead letters: ``Reject``, any exception in ``map()``, schema-invalid events and events whose
  ``occurred_at`` is outside the settings' time window go to
  ``events.dlq`` keyed by the connector instance, with the raw payload, a reason and the
  connector's ``personal_fields`` declaration.
* Fatal: errors in ``setup()``/``poll()`` stop the run with ``ConnectorError`` (exit non-zero),
  after delivering what was already read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from pydantic import ValidationError

from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.schemas.events import event_to_json, parse_event

from ..kafka_security import KafkaConnection
from ..settings import Settings
from ..time_window import TimeWindow
from ..topics import CONNECTOR_TOPICS, CURSORS, DELIVERIES, DLQ, BrokerRefused, TopicMap
from .connector import Connector, ConnectorError, Raw, Reject, event_time_window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    topic: str  # logical name (``events.review``); the sink maps it to the broker's
    key: bytes
    value: bytes


def to_messages(connector: Connector, raw: Raw) -> tuple[list[Message], str]:
    """Map and validate one raw record: ``(messages, outcome)``; pure apart from calling ``map()``."""
    def dead(reason: Reason, detail: str) -> tuple[list[Message], str]:
        raw.verdict = (reason, detail)
        dl = dead_letter(connector, raw, reason, detail)
        return [Message(DLQ.name, connector.instance.encode(), dl.model_dump_json().encode())], "dead_lettered"

    if raw.reject:
        return dead(*raw.reject)
    try:
        mapped = connector.map(raw.payload)
    except Reject as exc:
        return dead(exc.reason, exc.detail)
    except Exception as exc:  # a bug or an unexpected shape: the record is kept, the connector goes on
        return dead(Reason.MAPPING_FAILED, f"{type(exc).__name__}: {exc}")
    if mapped is None:
        return [], "skipped"
    out, problems = [], []
    for obj in mapped if isinstance(mapped, list) else [mapped]:
        try:
            ev = parse_event(obj)
        except (ValidationError, ValueError, TypeError) as exc:
            from ..validation import _describe, _reason_for

            problems.append((_reason_for(exc), _describe(exc)) if isinstance(exc, ValidationError)
                            else (Reason.MAPPING_FAILED, str(exc)))
            continue
        if problem := event_time_window.get().problem(ev.occurred_at):  # also for connectors without parse_time
            problems.append((Reason.TIMESTAMP_OUT_OF_RANGE, f"occurred_at: {problem}"))
            continue
        out.append(Message(f"events.{ev.kind}", ev.entity_id.encode(), event_to_json(ev)))
    if problems:  # one bad event dead-letters the whole raw record: nothing half-delivered
        return dead(problems[0][0], "; ".join(p[1] for p in problems))
    return out, "produced" if out else "skipped"


def dead_letter(connector: Connector, raw: Raw, reason: Reason, detail: str) -> DeadLetter:
    """The dead letter of ``raw``: the original record, the reason, and the connector's declaration
    of personal fields (which decides what the ``dead_letters`` table may keep of it)."""
    original = raw.raw if raw.raw is not None else _as_json(raw.payload)
    declared = connector.declared_personal_fields()
    return DeadLetter.make(connector.instance, original, reason, detail, where=f"connector:{connector.name}",
                           personal_fields=None if declared is None else list(declared),
                           known_fields=list(connector.known_field_names()))


def _as_json(payload) -> str:
    if isinstance(payload, (bytes, str)):
        return payload
    return json.dumps(payload, default=str, ensure_ascii=False)


@dataclass
class RunStats:
    raws: int = 0
    events: int = 0
    dead_letters: int = 0
    skipped: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


class Runner:
    """Drive one connector into a sink (``KafkaSink`` or the test kit's ``TestingSink``)."""

    def __init__(self, connector: Connector, sink, *, batch_size: int = 1000, linger_s: float = 0.05,
                 stop: threading.Event | None = None, limit: int | None = None, max_idle: int | None = None,
                 on_raw: Callable[[Raw], None] | None = None, window: TimeWindow | None = None):
        self.c, self.sink, self.batch_size, self.linger_s = connector, sink, batch_size, linger_s
        self.window = window or TimeWindow()
        self.stop = stop or threading.Event()
        self.limit, self.max_idle, self.on_raw = limit, max_idle, on_raw
        self.stats = RunStats()
        self._msgs: list[Message] = []
        self._acks: list[tuple[Callable, str]] = []
        self._cursor: str | None = None
        self._first_at: float | None = None

    def run(self) -> RunStats:
        c = self.c
        try:
            if c.remembers:
                c.restore(self.sink.load_remembered(c.instance))
            c.setup()
        except ConnectorError:
            raise
        except Exception as exc:
            raise ConnectorError(f"connector {c.instance!r} could not start: {type(exc).__name__}: {exc}") from exc
        window_token = event_time_window.set(self.window)
        try:
            self._loop(self.sink.load_cursor(c.instance))
        finally:
            event_time_window.reset(window_token)
            try:
                c.teardown()
            except Exception:
                log.exception("connector %s: teardown failed", c.instance)
        return self.stats

    def _loop(self, cursor: str | None) -> None:
        idle = 0
        gen = self.c.poll(cursor)
        try:
            for item in gen:
                if item is None:
                    self.flush()
                    idle += 1
                    if self.stop.is_set() or (self.max_idle is not None and idle >= self.max_idle):
                        break
                    continue
                idle = 0
                self._add(item if isinstance(item, Raw) else Raw(item))
                if len(self._msgs) >= self.batch_size or time.monotonic() - self._first_at >= self.linger_s:
                    self.flush()
                if self.stop.is_set() or (self.limit is not None and self.stats.raws >= self.limit):
                    break
        except ConnectorError:
            self.flush()
            raise
        except Exception as exc:
            self.flush()
            raise ConnectorError(f"connector {self.c.instance!r} failed while reading: "
                                 f"{type(exc).__name__}: {exc}") from exc
        finally:
            gen.close() if hasattr(gen, "close") else None
        self.flush()

    def _add(self, raw: Raw) -> None:
        if self.on_raw:
            self.on_raw(raw)
        msgs, outcome = to_messages(self.c, raw)
        self.stats.raws += 1
        if outcome == "produced":
            self.stats.events += len(msgs)
        elif outcome == "dead_lettered":
            self.stats.dead_letters += 1
        else:
            self.stats.skipped += 1
        self._msgs.extend(msgs)
        if raw.remember:  # delivered with the outcome it records: never remembered without it
            self._msgs.append(remembered_message(self.c.instance, raw.remember))
        if raw.ack:
            self._acks.append((raw.ack, outcome))
        if raw.cursor is not None:
            self._cursor = raw.cursor
        if self._first_at is None:
            self._first_at = time.monotonic()

    def flush(self) -> None:
        """Deliver the batch, then store its cursor, then acknowledge: never the other way round."""
        if self._msgs:
            self.sink.deliver(self._msgs)
            self.stats.batches += 1
        if self._cursor is not None:
            self.sink.save_cursor(self.c.instance, self._cursor)
        for ack, outcome in self._acks:
            ack(outcome)
        self._msgs, self._acks, self._cursor, self._first_at = [], [], None, None


def remembered_message(instance: str, delivery_id: str) -> Message:
    from datetime import datetime, timezone

    return Message(DELIVERIES.name, f"{instance}\x1f{delivery_id}".encode(),
                   datetime.now(timezone.utc).isoformat().encode())


def remembered_of(instance: str, records) -> dict[str, str]:
    """``(key, value)`` records of ``connectors.deliveries`` -> ``{delivery id: when}`` of ``instance``."""
    prefix = f"{instance}\x1f".encode()
    return {k[len(prefix):].decode(): v.decode() for k, v in records
            if k and k.startswith(prefix) and v is not None}


class KafkaSink:
    """Produce with kafka-python (acks=all, idempotent); retries with backoff while the broker is away.

    Topics are named through ``topics`` (the deployment's ``TopicMap``: prefix included)."""

    def __init__(self, broker: "str | KafkaConnection", *, topics: TopicMap | None = None,
                 client_id: str = "pulsewire-connector", stop: threading.Event | None = None,
                 flush_timeout_s: float = 10.0, backoff_max_s: float = 5.0):
        self.connection = KafkaConnection.of(broker)
        self.bootstrap, self.client_id = self.connection.url, client_id
        self.topics = topics or TopicMap()
        self.stop = stop or threading.Event()
        self.flush_timeout_s, self.backoff_max_s = flush_timeout_s, backoff_max_s
        self._producer = None

    def open(self) -> "KafkaSink":
        from ..topics import ensure_topics

        self._retry("create topics", lambda: ensure_topics(self.connection, self.topics, specs=CONNECTOR_TOPICS,
                                                             timeout_s=5))
        return self

    def _retry(self, what: str, fn):
        delay = 0.2
        while True:
            try:
                return fn()
            except BrokerRefused as exc:  # a refused login or certificate does not get better by waiting
                raise ConnectorError(str(exc)) from None
            except Exception as exc:
                if self.stop.is_set():
                    raise ConnectorError(f"stopped while waiting for the broker at {self.bootstrap} ({what})") from exc
                log.warning("broker at %s unavailable (%s: %s); retrying in %.1fs", self.bootstrap, what,
                            type(exc).__name__, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)

    def _get_producer(self):
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(**self.connection.kafka_python_kwargs(
                client_id=self.client_id, acks="all", enable_idempotence=True,
                linger_ms=5, batch_size=256 * 1024, max_block_ms=5000, request_timeout_ms=5000,
                delivery_timeout_ms=int(self.flush_timeout_s * 1000), reconnect_backoff_max_ms=1000))
        return self._producer

    def _reset(self) -> None:
        p, self._producer = self._producer, None
        if p is not None:
            try:
                p.close(timeout=0)
            except Exception:
                pass

    def deliver(self, messages: list[Message]) -> None:
        pending, delay = list(messages), min(0.2, self.backoff_max_s)
        while True:
            pending, err = self._try(pending)
            if not pending:
                return
            if self.stop.is_set():
                raise ConnectorError(f"stopped while the broker at {self.bootstrap} was unavailable: {len(pending)} "
                                     "records not delivered; the cursor was not advanced, they will be read again")
            log.warning("broker at %s unavailable (%s); retrying %d records in %.1fs", self.bootstrap, err,
                        len(pending), delay)
            self._reset()
            self.stop.wait(delay)
            delay = min(delay * 2, self.backoff_max_s)

    def _try(self, msgs: list[Message]) -> tuple[list[Message], str]:
        sent, unsent, err = [], [], ""
        try:
            p = self._get_producer()
        except Exception as exc:
            return msgs, f"{type(exc).__name__}: {exc}"
        for i, m in enumerate(msgs):
            try:
                sent.append((m, p.send(self.topics.name(m.topic), key=m.key, value=m.value)))
            except Exception as exc:
                unsent, err = msgs[i:], f"{type(exc).__name__}: {exc}"
                break
        try:
            p.flush(timeout=self.flush_timeout_s)
        except Exception as exc:
            err = err or f"{type(exc).__name__}: {exc}"
        failed = [m for m, f in sent if not (f.is_done and f.succeeded())]
        if failed and not err:
            bad = next((f for _, f in sent if f.is_done and f.failed()), None)
            err = repr(bad.exception) if bad else "flush timed out"
        return failed + unsent, err

    def save_cursor(self, key: str, cursor: str) -> None:
        self.deliver([Message(CURSORS.name, key.encode(), cursor.encode())])

    def load_cursor(self, key: str) -> str | None:
        return self._retry("read cursor", lambda: self._read_cursor(key))

    def _read_cursor(self, key: str) -> str | None:
        k, last = key.encode(), None
        for rk, value in self._read_all(CURSORS.name):
            if rk == k:
                last = value.decode() if value is not None else None
        return last

    def load_remembered(self, instance: str) -> dict[str, str]:
        return self._retry("read delivery ids", lambda: remembered_of(instance, self._read_all(DELIVERIES.name)))

    def _read_all(self, logical: str) -> list[tuple[bytes, bytes | None]]:
        """Every (key, value) on the one-partition topic ``logical``, oldest first."""
        from kafka import KafkaConsumer, TopicPartition

        tp, out = TopicPartition(self.topics.name(logical), 0), []
        consumer = KafkaConsumer(**self.connection.kafka_python_kwargs(
            enable_auto_commit=False, group_id=None, client_id=f"{self.client_id}-cursor", request_timeout_ms=5000))
        try:
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            end = consumer.end_offsets([tp])[tp]
            deadline = time.monotonic() + 30
            while consumer.position(tp) < end:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {logical} took over 30s")
                for recs in consumer.poll(timeout_ms=500).values():
                    out += [(r.key, r.value) for r in recs]
        finally:
            consumer.close()
        return out

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None


def run(connector: Connector, broker: "str | KafkaConnection", *, topics: TopicMap | None = None,
        stop: threading.Event | None = None, **runner_kw) -> RunStats:
    """Run ``connector`` against a Kafka broker until its source ends or ``stop`` is set.

    ``broker``: a ``KafkaConnection`` (``settings.kafka``: TLS and SASL), or a plain ``host:port``.

    ``topics``: the deployment's topic map (``TopicMap.from_settings``); unprefixed names without one."""
    runner_kw.setdefault("window", TimeWindow.from_settings(Settings()))
    stop = stop or threading.Event()
    sink = KafkaSink(broker, topics=topics, client_id=f"pulsewire-{connector.instance}", stop=stop).open()
    try:
        return Runner(connector, sink, stop=stop, **runner_kw).run()
    finally:
        sink.close()
