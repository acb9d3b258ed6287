"""``pulsewire replay``: a file of canonical events (JSON Lines, gzip or not) into ``events.<kind>``, in event time.

The whole file is read and checked before anything is produced, then the events are stably sorted
by ``occurred_at`` (events with the same time keep their file order). Memory holds every line of
the file: about its uncompressed size plus ~300 bytes per event; split larger files by time.

A line is produced only when it is a JSON object with a known ``kind`` and an aware ``occurred_at``
(what sorting and routing need); everything else about it is the worker's validator's job, as for a
connector's events. Lines that fail these checks go to ``events.dlq`` as dead letters, each with a
machine-readable reason and its line number. Events keep their ``event_id``: replaying a file twice
changes nothing downstream (the sinks de-duplicate by id).

>>> check_line(3, b'{"event_id": "r-1", "kind": "review", "customer_id": "c-1", '
...            b'"occurred_at": "2026-11-01T10:00:00Z"}')
Event(t=1793527200.0, line=3, kind='review', key='c-1', value=b'{"event_id": "r-1", ...}')
>>> check_line(4, b'{"kind": "survey", "occurred_at": "2026-11-01T10:00:00Z"}').reason.value
'unknown_kind'
>>> pause_before(0.0, 3600.0, speed=60.0, max_gap_s=30.0)
30.0
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.schemas.events import KINDS, PERSONAL_FIELDS

from .json_input import JsonRejected, loads_json

GZIP_MAGIC = b"\x1f\x8b"
SOURCE = "replay"  # the dead letters' source (their key on events.dlq)


class ReplayError(RuntimeError):
    """The replay cannot start or go on; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Event:
    t: float  # occurred_at, epoch seconds
    line: int
    kind: str
    key: str  # the partition key connectors use: customer, else employee, else team, else event id
    value: bytes  # the line as it is in the file

    def __repr__(self) -> str:  # the value may be long and personal: only its start
        head = self.value[:18] + (b", ...}" if len(self.value) > 18 else b"")
        return f"Event(t={self.t}, line={self.line}, kind={self.kind!r}, key={self.key!r}, value={head!r})"


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: Reason
    detail: str  # says what is wrong without quoting the line's values
    raw: bytes


@dataclass
class EventFile:
    path: Path
    events: list[Event] = field(default_factory=list)  # in event-time order
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0  # blank lines included

    @property
    def span(self) -> tuple[str, str] | None:
        if not self.events:
            return None
        return tuple(datetime.fromtimestamp(e.t, timezone.utc).isoformat() for e in (self.events[0], self.events[-1]))


def check_line(no: int, raw: bytes) -> Event | BadLine:
    """One line of the file: an event to produce, or why it is a dead letter."""
    def bad(reason: Reason, detail: str) -> BadLine:
        return BadLine(no, reason, f"line {no}: {detail}", raw)

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(Reason.INVALID_ENCODING, f"not UTF-8 (byte {exc.start})")
    try:
        rec = loads_json(text)
    except JsonRejected as exc:
        return bad(exc.reason, exc.detail)
    except ValueError as exc:
        return bad(Reason.MALFORMED_JSON, f"not valid JSON ({type(exc).__name__} at char {getattr(exc, 'pos', '?')})")
    if not isinstance(rec, dict):
        return bad(Reason.NOT_AN_OBJECT, f"a JSON {type(rec).__name__}, not an object")
    kind = rec.get("kind")
    if kind is None:
        return bad(Reason.MISSING_FIELD, "no kind")
    if kind not in KINDS:
        return bad(Reason.UNKNOWN_KIND, f"kind is not one of {', '.join(KINDS)}")
    when = rec.get("occurred_at")
    if when is None:
        return bad(Reason.MISSING_FIELD, "no occurred_at")
    if not isinstance(when, str):
        return bad(Reason.WRONG_TYPE, f"occurred_at is a JSON {type(when).__name__}, not an ISO 8601 string")
    try:
        dt = datetime.fromisoformat(when)
    except ValueError:
        return bad(Reason.INVALID_VALUE, "occurred_at is not an ISO 8601 time")
    if dt.tzinfo is None:
        return bad(Reason.NAIVE_TIMESTAMP, "occurred_at has no time zone")
    return Event(dt.timestamp(), no, kind, key_for(rec) or f"{SOURCE}-line-{no}", raw)


