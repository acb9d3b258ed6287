"""Keyed identity: no id that leaves the validator can be recomputed from a source system's export.

The attack from issue 10: with the HR export in hand, recompute the HRIS connector's unkeyed
``stable_id`` over every raw employee id and match it against the stored event ids.
"""

import itertools
import json

import pytest

from pulsewire.models.learners.estimators import OnlineLearner
from pulsewire.schemas.events import event_to_json
from pulsewire.streams.agents.learn import ModelRegistry
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation
from pulsewire.streams.connectors.hr import Hris
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.sdk import stable_id
from pulsewire.streams.testing import run_connector
from pulsewire.streams.validation import validate_record

KEY = b"unit-test-key-0123456789"
EXPORT = (
    "Employee #,Department,Hire Date,Termination Date,Termination Type,Wellbeing Consent\n"
    "1042,Support,2023-02-13,,,Yes\n"
    "1043,Engineering,2021-09-01,2026-09-30,Resignation,No\n"
    "1044,Sales,2024-05-06,,,\n"
)


def _validated(events, keys: KeyRing) -> list[dict]:
    out = []
    for ev in events:
        raw = ev if isinstance(ev, bytes) else event_to_json(ev) if hasattr(ev, "model_dump") else json.dumps(ev).encode()
        kind = json.loads(raw)["kind"]
        valid, _ = validate_record(raw, f"events.{kind}", keys=keys, max_text_chars=20_000, max_payload_bytes=256 * 1024)
        if valid is not None:
            out.append(json.loads(event_to_json(valid)))
    return out


def _hris_events(tmp_path):
    p = tmp_path / "employees.csv"
    p.write_text(EXPORT)
    return run_connector(Hris({"path": str(p)})).events


def test_the_hr_export_attack_finds_nothing(tmp_path):
    events = _hris_events(tmp_path)
    published = _validated(events, KeyRing(KEY))
    assert len(published) == len(events) == 4
    # everything the attacker can derive from the export: every raw id x type x date column
    raw_ids = ["1042", "1043", "1044"]
    dates = ["2023-02-13", "2021-09-01", "2026-09-30", "2024-05-06"]
    guesses = {stable_id("hris", t, e, d) for t, e, d in itertools.product(("hire", "exit"), raw_ids, dates)}
    assert {e.event_id for e in events} <= guesses  # the attack works on what the connector produces...
    published_ids = {e["event_id"] for e in published}
    assert not published_ids & guesses  # ...and finds nothing in what leaves the validator
    text = json.dumps(published)
    assert not any(g in text for g in guesses) and not any(f'"{r}"' in text for r in raw_ids)


def test_generated_employee_events_leave_with_keyed_ids():
    sim = SmbSimulation(GeneratorConfig(seed=3))
    records = [r for r in sim.records(limit=3000) if isinstance(r, dict)]
    raw_ids = {r["event_id"] for r in records if r.get("employee_id")}
    published = _validated(records, KeyRing(KEY))
    employee_ids = [e["event_id"] for e in published if e.get("employee_id")]
    assert len(employee_ids) > 100
    assert not set(employee_ids) & raw_ids and all(i.startswith("ek_") for i in employee_ids)
    customers_only = [e for e in published if not e.get("employee_id")]
    assert customers_only and all(e["event_id"].startswith("gen-") for e in customers_only)


def test_hr_event_ids_change_when_the_pseudonym_key_changes(tmp_path):
    events = _hris_events(tmp_path)
    one, again = _validated(events, KeyRing(KEY)), _validated(events, KeyRing(KEY))
    other = _validated(events, KeyRing(b"another-key-0123456789abc"))
    assert [e["event_id"] for e in one] == [e["event_id"] for e in again]  # stable: replays de-duplicate
    assert not {e["event_id"] for e in one} & {e["event_id"] for e in other}
    assert not {e["employee_id"] for e in one} & {e["employee_id"] for e in other}


@pytest.mark.parametrize("signer", ["master key", "pseudonym subkey", "event-id subkey"])
def test_a_snapshot_signed_with_another_key_of_the_ring_is_refused(tmp_path, signer):
    keys = KeyRing(KEY)
    registry = ModelRegistry(keys.snapshot_key, tmp_path)
    sign_with = {"master key": KEY, "pseudonym subkey": keys.subkey("pseudonym"),
                 "event-id subkey": keys.subkey("event-id")}[signer]
    assert not registry.offer(OnlineLearner("churn").snapshot(sign_with))
    assert registry.refused == 1 and "churn" not in registry.handles
    assert registry.offer(OnlineLearner("churn").snapshot(keys.snapshot_key))  # the snapshot subkey is accepted
