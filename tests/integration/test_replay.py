"""``pulsewire replay`` into a running worker: the file's events land once, its bad lines are dead letters,
and replaying it again (lag-paced or with --speed) changes nothing a consumer can see.
``pulsewire generate`` → ``pulsewire evaluate --input --truth`` gives the figures of ``pulsewire evaluate -n``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration

PULSEWIRE = [sys.executable, "-m", "pulsewire.streams.cli"]
TEXTS = ["The new dashboard is great", "Support never answered my ticket", "Billing was wrong again",
         "Thanks, that fixed it", "I am thinking about cancelling"]


def replay_file(path) -> tuple[int, list[str]]:
    """Canonical events over the last two days, out of order, with four bad lines; (text events, bad reasons)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def at(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat()

    good = []
    for i in range(10):
        good.append({"event_id": f"rpi-rev-{i}", "source": "itest-replay", "kind": "review",
                     "occurred_at": at(40 - 3 * i), "customer_id": f"c-rpi-{i % 4}", "rating": 1 + i % 5,
                     "text": TEXTS[i % len(TEXTS)]})
    for i in range(4):
        good.append({"event_id": f"rpi-chat-{i}", "source": "itest-replay", "kind": "chat", "type": "message",
                     "occurred_at": at(20 + i), "conversation_id": f"conv-{i}", "author_role": "customer",
                     "customer_id": f"c-rpi-{i}", "text": TEXTS[(i + 2) % len(TEXTS)]})
    for i in range(3):
        good.append({"event_id": f"rpi-hr-{i}", "source": "itest-replay", "kind": "hr", "type": "pulse",
                     "occurred_at": at(30 - i), "employee_id": "emp-rpi-1", "team_id": "team-rpi",
                     "question": "workload", "score": 2 + i})
    good.append({"event_id": "rpi-acc-0", "source": "itest-replay", "kind": "account", "type": "plan_change",
                  "occurred_at": at(5), "customer_id": "c-rpi-1", "plan": "starter", "previous_plan": "growth"})
    activity = [{"event_id": f"rpi-act-{i}", "source": "itest-replay", "kind": "activity", "type": "login",
                 "occurred_at": at(10 + i), "customer_id": f"c-rpi-{i}"} for i in range(2)]
    bad = ["{oops", json.dumps({"event_id": "rpi-bad-1", "kind": "survey", "occurred_at": at(3)}),
           json.dumps({"event_id": "rpi-bad-2", "kind": "review", "customer_id": "c-rpi-1", "text": "no time"}),
           json.dumps({**good[0], "event_id": "rpi-bad-3", "rating": "5"})]  # routable: the validator refuses it
    lines = [json.dumps(e) for e in reversed(good + activity)] + bad
    path.write_text("\n".join(lines) + "\n")
    return len(good), ["malformed_json", "unknown_kind", "missing_field", "wrong_type"]


def run_replay(pipeline, path, *args):
    env = {**os.environ, **pipeline.env(), "PULSEWIRE_BROKER_URL": f"kafka://{pipeline.bootstrap}", "COLUMNS": "200"}
    return subprocess.run([*PULSEWIRE, "replay", str(path), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_a_replayed_file_lands_once_and_replaying_it_again_changes_nothing(pipeline, tmp_path):
    path = tmp_path / "events.jsonl"
    n_good, bad_reasons = replay_file(path)
    # no worker yet: the lag-paced replay produces what fits under --max-lag, then says nobody consumes
    stalled = run_replay(pipeline, path, "--max-lag", "1", "--stall-timeout", "3")
    assert stalled.returncode == 1 and "consumed nothing" in stalled.stderr and "Traceback" not in stalled.stderr

    pipeline.start()
    first = run_replay(pipeline, path, "--as-fast-as-possible", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["produced"] == {"review": 11, "chat": 4, "hr": 3, "account": 1, "activity": 2}
    assert {r: d["lines"] for r, d in report["dead_lettered"].items()} == {
        "malformed_json": [21], "unknown_kind": [22], "missing_field": [23]}
    pipeline.wait_processed(2 * (n_good + len(bad_reasons)))
    again = run_replay(pipeline, path, "--speed", "1000000")
    assert again.returncode == 0, again.stderr
    assert "produced 21 events" in again.stdout and "dead-lettered 1 lines (unknown_kind): line 22" in again.stdout
    pipeline.wait_processed(3 * (n_good + len(bad_reasons)))
    assert pipeline.stop() in (0, -15)

    r = pipeline.query(
        rows="SELECT event_id, count() AS n FROM events_scored WHERE source = 'itest-replay' AND kind != 'activity' "
             "GROUP BY event_id",
        employees="SELECT DISTINCT employee_id FROM events_scored WHERE source = 'itest-replay' AND kind = 'hr'",
        dead="SELECT reason, stage FROM dead_letters FINAL WHERE stage = 'replay:events.jsonl' "
             "OR (stage = 'validate' AND reason = 'wrong_type')",
    )
    # every text, pulse and account event once, after three deliveries of each
    assert len(r["rows"]) == n_good and {row["n"] for row in r["rows"]} == {1}
    # the raw employee id of the file never reaches the store: the worker pseudonymised it
    assert len(r["employees"]) == 1 and r["employees"][0]["employee_id"] not in ("", "emp-rpi-1")
    assert sorted(d["reason"] for d in r["dead"]) == sorted(bad_reasons)


def _cli(*args, timeout=1800):
    return subprocess.run([*PULSEWIRE, *args], capture_output=True, text=True, timeout=timeout)


def test_evaluate_on_a_generated_file_measures_what_evaluate_generates(tmp_path):
    """Two pipeline runs (minutes). The file holds the generator's records in the same order (unit test:
    test_generate_writes_what_evaluate_generates) and the truth file its truth, so both runs produce the
    same bytes with the same keys. The figures are not equal to the digit: two `evaluate -n 3000 --seed 7`
    runs alone differ by a few points (measured on 2026-11-30: churn ROC AUC 0.927 and 0.914, burnout
    baseline 0.768 and 0.716; the worker's agents interleave topics and snapshot models on wall-clock
    timers). What follows from the input and the truth alone must be equal: the people, the positives among them
    (truth ids pseudonymised as the worker does, else no burnout positive would be found), the events.
    The positives counted after warm-up are not: warm-up ends when the learner has seen enough positive
    labels, and when that is depends on the same interleaving (a CI run measured 2 and 1)."""
    events, truth = tmp_path / "ev.jsonl.gz", tmp_path / "truth.json"
    assert _cli("generate", "-n", "3000", "--seed", "7", "-o", str(events), "--truth", str(truth)).returncode == 0
    runs = []
    for args in (["-n", "3000", "--seed", "7"], ["--input", str(events), "--truth", str(truth)]):
        done = _cli("evaluate", *args, "--data-dir", str(tmp_path / f"run{len(runs)}"), "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(json.loads(done.stdout))
    generated, from_file = runs
    assert from_file["run"]["events"] == generated["run"]["events"] == 3000 and from_file["run"]["skipped"] == {}
    assert from_file["burnout_population"] == generated["burnout_population"]
    for model in ("churn", "burnout"):
        assert generated[model]["entities"] == from_file[model]["entities"], model
        assert generated[model]["positive_entities"] == from_file[model]["positive_entities"] > 0, model
        for who in ("model", "baseline"):
            a, b = generated[model][who], from_file[model][who]
            assert abs(a["roc_auc"] - b["roc_auc"]) < 0.1, (model, who, a["roc_auc"], b["roc_auc"])


def test_speed_paces_by_event_time_and_cuts_long_gaps(broker, namespace, tmp_path):
    """Three reviews an hour apart, written newest first: at 3600x they take about two seconds and arrive
    oldest first; with --max-gap 0.1 the hours are cut short."""
    from kafka import KafkaConsumer

    from pulsewire.streams.replay import read_event_file, replay
    from pulsewire.streams.topics import CONNECTOR_TOPICS, TopicMap, ensure_topics

    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines = [{"event_id": f"sp-{h}", "source": "itest-speed", "kind": "review", "customer_id": "c-sp",
              "occurred_at": (now - timedelta(hours=h)).isoformat(), "text": "ok"} for h in (0, 1, 2)]
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    topics = TopicMap(prefix=namespace, group=namespace.rstrip("."))
    ensure_topics(broker, topics, specs=CONNECTOR_TOPICS)
    f = read_event_file(path)
    paced = replay(f, broker, topics, speed=3600.0)
    cut = replay(f, broker, topics, speed=3600.0, max_gap_s=0.1)
    assert 1.9 <= paced.seconds < 10 and cut.seconds < 1.5, (paced.seconds, cut.seconds)
    consumer = KafkaConsumer(topics.name("events.review"), bootstrap_servers=broker, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, group_id=None)
    got = [json.loads(r.value)["event_id"] for r in consumer]
    consumer.close()
    assert got == ["sp-2", "sp-1", "sp-0"] * 2