def key_for(rec: dict) -> str:
    """The partition key a connector gives the event (``Event.entity_id``): customer, employee, team, event id.

    >>> key_for({"employee_id": "emp-7", "team_id": "team-a", "event_id": "e-1"})
    'emp-7'
    """
    return next((str(rec[f]) for f in ("customer_id", "employee_id", "team_id", "event_id")
                 if rec.get(f) not in (None, "")), "")


def topic_for(rec: dict) -> str:
    """``events.<kind>`` of a record that ``check_line`` accepted."""
    return f"events.{rec['kind']}"


def open_lines(path: Path):
    """The file's lines (bytes, line ends stripped); gzip when the name ends in .gz or the content says so."""
    with open(path, "rb") as f:
        gzipped = path.suffix.lower() == ".gz" or f.read(2) == GZIP_MAGIC
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
        for line in f:
            yield line.rstrip(b"\r\n")


def read_event_file(path: Path) -> EventFile:
    """Every line of ``path`` checked, the events sorted by event time (stable). Raises ``ReplayError``
    for a file that cannot be read or holds no line at all."""
    out = EventFile(path)
    try:
        for no, raw in enumerate(open_lines(path), start=1):
            out.lines = no
            if not raw.strip():
                continue
            checked = check_line(no, raw)
            (out.events if isinstance(checked, Event) else out.bad).append(checked)
    except FileNotFoundError:
        raise ReplayError(f"no file {path}") from None
    except IsADirectoryError:
        raise ReplayError(f"{path} is a directory, not a file of events") from None
    except OSError as exc:  # gzip.BadGzipFile is one
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from None
    except EOFError:
        raise ReplayError(f"cannot read {path}: the gzip stream ends early (truncated file?)") from None
    if not out.events and not out.bad:
        raise ReplayError(f"{path} is empty: expected one JSON event per line")
    out.events.sort(key=lambda e: e.t)
    return out


def load_records(path: Path) -> tuple[list[dict], list[BadLine]]:
    """The file's events as dicts in event-time order (what ``evaluate --input`` produces), and its bad lines."""
    f = read_event_file(path)
    return [json.loads(e.value) for e in f.events], f.bad


def dead_letter(bad: BadLine, path: Path) -> DeadLetter:
    """The dead letter of a line that cannot be replayed. The file holds canonical events, so their
    personal fields are the canonical ones."""
    return DeadLetter.make(SOURCE, bad.raw, bad.reason, f"{path.name} {bad.detail}", where=f"replay:{path.name}",
                           personal_fields=list(PERSONAL_FIELDS))


def pause_before(prev_t: float, t: float, speed: float, max_gap_s: float) -> float:
    """Wall seconds between two events so that event time runs ``speed`` times as fast; a quiet night or
    weekend is cut to ``max_gap_s``.

    >>> pause_before(100.0, 160.0, speed=2.0, max_gap_s=600.0), pause_before(100.0, 100.0, 2.0, 600.0)
    (30.0, 0.0)
    """
    return min(max(0.0, t - prev_t) / speed, max_gap_s)


@dataclass
class ReplayReport:
    produced: dict[str, int] = field(default_factory=dict)  # kind -> events
    dead_lettered: dict[str, list[int]] = field(default_factory=dict)  # reason -> line numbers
    span: tuple[str, str] | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"produced": self.produced, "produced_total": sum(self.produced.values()),
                "dead_lettered": {r: {"count": len(ls), "lines": ls} for r, ls in self.dead_lettered.items()},
                "first_event_at": self.span[0] if self.span else None,
                "last_event_at": self.span[1] if self.span else None, "seconds": round(self.seconds, 1)}

    def lines(self) -> list[str]:
        """The summary a user reads."""
        out = [f"produced {sum(self.produced.values())} events in {self.seconds:.1f}s: "
               + (", ".join(f"{k} {n}" for k, n in sorted(self.produced.items())) or "none")]
        if self.span:
            out.append(f"event time {self.span[0]} .. {self.span[1]}")
        for reason, ls in sorted(self.dead_lettered.items()):
            shown = ", ".join(map(str, ls[:10])) + (f" and {len(ls) - 10} more" if len(ls) > 10 else "")
            out.append(f"dead-lettered {len(ls)} lines ({reason}): line {shown}")
        return out


