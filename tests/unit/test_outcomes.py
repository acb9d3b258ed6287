"""Alert outcomes: the schema and its refusals, the signed webhook's answers, the CLI's user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.schemas.outcome import AlertOutcome, kafka_record, outcome_schemas, winner
from pulsewire.streams.agents.outcomes import OutcomeRejected, parse_outcome
from pulsewire.streams.connectors.webhook import sign
from pulsewire.streams.outcome_webhook import OutcomeWebhook, WebhookConfigError

NOW = datetime.now(timezone.utc).replace(microsecond=0)
GOOD = {"outcome_id": "crm-1", "alert_id": "3f2a9c0d1e4b5a6978812233aabbccdd", "outcome": "acted",
        "role": "account_manager", "note": "called them, renewed", "when": NOW.isoformat()}
SECRET = "outcome-webhook-test-secret"


def _reason(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    with pytest.raises(OutcomeRejected) as exc:
        parse_outcome(raw)
    return exc.value.reason.value


def test_round_trip_through_the_kafka_record_and_the_json_schema():
    import jsonschema

    o = parse_outcome(json.dumps(GOOD).encode())
    key, value = kafka_record(o)
    assert key == GOOD["alert_id"].encode()
    assert parse_outcome(value) == o and o.when == NOW
    (schema,) = outcome_schemas().values()
    jsonschema.validate(json.loads(value), schema)
    assert set(schema["properties"]["role"]["enum"]) == {"account_manager", "support_lead", "hr_partner",
                                                         "team_lead", "other"}


@pytest.mark.parametrize("change, reason", [
    ({"outcome": "great"}, "invalid_value"),
    ({"role": "jane.doe@example.com"}, "invalid_value"),
    ({"role": "Jane Doe"}, "invalid_value"),
    ({"role": "ceo"}, "invalid_value"),
    ({"note": "x" * 501}, "invalid_value"),
    ({"when": NOW.replace(tzinfo=None).isoformat()}, "naive_timestamp"),
    ({"when": "yesterday"}, "wrong_type"),
    ({"alert_id": ""}, "invalid_value"),
    ({"outcome_id": "has spaces"}, "invalid_value"),
    ({"employee_name": "Jane"}, "schema_drift"),
    ({"schema_version": 2}, "unsupported_version"),
])
def test_refusals_carry_a_machine_readable_reason(change, reason):
    assert _reason({**GOOD, **change}) == reason


def test_missing_fields_and_non_objects_are_refused():
    assert _reason({k: v for k, v in GOOD.items() if k != "role"}) == "missing_field"
    assert _reason(b"{not json") == "malformed_json"
    assert _reason(b'["acted"]') == "not_an_object"


def test_a_role_refusal_never_echoes_the_name():
    with pytest.raises(OutcomeRejected) as exc:
        parse_outcome(json.dumps({**GOOD, "role": "jane.doe@example.com"}).encode())
    assert "e-mail" in exc.value.detail


def test_the_latest_outcome_wins_and_ties_break_on_the_outcome_id():
    a = AlertOutcome(**{**GOOD, "outcome_id": "a", "outcome": "wrong", "when": NOW})
    b = AlertOutcome(**{**GOOD, "outcome_id": "b", "outcome": "acted", "when": NOW - timedelta(hours=1)})
    c = AlertOutcome(**{**GOOD, "outcome_id": "c", "outcome": "not_useful", "when": NOW})
    assert winner([a, b]).outcome_id == "a"
    assert winner([a, b, c]).outcome_id == winner([c, b, a]).outcome_id == "c"


# ------------------------------------------------------------------------------------------------ webhook
@pytest.fixture
def hook():
    sent: list[tuple[bytes, bytes]] = []
    h = OutcomeWebhook(SECRET, lambda k, v: sent.append((k, v)), port=0, max_skew_s=300)
    h.start()
    h.sent = sent
    yield h
    h.stop()


def post(h, body: bytes, headers: dict) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{h.port}/outcomes", data=body,
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_a_signed_outcome_is_accepted_and_produced_keyed_by_alert(hook):
    body = json.dumps(GOOD).encode()
    status, answer = post(hook, body, sign("pulsewire", SECRET, body))
    assert status == 202 and answer == {"status": "accepted", "outcome_id": "crm-1", "alert_id": GOOD["alert_id"]}
    ((key, value),) = hook.sent
    assert key == GOOD["alert_id"].encode() and parse_outcome(value) == AlertOutcome(**GOOD)


@pytest.mark.parametrize("headers, why", [
    ({}, "missing or unreadable signature timestamp"),
    ({"X-Pulsewire-Timestamp": "{now}", "X-Pulsewire-Signature": "sha256=00"}, "bad signature"),
    ("other-secret", "bad signature"),
    ("stale", "a replayed or delayed request"),
])
def test_unsigned_badly_signed_or_stale_requests_get_401(hook, headers, why):
    body = json.dumps(GOOD).encode()
    if headers == "other-secret":
        headers = sign("pulsewire", "another-secret-of-16+", body)
    elif headers == "stale":
        headers = sign("pulsewire", SECRET, body, ts=str(int(time.time()) - 3600))
    else:
        headers = {k: v.format(now=int(time.time())) for k, v in headers.items()}
    status, answer = post(hook, body, headers)
    assert status == 401 and why in answer["error"]
    assert hook.sent == []


def test_a_signature_over_another_body_is_refused(hook):
    body = json.dumps(GOOD).encode()
    forged = json.dumps({**GOOD, "outcome": "wrong"}).encode()
    status, _ = post(hook, forged, sign("pulsewire", SECRET, body))
    assert status == 401 and hook.sent == []


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "not_an_object"),
    (json.dumps({**GOOD, "role": "jane@example.com"}).encode(), "invalid_value"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "when"}).encode(), "missing_field"),
])
def test_malformed_outcomes_get_400_with_the_reason_never_500(hook, body, reason):
    status, answer = post(hook, body, sign("pulsewire", SECRET, body))
    assert status == 400 and answer["error"] == reason
    assert "jane@example.com" not in json.dumps(answer)
    assert hook.sent == []


def test_kafka_refusing_is_a_503_to_retry():
    def down(key, value):
        raise ConnectionError("broker away")

    h = OutcomeWebhook(SECRET, down, port=0)
    h.start()
    try:
        body = json.dumps(GOOD).encode()
        status, answer = post(h, body, sign("pulsewire", SECRET, body))
        assert status == 503 and "retry" in answer["error"]
    finally:
        h.stop()


def test_the_webhook_refuses_to_start_without_a_secret():
    for secret in ("", "short"):
        with pytest.raises(WebhookConfigError, match="PULSEWIRE_OUTCOME_WEBHOOK_SECRET"):
            OutcomeWebhook(secret, lambda k, v: None)


# ------------------------------------------------------------------------------------------------ CLI
def _cli(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "outcome", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, needle", [
    (["a1", "--role", "other"], "--outcome is required"),
    (["a1", "--outcome", "acted"], "--role is required"),
    (["a1", "--outcome", "great", "--role", "other"], "--outcome:"),
    (["a1", "--outcome", "acted", "--role", "jane@example.com"], "--role: role looks like an e-mail address"),
    (["a1", "--outcome", "acted", "--role", "other", "--note", "x" * 501], "--note:"),
    (["a1", "--outcome", "acted", "--role", "other", "--when", "soon"], "--when 'soon' is not an ISO 8601 time"),
])
def test_cli_user_errors_are_one_line(args, needle):
    r = _cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr


def test_cli_refuses_an_alert_id_the_store_does_not_hold(tmp_path):
    """With a store it can read, an unknown alert id is refused before anything is sent (no broker here)."""
    setup = ("import sys; from pulsewire.streams.store import open_store\n"
             "with open_store(sys.argv[1]) as s: pass\n")
    subprocess.run([sys.executable, "-c", setup, f"chdb://{tmp_path / 'clickhouse'}"], check=True, timeout=120)
    r = _cli("0123456789abcdef0123456789abcdef", "--outcome", "acted", "--role", "other",
             env={"PULSEWIRE_DATA_DIR": str(tmp_path), "PULSEWIRE_BROKER_URL": "kafka://127.0.0.1:9"})
    assert r.returncode == 3, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: no alert 0123456789abcdef0123456789abcdef in the store (alerts_audit): check the id, or pass "
        "--no-check to send it anyway (the worker then dead-letters it as unknown_alert)"]


def test_cli_checks_the_alert_id_in_the_store_of_a_data_dir(tmp_path):
    """--data-dir DIR, as the other commands take it, finds the store a demo left (no environment needed)."""
    setup = ("import sys; from pulsewire.streams.store import open_store\n"
             "with open_store(sys.argv[1]) as s: pass\n")
    subprocess.run([sys.executable, "-c", setup, f"chdb://{tmp_path / 'clickhouse'}"], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "PULSEWIRE_DATA_DIR"}
    r = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "outcome", "0123456789abcdef0123456789abcdef",
                        "--outcome", "acted", "--role", "other", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 3, r.stderr
    assert r.stderr.strip().splitlines()[0].startswith("error: no alert 0123456789abcdef0123456789abcdef in the store")


def test_an_unreachable_broker_is_one_line_naming_the_failure_once(tmp_path):
    r = _cli("0123456789abcdef0123456789abcdef", "--outcome", "acted", "--role", "other", "--no-check",
             env={"PULSEWIRE_DATA_DIR": str(tmp_path), "PULSEWIRE_BROKER_URL": "kafka://127.0.0.1:9"})
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: cannot reach Kafka"), r.stderr
    name = lines[0].split(": ")[2]  # error: cannot reach Kafka at X: <Name>: ...
    assert lines[0].count(name + ":") == 1, lines[0]


# ------------------------------------------------------------------------------------------------ the weekly view
def _alert(tag: str, i: int, kind: str, subject_type: str, at: datetime) -> dict:
    return {"alert_id": f"{tag}-a{i}", "alert_type": kind, "subject": f"{tag}-s{i}", "subject_type": subject_type,
            "team_id": "", "score": 0.9, "threshold": 0.5, "model_version": tag, "reasons": [], "inputs": "{}",
            "topic": f"alerts.{kind}", "created_at": at, "occurred_at": at}


def _outcome(tag: str, i: int, oid: str, outcome: str, when: datetime, alert: dict) -> dict:
    from pulsewire.streams.agents.outcomes import outcome_row

    o = AlertOutcome(outcome_id=oid, alert_id=f"{tag}-a{i}", outcome=outcome, role="other", when=when)
    return outcome_row(o, alert)


def _week(store, tag: str) -> list[dict]:
    return store.query_dicts("SELECT alert_type, alerts, acted, not_useful, wrong, already_known, judged, due, "
                             "unjudged_due, median_hours_to_outcome AS median FROM oversight_outcome_week "
                             "WHERE model_version = {t:String}", {"t": tag})


def test_the_weekly_view_counts_the_outcome_that_stands_and_who_nobody_looked_at(store):
    import uuid

    tag = f"m-{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    at = now - timedelta(days=10)
    # "now" for the views is the later of the server's clock and the newest event the worker accepted
    store.insert_rows("events_scored", [{"event_id": f"{tag}-ev", "source": "shop", "kind": "review",
                                         "type": "review", "occurred_at": now, "ingested_at": now,
                                         "customer_id": f"{tag}-c", "content_hash": tag}])
    alerts = [_alert(tag, i, "churn", "customer", at) for i in range(4)]
    store.insert_rows("alerts_audit", alerts)
    store.insert_rows("alert_outcomes", [
        # alert 0: 'acted' 2 h after the alert, then 'wrong' later: the later one stands (stored first here)
        _outcome(tag, 0, "z-later", "wrong", at + timedelta(hours=6), alerts[0]),
        _outcome(tag, 0, "a-earlier", "acted", at + timedelta(hours=2), alerts[0]),
        # alert 1: two outcomes at the same time: the greatest outcome id stands
        _outcome(tag, 1, "b", "not_useful", at + timedelta(hours=4), alerts[1]),
        _outcome(tag, 1, "c", "already_known", at + timedelta(hours=4), alerts[1]),
        _outcome(tag, 2, "d", "acted", at + timedelta(hours=10), alerts[2]),
    ])  # alert 3: nobody looked
    (row,) = _week(store, tag)
    assert {k: int(v) for k, v in row.items() if k not in ("alert_type", "median")} == {
        "alerts": 4, "acted": 1, "not_useful": 0, "wrong": 1, "already_known": 1, "judged": 3, "due": 4,
        "unjudged_due": 1}
    assert row["median"] == 4.0  # hours to the first outcome: 2, 4, 10


def test_the_weekly_view_hides_burnout_rows_about_fewer_employees_than_the_minimum_group(store):
    import uuid

    at = datetime.now(timezone.utc) - timedelta(days=10)
    few, enough = f"m-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    store.insert_rows("alerts_audit", [_alert(few, i, "burnout", "employee", at) for i in range(4)]
                      + [_alert(enough, i, "burnout", "employee", at) for i in range(5)])
    assert _week(store, few) == []
    assert [int(r["alerts"]) for r in _week(store, enough)] == [5]


def test_an_unknown_model_card_is_one_error_line(tmp_path):
    from tests.unit.test_cli_user_errors import assert_user_error, pulsewire

    assert_user_error(pulsewire("model-card", "foo", cwd=tmp_path), "no model 'foo'", "churn")
