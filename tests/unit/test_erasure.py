"""Erasure in the store (``streams/erasure.py``) and ``pulsewire forget``'s user errors."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.streams.activity import activity_row, recompute_daily
from pulsewire.streams.erasure import ERASABLE, NOT_PER_PERSON, erase_rows, existing_tables, subject_of
from pulsewire.streams.privacy import KeyRing

from .test_cli_user_errors import assert_user_error, pulsewire

KEYS = KeyRing(b"0123456789abcdef-test-key")


def test_every_table_is_either_erased_or_declared_free_of_per_person_rows(store):
    """A migration that adds a stored table must say whether it holds rows about one person."""
    declared = {t.table for t in ERASABLE} | set(NOT_PER_PERSON)
    assert sorted(existing_tables(store, stored_only=True) - declared) == []
    assert sorted(set(NOT_PER_PERSON) - existing_tables(store, stored_only=True)) == []
    assert {t.table for t in ERASABLE} <= existing_tables(store)


def _event(eid: str, who: tuple[str, str], team: str, at: datetime, label: str) -> dict:
    etype, pid = who
    return {"event_id": eid, "source": "test", "kind": "hr" if etype == "employee" else "review",
            "type": "pulse" if etype == "employee" else "review", "occurred_at": at, "ingested_at": at,
            "customer_id": pid if etype == "customer" else "", "employee_id": pid if etype == "employee" else "",
            "team_id": team, "text": f"text of {pid}", "sentiment_label": label, "sentiment_score": 0.5,
            "attributes": {}, "content_hash": eid}


def _person_rows(store, entity_type: str, pid: str) -> dict[str, int]:
    out = {}
    for t in ERASABLE:
        out[t.table] = store.query_dicts(f"SELECT count() AS n FROM {t.table} WHERE {t.where}",
                                         {"id": pid, "type": entity_type})[0]["n"]
    return out


def _fill(store, entity_type: str, pid: str, team: str, at: datetime, tag: str) -> None:
    store.insert_rows("events_scored", [_event(f"{tag}-{pid}-{i}", (entity_type, pid), team, at, "negative")
                                        for i in range(3)])
    store.insert_rows("predictions", [{"model": "burnout", "entity_id": pid, "team_id": team, "event_id": f"{tag}-e",
                                       "predicted_at": at, "probability": 0.7, "baseline": 0.0,
                                       "model_version": "v", "n_labels": 1, "n_pos": 1, "alerted": 1, "consent": 1}])
    store.insert_rows("risk_latest", [{"model": "burnout", "entity_type": entity_type, "entity_id": pid,
                                       "team_id": team, "probability": 0.7, "model_version": "v", "reasons": ["r"],
                                       "event_id": f"{tag}-e", "scored_at": at}])
    store.insert_rows("learn_examples", [{"model": "burnout", "example_id": f"{tag}-x-{pid}", "entity_id": pid,
                                          "pred_event_id": "a", "label_event_id": "b", "predicted_at": at,
                                          "labelled_at": at, "label": 1, "probability": 0.5, "baseline": 0.0,
                                          "model_version": "v", "n_labels": 1, "n_pos": 1, "weight": 1.0,
                                          "learned": 1, "features": "{}"}])
    store.insert_rows("alerts_audit", [{"alert_id": f"{tag}-a-{pid}", "alert_type": "burnout", "subject": pid,
                                        "subject_type": entity_type, "team_id": team, "score": 0.7,
                                        "threshold": 0.5, "model_version": "v", "reasons": ["r"], "inputs": "{}",
                                        "topic": "alerts.burnout", "created_at": at, "occurred_at": at}])
    store.insert_rows("alert_outcomes", [{"outcome_id": f"{tag}-o-{pid}", "alert_id": f"{tag}-a-{pid}",
                                          "outcome": "wrong", "role": "hr_partner", "note": f"note on {pid}",
                                          "outcome_at": at, "alert_type": "burnout", "subject": pid,
                                          "subject_type": entity_type, "team_id": team, "model_version": "v",
                                          "alert_created_at": at, "alert_occurred_at": at, "content_hash": "h"}])
    if entity_type == "customer":  # what a customer did: a raw row and its daily total
        store.insert_rows("activity_events", [activity_row({
            "event_id": f"{tag}-act-{pid}", "source": "shop", "kind": "activity", "type": "login", "customer_id": pid,
            "occurred_at": at.isoformat(), "ingested_at": at.isoformat()})])
        recompute_daily(store, [f"{pid}\x1f{at.date().isoformat()}"], raw_days=7)
    if entity_type == "employee":
        store.insert_rows("consent_audit", [{"entity_id": pid, "old_consent": None, "new_consent": 1, "source": "hris",
                                             "event_id": f"{tag}-c-{pid}", "occurred_at": at, "recorded_at": at}])


def _minute(store, team: str, at: datetime) -> tuple[int, int]:
    r = store.query_dicts("SELECT sum(events) AS events, uniqExactMerge(people) AS people FROM sentiment_minute "
                          "WHERE team_id = {t:String} AND minute = toStartOfMinute({m:DateTime64(3, 'UTC')})",
                          {"t": team, "m": at})[0]
    return int(r["events"]), int(r["people"])


def test_erase_rows_removes_one_person_everywhere_and_nothing_else(store):
    tag = uuid.uuid4().hex[:8]
    team = f"team-{tag}"
    at = (datetime.now(timezone.utc) - timedelta(days=2)).replace(second=7, microsecond=0)
    gone = subject_of(KEYS, employee=f"EMP-{tag}")
    kept = subject_of(KEYS, employee=f"EMP-other-{tag}")
    customer = subject_of(KEYS, customer=f"cus-{tag}")
    for s in (gone, kept, customer):
        _fill(store, s.entity_type, s.entity_id, team, at, tag)
    assert _minute(store, team, at) == (9, 3)

    removed, teams = erase_rows(store, gone)

    assert removed == {"events_scored": 3, "predictions": 1, "risk_latest": 1, "learn_examples": 1, "consent_audit": 1,
                       "alerts_audit": 1, "alert_outcomes": 1, "activity_events": 0, "activity_daily": 0}
    assert teams == [team]
    assert set(_person_rows(store, "employee", gone.entity_id).values()) == {0}
    kept_rows = _person_rows(store, "employee", kept.entity_id)
    assert {kept_rows.pop("activity_events"), kept_rows.pop("activity_daily")} == {0}  # customers' tables
    assert set(kept_rows.values()) == {1, 3}
    customer_rows = _person_rows(store, "customer", customer.entity_id)
    assert customer_rows.pop("consent_audit") == 0 and set(customer_rows.values()) == {1, 3}  # no consent rows
    assert _minute(store, team, at) == (6, 2)  # the minute's aggregate no longer counts them
    # idempotent: a second erasure finds nothing and changes nothing
    assert erase_rows(store, gone) == ({t.table: 0 for t in ERASABLE}, [])
    assert _minute(store, team, at) == (6, 2)


def test_the_customer_erasure_keys_on_the_customer_id_only(store):
    tag = uuid.uuid4().hex[:8]
    at = datetime.now(timezone.utc) - timedelta(days=1)
    c = subject_of(KEYS, customer=f"cus-{tag}")
    _fill(store, "customer", c.entity_id, "", at, tag)
    removed, teams = erase_rows(store, c)
    assert removed["events_scored"] == 3 and removed["alerts_audit"] == 1 and teams == []
    assert set(_person_rows(store, "customer", c.entity_id).values()) == {0}


@pytest.mark.parametrize("args, env, needle", [
    ((), {}, "name exactly one person"),
    (("--employee", "E1", "--customer", "C1", "--by", "dpo"), {}, "name exactly one person"),
    (("--customer", "C1"), {}, "--by ROLE is required"),
    (("--customer", "C1", "--by", "Jane Doe"), {}, "not a person's name"),
    (("--customer", "C1", "--by", "dpo"), {"PULSEWIRE_PSEUDONYM_KEY": ""}, "PULSEWIRE_PSEUDONYM_KEY is not set"),
    # what alerts show: pseudonymising it again would find nobody
    (("--employee", "emp_1794361e1427d8428bb4e67e", "--by", "hr-admin"), {}, "not a pseudonym"),
    (("--employee", "EMP-1 ", "--by", "hr-admin"), {}, "spaces before or after the id"),
    (("--customer", " C1", "--by", "dpo"), {}, "spaces before or after the id"),
])
def test_forget_user_errors_are_one_line(tmp_path, args, env, needle):
    res = pulsewire("forget", *args, cwd=tmp_path, env=env)
    assert_user_error(res, needle)
    assert "emp_1794361e1427d8428bb4e67e" not in res.stderr and "EMP-1" not in res.stderr


def test_a_request_made_with_another_key_is_refused_and_a_wrong_id_is_not_an_erasure():
    from pulsewire.streams.erasure import audit_row, describe, key_check, not_found, refusal, request_message

    wrong = KeyRing(b"wrongkeywrongkey1234")
    s = subject_of(wrong, employee="emp-0003")
    request = json.loads(request_message("r1", s, "hr-admin", datetime.now(timezone.utc), key_check(wrong)))
    assert wrong.subkey("erasure").hex() not in json.dumps(request) and "wrongkey" not in json.dumps(request)
    refused = refusal(request, KEYS)
    assert refused["refused"] == "key_mismatch" and describe(refused).startswith("refused:")
    assert refusal(request, wrong) is None
    nothing = audit_row(request, s, {t.table: 0 for t in ERASABLE}, [], earlier=0)
    assert not_found(nothing) and describe(nothing).startswith("no data found for this id under this key")


def test_forget_without_a_broker_is_one_line(tmp_path):
    from pulsewire.infra.broker.embedded import free_port

    env = {"PULSEWIRE_PSEUDONYM_KEY": "0123456789abcdef-test", "PULSEWIRE_BROKER_URL": f"kafka://127.0.0.1:{free_port()}"}
    res = pulsewire("forget", "--employee", "EMP-1", "--by", "hr-admin", "--timeout", "2", cwd=tmp_path, env=env)
    assert_user_error(res, "cannot reach Kafka")
    assert "EMP-1" not in res.stderr + res.stdout


def test_an_erase_item_takes_the_person_out_of_a_teams_enps_and_burnout_state():
    from pulsewire.models.learners.metrics import apply, new_dim_state

    day = 20_000
    answers = [{"k": "enps", "d": day, "t": day * 86400.0 + i, "v": v, "r": f"emp_{i}"}
               for i, v in enumerate([10, 9, 9, 3, 7, 0])]
    risks = [{"k": "risk", "d": day, "t": day * 86400.0 + 10 + i, "e": f"emp_{i}", "p": 0.9} for i in (5, 1)]
    st, rows, _ = apply(new_dim_state(), "team:t1", answers + risks)
    assert [(r["metric"], r["value"], r["n"]) for r in rows] == [("enps", 16.6667, 6)]  # 2 risks: suppressed
    assert sorted(st["risk"]) == ["emp_1", "emp_5"]

    st, rows, _ = apply(st, "team:t1", [{"k": "erase", "e": "emp_5", "t": day * 86400.0 + 99}])

    assert [(r["metric"], r["value"], r["n"]) for r in rows] == [("enps", 40.0, 5)]  # the day, again, without them
    assert "emp_5" not in str(st) and sorted(st["risk"]) == ["emp_1"]
    assert apply(st, "team:t1", [{"k": "erase", "e": "emp_5", "t": day * 86400.0 + 100}])[1] == []  # nothing more
