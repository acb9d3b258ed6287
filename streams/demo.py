"""``pulsewire demo``: the whole pipeline on embedded parts, start to finish.

1. start the embedded broker (loopback, free port) under the data directory;
2. start ``pulsewire worker`` as a child process (the same command a deployment runs),
   with the store at ``chdb://<data-dir>/clickhouse``;
3. feed it the generator's simulated SMB (deterministic for a seed);
4. follow progress from the broker (committed offsets of the worker group);
5. stop the worker and the broker, then read the summary back from ClickHouse.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .kafka_security import KafkaConnection

MARKER = ".pulsewire-demo"
TRACKED = ["scored.text", "events.dlq"]


class DemoError(RuntimeError):
    pass


@dataclass
class DemoOptions:
    events: int = 20_000
    seed: int = 7
    data_dir: Path = Path("pulsewire-demo")
    bad_rate: float = 0.005
    keep: bool = False
    stall_timeout_s: float = 180.0
    show_progress: bool = True
    bias: str | None = None  # a planted bias (generator_bias), for the bias audit
    start: str | None = None  # simulated time's start; None: generator.recent_start(now)


def prepare_data_dir(path: Path, keep: bool) -> None:
    """Make ``path`` the demo's data dir; refuse a file, or a non-empty directory the demo did not make.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "notes.txt"; _ = f.write_text("mine")
    >>> prepare_data_dir(f, keep=False)
    Traceback (most recent call last):
    ...
    pulsewire.streams.demo.DemoError: --data-dir .../notes.txt is a file, not a directory; choose another --data-dir
    """
    if path.exists() and not path.is_dir():
        raise DemoError(f"--data-dir {path} is a file, not a directory; choose another --data-dir")
    if path.exists() and any(path.iterdir()) and not keep:
        if not (path / MARKER).exists():
            raise DemoError(f"{path} is not empty and was not made by 'pulsewire demo'; "
                            "choose another --data-dir (nothing was deleted)")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by pulsewire demo; safe to delete\n")


def demo_start(data_dir: Path, keep: bool, now=None) -> str:
    """Simulated time's start: the earlier run's with ``--keep`` (so the same seed sends the same events,
    which the store keeps once, instead of other times under the same ids, which it would refuse as
    conflicting duplicates); else the generator's start moved to end in the week before ``now``."""
    from datetime import datetime, timezone

    from .connectors.generator import recent_start

    if keep:
        try:
            start = json.loads((data_dir / "summary.json").read_text(encoding="utf-8")).get("start")
        except (OSError, ValueError):
            start = None
        if isinstance(start, str):
            return start
    return recent_start(now or datetime.now(timezone.utc))


def demo_key(path: Path) -> str:
    """The demo's pseudonymisation key: the environment's if set, else one kept (0600) in the data dir."""
    env = os.environ.get("PULSEWIRE_PSEUDONYM_KEY")
    if env:
        return env
    kf = path / "pseudonym.key"
    if not kf.exists():
        kf.touch(mode=0o600)
        kf.write_text(secrets.token_hex(32))
    return kf.read_text().strip()


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_worker(broker: "str | KafkaConnection", data_dir: Path, key: str, extra_env: dict | None = None,
                 topics=None) -> subprocess.Popen:
    """``pulsewire worker`` as a child process; ``topics`` (a ``TopicMap``) names its prefix and group.

    It connects to ``broker`` as given: broker settings inherited from this process's environment
    (TLS, SASL for another cluster) are not passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSEWIRE_BROKER_")}
    if topics is not None:
        env.update({"PULSEWIRE_TOPIC_PREFIX": topics.prefix, "PULSEWIRE_APP_ID": topics.group,
                    "PULSEWIRE_TOPIC_PARTITIONS": str(topics.default_partitions)})
    env.update({
        **KafkaConnection.of(broker).env(),
        "PULSEWIRE_DATA_DIR": str(data_dir),
        "PULSEWIRE_STORE_URL": f"chdb://{(data_dir / 'clickhouse').resolve()}",
        "PULSEWIRE_PSEUDONYM_KEY": key,
        "PYTHONUNBUFFERED": "1",
    })
    # the simulated SMB's generator plays its HRIS too: its consent answers count, unless told otherwise
    env.setdefault("PULSEWIRE_CONSENT_SOURCES", "hris,generator")
    env.update(extra_env or {})
    log = open(data_dir / "worker.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "pulsewire.streams.cli", "worker"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop_process(proc: subprocess.Popen, timeout_s: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def produce(broker: "str | KafkaConnection", records, topic_for, key_for, on_sent=None) -> int:
    """Produce already-built records (dicts or raw bytes) with kafka-python; returns how many."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**KafkaConnection.of(broker).kafka_python_kwargs(
        acks="all", linger_ms=20, batch_size=256 * 1024, enable_idempotence=True, client_id="pulsewire-producer"))
    n = 0
    try:
        for rec in records:
            value = rec if isinstance(rec, bytes) else json.dumps(rec, ensure_ascii=False).encode()
            producer.send(topic_for(rec), key=key_for(rec).encode(), value=value)
            n += 1
            if on_sent and n % 500 == 0:
                on_sent(n)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=30)
    return n


