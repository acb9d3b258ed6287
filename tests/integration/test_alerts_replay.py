"""Alerts a CRM can rely on, through the real pipeline: a replay adds no alert id; headers; the docs' consumer.

The generator's events go through a ``pulsewire worker``; then the worker restarts (its entity states
come back from the changelog) and the same events are sent again, as a new connector instance without
a cursor would send them (same event ids). The alert topics are read with kafka-python.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from pulsewire.streams.topics import ALERT_TOPICS as ALERT_SPECS

from ..connectors.conftest import read_topics
from .conftest import Pipeline, generated

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ALERT_TOPICS = [spec.name for spec in ALERT_SPECS]


def read_alerts(p: Pipeline, timeout_s: float = 30.0) -> list:
    return read_topics(p.bootstrap, [p.topic(t) for t in ALERT_TOPICS], timeout_s)


def settled_alerts(p: Pipeline, quiet_s: float = 8.0, timeout_s: float = 120.0) -> list:
    """The alert records once their number has not changed for ``quiet_s`` (the metrics agent's spike
    alerts come after the features agent's)."""
    deadline, last, since = time.monotonic() + timeout_s, None, time.monotonic()
    while time.monotonic() < deadline:
        recs = read_alerts(p)
        if last is None or len(recs) != len(last):
            last, since = recs, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return recs
        time.sleep(1.0)
    raise AssertionError("alert topics did not settle")


def consumer_code() -> str:
    text = (ROOT / "docs" / "alerts.md").read_text()
    section = text.split("## A consumer", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_replay_adds_no_alert_and_the_documented_consumer_validates_every_record(pipeline, monkeypatch):
    items = generated(5000, seed=11)
    base_env = pipeline.env
    # alerts from the first event on (no warm-up), at low thresholds, so a short stream has many of both
    # kinds whatever model versions the timing gives (the churn hold stays on: its state is replayed too)
    pipeline.env = lambda: {**base_env(), "PULSEWIRE_LEARN_MIN_POSITIVES_TO_ALERT": "0",
                            "PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.3", "PULSEWIRE_LEARN_CHURN_ACTIVITY_THRESHOLD": "0.2",
                            "PULSEWIRE_LEARN_BURNOUT_THRESHOLD": "0.3", "PULSEWIRE_LEARN_BURNOUT_CONFIRM": "1"}
    pipeline.start()
    pipeline.produce(items)
    pipeline.wait_processed(len(items))
    first = settled_alerts(pipeline)
    ids = {json.loads(r.value)["id"] for r in first}
    kinds = {r.topic.removeprefix(pipeline.prefix) for r in first}
    # (22-45 alerts in runs on 2 cores: which model version each event meets depends on timing)
    assert len(ids) >= 10 and {"alerts.churn", "alerts.burnout"} <= kinds, (len(ids), kinds)
    for r in first:
        assert dict(r.headers).get("content-type") == b"application/cloudevents+json", r.headers
        assert r.key == json.loads(r.value)["subject"].encode()

    # the consumer block of docs/alerts.md, as written, on these records and the committed schemas
    monkeypatch.setenv("KAFKA_BOOTSTRAP", pipeline.bootstrap)
    monkeypatch.setenv("PULSEWIRE_TOPIC_PREFIX", pipeline.prefix)
    monkeypatch.setenv("PULSEWIRE_SCHEMAS", str(ROOT / "schemas" / "json"))
    monkeypatch.setenv("CRM_GROUP", pipeline.prefix + "crm")
    monkeypatch.setenv("IDLE_MS", "15000")
    ns: dict = {}
    exec(compile(consumer_code(), "docs/alerts.md", "exec"), ns)
    assert ns["rejected"] == [] and ns["handled"] == ids
    # the consumer left its group: the next sync run of that group gets partitions (on the embedded
    # broker, a member that never left blocks its group for good)
    from kafka import KafkaConsumer

    with KafkaConsumer(*(pipeline.topic(t) for t in ALERT_TOPICS), bootstrap_servers=pipeline.bootstrap,
                       group_id=pipeline.prefix + "crm", enable_auto_commit=False) as again:
        deadline = time.monotonic() + 60
        while not again.assignment() and time.monotonic() < deadline:
            again.poll(timeout_ms=500)
        assert again.assignment(), "the documented consumer's group is blocked after it ran"

    # restart the worker (states come back from the changelog), then the same events again
    assert pipeline.stop() == 0
    pipeline.start()
    pipeline.produce(items)
    pipeline.wait_processed(2 * len(items))
    after = settled_alerts(pipeline)
    new_ids = {json.loads(r.value)["id"] for r in after} - ids
    assert new_ids == set(), f"{len(new_ids)} new alert ids after the replay ({len(first)} -> {len(after)} records)"
    assert len(after) == len(first)


def test_a_backfill_before_go_live_sends_no_alert_for_its_history(pipeline):
    """PULSEWIRE_LEARN_ALERTS_FROM reaches both alerting agents of a real worker: the history before it
    sends nothing to the alert topics, the events after it do (tests/learners/test_alerts_from.py has
    the per-episode rules)."""
    items = generated(5000, seed=11)
    times = sorted(json.loads(v)["occurred_at"] for _, _, v in items
                   if v.startswith(b"{") and "occurred_at" in json.loads(v))
    live = times[len(times) // 2]
    base_env = pipeline.env
    pipeline.env = lambda: {**base_env(), "PULSEWIRE_LEARN_MIN_POSITIVES_TO_ALERT": "0",
                            "PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.3", "PULSEWIRE_LEARN_CHURN_ACTIVITY_THRESHOLD": "0.2",
                            "PULSEWIRE_LEARN_BURNOUT_THRESHOLD": "0.3", "PULSEWIRE_LEARN_BURNOUT_CONFIRM": "1",
                            "PULSEWIRE_LEARN_ALERTS_FROM": live}
    pipeline.start()
    pipeline.produce(items)
    pipeline.wait_processed(len(items))
    alerts = [json.loads(r.value) for r in settled_alerts(pipeline)]
    early = [a["time"] for a in alerts if datetime.fromisoformat(a["time"]) < datetime.fromisoformat(live)]
    assert early == [], f"{len(early)} alerts for the history before {live}"
    assert len(alerts) >= 5, len(alerts)
    start_log = (pipeline.data_dir / "worker.log").read_text(errors="replace")
    assert f"WARNING pulsewire: alerts: events before {live} alert nobody" in start_log  # the operator is told