class Producer:
    """Produces to the deployment's topics (acks=all, idempotent) and says when the broker fails."""

    def __init__(self, connection, topics):
        from kafka import KafkaProducer

        self.topics, self.connection = topics, connection
        self._p = KafkaProducer(**connection.kafka_python_kwargs(
            client_id="pulsewire-replay", acks="all", enable_idempotence=True, linger_ms=5,
            max_block_ms=10_000, request_timeout_ms=10_000, delivery_timeout_ms=30_000))
        self._pending: list = []

    def send(self, logical: str, key: str, value: bytes) -> None:
        self._pending.append(self._p.send(self.topics.name(logical), key=key.encode(), value=value))

    def flush(self, produced_so_far: int) -> None:
        from .topics import kafka_failure

        try:
            self._p.flush(timeout=60)
            failed = next((f.exception for f in self._pending if f.is_done and f.failed()), None)
        except Exception as exc:
            failed = exc
        self._pending = []
        if failed is not None:
            raise ReplayError(f"the broker at {self.connection} failed after {produced_so_far} events "
                              f"({kafka_failure(failed)}); replaying the file again is safe: events keep their ids")

    def close(self) -> None:
        self._p.close(timeout=10)


class LagGate:
    """Waits while the worker group lags by more than ``max_lag`` on ``events.*``, like ``produce_paced`` in
    ``pulsewire evaluate``: the validator reads each kind's topic on its own, so producing months of
    ``account`` events at once would let labels run weeks ahead of the texts that explain them."""

    def __init__(self, connection, topics, max_lag: int, stall_timeout_s: float):
        from .progress import ProgressReader
        from .topics import EVENT_TOPICS

        self.kinds = topics.names(EVENT_TOPICS)
        self.group, self.max_lag, self.stall_timeout_s = topics.group, max_lag, stall_timeout_s
        self.reader = ProgressReader(connection, topics.group, self.kinds)

    def wait(self, produced: int) -> None:
        last, since = None, time.monotonic()
        while True:
            p = self.reader.read()
            lag = sum(max(0, p.lag(t)) for t in self.kinds)
            if lag <= self.max_lag:
                return
            done = sum(p.done(t) for t in self.kinds)
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > self.stall_timeout_s:
                raise ReplayError(f"the worker group {self.group!r} consumed nothing for {self.stall_timeout_s:.0f}s "
                                  f"(lag {lag}) after {produced} events: is a `pulsewire worker` running on this "
                                  "broker? (--speed does not wait for it)")
            time.sleep(0.1)

    def close(self) -> None:
        self.reader.close()


def replay(f: EventFile, connection, topics, *, speed: float | None = None, max_gap_s: float = 60.0,
           chunk: int = 250, max_lag: int = 250, stall_timeout_s: float = 120.0, progress=None) -> ReplayReport:
    """Produce ``f``'s dead letters, then its events in event-time order: paced by ``speed`` (event time per
    wall time), else by the worker group's lag. ``progress(n, total)`` is called after each chunk.

    ``connection``: a ``KafkaConnection`` (``settings.kafka``), or a plain ``host:port``."""
    from .kafka_security import KafkaConnection

    connection = KafkaConnection.of(connection)
    report = ReplayReport(span=f.span)
    t0 = time.monotonic()
    producer = Producer(connection, topics)
    gate = LagGate(connection, topics, max_lag, stall_timeout_s) if speed is None else None
    try:
        for bad in f.bad:
            producer.send("events.dlq", SOURCE, dead_letter(bad, f.path).model_dump_json().encode())
            report.dead_lettered.setdefault(bad.reason.value, []).append(bad.line)
        producer.flush(0)
        n, confirmed, wall_due, prev_t = 0, 0, 0.0, f.events[0].t if f.events else 0.0
        for e in f.events:
            if speed is not None:
                wall_due += pause_before(prev_t, e.t, speed, max_gap_s)
                prev_t = e.t
                if (ahead := t0 + wall_due - time.monotonic()) > 0:
                    time.sleep(ahead)
            producer.send(f"events.{e.kind}", e.key, e.value)
            report.produced[e.kind] = report.produced.get(e.kind, 0) + 1
            n += 1
            if n % chunk == 0 or n == len(f.events):
                producer.flush(confirmed)
                confirmed = n
                if gate is not None:
                    gate.wait(n)
                if progress is not None:
                    progress(n, len(f.events))
    finally:
        report.seconds = time.monotonic() - t0
        producer.close()
        if gate is not None:
            gate.close()
    return report
