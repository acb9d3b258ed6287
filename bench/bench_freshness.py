"""Freshness on the embedded broker: how soon events reach ClickHouse, and what an idle worker costs.

    python bench/bench_freshness.py [--backlog 5000] [--rate 100] [--seconds 60] [--idle 30] [--only current]

For each configuration (the current settings, and as a same-run baseline the settings before: no
fetch pacing, unbounded delivery rounds, 0.5 s / 1.0 s score / sink windows), on a fresh embedded broker:

1. ``--backlog`` generator events are put on the broker, then ``pulsewire worker`` starts;
   **ready** is the first moment its readiness probe (``GET /ready``) answers 200 (store open,
   partitions assigned). **first row** = the earliest ``stored_at`` in ``events_scored`` minus ready.
2. Once the backlog is drained (the group's lag is 0), generator events are sent at a steady
   ``--rate`` per second for ``--seconds``, each with ``occurred_at`` set to the wall-clock instant
   the bench hands it to the producer. **latency** of an event = ``stored_at`` (ClickHouse's
   ``now64(3)`` when the sink's insert ran, the first time the event was stored) minus that
   ``occurred_at``: source to queryable row, including the broker, validate, score and sink stages
   and their micro-batch windows. ``ingested_at`` -> ``stored_at`` (after validation) is printed too.
3. Then nothing is sent for ``--idle`` seconds: the worker's and the broker's CPU time over that
   window, as % of one core.

Also printed: the worker log's "producer buffer full" and stalled-partition repair counts, and the
load average (the machine may be shared). Figures, not pass/fail; targets: first row within 5 s,
p99 at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

CONFIGS = {
    "current": {},
    # the settings before this benchmark existed: no fetch pacing, unbounded rounds (Faust's default),
    # micro-batch windows of 0.5 s (score) and 1.0 s (sink)
    "before": {"PULSEWIRE_EMPTY_FETCH_PAUSE_S": "0", "PULSEWIRE_MAX_POLL_RECORDS": "1000000000",
               "PULSEWIRE_SCORE_BATCH_WITHIN_S": "0.5", "PULSEWIRE_SINK_BATCH_WITHIN_S": "1.0"},
}

READ_STORE = """
import json, sys
from pulsewire.streams.store import open_store
with open_store(sys.argv[1]) as s:
    rows = s.query_dicts("SELECT event_id, min(stored_at) AS stored, any(occurred_at) AS occurred, "
                         "any(ingested_at) AS ingested FROM events_scored GROUP BY event_id")
print(json.dumps([[r["event_id"], r["stored"].timestamp(), r["occurred"].timestamp(), r["ingested"].timestamp()]
                  for r in rows]))
"""


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} CPUs, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)
    (5, 10)
    """
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


def generated(n: int, seed: int):
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=seed, bad_record_rate=0.0))
    return [(sim.topic_for(r), sim.key_for(r), r) for r in sim.records(limit=n) if isinstance(r, dict)]


def wait_ready(url: str, worker, timeout_s: float = 300) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.time()
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"the worker was not ready after {timeout_s} s")


