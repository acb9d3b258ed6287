"""``pulsewire broker`` as an integrator runs it: start it, produce and consume through it with
kafka-python, stop it with Ctrl-C (SIGINT) or SIGTERM, and nothing it started survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PULSEWIRE = [sys.executable, "-m", "pulsewire.streams.cli"]


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, process group, state) of a live process, None once it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    state, ppid, pgrp = fields[0], int(fields[1]), int(fields[2])
    return None if state in ("Z", "X") else (ppid, pgrp, state)


def _processes() -> dict[int, tuple[int, int, str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            out[int(entry.name)] = st
    return out


def _descendants(root: int) -> set[int]:
    procs, found, todo = _processes(), set(), [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _, _) in procs.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def _using(data_dir: Path) -> set[int]:
    """Processes whose command line names the broker's data directory."""
    out = set()
    for pid in _processes():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(data_dir) in cmd and pid != os.getpid():
            out.add(pid)
    return out


def _survivors(pids: set[int], groups: set[int], data_dir: Path) -> set[int]:
    alive = {p for p in pids if _stat(p) is not None}
    in_groups = {pid for pid, (_, pgrp, _) in _processes().items() if pgrp in groups}
    return alive | in_groups | _using(data_dir)


def _wait_gone(pids: set[int], groups: set[int], data_dir: Path, timeout_s: float) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _survivors(pids, groups, data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def running_broker(tmp_path):
    data_dir = (tmp_path / "broker").resolve()
    proc = subprocess.Popen([*PULSEWIRE, "broker", "--data-dir", str(data_dir), "--json"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        yield proc, ready, data_dir
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _using(data_dir):
            os.kill(pid, signal.SIGKILL)


def _produce_and_consume(bootstrap: str) -> list[bytes]:
    from kafka import KafkaConsumer, KafkaProducer

    topic, group = f"integrator-{uuid.uuid4().hex[:8]}", f"crm-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(3):
        producer.send(topic, key=b"k", value=f"alert {i}".encode())
    producer.flush(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    got: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < 3 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                got += [r.value for r in records]
        consumer.commit()
    finally:
        consumer.close()  # a member that leaves without close() blocks its group on noida-db 0.2.3
    return got


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_broker_serves_clients_and_stops_with_everything_it_started(running_broker, sig):
    proc, ready, data_dir = running_broker
    broker_pid = ready["pid"]
    started = _descendants(proc.pid)
    assert broker_pid in started and _stat(broker_pid)[1] == broker_pid  # its own process group
    assert ready["broker_url"] == f"kafka://{ready['bootstrap']}"

    assert _produce_and_consume(ready["bootstrap"]) == [b"alert 0", b"alert 1", b"alert 2"]
    if sig == signal.SIGINT:  # the CLI against it, as the README says; no client INFO lines
        topics = subprocess.run([*PULSEWIRE, "topics"], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PULSEWIRE_BROKER_URL": ready["broker_url"]})
        assert topics.returncode == 0, topics.stderr
        assert "partitions=" in topics.stdout and "kafka" not in topics.stderr, topics.stderr

    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert "broker stopped" in proc.stderr.read()
    assert _wait_gone(started, {broker_pid}, data_dir, timeout_s=5) == set()


def test_broker_stops_when_its_launcher_is_killed(running_broker):
    """SIGKILL cannot be handled: the kernel tells the broker (PR_SET_PDEATHSIG)."""
    proc, ready, data_dir = running_broker
    started = _descendants(proc.pid)
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_gone(started, {ready["pid"]}, data_dir, timeout_s=30) == set()
