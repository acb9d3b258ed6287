"""A prefixed tenant: `pulsewire topics`, `pulsewire connect`, the worker, demo and evaluate all use
the topic map built from the settings (prefix and consumer group), so events reach the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pulsewire.streams.topics import ALL_TOPICS

from ..connectors.conftest import REVIEWS_CSV, read_topics
from .conftest import Pipeline

pytestmark = pytest.mark.integration


def _cli(args, env, timeout=90):
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout)


def test_topics_connect_and_worker_agree_on_a_prefix_from_the_config_file(broker, namespace, tmp_path,
                                                                          pseudonym_key):
    group = namespace.rstrip(".")
    config = tmp_path / "pulsewire.env"  # the prefix comes from PULSEWIRE_CONFIG, not the environment
    config.write_text(f"PULSEWIRE_TOPIC_PREFIX={namespace}\nPULSEWIRE_APP_ID={group}\n"
                      f"PULSEWIRE_BROKER_URL=kafka://{broker}\n")
    env = {"PULSEWIRE_CONFIG": str(config)}

    r = _cli(["topics"], env)
    assert r.returncode == 0, r.stderr
    listed = [line.split()[1] for line in r.stdout.splitlines()]
    assert listed == [namespace + t.name for t in ALL_TOPICS]
    assert all(line.startswith("created") for line in r.stdout.splitlines())

    csv = tmp_path / "reviews.csv"
    csv.write_text(REVIEWS_CSV)
    cfg = tmp_path / "reviews.toml"
    cfg.write_text(f'path = "{csv}"\nsource = "tenant-shop"\ninstance = "tenant-shop"\n\n[columns]\n'
                   'event_id = "review_id"\ntext = "body"\noccurred_at = "created_at"\n')
    r = _cli(["connect", "files", "--config", str(cfg)], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["events"] == 4
    cursors = read_topics(broker, [namespace + "connectors.cursors"])
    assert [c.key for c in cursors] == [b"tenant-shop"]
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker)
    unprefixed = "events.review" in admin.list_topics()
    admin.close()
    assert not unprefixed or not [m for m in read_topics(broker, ["events.review"]) if b"tenant-shop" in m.value]

    pipeline = Pipeline(broker, namespace, tmp_path / "data", pseudonym_key)
    pipeline.data_dir.mkdir()
    try:
        pipeline.start()
        pipeline.wait_processed(4, timeout_s=180)
        pipeline.stop()
        r = pipeline.query(rows="SELECT event_id FROM events_scored FINAL WHERE source = 'tenant-shop' "
                                "ORDER BY event_id")
        assert [row["event_id"] for row in r["rows"]] == [f"tenant-shop:rv-100{i}" for i in (1, 2, 3, 4)]
    finally:
        pipeline.close()


def test_demo_uses_the_prefix_and_group_from_the_settings(monkeypatch, namespace, tmp_path):
    from pulsewire.streams.demo import DemoOptions, run_demo

    monkeypatch.setenv("PULSEWIRE_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("PULSEWIRE_APP_ID", "tenant-" + namespace.rstrip("."))
    from datetime import datetime, timezone

    from pulsewire.streams.connectors.generator import recent_start

    before = recent_start(datetime.now(timezone.utc))
    summary = run_demo(DemoOptions(events=80, seed=3, data_dir=tmp_path / "demo", bad_rate=0.0,
                                   stall_timeout_s=90, show_progress=False))
    # the demo's simulated weeks end in the week before the run, whatever today's date
    assert summary["start"] in (before, recent_start(datetime.now(timezone.utc)))
    assert summary["events_sent"] == 80
    # the generator sends activity events too; they are stored apart (activity_events / activity_daily)
    assert summary["activity_events"] > 0
    assert summary["stored_events"] + summary["activity_events"] + summary["dead_letters"] == 80


def test_evaluate_uses_the_group_from_the_settings(monkeypatch, namespace, tmp_path):
    from pulsewire.streams.evaluate import EvalOptions, run_pipeline

    monkeypatch.setenv("PULSEWIRE_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("PULSEWIRE_APP_ID", "tenant-" + namespace.rstrip("."))
    fig = run_pipeline(EvalOptions(events=300, seed=3, data_dir=tmp_path / "eval", stall_timeout_s=90,
                                   show_progress=False))
    assert fig["run"]["events"] == 300
