"""Two workers, one learner: same model version everywhere, labels from every partition, restart survives.

Runs the real worker command twice (different data dirs: chDB is one process per store)
against an embedded broker of its own, on a small generated SMB:

phase 1: both workers run; every customer/employee gets predictions.
then worker A stops (its partitions, feature tables included, move to B).
phase 2: the rest of the events, labels included: labels for entities predicted on A's
partitions in phase 1 must still find their features (they come back from the changelog).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

pytestmark = pytest.mark.integration

KEY = "two-workers-test-key-0123456789abcdef"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "json"


def _read_store(data_dir: Path, sql: str) -> list[dict]:
    """Read a worker's chDB store from a subprocess (this process may hold another store)."""
    code = ("import json,sys; from pulsewire.streams.store import open_store; "
            f"s=open_store('chdb://{(data_dir / 'clickhouse').resolve()}'); "
            f"print(json.dumps(s.query_dicts({sql!r}), default=str)); s.close()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _drain(bootstrap, workers, timeout=300):
    from pulsewire.streams.evaluate import DRAIN_TOPICS
    from pulsewire.streams.progress import ProgressReader

    reader = ProgressReader(bootstrap, "pulsewire", DRAIN_TOPICS)
    try:
        deadline, quiet = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            for w in workers:
                assert w.poll() is None, "a worker died; see its worker.log"
            p = reader.read()
            if sum(max(0, p.lag(t)) for t in DRAIN_TOPICS) == 0 and p.done("scored.text") > 0:
                quiet = quiet or time.monotonic()
                if time.monotonic() - quiet > 5:
                    return
            else:
                quiet = None
            time.sleep(1)
        raise AssertionError("pipeline did not drain in time")
    finally:
        reader.close()


def _loaded_versions(log: Path) -> dict[str, int]:
    out = {}
    for name, v in re.findall(r"(?:loaded|published) model (churn|burnout)-v(\d+)-n\d+",
                              log.read_text(errors="replace")):
        out[name] = max(out.get(name, 0), int(v))
    return out


def _wait_log(path: Path, needle: str, proc, timeout=180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited; see {path}"
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} not in {path} after {timeout}s")


def _newest(snaps) -> dict[str, int]:
    newest: dict[str, int] = {}
    for m in snaps:
        env_ = json.loads(m.value)
        newest[env_["name"]] = max(newest.get(env_["name"], 0), env_["version"])
    return newest


def _topic_values(bootstrap, topic):
    from kafka import KafkaConsumer

    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=3000, group_id=None)
    try:
        return [m for m in c]
    finally:
        c.close()


def test_two_workers_one_learner(tmp_path):
    from pulsewire.infra.broker.embedded import EmbeddedBroker
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation
    from pulsewire.streams.demo import produce, start_worker, stop_process
    from pulsewire.streams.topics import TopicMap, ensure_topics

    sim = SmbSimulation(GeneratorConfig(seed=3, customers=40, employees=12, teams=2, weeks=14))
    records = [r for r in sim.records(limit=4000)]
    cut = int(len(records) * 0.55)
    env = {"PULSEWIRE_LEARN_MIN_POSITIVES_TO_ALERT": "3", "PULSEWIRE_SCORE_BATCH_SIZE": "128"}
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    with EmbeddedBroker(tmp_path / "broker") as broker:
        bootstrap = broker.bootstrap
        ensure_topics(bootstrap, TopicMap())
        a = start_worker(bootstrap, dirs[0], KEY, env)
        b = None
        try:
            _wait_log(dirs[0] / "worker.log", "Worker]: Ready", a)  # staggered: one group join at a time
            b = start_worker(bootstrap, dirs[1], KEY, env)
            _wait_log(dirs[1] / "worker.log", "Worker]: Ready", b)
            time.sleep(3)  # both in the group before data arrives, so partitions are split between them
            produce(bootstrap, records[:cut], sim.topic_for, sim.key_for)
            _drain(bootstrap, [a, b])
            time.sleep(2)
            newest1 = _newest(_topic_values(bootstrap, "models.snapshots"))
            # every worker predicts with the same model version: both hold the newest one
            assert _loaded_versions(dirs[0] / "worker.log") == newest1 == _loaded_versions(dirs[1] / "worker.log")
            assert stop_process(a, timeout_s=60) in (0, -15)
            t_cut = records[cut]["occurred_at"]
            produce(bootstrap, records[cut:], sim.topic_for, sim.key_for)
            _drain(bootstrap, [b])
        finally:
            for w in (a, b):
                if w is not None:
                    stop_process(w, timeout_s=60)
        snaps = _topic_values(bootstrap, "models.snapshots")
        alerts = {t: _topic_values(bootstrap, f"alerts.{t}") for t in ("churn", "burnout", "sentiment")}

    # the learner published versioned snapshots; both workers loaded them
    newest = _newest(snaps)
    assert newest.get("churn", 0) >= 2 and newest.get("burnout", 0) >= 2, newest
    assert newest1.get("churn", 0) >= 1 and newest1.get("burnout", 0) >= 1, newest1
    assert _loaded_versions(dirs[1] / "worker.log") == newest  # the surviving worker ends on the newest version
    # which entities each worker predicted for in phase 1 (the partitions were split between them)
    cut_s = t_cut.replace("T", " ")[:19]
    ents_a = {r["entity_id"] for r in _read_store(dirs[0], "SELECT DISTINCT entity_id FROM predictions")}
    ents_b1 = {r["entity_id"] for r in _read_store(
        dirs[1], f"SELECT DISTINCT entity_id FROM predictions WHERE predicted_at < '{cut_s}'")}
    assert ents_a and ents_b1 and not ents_a & ents_b1
    # whichever worker held learn.* wrote learn_examples (the learner may have moved from A to B)
    ex = [r for d in dirs for r in _read_store(d, "SELECT entity_id, toString(predicted_at) AS p, "
                                                  "toString(labelled_at) AS l, learned FROM learn_examples")]
    learned_from = {r["entity_id"] for r in ex if r["learned"]}
    assert learned_from & ents_a and learned_from & ents_b1, "the learner learns labels from both workers"
    # restart between prediction and label: labels after A stopped joined predictions made on A before
    moved = [r for r in ex if r["entity_id"] in ents_a and r["p"][:19] < cut_s <= r["l"][:19]]
    assert moved, "labels after the restart must find features predicted before it"
    # every alert on the topics validates against its committed schema, keyed by its subject
    n = 0
    for kind, msgs in alerts.items():
        schema = json.loads((SCHEMAS / f"alert.{kind}.schema.json").read_text())
        for m in msgs:
            ce = json.loads(m.value)
            jsonschema.validate(ce, schema)
            assert m.key.decode() == ce["subject"]
            n += 1
    assert n > 0
