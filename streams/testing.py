"""The connector test kit: run a connector without a broker, and a conformance check.

>>> from pulsewire.streams.testing import TestingSink, run_connector, check_conformance
>>> # sink = run_connector(MyConnector({"path": "x.csv"}))
>>> # sink.events, sink.dead_letters, sink.cursors
>>> # check_conformance(lambda: MyConnector({"path": "x.csv"}), bad=[{"not": "a review"}])
"""

from __future__ import annotations

import builtins
import copy
import io
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable
from unittest import mock

from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.schemas.events import parse_event_json

from .privacy import KeyRing
from .redaction import VOCABULARY
from .rows import dead_letter_row
from .sdk.connector import Connector, Raw
from .sdk.runtime import Message, Runner, dead_letter, remembered_of, to_messages

__all__ = ["TestingSink", "run_connector", "running", "check_conformance", "ConformanceError", "forbid_io"]


class ConformanceError(AssertionError):
    pass


class TestingSink:
    """Collects what a connector would produce; thread-safe; stores cursors in memory."""

    __test__ = False  # not a pytest test class

    def __init__(self, cursors: dict[str, str] | None = None):
        self.messages: list[Message] = []
        self.cursors: dict[str, str] = dict(cursors or {})
        self.cursor_history: list[tuple[int, str]] = []  # (events delivered so far, cursor)
        self._lock = threading.Lock()

    def deliver(self, messages: list[Message]) -> None:
        with self._lock:
            self.messages.extend(messages)

    def save_cursor(self, key: str, cursor: str) -> None:
        with self._lock:
            self.cursors[key] = cursor
            self.cursor_history.append((sum(m.topic.startswith("events.") and m.topic != "events.dlq"
                                            for m in self.messages), cursor))

    def load_cursor(self, key: str) -> str | None:
        return self.cursors.get(key)

    def load_remembered(self, instance: str) -> dict[str, str]:
        with self._lock:
            return remembered_of(instance, [(m.key, m.value) for m in self.messages
                                            if m.topic == "connectors.deliveries"])

    @property
    def events(self) -> list:
        with self._lock:
            return [parse_event_json(m.value) for m in self.messages
                    if m.topic.startswith("events.") and m.topic != "events.dlq"]

    @property
    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return [DeadLetter.model_validate_json(m.value) for m in self.messages if m.topic == "events.dlq"]


def run_connector(connector: Connector, *, sink: TestingSink | None = None, cursor: str | None = None,
                  limit: int | None = None, max_idle: int = 1, batch_size: int = 100,
                  on_raw: Callable[[Raw], None] | None = None) -> TestingSink:
    """Run until the source ends (or is idle ``max_idle`` times, or ``limit`` records); return the sink."""
    sink = sink or TestingSink()
    if cursor is not None:
        sink.cursors[connector.instance] = cursor
    Runner(connector, sink, batch_size=batch_size, limit=limit, max_idle=max_idle, on_raw=on_raw).run()
    return sink


class running:
    """Run a long-lived connector (tail, webhook) in a thread: ``with running(c) as r: r.wait_for(3)``."""

    def __init__(self, connector: Connector, sink: TestingSink | None = None, **runner_kw):
        self.connector, self.sink = connector, sink or TestingSink()
        self.stop = threading.Event()
        self.runner = Runner(connector, self.sink, stop=self.stop, **runner_kw)
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.runner.run()
        except BaseException as exc:  # reported on exit
            self.error = exc

    def __enter__(self) -> "running":
        self._thread.start()
        return self

    def wait_for(self, n: int, timeout: float = 10.0, dead: bool = False) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.sink.dead_letters if dead else self.sink.events
            if len(got) >= n or self.error:
                break
            time.sleep(0.02)
        if self.error:
            raise self.error
        return got

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._thread.join(timeout=15)
        if self.error and not exc[0]:
            raise self.error


@contextmanager
def forbid_io():
    """Fail any attempt to open a file, socket, process or database inside the block."""
    def refuse(*a, **k):
        raise ConformanceError(f"I/O attempted where none is allowed: {a[:1]!r}")
    import sqlite3

    with mock.patch.object(builtins, "open", refuse), mock.patch.object(io, "open", refuse), \
            mock.patch.object(socket.socket, "connect", refuse), mock.patch.object(socket, "create_connection", refuse), \
            mock.patch.object(subprocess, "Popen", refuse), mock.patch.object(sqlite3, "connect", refuse):
        yield


