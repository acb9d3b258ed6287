"""Connectors into a real broker (embedded by default): cursor in a compacted topic, broker outages, CLI."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from pulsewire.infra.broker.embedded import EmbeddedBroker, free_port
from pulsewire.schemas.events import KINDS
from pulsewire.streams.connectors.files import Files
from pulsewire.streams.connectors.simulated import Simulated
from pulsewire.streams.sdk import runtime
from pulsewire.streams.testing import run_connector

from .conftest import REVIEWS_CSV, read_topics, stop_broker_fully

pytestmark = pytest.mark.integration
COLUMNS = {"event_id": "review_id", "text": "body", "occurred_at": "created_at"}


def ids_from(bootstrap, source, topics=("events.review",)):
    return [json.loads(r.value)["event_id"] for r in read_topics(bootstrap, list(topics))
            if json.loads(r.value).get("source") == source]


def test_files_resume_from_the_cursor_topic(broker, tmp_path):
    p = tmp_path / "reviews.csv"
    p.write_text(REVIEWS_CSV + "rv-1005,cust-1,x,t,bad rating,2026-10-06T00:00:00Z,web\n")
    make = lambda: Files({"path": str(p), "source": "kafka-resume", "instance": "kafka-resume", "columns": COLUMNS})
    stats = runtime.run(make(), broker)
    assert (stats.events, stats.dead_letters) == (4, 1)
    runtime.run(make(), broker)  # nothing new: the cursor was read back from connectors.cursors
    with open(p, "a") as f:
        f.write("rv-1006,cust-2,5,t,late addition,2026-10-07T00:00:00Z,web\n")
    assert runtime.run(make(), broker).events == 1
    assert sorted(ids_from(broker, "kafka-resume")) == [f"kafka-resume:rv-100{i}" for i in (1, 2, 3, 4, 6)]
    dls = [json.loads(r.value) for r in read_topics(broker, ["events.dlq"]) if r.key == b"kafka-resume"]
    assert [d["reason"] for d in dls] == ["wrong_type"]


def test_broker_down_before_start_and_mid_run_loses_nothing(tmp_path, caplog):
    """Start the connector before the broker is up, then stop and restart the broker mid-run."""
    port, data = free_port(), tmp_path / "broker"
    bootstrap = f"127.0.0.1:{port}"
    cfg = {"events": 2000, "seed": 11, "rate_per_s": 800, "instance": "outage"}
    expected = [e.event_id for e in run_connector(Simulated(cfg)).events]
    result, broker = {}, EmbeddedBroker(data, port=port)
    t = threading.Thread(target=lambda: result.update(stats=runtime.run(Simulated(cfg), bootstrap)))
    t.start()
    try:
        time.sleep(1.0)
        broker.start()
        time.sleep(1.0)
        stop_broker_fully(broker)  # mid-run: the connector waits and retries
        assert t.is_alive(), "the outage should happen mid-run"
        time.sleep(1.5)
        broker.start()
        t.join(60)
        assert not t.is_alive() and result["stats"].events == len(expected)
        got = ids_from(bootstrap, "generator", [f"events.{k}" for k in KINDS])
        assert set(got) == set(expected)  # no loss; a replayed batch keeps its event_ids
    finally:
        stop_broker_fully(broker)
    assert "ECONNREFUSED" in caplog.text  # the broker really was away while the connector ran


def test_webhook_answers_after_the_event_is_on_the_broker(broker, monkeypatch):
    import urllib.request

    from pulsewire.streams.connectors.webhook import Webhook, sign

    from .test_webhook import SLACK_MESSAGE

    monkeypatch.setenv("SLACK_SECRET_K", "k" * 20)
    hook = Webhook({"port": 0, "instance": "hook-k", "routes": [{"provider": "slack", "secret_env": "SLACK_SECRET_K",
                                                                 "source": "slack-k"}]})
    stop = threading.Event()
    t = threading.Thread(target=runtime.run, args=(hook, broker), kwargs={"stop": stop})
    t.start()
    try:
        while not hook.port:
            time.sleep(0.02)
        body = json.dumps(SLACK_MESSAGE).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{hook.port}/slack", data=body,
                                     headers=sign("slack", "k" * 20, body))
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert resp.status == 200
        assert ids_from(broker, "slack-k", ["events.chat"]) == ["slack:Ev08MFMKH6"]
    finally:
        stop.set()
        t.join(10)


def _cli(args, broker, timeout=60):
    env = {**os.environ, "PULSEWIRE_BROKER_URL": f"kafka://{broker}"}
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_cli_connect(broker, tmp_path):
    p = tmp_path / "reviews.csv"
    p.write_text(REVIEWS_CSV)
    cfg = tmp_path / "reviews.toml"
    cfg.write_text(f'path = "{p}"\nsource = "cli-shop"\ninstance = "cli-shop"\n\n[columns]\n'
                   'event_id = "review_id"\ntext = "body"\noccurred_at = "created_at"\n')
    r = _cli(["connect", "files", "--config", str(cfg)], broker)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["events"] == 4
    p.write_text(REVIEWS_CSV.replace("customer_id", "client"))
    (tmp_path / "other.toml").write_text(cfg.read_text().replace("cli-shop", "cli-shop-2"))
    r = _cli(["connect", "files", "--config", str(tmp_path / "other.toml")], broker)
    assert r.returncode == 1 and "missing column(s) 'customer_id'" in r.stderr
    (tmp_path / "bad.json").write_text(json.dumps({"path": "x.csv", "delimeter": ";"}))
    r = _cli(["connect", "files", "--config", str(tmp_path / "bad.json")], broker)
    assert r.returncode == 2 and "delimeter" in r.stderr
    r = _cli(["connect", "nope", "--config", str(cfg)], broker)
    assert r.returncode == 2 and "no connector named 'nope'" in r.stderr
