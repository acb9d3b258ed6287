"""Events/s per built-in connector into the embedded broker, and memory under backpressure.

    python bench/bench_connectors.py [--rows 50000] [--requests 3000]

Prints figures, never pass/fail. Backpressure: the connector runs in a child process while
the broker process is paused (SIGSTOP) 80% of the time; we sample the child's RSS and compare
it with an unthrottled run over the same file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_inputs(d: Path, rows: int) -> dict[str, Path]:
    texts = ["Setup took two minutes and support answered within the hour.", "The export keeps failing, twice today.",
             "Billing charged me twice; still waiting for the refund.", "Good value for a small team, sync is slow."]
    p = {k: d / n for k, n in [("csv", "reviews.csv"), ("jsonl", "reviews.jsonl"), ("hris", "employees.csv"),
                                ("pulse", "pulse.csv")]}
    with open(p["csv"], "w") as f:
        f.write("review_id,customer_id,rating,body,created_at\n")
        for i in range(rows):
            f.write(f'rv-{i},cust-{i % 997},{1 + i % 5},"{texts[i % 4]}",2026-10-{1 + i % 28:02d}T09:{i % 60:02d}:00Z\n')
    with open(p["jsonl"], "w") as f:
        for i in range(rows):
            f.write(json.dumps({"id": f"tp-{i}", "consumer": {"id": f"c-{i % 997}"}, "stars": 1 + i % 5,
                                "text": texts[i % 4], "createdAt": f"2026-10-{1 + i % 28:02d}T08:00:00Z"}) + "\n")
    with open(p["hris"], "w") as f:
        f.write("Employee #,Department,Hire Date,Termination Date,Termination Type,Wellbeing Consent\n")
        for i in range(rows):
            end = f"2026-{1 + i % 12:02d}-15,Resignation" if i % 10 == 0 else ","
            f.write(f"E-{i},Team-{i % 40},20{10 + i % 15}-03-01,{end},Yes\n")
    with open(p["pulse"], "w") as f:
        f.write("Response ID,Employee ID,Team,Submitted At,eNPS,Workload,Burnout,Comment\n")
        for i in range(rows // 3):
            f.write(f'r-{i},E-{i % 500},Team-{i % 40},2026-10-20T16:00:00Z,{i % 11},{1 + i % 5},{1 + (i * 7) % 5},'
                    f'"{texts[i % 4]}"\n')
    return p


def bench_pull(bootstrap: str, inputs: dict, rows: int) -> list[tuple]:
    from pulsewire.streams.connectors.files import Files
    from pulsewire.streams.connectors.hr import Hris, PulseSurvey
    from pulsewire.streams.connectors.simulated import Simulated
    from pulsewire.streams.sdk import runtime

    cols = {"event_id": "review_id", "text": "body", "occurred_at": "created_at"}
    cases = [
        ("files (CSV reviews)", Files({"path": inputs["csv"], "columns": cols, "instance": "b-csv"})),
        ("files (JSONL reviews)", Files({"path": inputs["jsonl"], "instance": "b-jsonl", "columns": {
            "event_id": "id", "customer_id": "consumer.id", "rating": "stars", "occurred_at": "createdAt"}})),
        ("hris (employees CSV)", Hris({"path": inputs["hris"], "instance": "b-hris"})),
        ("pulse (survey CSV)", PulseSurvey({"path": inputs["pulse"], "instance": "b-pulse"})),
        ("generator", Simulated({"events": rows, "instance": "b-gen"})),
    ]
    out = []
    for label, c in cases:
        s = runtime.run(c, bootstrap)
        out.append((label, s.raws, s.events, s.dead_letters, s.elapsed_s))
    return out


def bench_webhook(bootstrap: str, n: int, concurrency: int = 32) -> tuple:
    import aiohttp

    from pulsewire.streams.connectors.webhook import Webhook, sign
    from pulsewire.streams.sdk import runtime

    os.environ["BENCH_SLACK_SECRET"] = "s" * 32
    hook = Webhook({"port": 0, "instance": "b-hook", "routes": [{"provider": "slack", "secret_env": "BENCH_SLACK_SECRET"}]})
    stop = threading.Event()
    t = threading.Thread(target=runtime.run, args=(hook, bootstrap), kwargs={"stop": stop})
    t.start()
    while not hook.port:
        time.sleep(0.02)

    async def go():
        codes, q = [], list(range(n))
        async with aiohttp.ClientSession() as s:
            async def worker():
                while q:
                    i = q.pop()
                    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{i}", "event": {
                        "type": "message", "channel": "C1", "user": f"U{i % 50}", "text": "on-call is brutal",
                        "ts": f"{1793610000 + i}.000100"}}).encode()
                    async with s.post(f"http://127.0.0.1:{hook.port}/slack", data=body,
                                      headers=sign("slack", "s" * 32, body)) as r:
                        codes.append(r.status)
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return codes

    t0 = time.monotonic()
    codes = asyncio.run(go())
    dt = time.monotonic() - t0
    stop.set()
    t.join(10)
    return ("webhook (Slack, 32 concurrent)", n, codes.count(200), 0, dt)


def child_backpressure(bootstrap: str, path: str, instance: str) -> None:
    from pulsewire.streams.connectors.files import Files
    from pulsewire.streams.sdk import runtime

    s = runtime.run(Files({"path": path, "instance": instance, "columns": {
        "event_id": "review_id", "text": "body", "occurred_at": "created_at"}}), bootstrap)
    print(json.dumps({"events": s.events, "s": s.elapsed_s}))


def real_pid(pid: int) -> int:
    """noida-db's console script spawns the real binary: pause that one."""
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        kids = []
    return int(kids[0]) if kids else pid


