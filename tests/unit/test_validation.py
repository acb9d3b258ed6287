import json

import pytest

from pulsewire.schemas.dead_letter import Reason
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.validation import validate_record

KEYS = KeyRing(b"unit-test-key-0123456789")
P = KEYS.pseudonymise
GOOD = {"event_id": "r1", "source": "s", "kind": "review", "occurred_at": "2026-11-01T10:00:00Z",
        "customer_id": "c1", "text": "fine"}


def run(raw, topic="events.review", **kw):
    opts = {"keys": KEYS, "max_text_chars": 1000, "max_payload_bytes": 50_000, **kw}
    return validate_record(raw if isinstance(raw, bytes) else json.dumps(raw).encode(), topic, **opts)


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", Reason.MALFORMED_JSON),
    (b"[1, 2]", Reason.NOT_AN_OBJECT),
    (b"\xff\xfe\x00", Reason.INVALID_ENCODING),
    ({k: v for k, v in GOOD.items() if k != "customer_id"}, Reason.MISSING_FIELD),
    ({**GOOD, "rating": "5"}, Reason.WRONG_TYPE),
    ({**GOOD, "kind": "tweet"}, Reason.UNKNOWN_KIND),
    ({**GOOD, "text": "x" * 1001}, Reason.TEXT_TOO_LARGE),
    ({**GOOD, "occurred_at": "2026-11-01T10:00:00"}, Reason.NAIVE_TIMESTAMP),
    ({**GOOD, "new_field": 1}, Reason.SCHEMA_DRIFT),
    ({**GOOD, "schema_version": 2}, Reason.UNSUPPORTED_VERSION),
    ({**GOOD, "rating": 9}, Reason.INVALID_VALUE),
])
def test_bad_input_becomes_a_dead_letter_with_a_reason(raw, reason):
    ev, dl = run(raw)
    assert ev is None
    assert dl.reason == reason
    assert dl.detail
    assert dl.source_topic == "events.review"


def test_dead_letter_keeps_the_original_payload():
    raw = b'{"kind": "review", broken'
    _, dl = run(raw, partition=3, offset=42)
    assert dl.payload == raw.decode() and (dl.partition, dl.offset) == (3, 42)
    _, dl = run(b"\xff\xfe")
    assert dl.payload_encoding == "base64"


def test_payload_over_the_limit_is_refused_before_parsing():
    _, dl = run({**GOOD, "text": "y" * 900}, max_payload_bytes=500)
    assert dl.reason == Reason.PAYLOAD_TOO_LARGE


def test_event_on_the_wrong_topic_is_a_dead_letter():
    _, dl = run(GOOD, topic="events.ticket")
    assert dl.reason == Reason.WRONG_TOPIC


def test_valid_event_is_stamped_and_employee_id_pseudonymised():
    raw = {"event_id": "h1", "source": "hris", "kind": "hr", "type": "overtime", "occurred_at": "2026-11-01T10:00:00Z",
           "employee_id": "jane.doe@example.com", "team_id": "ops", "hours": 5}
    ev, dl = run(raw, topic="events.hr")
    assert dl is None
    assert ev.ingested_at is not None
    assert ev.employee_id != "jane.doe@example.com" and P.is_pseudonym(ev.employee_id)
    assert "jane" not in ev.model_dump_json()


def test_a_raw_id_shaped_like_a_pseudonym_is_still_pseudonymised():
    """A source cannot pick its own pseudonym: "emp_" + 24 characters is a raw id like any other, so it
    can neither pass through unkeyed nor collide with the pseudonym of someone else."""
    someone = P("e-7")
    raw = {"event_id": "h1", "source": "hris", "kind": "hr", "type": "hire", "occurred_at": "2026-11-01T10:00:00Z",
           "employee_id": someone, "team_id": "ops"}
    ev, dl = run(raw, topic="events.hr")
    assert dl is None and P.is_pseudonym(ev.employee_id)
    assert ev.employee_id not in (someone, P("e-7"))
    again, _ = run(raw, topic="events.hr")  # a crash replay re-reads the raw topic: same pseudonym
    assert again.employee_id == ev.employee_id


def _deep(levels: int) -> bytes:
    return b'{"kind": "review", "attributes": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("levels", [100, 50_000])  # under and over the interpreter's recursion limit