def check_conformance(make: Callable[[], Connector], *, bad: Iterable[Any] = (), samples: Iterable[Any] | None = None,
                      max_idle: int = 1, purity_samples: int = 50) -> dict:
    """Check a connector against the contract; raise ConformanceError naming what is wrong.

    ``make`` builds a fresh connector on the same source each call. ``bad`` are raw records
    (payloads, or ``Raw``) that must end as dead letters.
    1. the constructor does no I/O;
    2. it produces events; ``map()`` is pure (same input -> same output, input untouched, no I/O)
       and schema-valid;
    3. the cursor round-trips: resuming from the last cursor produces nothing new; resuming
       from a middle cursor produces exactly the rest (no duplicates, no gaps);
    4. every bad record becomes a dead letter with the raw payload and a reason;
    5. it declares ``personal_fields`` (``()`` when no field is personal), and a rejected record
       (each bad one, and a good one rejected with a detail that quotes its values) comes out of
       ``dead_letter_row`` with no value of a declared personal field in it.
    Push sources (webhooks) have nothing to poll on their own: pass ``samples`` (raw payloads
    as the source delivers them) and 2. runs on those instead; the cursor is then not used.
    """
    report: dict[str, Any] = {}
    try:
        with forbid_io():
            probe = make()
    except ConformanceError as exc:
        raise ConformanceError(f"the constructor must not do I/O (move it to setup()): {exc}") from None
    name = type(probe).__name__
    declared = probe.declared_personal_fields()
    if declared is None:
        raise ConformanceError(f"{name} declares no personal_fields, so all its dead letters are treated as "
                               "personal (stored redacted). Declare the source fields that hold personal data "
                               "(personal_fields = (\"email\", \"comment\")), or () when none do")
    report["personal_fields"] = list(declared)

    raws: list[Raw] = []
    if samples is not None:
        full = TestingSink()
        for item in samples:
            raws.append(item if isinstance(item, Raw) else Raw(item))
            msgs, outcome = to_messages(probe, raws[-1])
            if outcome == "dead_lettered":
                raise ConformanceError(f"sample {str(raws[-1].payload)[:200]} was dead-lettered: "
                                       f"{DeadLetter.model_validate_json(msgs[0].value).detail}")
            full.deliver(msgs)
    else:
        full = run_connector(make(), batch_size=1, max_idle=max_idle, on_raw=raws.append)
    events = full.events
    if not events:
        raise ConformanceError(f"{name} produced no events from its sample source "
                               f"({len(full.dead_letters)} dead letters)")
    report["events"], report["dead_letters"] = len(events), len(full.dead_letters)

    for raw in raws[:purity_samples]:
        if raw.reject:
            continue
        before = copy.deepcopy(raw.payload)
        with forbid_io():
            a, b = _safe_map(probe, raw.payload), _safe_map(probe, raw.payload)
        if a != b:
            raise ConformanceError(f"{name}.map() is not deterministic for {str(raw.payload)[:200]}")
        if raw.payload != before:
            raise ConformanceError(f"{name}.map() modified its input {str(before)[:200]}")
    report["map_pure"] = True

    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise ConformanceError(f"{name} produced duplicate event_ids in one pass")
    if full.cursor_history:
        last = full.cursors[probe.instance]
        again = run_connector(make(), cursor=last, max_idle=max_idle).events
        if again:
            raise ConformanceError(f"resuming from the last cursor {last!r} produced {len(again)} events again")
        done, mid = full.cursor_history[len(full.cursor_history) // 2]
        rest = [e.event_id for e in run_connector(make(), cursor=mid, max_idle=max_idle).events]
        if rest != ids[done:]:
            raise ConformanceError(f"resuming from cursor {mid!r} gave {len(rest)} events; expected the "
                                   f"{len(ids) - done} after it (duplicates or gaps)")
        report["cursor"] = "round-trips"
    else:
        report["cursor"] = "not used"

    n_bad = 0
    for item in bad:
        raw = item if isinstance(item, Raw) else Raw(item)
        msgs, outcome = to_messages(probe, raw)
        if outcome != "dead_lettered" or any(m.topic != "events.dlq" for m in msgs):
            raise ConformanceError(f"bad record {str(raw.payload)[:200]} was {outcome}, not dead-lettered")
        dl = DeadLetter.model_validate_json(msgs[0].value)
        if not dl.payload or not dl.reason:
            raise ConformanceError("a dead letter must carry the raw payload and a reason")
        _check_redacted(name, declared, raw, dl)
        n_bad += 1
    report["bad_dead_lettered"] = n_bad
    for raw in [r for r in raws if not r.reject][:purity_samples]:  # a good record, rejected by a value-quoting detail
        quoted = ", ".join(repr(v) for v in personal_values(raw.payload, declared))
        _check_redacted(name, declared, raw, dead_letter(probe, raw, Reason.INVALID_VALUE, f"refused {quoted}"))
    report["dead_letters_redacted"] = True
    return report


_CHECK_KEYS = KeyRing(b"pulsewire-conformance-check-key")


def personal_values(payload: Any, fields: Iterable[str]) -> list[str]:
    """The values of ``fields`` (dotted paths) in a record, as text; those under four characters
    are left out (they cannot name anyone, and would match by chance)."""
    out: list[str] = []

    def leaves(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                leaves(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                leaves(v)
        elif node is not None and not isinstance(node, bool) and len(str(node).strip()) >= 4:
            out.append(str(node).strip())

    if isinstance(payload, dict):
        for field in fields:
            node: Any = payload.get(field) if field in payload else payload
            if field not in payload:
                for part in field.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
            leaves(node)
    return out


def _check_redacted(name: str, declared: tuple[str, ...], raw: Raw, dl: DeadLetter) -> None:
    row = dead_letter_row(dl, _CHECK_KEYS)
    if declared and (row["payload"] or not row["redacted"]):
        raise ConformanceError(f"{name}: a dead letter of a personal source was not redacted for the dead_letters "
                               "table (did the dead letter lose the connector's personal_fields?)")
    # the columns that carry text from the record (ids, hashes, sizes and our clock cannot, and a value
    # such as a date or a number could match them by chance)
    stored = " ".join(str(row[k]) for k in ("source_topic", "reason", "detail", "payload", "stage", "payload_fields"))
    # a value that is also a field name stored as one (``channel_type: "channel"``) is a name, and the
    # canonical schema's words ("message", "ticket") name no one
    names = {part for name in row["payload_fields"] for part in name.split(".")} | VOCABULARY
    leaked = [v for v in personal_values(raw.payload, declared) if v in stored and v not in names]
    if leaked:
        raise ConformanceError(f"{name}: the dead_letters row of a rejected record holds the value of a declared "
                               f"personal field (a value of {len(leaked[0])} characters)")


def _safe_map(connector: Connector, payload):
    try:
        return ("ok", connector.map(payload))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