def backpressure(bootstrap: str, broker_pid: int, path: Path) -> dict:
    res = {}
    for label, throttle in (("unthrottled", False), ("slow broker (paused 80% of the time)", True)):
        child = subprocess.Popen([sys.executable, __file__, "--child", bootstrap, str(path), f"bp-{throttle}"],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)  # imports done: the baseline
        base, peak, samples, i = rss_mb(child.pid), 0.0, [], 0
        while child.poll() is None:
            if throttle:
                os.kill(broker_pid, signal.SIGSTOP)
                time.sleep(0.4)
                os.kill(broker_pid, signal.SIGCONT)
                time.sleep(0.1)
            else:
                time.sleep(0.1)
            try:
                r = rss_mb(child.pid)
            except (FileNotFoundError, ProcessLookupError):
                break
            if r == 0.0:  # exiting
                break
            samples.append(r)
            peak = max(peak, r)
        out = json.loads(child.stdout.read().strip().splitlines()[-1])
        res[label] = {"events": out["events"], "seconds": round(out["s"], 1), "rss_after_imports_mb": round(base, 1),
                      "peak_rss_mb": round(peak, 1),
                      "rss_at_50/90%_of_run_mb": [round(samples[len(samples) // 2], 1) if samples else None,
                                                  round(samples[int(len(samples) * .9)], 1) if samples else None]}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--backpressure-rows", type=int, default=200_000)
    a = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    from pulsewire.infra.broker.embedded import EmbeddedBroker

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, EmbeddedBroker(Path(tmp) / "broker") as broker:
        pid = real_pid(broker.proc.pid)
        inputs = write_inputs(Path(tmp), a.rows)
        rows = bench_pull(broker.bootstrap, inputs, a.rows) + [bench_webhook(broker.bootstrap, a.requests)]
        print(f"{'connector':34} {'records':>8} {'events':>8} {'dead':>6} {'seconds':>8} {'events/s':>9}")
        for label, raws, events, dead, s in rows:
            print(f"{label:34} {raws:8} {events:8} {dead:6} {s:8.2f} {events / s:9.0f}")
        big = Path(tmp) / "big.csv"
        with open(big, "w") as f:
            f.write("review_id,customer_id,rating,body,created_at\n")
            for i in range(a.backpressure_rows):
                f.write(f'bp-{i},cust-{i % 997},{1 + i % 5},"{"words " * 40}",2026-10-01T09:00:00Z\n')
        print(f"\nbackpressure: {a.backpressure_rows} rows, {big.stat().st_size / 2**20:.0f} MiB CSV, batch 1000")
        try:
            for label, r in backpressure(broker.bootstrap, pid, big).items():
                print(f"  {label:40} {json.dumps(r)}")
        finally:
            os.kill(pid, signal.SIGCONT)
            if broker.proc is not None and pid != broker.proc.pid:
                broker.stop()
                os.kill(pid, signal.SIGTERM)  # EmbeddedBroker stops the wrapper only


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_backpressure(*sys.argv[2:5])
    else:
        main()
