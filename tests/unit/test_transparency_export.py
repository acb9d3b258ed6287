"""``pulsewire export``: one person's rows and nobody else's, found with the key, every look-up recorded
without the id; unknown people and user errors end with one line."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pulsewire.streams.agents.alerts import audit_row as alert_audit_row
from pulsewire.streams.agents.features import consent_row, prediction_rows
from pulsewire.streams.agents.learn import example_row
from pulsewire.streams.erasure import ERASABLE, subject_of
from pulsewire.schemas.outcome import AlertOutcome
from pulsewire.streams.agents.outcomes import outcome_row
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.rows import scored_row
from pulsewire.streams.transparency.export import ACCESS_TABLE, export_person

from .test_cli_user_errors import assert_user_error, pulsewire

KEY = "0123456789abcdef-test-key"
KEYS = KeyRing(KEY.encode())
ROOT = Path(__file__).resolve().parents[2]


def seed_person(store, entity_type: str, entity_id: str, team: str, tag: str) -> None:
    """Rows about one person in every per-person table, made by the pipeline's own row builders."""
    at = datetime.now(timezone.utc) - timedelta(days=3)
    employee = entity_type == "employee"
    who = {"employee_id": entity_id, "team_id": team} if employee else {"customer_id": entity_id}
    events = []
    for i in range(2):
        ev = {"event_id": f"{tag}-{entity_id}-{i}", "source": "hris" if employee else "shop",
              "kind": "hr" if employee else "review", "type": "pulse" if employee else "review",
              "occurred_at": (at + timedelta(hours=i)).isoformat(), "ingested_at": at.isoformat(),
              "text": f"words of {entity_id} #{i}", **who,
              **({"question": "workload", "score": 2} if employee else {"rating": 2})}
        events.append(scored_row({"event": ev, "sentiment": {"label": "negative", "score": -0.6,
                                                             "probabilities": {"negative": 0.8, "neutral": 0.1,
                                                                               "positive": 0.1},
                                                             "model_version": "s1"}}))
    store.insert_rows("events_scored", events)
    model = "burnout" if employee else "churn"
    pred, risk = prediction_rows({"model": model, "entity_type": entity_type, "entity_id": entity_id, "team_id": team,
                                  "event_id": events[0]["event_id"], "t": at.timestamp(), "probability": 0.71,
                                  "baseline": 0.2, "model_version": f"{model}-v3", "n_labels": 40, "n_pos": 21,
                                  "alerted": 1, "consent": True,
                                  "reasons": [{"text": f"overtime rose ({entity_id})"}]})
    store.insert_rows("predictions", [pred])
    store.insert_rows("risk_latest", [risk])
    store.insert_rows("learn_examples", [example_row({"model": model, "id": f"{tag}-x-{entity_id}",
                                                      "entity_id": entity_id, "pred_event_id": events[0]["event_id"],
                                                      "label_event_id": events[1]["event_id"],
                                                      "predicted_at": at.timestamp(), "labelled_at": at.timestamp(),
                                                      "y": 1, "p": 0.7, "x": {"overtime_h": 9.0}}, learned=True)])
    ce = {"id": f"{tag}-a-{entity_id}", "subject": entity_id,
          "data": {"alert_type": model, "subject_type": entity_type, "team_id": team, "score": 0.71,
                   "threshold": 0.5, "model_version": f"{model}-v3", "inputs": {"overtime_h": 9.0},
                   "reasons": [{"text": "overtime rose"}], "trigger_event_id": events[0]["event_id"],
                   "occurred_at": at.isoformat()}}
    store.insert_rows("alerts_audit", [alert_audit_row(ce, f"alerts.{model}")])
    alert = store.query_dicts("SELECT * FROM alerts_audit FINAL WHERE alert_id = {a:String}", {"a": ce["id"]})[0]
    store.insert_rows("alert_outcomes", [outcome_row(AlertOutcome(
        outcome_id=f"{tag}-o-{entity_id}", alert_id=ce["id"], outcome="acted", role="hr_partner", when=at), alert)])
    if employee:
        store.insert_rows("consent_audit", [consent_row({"source": "hris", "event_id": f"{tag}-c-{entity_id}",
                                                         "occurred_at": at.isoformat()},
                                                        {"old": None, "new": True}, entity_id)])


def _all_values(doc: dict) -> str:
    return json.dumps(doc["data"], default=str)


