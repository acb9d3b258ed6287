"""``pulsewire forget`` through the real pipeline: a person's rows leave every table, their feature
state and pending predictions are gone (also after a restart, which rebuilds state from the
changelog), a second run removes nothing more and says so, the audit holds no id, others go on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.streams.privacy import KeyRing

from ..connectors.conftest import read_topics
from .conftest import Pipeline

pytestmark = pytest.mark.integration


def _hr(raw_id: str, team: str, at: datetime, typ: str, **fields) -> tuple[str, str, bytes]:
    ev = {"schema_version": 1, "event_id": uuid.uuid4().hex, "source": "hris", "occurred_at": at.isoformat(),
          "kind": "hr", "type": typ, "employee_id": raw_id, "team_id": team, **fields}
    return "events.hr", raw_id, json.dumps(ev).encode()


def _review(customer: str, at: datetime, text: str) -> tuple[str, str, bytes]:
    ev = {"schema_version": 1, "event_id": uuid.uuid4().hex, "source": "reviews-test", "occurred_at": at.isoformat(),
          "kind": "review", "type": "review", "customer_id": customer, "rating": 2, "text": text}
    return "events.review", customer, json.dumps(ev).encode()


def _history(raw_id: str, team: str, start: datetime) -> list[tuple[str, str, bytes]]:
    """A hire, then weeks of pulse answers and comments: predictions that wait for a label."""
    out = [_hr(raw_id, team, start, "hire", consent=True)]
    for day in range(1, 15):
        at = start + timedelta(days=day)
        out.append(_hr(raw_id, team, at, "pulse", question="workload", score=2,
                       text="Too many late nights this sprint, I am exhausted"))
        out.append(_hr(raw_id, team, at + timedelta(hours=1), "overtime", hours=9.0))
    out.append(_hr(raw_id, team, start + timedelta(days=15), "enps", score=3))
    return out


def forget(p: Pipeline, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULSEWIRE_BROKER_URL": f"kafka://{p.bootstrap}", "PULSEWIRE_PSEUDONYM_KEY": key or p.key,
           "PULSEWIRE_DATA_DIR": str(p.data_dir), **p.env()}
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "forget", *args, "--by", "hr-admin",
                           "--timeout", "180"], capture_output=True, text=True, timeout=240, env=env)


def _scan(p: Pipeline, needles: list[str]) -> dict[str, list[str]]:
    """Which tables hold a row that contains each needle (every stored table, every column but
    aggregate states, which hold hashes of ids, never ids)."""
    cols = p.query(c="SELECT table, groupArray(name) AS names FROM system.columns WHERE database = currentDatabase() "
                     "AND table IN (SELECT name FROM system.tables WHERE database = currentDatabase() "
                     "AND engine LIKE '%MergeTree') AND type NOT LIKE 'AggregateFunction%' GROUP BY table")["c"]
    dumps = {t: [json.dumps(r, default=str) for r in rows] for t, rows in p.query(
        **{c["table"]: f"SELECT {', '.join(f'`{n}`' for n in c['names'])} FROM {c['table']}" for c in cols}).items()}
    return {n: sorted(t for t, rows in dumps.items() if any(n in r for r in rows)) for n in needles}


def _drain(p: Pipeline, topics: list[str], timeout_s: float = 120.0) -> None:
    """Wait until the worker's group has read everything on ``topics`` (the learner, metrics, erasure)."""
    from pulsewire.streams.progress import ProgressReader

    reader = ProgressReader(p.bootstrap, p.group, [p.topic(t) for t in topics])
    try:
        deadline = time.monotonic() + timeout_s
        while reader.read().total_lag:
            assert time.monotonic() < deadline, f"{topics} not drained\n{p.log_tail()}"
            time.sleep(0.5)
    finally:
        reader.close()