def produce_generated(bootstrap: str, opts: "DemoOptions", topics, on_sent=None) -> int:
    """Feed the simulated SMB through the ``generator`` connector (the SDK path every source takes)."""
    from .connectors.simulated import Simulated
    from .sdk.runtime import run as run_connector

    sent = 0

    def counted(_raw) -> None:
        nonlocal sent
        sent += 1
        if on_sent and sent % 500 == 0:
            on_sent(sent)

    connector = Simulated({"seed": opts.seed, "events": opts.events, "bad_record_rate": opts.bad_rate,
                           "bias": opts.bias, "start": opts.start, "instance": f"demo-generator-{opts.seed}"})
    run_connector(connector, bootstrap, topics=topics, on_raw=counted, batch_size=2000)
    if on_sent:
        on_sent(sent)
    return sent


def wait_drained(reader, tracked: list[str], produced_total: int, worker: subprocess.Popen, stall_timeout_s: float,
                 on_progress=None, baseline: int = 0):
    """Wait until the worker group has committed everything on every topic it reads."""
    last_done, last_change = -1, time.monotonic()
    while True:
        if worker.poll() is not None:
            raise DemoError(f"the worker exited early with code {worker.returncode}; see worker.log")
        p = reader.read()
        done = sum(p.done(t) for t in tracked) - baseline
        if on_progress:
            on_progress(min(done, produced_total))
        inputs_done = all(p.lag(t) == 0 for t in p.end)
        if inputs_done and done >= produced_total:
            return p
        if done != last_done:
            last_done, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > stall_timeout_s:
            raise DemoError(f"no progress for {stall_timeout_s:.0f}s (lag {p.total_lag}); see worker.log")
        time.sleep(0.5)


def run_demo(opts: DemoOptions, console=None) -> dict:
    from pulsewire.infra.broker.embedded import EmbeddedBroker

    from .bias_audit import record_audit
    from .connectors.generator import GeneratorConfig, SmbSimulation
    from .progress import ProgressReader
    from .settings import Settings
    from .store import open_store
    from .summary import store_summary
    from .topics import EVENT_TOPICS, TopicMap, ensure_topics

    t_start = time.monotonic()
    data_dir = opts.data_dir.resolve()
    if opts.start is None:
        opts = replace(opts, start=demo_start(data_dir, opts.keep))
    prepare_data_dir(data_dir, opts.keep)
    key = demo_key(data_dir)
    settings = Settings(data_dir=data_dir)
    topics = TopicMap.from_settings(settings)
    tracked = [topics.name(t) for t in TRACKED]
    broker = EmbeddedBroker(data_dir / "broker")
    worker = None
    figures: dict = {}
    try:
        bootstrap = broker.start()
        ensure_topics(bootstrap, topics)
        worker = start_worker(bootstrap, data_dir, key, topics=topics)
        reader = ProgressReader(bootstrap, topics.group, [*tracked, *topics.names(EVENT_TOPICS), topics.name("events.valid")])
        bar = _Progress(console, opts.events, opts.show_progress)
        with bar:
            baseline = sum(reader.read().done(t) for t in tracked)  # non-zero only with --keep
            t0 = time.monotonic()
            sent = produce_generated(bootstrap, opts, topics, on_sent=bar.sent)
            t_sent = time.monotonic()
            wait_drained(reader, tracked, sent, worker, opts.stall_timeout_s, on_progress=bar.done, baseline=baseline)
            t_done = time.monotonic()
        reader.close()
        figures["worker_peak_rss_mb"] = round(_vm_hwm_kb(worker.pid) / 1024, 1)
        figures["broker_peak_rss_mb"] = round(_vm_hwm_kb(broker.proc.pid) / 1024, 1) if broker.proc else None
        rc = stop_process(worker)
        if rc not in (0, -signal.SIGTERM):
            raise DemoError(f"the worker exited with code {rc} while stopping; see {data_dir / 'worker.log'}")
        worker = None
    finally:
        if worker is not None:
            stop_process(worker)
        broker.stop()
    with open_store(settings.store_url) as store:
        # the board's bias audit over the whole run (the worker's first one saw only its start), as
        # `pulsewire audit --record` writes it
        record_audit(store, settings.min_group_size)
        summary = store_summary(store)
    summary.update({
        "events_sent": sent,
        "seed": opts.seed,
        "start": opts.start,
        "data_dir": str(data_dir),
        "produce_s": round(t_sent - t0, 2),
        "pipeline_s": round(t_done - t0, 2),
        "events_per_s": round(sent / max(t_done - t0, 1e-9), 1),
        "wall_s": round(time.monotonic() - t_start, 2),
        "demo_peak_rss_mb": round(_vm_hwm_kb(os.getpid()) / 1024, 1),
        **figures,
    })
    sim = SmbSimulation(GeneratorConfig(seed=opts.seed, bad_record_rate=opts.bad_rate, bias=opts.bias, start=opts.start))
    for _ in sim.records(limit=opts.events):  # replay the (deterministic) simulation for its ground truth
        pass
    (data_dir / "ground_truth.json").write_text(json.dumps(sim.ground_truth(), indent=1, default=str))
    (data_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


class _Progress:
    """A rich progress bar (sent vs. stored) that degrades to nothing when not wanted."""

    def __init__(self, console, total: int, enabled: bool):
        self.enabled = enabled
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=console, transient=False)
            self.t_sent = self.p.add_task("sent to Kafka ", total=total)
            self.t_done = self.p.add_task("stored        ", total=total)

    def __enter__(self):
        if self.enabled:
            self.p.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)

    def sent(self, n: int) -> None:
        if self.enabled:
            self.p.update(self.t_sent, completed=n)

    def done(self, n: int) -> None:
        if self.enabled:
            self.p.update(self.t_done, completed=n)
            self.p.update(self.t_sent, completed=max(n, self.p.tasks[self.t_sent].completed))