def test_export_holds_the_persons_rows_and_nobody_elses_and_is_recorded_without_the_id(store):
    tag = uuid.uuid4().hex[:8]
    raw, other_raw, customer = f"EMP-{tag}", f"EMP-other-{tag}", f"cus-{tag}"
    me, other = subject_of(KEYS, employee=raw), subject_of(KEYS, employee=other_raw)
    seed_person(store, "employee", me.entity_id, f"team-{tag}", tag)
    seed_person(store, "employee", other.entity_id, f"team-{tag}", tag)
    seed_person(store, "customer", customer, "", tag)

    doc, audit = export_person(store, me, raw, requested_by="dpo", os_user="tester")

    assert doc["subject"] == {"type": "employee", "id": raw, "stored_as": me.entity_id}
    assert {t: doc["counts"][t] for t in (t.table for t in ERASABLE)} == {
        "events_scored": 2, "predictions": 1, "risk_latest": 1, "learn_examples": 1, "alerts_audit": 1,
        "alert_outcomes": 1, "consent_audit": 1, "activity_events": 0, "activity_daily": 0}
    data = doc["data"]
    assert [e["text"] for e in data["events_scored"]] == [f"words of {me.entity_id} #0", f"words of {me.entity_id} #1"]
    assert {e["kind"] for e in data["events_scored"]} == {"hr"} and data["events_scored"][0]["source"] == "hris"
    assert data["risk_latest"][0]["reasons"] == [f"overtime rose ({me.entity_id})"]
    assert data["alerts_audit"][0]["inputs"]["reasons"] == [{"text": "overtime rose"}]  # JSON column parsed
    assert data["consent_audit"][0]["new_consent"] == 1
    assert other.entity_id not in _all_values(doc) and customer not in _all_values(doc)
    assert "dead_letters" in doc["not_per_person"] and any("dead letters" in n for n in doc["not_here"])

    rows = store.query_dicts(f"SELECT * FROM {ACCESS_TABLE} WHERE access_id = {{a:String}}", {"a": audit["access_id"]})
    assert len(rows) == 1
    row = rows[0]
    assert (row["command"], row["subject_type"], row["requested_by"], row["os_user"], row["found"]) == \
        ("export", "employee", "dpo", "tester", 1)
    assert row["subject_hash"] == me.subject_hash and row["rows_total"] == 8
    assert raw not in json.dumps(row, default=str) and me.entity_id not in json.dumps(row, default=str)

    # the next export shows this look-up among the earlier ones
    again, _ = export_person(store, me, raw)
    assert [a["access_id"] for a in again["data"][ACCESS_TABLE]] == [audit["access_id"]]


def test_another_key_finds_nothing_and_the_look_up_is_still_recorded(store):
    tag = uuid.uuid4().hex[:8]
    raw = f"EMP-{tag}"
    seed_person(store, "employee", subject_of(KEYS, employee=raw).entity_id, f"team-{tag}", tag)
    wrong = subject_of(KeyRing(b"another-key-0123456789"), employee=raw)
    doc, audit = export_person(store, wrong, raw)
    assert audit["found"] == 0 and audit["rows_total"] == 0 and sum(doc["counts"].values()) == 0
    assert store.query_dicts(f"SELECT found FROM {ACCESS_TABLE} WHERE access_id = {{a:String}}",
                             {"a": audit["access_id"]}) == [{"found": 0}]


def test_a_customer_is_found_by_the_id_as_the_crm_sends_it(store):
    tag = uuid.uuid4().hex[:8]
    seed_person(store, "customer", f"cus-{tag}", "", tag)
    doc, audit = export_person(store, subject_of(KEYS, customer=f"cus-{tag}"), f"cus-{tag}")
    assert doc["counts"]["events_scored"] == 2 and doc["counts"]["consent_audit"] == 0 and audit["found"] == 1
    assert {e["customer_id"] for e in doc["data"]["events_scored"]} == {f"cus-{tag}"}


def test_a_copy_shows_the_persons_own_fields_and_texts_and_no_other_persons(store):
    tag = uuid.uuid4().hex[:8]
    customer, agent_raw = f"cus-{tag}", f"EMP-agent-{tag}"
    agent = subject_of(KEYS, employee=agent_raw)
    seed_person(store, "customer", customer, "", tag)
    at = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat()
    reply = {"event_id": f"{tag}-reply", "source": "intercom", "kind": "chat", "type": "message",
             "occurred_at": at, "ingested_at": at, "customer_id": customer, "employee_id": agent.entity_id,
             "team_id": "support", "channel": "intercom", "text": f"the agent's reply {tag}"}
    store.insert_rows("events_scored", [scored_row({"event": reply, "sentiment": {"label": "neutral", "score": 0.0}})])

    mine, _ = export_person(store, subject_of(KEYS, customer=customer), customer)
    text = json.dumps(mine)
    assert mine["counts"]["events_scored"] == 3  # the reply to them is listed ...
    assert agent.entity_id not in text and f"the agent's reply {tag}" not in text  # ... without who or what
    assert [e["text"] for e in mine["data"]["events_scored"] if e["employee_id"]] == [
        "(written by another person: left out)"]
    assert {e["employee_id"] for e in mine["data"]["events_scored"]} == {"", "(another person)"}
    assert f"words of {customer} #0" in text and "another person" in mine["other_people"]

    theirs, _ = export_person(store, agent, agent_raw)
    text = json.dumps(theirs)
    assert customer not in text and theirs["counts"]["events_scored"] == 1
    assert [(e["customer_id"], e["text"]) for e in theirs["data"]["events_scored"]] == [
        ("(another person)", f"the agent's reply {tag}")]