def test_forget_erases_rows_and_state_once_and_records_it_without_the_id(pipeline):
    tag = uuid.uuid4().hex[:8]
    erased, other, customer, team = f"EMP-{tag}-1", f"EMP-{tag}-2", f"CUS-{tag}", f"team-{tag}"
    pseudonym = KeyRing(pipeline.key.encode()).pseudonymise(erased)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=40)
    items = _history(erased, team, start) + _history(other, team, start)
    items += [_review(customer, start + timedelta(days=d), "Support never answered, I want a refund")
              for d in range(1, 6)]
    colleagues = [f"EMP-{tag}-c{i}" for i in range(5)]  # with the two above, 7 eNPS respondents in the team
    for c in colleagues:
        items += [_hr(c, team, start, "hire"), _hr(c, team, start + timedelta(days=15), "enps", score=9)]
    pipeline.start()
    pipeline.produce(items)
    pipeline.wait_processed(len(items))
    _drain(pipeline, ["learn.burnout", "signals.metrics"])

    first = forget(pipeline, "--employee", erased, "--json")
    assert first.returncode == 0, first.stderr
    receipt = json.loads(first.stdout)
    assert receipt["rows_removed"]["events_scored"] == 30 and receipt["rows_removed"]["predictions"] >= 29
    assert receipt["rows_removed"]["risk_latest"] >= 1
    assert "entity-features" in receipt["state_removed"]
    assert f"dimension-metrics:team:{team}" in receipt["state_removed"]
    again = forget(pipeline, "--employee", erased)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing left to erase for this employee: no rows, no state (erased before: 1 time)")
    cust = forget(pipeline, "--customer", customer, "--json")
    assert cust.returncode == 0 and json.loads(cust.stdout)["rows_removed"]["events_scored"] == 5, cust.stderr
    for res in (first, again, cust):
        assert erased not in res.stdout + res.stderr and pseudonym not in res.stdout + res.stderr
        assert customer not in res.stdout + res.stderr
    # a replayed request (at-least-once) is not carried out again: its stored record is the receipt
    requests = read_topics(pipeline.bootstrap, [pipeline.topic("privacy.erasure")])
    first_request = next(r for r in requests if json.loads(r.value)["request_id"] == receipt["request_id"])
    pipeline.produce([("privacy.erasure", first_request.key.decode(), first_request.value)])
    _drain(pipeline, ["privacy.erasure", "signals.metrics"])
    receipts = [json.loads(r.value) for r in read_topics(pipeline.bootstrap, [pipeline.topic("privacy.erasure.receipts")])]
    assert [r["rows_total"] for r in receipts if r["request_id"] == receipt["request_id"]] == [receipt["rows_total"]] * 2
    assert pipeline.stop() == 0

    # no table holds a row that names them; the other employee's rows are all there
    other_pseudonym = KeyRing(pipeline.key.encode()).pseudonymise(other)
    found = _scan(pipeline, [erased, pseudonym, customer, other_pseudonym])
    assert found[erased] == found[pseudonym] == found[customer] == [], found
    assert {"events_scored", "predictions", "risk_latest"} <= set(found[other_pseudonym]), found
    audit = pipeline.query(a="SELECT * FROM erasures ORDER BY erased_at")["a"]
    assert [(a["subject_type"], int(a["rows_total"]) > 0, int(a["earlier_erasures"]), a["requested_by"])
            for a in audit] == [("employee", True, 0, "hr-admin"), ("employee", False, 1, "hr-admin"),
                                ("customer", True, 0, "hr-admin")]
    assert audit[0]["subject_hash"] == audit[1]["subject_hash"] != audit[2]["subject_hash"]

    # a restart rebuilds the tables from their changelogs: the tombstone keeps the erased state gone.
    # A burnout label now joins the pending predictions of whoever still has state: the other
    # employee gets training examples, the erased one starts from nothing and gets none.
    pipeline.start()
    label_at = start + timedelta(days=20)
    late = [_hr(erased, team, label_at, "pulse", question="burnout", score=5),
            _hr(other, team, label_at, "pulse", question="burnout", score=5),
            _hr(colleagues[0], team, label_at, "enps", score=10)]
    pipeline.produce(late)
    pipeline.wait_processed(len(items) + len(late))
    _drain(pipeline, ["learn.burnout", "signals.metrics", "privacy.erasure"])
    assert pipeline.stop() == 0
    got = pipeline.query(
        ex="SELECT entity_id, count() AS n FROM learn_examples GROUP BY entity_id",
        ev="SELECT count() AS n FROM events_scored FINAL WHERE employee_id = {p}".replace("{p}", f"'{pseudonym}'"),
        enps=f"SELECT n FROM metrics_daily FINAL WHERE metric = 'enps' AND dimension = 'team' "
             f"AND dimension_value = '{team}' AND day = '{label_at.date().isoformat()}'")
    examples = {r["entity_id"]: int(r["n"]) for r in got["ex"]}
    assert examples.get(other_pseudonym, 0) > 0, examples
    assert examples.get(pseudonym, 0) == 0, examples
    assert int(got["ev"][0]["n"]) == 1  # their new event is processed as a new person's
    # the team's eNPS over the 28-day window no longer counts their answer (7 respondents before)
    assert [int(r["n"]) for r in got["enps"]] == [6], got["enps"]


def test_forget_without_a_running_worker_says_so_in_one_line(broker, namespace, tmp_path, pseudonym_key):
    p = Pipeline(broker, namespace, tmp_path, pseudonym_key)
    try:
        env = {**os.environ, "PULSEWIRE_BROKER_URL": f"kafka://{broker}", "PULSEWIRE_PSEUDONYM_KEY": pseudonym_key,
               **p.env()}
        res = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "forget", "--customer", "CUS-7",
                              "--by", "dpo", "--timeout", "3"], capture_output=True, text=True, timeout=120, env=env)
    finally:
        p.close()
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no worker answered within 3 s"), lines
    assert f"stays on {namespace}privacy.erasure" in lines[0] and "CUS-7" not in lines[0]


def test_forget_with_another_key_or_an_unknown_id_erases_and_records_nothing_and_says_so(pipeline):
    tag = uuid.uuid4().hex[:8]
    person, team = f"EMP-{tag}", f"team-{tag}"
    pseudonym = KeyRing(pipeline.key.encode()).pseudonymise(person)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=10)
    items = [_hr(person, team, start, "hire", consent=True),
             _hr(person, team, start + timedelta(days=1), "pulse", question="workload", score=2, text="Tired")]
    pipeline.start()
    pipeline.produce(items)
    pipeline.wait_processed(len(items))

    wrong = forget(pipeline, "--employee", person, key="wrongkeywrongkey1234")
    assert wrong.returncode == 2 and wrong.stdout == "", (wrong.stdout, wrong.stderr)
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1 and "another PULSEWIRE_PSEUDONYM_KEY" in lines[0] and "nothing was erased" in lines[0]
    unknown = forget(pipeline, "--employee", f"EMP-{tag}-nobody", "--json")
    assert unknown.returncode == 3, (unknown.stdout, unknown.stderr)
    assert json.loads(unknown.stdout)["state_removed"] == []
    assert unknown.stderr.strip() == "error: " + (
        "no data found for this id under this key: check the id (nothing erased, nothing recorded; "
        f"request {json.loads(unknown.stdout)['request_id']})")
    assert pipeline.stop() == 0
    got = pipeline.query(a="SELECT count() AS n FROM erasures",
                         ev=f"SELECT count() AS n FROM events_scored FINAL WHERE employee_id = '{pseudonym}'")
    assert int(got["a"][0]["n"]) == 0 and int(got["ev"][0]["n"]) == 2, got
