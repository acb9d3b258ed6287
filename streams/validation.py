"""Turn one raw record from ``events.<kind>`` into a canonical event or a dead letter.

Pure function, no I/O, so that it is tested without a broker and the agent
around it stays a three-line loop.

The validator is the first agent, the last place a raw employee id exists. An event that names an
employee leaves it with the employee id pseudonymised and its ``event_id`` keyed (``keyed_event_id``):
connectors derive ids from the raw employee id (the HRIS connector hashes source, type, raw id and
date without a key), and such an id, stored beside the pseudonym, would let anyone holding the HR
export link every pseudonym back to its person. Consent is honoured only from the declared sources
(``consent_sources``); from any other source the event is accepted without it, and a dead letter
``consent_source_not_allowed`` records what was ignored.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pydantic import ValidationError

from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.schemas.events import KINDS, parse_event_json

from .json_input import JsonRejected, loads_json
from .privacy import KeyRing
from .time_window import EARLIEST_EVENT_DATE, MAX_FUTURE_DAYS, TimeWindow


def _reason_for(err: ValidationError) -> Reason:
    errors = err.errors()
    first = errors[0]
    etype, loc = first["type"], first.get("loc", ())
    if any(e["type"] == "timezone_aware" for e in errors):
        return Reason.NAIVE_TIMESTAMP
    if etype == "union_tag_invalid":
        return Reason.UNKNOWN_KIND
    if etype == "union_tag_not_found":
        return Reason.MISSING_FIELD
    if loc and loc[-1] == "schema_version":
        return Reason.UNSUPPORTED_VERSION
    if any(e["type"] == "extra_forbidden" for e in errors):
        return Reason.SCHEMA_DRIFT
    if any(e["type"] == "missing" for e in errors):
        return Reason.MISSING_FIELD
    if etype == "json_invalid":
        return Reason.MALFORMED_JSON
    if etype == "model_attributes_type" or etype == "model_type":
        return Reason.NOT_AN_OBJECT
    if etype.endswith("_type") or etype.endswith("_parsing") or etype == "is_instance_of":
        return Reason.WRONG_TYPE
    return Reason.INVALID_VALUE


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:8]:
        where = ".".join(str(p) for p in e.get("loc", ())) or "(root)"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


#: Sources whose ``consent`` field is honoured unless settings say otherwise: the HRIS connector's.
DEFAULT_CONSENT_SOURCES = ("hris",)
KEYED_ID_PREFIX = "ek_"


def keyed_event_id(keys: KeyRing, source: str, kind: str, raw_event_id: str) -> str:
    """The id an employee's event carries after the validator: ``ek_`` + 32 hex characters of
    HMAC-SHA256 (event-id subkey) over source, kind and the connector's id. Stable (a replay gets the
    same id, so the sinks stay idempotent), distinct per source and kind, and nobody can recompute
    it without the key.

    >>> keys = KeyRing(b"0123456789abcdef-test-key")
    >>> kid = keyed_event_id(keys, "hris", "hr", "hris:1b2c")
    >>> kid.startswith("ek_"), len(kid), kid == keyed_event_id(keys, "hris", "hr", "hris:1b2c")
    (True, 35, True)
    """
    return KEYED_ID_PREFIX + keys.keyed_id(source, kind, raw_event_id)


def validate_record(raw: bytes | None, topic: str, *, keys: KeyRing, max_text_chars: int, max_payload_bytes: int,
                    consent_sources: tuple[str, ...] | frozenset[str] = DEFAULT_CONSENT_SOURCES,
                    now: datetime | None = None, partition: int | None = None, offset: int | None = None,
                    max_future_days: float = MAX_FUTURE_DAYS, earliest_event_date: date = EARLIEST_EVENT_DATE):
    """Return ``(event, None)``, ``(None, dead_letter)`` or, when an accepted event carried consent from a
    source not in ``consent_sources``, ``(event without consent, dead_letter)``."""
    where = {"partition": partition, "offset": offset, "where": "validate"}
    raw = raw if raw is not None else b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")

    def dead(reason: Reason, detail: str):
        return None, DeadLetter.make(topic, raw, reason, detail, **where)

    if len(raw) > max_payload_bytes:
        return dead(Reason.PAYLOAD_TOO_LARGE, f"payload is {len(raw)} bytes; limit {max_payload_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return dead(Reason.INVALID_ENCODING, f"payload is not valid UTF-8: {exc}")
    try:
        obj = loads_json(raw)
    except JsonRejected as exc:
        return dead(exc.reason, exc.detail)
    except ValueError as exc:
        return dead(Reason.MALFORMED_JSON, f"not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return dead(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("kind")
    if isinstance(kind, str) and kind not in KINDS:
        return dead(Reason.UNKNOWN_KIND, f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    text = obj.get("text")
    if isinstance(text, str) and len(text) > max_text_chars:
        return dead(Reason.TEXT_TOO_LARGE, f"text has {len(text)} characters; limit {max_text_chars}")
    try:
        event = parse_event_json(raw)
    except ValidationError as exc:
        return dead(_reason_for(exc), _describe(exc))
    expected_topic = f"events.{event.kind}"
    if topic.startswith("events.") and topic != expected_topic:
        return dead(Reason.WRONG_TOPIC, f"a {event.kind!r} event arrived on {topic}; it belongs on {expected_topic}")
    now = now or datetime.now(timezone.utc)
    window = TimeWindow(max_future_days, earliest_event_date)
    for field in ("occurred_at", "ingested_at"):
        if (ts := getattr(event, field)) is not None and (problem := window.problem(ts, now)):
            return dead(Reason.TIMESTAMP_OUT_OF_RANGE, f"{field}: {problem}")
    update = {"ingested_at": event.ingested_at or now}
    if event.employee_id is not None:
        update["employee_id"] = keys.pseudonymise(event.employee_id)
        update["event_id"] = keyed_event_id(keys, event.source, event.kind, event.event_id)
    ignored = None
    if getattr(event, "consent", None) is not None and event.source not in consent_sources:
        update["consent"] = None
        _, ignored = dead(Reason.CONSENT_SOURCE_NOT_ALLOWED,
                          f"consent from source {event.source!r} ignored (honoured only from "
                          f"{', '.join(sorted(consent_sources)) or 'no source'}: PULSEWIRE_CONSENT_SOURCES); "
                          "the event was accepted without it")
    return event.model_copy(update=update), ignored