SEED = """
import sys
sys.path.insert(0, sys.argv[2])
from pulsewire.streams.erasure import subject_of
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.store import open_store
from tests.unit.test_transparency_export import KEYS, seed_person

store = open_store(sys.argv[1])
seed_person(store, "employee", subject_of(KEYS, employee="emp-0001").entity_id, "support", "cli")
seed_person(store, "employee", subject_of(KEYS, employee="emp-0002").entity_id, "support", "cli")
store.close()
"""
AUDIT = """
import json, sys
from pulsewire.streams.store import open_store
store = open_store(sys.argv[1], read_only=True)
print(json.dumps(store.query_dicts("SELECT * FROM data_access_audit ORDER BY accessed_at"), default=str))
"""


def _store(tmp_path: Path) -> str:
    url = f"chdb://{tmp_path / 'store' / 'clickhouse'}"
    subprocess.run([sys.executable, "-c", SEED, url, str(ROOT)], check=True, timeout=180)
    return url


def test_export_command_writes_the_persons_file_and_records_each_look_up(tmp_path):
    url = _store(tmp_path)
    env = {"PULSEWIRE_PSEUDONYM_KEY": KEY}
    (tmp_path / "me.json").write_text("an older export\n")
    (tmp_path / "me.json").chmod(0o644)  # an existing world-readable file does not keep its mode
    res = pulsewire("export", "--employee", "emp-0001", "--store-url", url, "--requested-by", "dpo",
                    "-o", "me.json", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    total = 8  # with its alert's outcome
    assert res.stdout.startswith(f"wrote me.json: {total} rows") and "emp-0001" not in res.stdout
    assert stat.S_IMODE((tmp_path / "me.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.json", "store"]  # no partial file left behind
    doc = json.loads((tmp_path / "me.json").read_text())
    me = subject_of(KEYS, employee="emp-0001").entity_id
    assert doc["subject"]["stored_as"] == me and doc["counts"]["events_scored"] == 2
    assert subject_of(KEYS, employee="emp-0002").entity_id not in json.dumps(doc)
    assert [(o["outcome"], o["role"]) for o in doc["data"]["alert_outcomes"]] == [("acted", "hr_partner")]

    # an unknown person, and the right person under another key: one line, exit 3, recorded all the same
    unknown = pulsewire("export", "--employee", "emp-9999", "--store-url", url, cwd=tmp_path, env=env)
    assert_user_error(unknown, "no data found for this employee id under this key")
    assert unknown.returncode == 3 and unknown.stdout == ""
    other_key = pulsewire("export", "--employee", "emp-0001", "--store-url", url, cwd=tmp_path,
                          env={"PULSEWIRE_PSEUDONYM_KEY": "another-key-0123456789"})
    assert other_key.returncode == 3 and other_key.stdout == ""

    out = subprocess.run([sys.executable, "-c", AUDIT, url], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    audit = json.loads(out)
    assert [(a["found"], a["requested_by"], int(a["rows_total"])) for a in audit] == [(1, "dpo", total), (0, "", 0),
                                                                                       (0, "", 0)]
    for needle in ("emp-0001", "emp-9999", me):
        assert needle not in out


def test_export_of_a_demo_reads_the_demos_key_when_the_variable_is_not_set(tmp_path):
    _store(tmp_path)  # the store at store/clickhouse, as 'pulsewire demo --data-dir store' leaves it
    (tmp_path / "store" / "pseudonym.key").write_text(KEY + "\n")
    res = pulsewire("export", "--employee", "emp-0001", "--data-dir", "store", "-o", "me.json", cwd=tmp_path,
                    env={"PULSEWIRE_PSEUDONYM_KEY": ""})
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "me.json").read_text())
    assert doc["subject"]["stored_as"] == subject_of(KEYS, employee="emp-0001").entity_id
    assert doc["counts"]["events_scored"] == 2


@pytest.mark.parametrize("args, env, needle", [
    (("export",), {}, "name exactly one person"),
    (("export", "--employee", "E1", "--customer", "C1"), {}, "name exactly one person"),
    (("export", "--employee", "emp_1794361e1427d8428bb4e67e"), {}, "not a pseudonym"),
    (("export", "--customer", " C1"), {}, "spaces before or after the id"),
    (("export", "--customer", "C1", "--requested-by", "Jane Doe"), {}, "--requested-by takes a role"),
    (("export", "--customer", "C1"), {"PULSEWIRE_PSEUDONYM_KEY": ""}, "PULSEWIRE_PSEUDONYM_KEY is not set"),
    (("export", "--customer", "C1", "--data-dir", "no-such-dir"), {}, "no data directory no-such-dir"),
])
def test_export_user_errors_are_one_line_and_create_nothing(tmp_path, args, env, needle):
    res = pulsewire(*args, cwd=tmp_path, env={"PULSEWIRE_PSEUDONYM_KEY": KEY, **env})
    assert_user_error(res, needle)
    assert list(tmp_path.iterdir()) == []


def test_export_of_a_directory_without_a_store_creates_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    res = pulsewire("export", "--customer", "C1", "--data-dir", "empty", "-o", "c.json", cwd=tmp_path,
                    env={"PULSEWIRE_PSEUDONYM_KEY": KEY})
    assert_user_error(res, "no store at")
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and list((tmp_path / "empty").iterdir()) == []
