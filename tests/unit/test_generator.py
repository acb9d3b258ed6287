"""The synthetic SMB generator: deterministic, valid, ordered, and consistent with its ground truth."""

from __future__ import annotations

import collections
import hashlib
import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from pulsewire.schemas.dead_letter import Reason
from pulsewire.schemas.events import parse_event
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation
from pulsewire.streams.connectors.generator_faults import FAULTS
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.validation import validate_record

START = "2026-05-01T00:00:00+00:00"


def _digest(records) -> str:
    h = hashlib.sha256()
    for rec in records:
        h.update(rec if isinstance(rec, bytes) else json.dumps(rec, sort_keys=True).encode())
    return h.hexdigest()


def _ts(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@pytest.fixture(scope="module")
def run():
    # the text, account and hr model; activity (tests/unit/test_generator_activity.py) leaves it unchanged
    sim = SmbSimulation(GeneratorConfig(seed=7, start=START, activity=False))
    records = list(sim.records(limit=20_000))
    return sim, records, sim.ground_truth()


def test_same_seed_same_records_other_seed_differs():
    a = _digest(SmbSimulation(GeneratorConfig(seed=11)).records(limit=3000))
    sim = SmbSimulation(GeneratorConfig(seed=11))
    b = _digest(sim.records(limit=3000))
    assert a == b
    assert _digest(sim.records(limit=3000)) == a  # a second pass over the same object starts afresh
    assert _digest(SmbSimulation(GeneratorConfig(seed=12)).records(limit=3000)) != a


@pytest.mark.parametrize("limit", [0, 1, 137, 2500])
def test_exactly_limit_records(limit):
    assert sum(1 for _ in SmbSimulation(GeneratorConfig(seed=3)).records(limit=limit)) == limit


def test_a_tiny_population_runs_past_weeks_to_reach_the_limit():
    sim = SmbSimulation(GeneratorConfig(seed=3, customers=5, employees=6, teams=2, weeks=2))
    records = list(sim.records(limit=1500))
    assert len(records) == 1500
    assert sim.ground_truth()["config"]["weeks_simulated"] > 2
    assert len(list(SmbSimulation(GeneratorConfig(seed=3, weeks=4)).records())) > 1000  # no limit: `weeks` weeks


def test_every_record_validates_is_ordered_and_ids_are_unique(run):
    sim, records, _ = run
    assert len(records) == 20_000
    events = [parse_event(r) for r in records]
    times = [e.occurred_at for e in events]
    assert all(a <= b for a, b in zip(times, times[1:]))
    assert all(t.utcoffset() == timedelta(0) for t in times)
    ids = [r["event_id"] for r in records]
    assert len(set(ids)) == len(ids) and all(i.startswith("gen-") and len(i) == 20 for i in ids)
    kinds = collections.Counter((r["kind"], r["type"]) for r in records)
    for needed in [("account", "signup"), ("account", "renewal"), ("account", "cancellation"),
                   ("account", "plan_change"), ("ticket", "created"), ("ticket", "rated"), ("review", "review"),
                   ("chat", "message"), ("hr", "hire"), ("hr", "pulse"), ("hr", "enps"), ("hr", "overtime"),
                   ("hr", "leave"), ("hr", "exit")]:
        assert kinds[needed] > 0, needed
    assert {r["question"] for r in records if r["type"] == "pulse"} == {"workload", "wellbeing", "burnout"}
    assert {r["author_role"] for r in records if r["kind"] == "chat"} == {"customer", "agent", "employee"}
    for rec in records[:500]:
        assert sim.topic_for(rec) == f"events.{rec['kind']}"
        assert sim.key_for(rec) == (rec.get("customer_id") or rec["employee_id"])


def test_mostly_working_hours(run):
    _, records, _ = run
    customer_side = [_ts(r["occurred_at"]) for r in records if r["kind"] in ("ticket", "review")]
    daytime = sum(7 <= t.hour < 22 for t in customer_side) / len(customer_side)
    assert daytime > 0.95


def test_ground_truth_matches_the_events(run):
    _, records, truth = run
    cancelled = {r["customer_id"]: r["occurred_at"] for r in records if r["type"] == "cancellation"}
    churned = {c: v["churned_at"] for c, v in truth["customers"].items() if v["churned"]}
    assert churned == cancelled and churned
    exits = {r["employee_id"]: (r["occurred_at"], r["exit_type"]) for r in records if r["type"] == "exit"}
    left = {e: (v["left_at"], v["exit_type"]) for e, v in truth["employees"].items() if v["left"]}
    assert left == exits and any(t == "voluntary" for _, t in left.values())
    for v in truth["customers"].values():
        assert 0 <= v["churn_propensity"] <= 1
    # nobody speaks after leaving (ticket status changes by the company may still happen)
    for r in records:
        who = r.get("customer_id") if r.get("author_role", "customer") == "customer" else r.get("employee_id")
        end = cancelled.get(who) or (exits.get(who) or (None,))[0]
        if end and r.get("text") and r.get("author_role") != "agent" and r["type"] not in ("cancellation", "exit"):
            assert _ts(r["occurred_at"]) < _ts(end), r
    assert any(v["burned_out"] for v in truth["employees"].values())
    assert truth["config"]["customers"] >= 200 and 50 <= truth["config"]["employees"] <= 70


def test_churners_write_more_negatively_weeks_before_they_cancel(run):
    sim, records, truth = run
    churned_at = {c: _ts(v["churned_at"]) for c, v in truth["customers"].items() if v["churned"]}
    before = collections.defaultdict(list)  # weeks before cancellation -> labels
    healthy = []
    for r in records:
        label = sim.text_labels.get(r["event_id"])
        if label is None or r.get("author_role") == "agent" or not r.get("customer_id"):
            continue
        end = churned_at.get(r["customer_id"])
        if end is None:
            healthy.append(label)
        else:
            before[min(4, int((end - _ts(r["occurred_at"])).days // 7))].append(label)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(before[0] + before[1]) < mean(healthy) - 0.4
    assert mean(before[2] + before[3]) < mean(healthy) - 0.15  # lead time: already worse 2-4 weeks ahead
    assert min(healthy) == -1 and max(before[0] + before[1]) == 1  # noisy both ways


def test_burnout_shows_in_hr_signals(run):
    _, records, truth = run
    burned = {e for e, v in truth["employees"].items() if v["burned_out"]}
    ot = collections.defaultdict(list)
    pulse = collections.defaultdict(list)
    for r in records:
        if r["type"] == "overtime":
            ot[r["employee_id"] in burned].append(r["hours"])
        elif r["type"] == "pulse" and r["question"] == "burnout":
            pulse[r["employee_id"] in burned].append(r["score"])
    assert sum(ot[True]) / len(ot[True]) > sum(ot[False]) / len(ot[False]) + 2
    assert sum(pulse[True]) / len(pulse[True]) > sum(pulse[False]) / len(pulse[False]) + 0.5


def test_teams_vary_in_size_with_one_below_five(run):
    _, records, truth = run
    initial = collections.Counter(r["team_id"] for r in records
                                  if r["type"] == "hire" and r["occurred_at"] < "2026-05-08")
    assert len(initial) == truth["config"]["teams"] == 8
    assert min(initial.values()) < 5
    assert sum(n >= 5 for n in initial.values()) >= len(initial) - 1
    assert len(set(initial.values())) > 2


def test_consent_is_stable_per_employee(run):
    _, records, truth = run
    seen = collections.defaultdict(set)
    for r in records:
        if r["kind"] == "hr":
            seen[r["employee_id"]].add(r["consent"])
    assert all(len(v) == 1 for v in seen.values())
    share = sum(v["consent"] for v in truth["employees"].values()) / len(truth["employees"])
    assert 0.5 < share < 0.9


def test_bad_records_cover_every_fault_and_fail_validation():
    cfg = GeneratorConfig(seed=5, bad_record_rate=0.05)
    sim = SmbSimulation(cfg)
    records = list(sim.records(limit=3000))
    assert len(records) == 3000
    assert _digest(records) == _digest(SmbSimulation(cfg).records(limit=3000))
    keys = KeyRing(b"k" * 32)
    reasons = collections.Counter()
    good = []
    for rec in records:
        raw = rec if isinstance(rec, bytes) else json.dumps(rec).encode()
        topic = sim.topic_for(rec)
        assert topic.startswith("events.") and sim.key_for(rec) == sim.key_for(rec) and sim.key_for(rec)
        event, dead = validate_record(raw, topic, keys=keys, consent_sources=("generator",), max_text_chars=20_000,
                                      max_payload_bytes=256 * 1024)
        if dead is None:
            good.append(rec)
            continue
        reasons[dead.reason] += 1
        if isinstance(rec, dict) and dead.reason is not Reason.TEXT_TOO_LARGE:
            with pytest.raises((ValidationError, ValueError)):
                parse_event(rec)  # the schema alone refuses it (text length is the validator's limit)
    assert set(reasons) == {Reason(f) for f in FAULTS}
    assert 0.03 < sum(reasons.values()) / len(records) < 0.08
    assert any(isinstance(r, bytes) for r in records)
    # the good records are the same stream as without faults, only shorter
    clean = list(SmbSimulation(GeneratorConfig(seed=5)).records(limit=3000))
    assert good == clean[: len(good)]


def test_edge_populations():
    only_customers = list(SmbSimulation(GeneratorConfig(seed=1, customers=20, employees=0)).records(limit=300))
    assert len(only_customers) == 300 and not any(r.get("author_role") == "agent" for r in only_customers)
    with pytest.raises(RuntimeError, match="no events"):
        list(SmbSimulation(GeneratorConfig(seed=1, customers=0, employees=0)).records(limit=10))
    with pytest.raises(ValueError):
        SmbSimulation(GeneratorConfig(start="2026-05-01T00:00:00"))
