"""A real pipeline for integration tests: a worker subprocess on the ``broker`` fixture.

Each test gets its own topic prefix and consumer group (``namespace``) and its
own data directory, so tests never see each other's data, on the embedded
broker and on real Kafka alike. The store is read from a subprocess because
chDB allows one store path per process (and the worker owns it while running).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pulsewire.streams.demo import start_worker, stop_process

from ..conftest import BROKER_KINDS
from pulsewire.streams.progress import ProgressReader
from pulsewire.streams.topics import EVENT_TOPICS, TopicMap, ensure_topics

READ_STORE = """
import json, sys
from pulsewire.streams.store import open_store
with open_store(sys.argv[1]) as s:
    print(json.dumps({name: s.query_dicts(sql) for name, sql in json.loads(sys.argv[2]).items()}, default=str))
"""


class Pipeline:
    def __init__(self, bootstrap: str, namespace: str, data_dir: Path, key: str, partitions: int = 4):
        self.bootstrap, self.prefix, self.data_dir, self.key = bootstrap, namespace, data_dir, key
        self.group = namespace.rstrip(".")
        self.partitions = partitions
        self.topics = TopicMap(prefix=namespace, group=self.group, default_partitions=partitions)
        self.worker: subprocess.Popen | None = None
        ensure_topics(bootstrap, self.topics)
        self.reader = ProgressReader(bootstrap, self.group,
                                     [self.topic(t) for t in ("scored.text", "events.dlq", "events.valid")]
                                     + self.topics.names(EVENT_TOPICS))

    def topic(self, name: str) -> str:
        return self.topics.name(name)

    def env(self) -> dict:
        return {"PULSEWIRE_APP_ID": self.group, "PULSEWIRE_TOPIC_PREFIX": self.prefix,
                "PULSEWIRE_TOPIC_PARTITIONS": str(self.partitions), "PULSEWIRE_SCORE_BATCH_SIZE": "32",
                "PULSEWIRE_SINK_BATCH_SIZE": "200", "PULSEWIRE_SESSION_TIMEOUT_S": "6",
                "PULSEWIRE_SIGNALS_ENABLED": os.environ.get("PULSEWIRE_TEST_SIGNALS", "true")}

    def start(self) -> None:
        self.worker = start_worker(self.bootstrap, self.data_dir, self.key, self.env())

    def produce(self, items: list[tuple[str, str, bytes]]) -> None:
        """items: (logical topic, key, raw value bytes)."""
        from kafka import KafkaProducer

        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        for topic, key, value in items:
            p.send(self.topic(topic), key=key.encode(), value=value)
        p.flush(timeout=60)
        p.close()

    def processed(self) -> int:
        prog = self.reader.read()
        return prog.done(self.topic("scored.text")) + prog.done(self.topic("events.dlq"))

    def wait_processed(self, at_least: int, timeout_s: float = 240.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.worker is not None and self.worker.poll() is not None:
                raise AssertionError(f"worker died ({self.worker.returncode}):\n{self.log_tail()}")
            prog = self.reader.read()
            done = prog.done(self.topic("scored.text")) + prog.done(self.topic("events.dlq"))
            if done >= at_least and prog.total_lag == 0:
                return
            time.sleep(0.5)
        self.dump_stacks()
        prog = self.reader.read()
        lags = {t: prog.lag(t) for t in prog.end if prog.lag(t)}
        raise AssertionError(f"pipeline did not finish within {timeout_s}s; lag={lags}\n"
                             f"worker warnings:\n{self.log_warnings()}\nworker log tail:\n{self.log_tail(12000)}")

    def dump_stacks(self) -> None:
        """mode's worker logs every task's stack on SIGUSR1: the best clue when a worker stalls."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGUSR1)
            time.sleep(3)

    def wait_progress(self, at_least: int, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.processed() < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"no progress to {at_least}\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> int:
        rc = stop_process(self.worker) if self.worker else 0
        self.worker = None
        return rc

    def kill(self) -> None:
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=30)
        self.worker = None

    def query(self, **sql: str) -> dict[str, list[dict]]:
        assert self.worker is None, "stop the worker first: it owns the chDB store"
        url = f"chdb://{(self.data_dir / 'clickhouse').resolve()}"
        r = subprocess.run([sys.executable, "-c", READ_STORE, url, json.dumps(sql)], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads(r.stdout.strip().splitlines()[-1])

    def log_tail(self, n: int = 4000) -> str:
        log = self.data_dir / "worker.log"
        return log.read_text(errors="replace")[-n:] if log.exists() else "(no worker log)"

    def log_warnings(self, n: int = 60) -> str:
        """The worker's WARNING and ERROR lines: the tail alone is mostly the stack dump."""
        log = self.data_dir / "worker.log"
        if not log.exists():
            return "(no worker log)"
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if "[WARNING]" in ln or "[ERROR]" in ln]
        return "\n".join(lines[-n:])

    def close(self) -> None:
        if self.worker is not None:
            stop_process(self.worker)
        self.reader.close()


class CrashableBroker:
    """A broker for crash tests. noida-db 0.2.3 never evicts a consumer-group member that died
    without leaving (measured: a new member waits forever), so after a SIGKILL the embedded
    broker is restarted on the same port and data (groups reset, committed offsets kept).
    Real Kafka evicts the dead member after the session timeout: nothing to do there."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind, self.embedded = kind, None
        if kind == "kafka":
            from ..conftest import REAL_KAFKA

            self.bootstrap = REAL_KAFKA
        else:
            from pulsewire.infra.broker.embedded import EmbeddedBroker

            self.embedded = EmbeddedBroker(tmp_path / "crash-broker")
            self.bootstrap = self.embedded.start()

    def after_worker_crash(self) -> None:
        if self.embedded is not None:
            from pulsewire.infra.broker.embedded import EmbeddedBroker

            port = self.embedded.port
            self.embedded.stop()
            self.embedded = EmbeddedBroker(self.embedded.data_dir, port=port)
            self.embedded.start()

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


@pytest.fixture(params=BROKER_KINDS)
def crash_pipeline(request, namespace, tmp_path, pseudonym_key):
    broker = CrashableBroker(request.param, tmp_path)
    p = Pipeline(broker.bootstrap, namespace, tmp_path / "data", pseudonym_key)
    p.data_dir.mkdir()
    p.broker = broker
    yield p
    p.close()
    broker.close()


@pytest.fixture
def pipeline(broker, namespace, tmp_path, pseudonym_key):
    p = Pipeline(broker, namespace, tmp_path / "data", pseudonym_key)
    p.data_dir.mkdir()
    yield p
    p.close()


def generated(n: int, seed: int = 11, bad_rate: float = 0.0):
    """n generator records as (topic, key, bytes)."""
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=seed, bad_record_rate=bad_rate))
    out = []
    for rec in sim.records(limit=n):
        value = rec if isinstance(rec, bytes) else json.dumps(rec).encode()
        out.append((sim.topic_for(rec), sim.key_for(rec), value))
    return out


os.environ.setdefault("PYTHONUNBUFFERED", "1")