def test_deeply_nested_payload_is_a_dead_letter_that_keeps_its_origin(levels):
    ev, dl = run(_deep(levels), partition=1, offset=7, max_payload_bytes=200_000)
    assert ev is None
    assert dl.reason == Reason.NESTING_TOO_DEEP
    assert (dl.source_topic, dl.partition, dl.offset, dl.where) == ("events.review", 1, 7, "validate")


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_number_is_a_dead_letter(token):
    raw = json.dumps({**GOOD, "text": "x"}).encode().replace(b'"x"', token)
    ev, dl = run(raw)
    assert ev is None and dl.reason == Reason.NON_FINITE_NUMBER and token.decode().lstrip("-") in dl.detail


def test_dead_letter_row_of_a_deep_payload_keeps_reason_and_origin():
    from pulsewire.streams.rows import dead_letter_row

    _, dl = run(_deep(50_000), partition=1, offset=7, max_payload_bytes=200_000)
    from pulsewire.streams.privacy import KeyRing

    row = dead_letter_row(dl, KeyRing(b"unit-test-key-0123456789"))
    assert (row["source_topic"], row["reason"], row["stage"]) == ("events.review", "nesting_too_deep", "validate")
    assert (row["partition"], row["offset"], row["payload_bytes"]) == (1, 7, len(_deep(50_000)))
    assert row["payload"] == "" and row["redacted"] == 1  # events.review is a personal source


def _at(when) -> dict:
    return {**GOOD, "occurred_at": when if isinstance(when, str) else when.isoformat()}


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2300-01-01T00:00:00+05:00",
                                  "1989-12-31T23:59:59Z"])
def test_far_dated_timestamp_is_a_dead_letter(when):
    ev, dl = run(_at(when))
    assert ev is None and dl.reason == Reason.TIMESTAMP_OUT_OF_RANGE and "occurred_at" in dl.detail


def test_time_window_is_relative_to_now_and_configurable():
    from datetime import date, datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    assert run(_at(now + timedelta(hours=23)))[1] is None  # a source clock a little ahead is fine
    assert run(_at(now + timedelta(hours=25)))[1].reason == Reason.TIMESTAMP_OUT_OF_RANGE
    assert run(_at(now + timedelta(days=6)), max_future_days=7)[1] is None
    assert run(_at("1990-01-01T00:00:00Z"))[1] is None
    assert run(_at("1985-06-01T00:00:00Z"), earliest_event_date=date(1980, 1, 1))[1] is None
    ingested_late = {**GOOD, "ingested_at": (now + timedelta(days=30)).isoformat()}
    assert run(ingested_late)[1].reason == Reason.TIMESTAMP_OUT_OF_RANGE


def test_time_window_settings_come_from_the_environment(monkeypatch):
    from datetime import date

    from pulsewire.streams.settings import Settings

    assert (Settings().max_future_days, Settings().earliest_event_date) == (1.0, date(1990, 1, 1))
    monkeypatch.setenv("PULSEWIRE_MAX_FUTURE_DAYS", "3")
    monkeypatch.setenv("PULSEWIRE_EARLIEST_EVENT_DATE", "2000-01-01")
    assert (Settings().max_future_days, Settings().earliest_event_date) == (3.0, date(2000, 1, 1))


def test_every_dead_letter_reason_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "connectors.md").read_text()
    assert [r.value for r in Reason if f"| `{r.value}` |" not in doc] == []


HIRE = {"event_id": "h2", "source": "hris", "kind": "hr", "type": "hire", "occurred_at": "2026-11-01T10:00:00Z",
        "employee_id": "e-9", "team_id": "ops", "consent": True}


def test_consent_is_honoured_only_from_declared_sources():
    ev, dl = run(HIRE, topic="events.hr")
    assert dl is None and ev.consent is True
    ev, dl = run({**HIRE, "source": "webhook-x"}, topic="events.hr")  # anyone who can write events.hr
    assert ev is not None and ev.consent is None  # the event is kept, its consent is not
    assert dl.reason == Reason.CONSENT_SOURCE_NOT_ALLOWED and "webhook-x" in dl.detail
    ev, dl = run({**HIRE, "source": "bamboo"}, topic="events.hr", consent_sources=frozenset({"bamboo"}))
    assert dl is None and ev.consent is True
    ev, dl = run({**HIRE, "source": "webhook-x", "consent": None}, topic="events.hr")  # nothing to ignore
    assert dl is None