def wait_drained(reader, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if reader.read().total_lag == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the worker did not drain its input")


def run(name: str, env_overrides: dict, args, tmp: Path) -> dict:
    from kafka import KafkaProducer

    from pulsewire.infra.broker.embedded import EmbeddedBroker, free_port
    from pulsewire.streams.demo import start_worker, stop_process
    from pulsewire.streams.kafka_security import KafkaConnection
    from pulsewire.streams.progress import ProgressReader
    from pulsewire.streams.topics import ALL_TOPICS, TopicMap, ensure_topics

    data = tmp / name.split()[0]
    data.mkdir()
    records = generated(args.backlog + int(args.rate * args.seconds), args.seed)
    backlog, steady = records[:args.backlog], records[args.backlog:]
    out = {"config": name, "load_start": load()}
    with EmbeddedBroker(data / "broker") as broker:
        ensure_topics(broker.bootstrap, TopicMap(default_partitions=4))
        producer = KafkaProducer(**KafkaConnection(broker.bootstrap).kafka_python_kwargs(acks="all", linger_ms=5))
        for topic, key, rec in backlog:
            producer.send(topic, key=key.encode(), value=json.dumps(rec).encode())
        producer.flush(timeout=120)

        port = free_port()
        worker = start_worker(broker.bootstrap, data, "bench-key-" + "0" * 32,
                              {"PULSEWIRE_WORKER_WEB_PORT": str(port), **env_overrides})
        reader = ProgressReader(broker.bootstrap, "pulsewire",
                                [t.name for t in ALL_TOPICS if not t.name.startswith(("alerts.", "models."))])
        try:
            ready = wait_ready(f"http://127.0.0.1:{port}/ready", worker)
            wait_drained(reader)
            out["backlog_drained_s"] = time.time() - ready

            start, sent = time.monotonic(), 0
            for i, (topic, key, rec) in enumerate(steady):
                due = start + i / args.rate
                if (pause := due - time.monotonic()) > 0:
                    time.sleep(pause)
                rec = {**rec, "event_id": f"fresh-{i}", "occurred_at": datetime.now(timezone.utc).isoformat()}
                producer.send(topic, key=key.encode(), value=json.dumps(rec).encode())
                sent += 1
            producer.flush(timeout=120)
            out["achieved_rate"] = sent / (time.monotonic() - start)
            wait_drained(reader)

            time.sleep(5)  # let the last commits and timers settle
            w0, b0, t0 = cpu_seconds(worker.pid), cpu_seconds(broker.proc.pid), time.monotonic()
            time.sleep(args.idle)
            dt = time.monotonic() - t0
            out["idle_worker_cpu"] = 100 * (cpu_seconds(worker.pid) - w0) / dt
            out["idle_broker_cpu"] = 100 * (cpu_seconds(broker.proc.pid) - b0) / dt
        finally:
            producer.close()
            reader.close()
            stop_process(worker)
    log = (data / "worker.log").read_text(errors="replace")
    out["producer_buffer_full"] = log.count("producer buffer full")
    out["stall_repairs"] = log.count("is stuck at committed offset")

    r = subprocess.run([sys.executable, "-c", READ_STORE, f"chdb://{(data / 'clickhouse').resolve()}"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    rows = json.loads(r.stdout.strip().splitlines()[-1])
    out["first_row_s"] = min(stored for _, stored, _, _ in rows) - ready
    fresh = [(stored - occurred, stored - ingested) for eid, stored, occurred, ingested in rows
             if eid.startswith("fresh-")]
    out["steady_stored"], out["steady_sent"] = len(fresh), len(steady)
    lat = [a for a, _ in fresh]
    after_validate = [b for _, b in fresh]
    out.update(p50=percentile(lat, 0.5), p99=percentile(lat, 0.99), max=max(lat),
               p50_after_validate=percentile(after_validate, 0.5), p99_after_validate=percentile(after_validate, 0.99))
    out["load_end"] = load()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backlog", type=int, default=5000, help="events on the broker before the worker starts")
    ap.add_argument("--rate", type=float, default=100.0, help="steady events per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to send at --rate")
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of no traffic for the CPU figure")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", choices=["current", "before"], help="run one configuration only")
    ap.add_argument("--env", action="append", default=[], metavar="PULSEWIRE_X=V",
                    help="extra worker setting for every configuration (repeatable)")
    ap.add_argument("--keep", type=Path, help="keep each run's broker, store and worker.log under this directory")
    args = ap.parse_args(argv)
    extra = dict(kv.split("=", 1) for kv in args.env)

    print(f"machine: {machine()}; load average (1/5/15 min) {load()}", flush=True)
    print(f"extra worker settings: {extra or 'none'}; backlog {args.backlog} events, then {args.rate:g} events/s for {args.seconds:g} s, "
          f"then {args.idle:g} s idle; embedded broker (noida-db), chDB store", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="pw-freshness-") as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        for name, env in CONFIGS.items():
            if args.only and not name.startswith(args.only):
                continue
            res = run(name, {**extra, **env}, args, args.keep or Path(tmp))
            results.append(res)
            print(f"\n{name}  (load average {res['load_start']} -> {res['load_end']})\n"
                  f"  first row in ClickHouse      {res['first_row_s']:7.2f} s after ready "
                  f"(backlog drained {res['backlog_drained_s']:.1f} s after ready)\n"
                  f"  occurred -> stored           p50 {res['p50']:.2f} s  p99 {res['p99']:.2f} s  "
                  f"max {res['max']:.2f} s  ({res['steady_stored']}/{res['steady_sent']} events stored, "
                  f"sent at {res['achieved_rate']:.1f}/s)\n"
                  f"  ingested -> stored           p50 {res['p50_after_validate']:.2f} s  "
                  f"p99 {res['p99_after_validate']:.2f} s\n"
                  f"  idle {args.idle:g} s CPU             worker {res['idle_worker_cpu']:.1f}%  "
                  f"broker {res['idle_broker_cpu']:.1f}% (of one core)\n"
                  f"  worker log                   {res['producer_buffer_full']} 'producer buffer full', "
                  f"{res['stall_repairs']} stalled-partition repairs", flush=True)
    print("\njson:", json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
