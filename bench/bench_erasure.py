"""What one erasure (``pulsewire forget``) costs in ClickHouse, against a lightweight DELETE.

    python bench/bench_erasure.py [--stored 200000] [--months 6] [--runs 5]

Fills a fresh chDB store (temporary directory) with ``--stored`` customer events spread over
``--months`` monthly partitions (5,000 customers), then, ``--runs`` times each, alternating:
a lightweight ``DELETE FROM events_scored WHERE customer_id = …`` of one customer (the baseline:
rows hidden, parts rewritten only at a later merge) and ``streams.erasure.erase_rows`` for another
(mutations that rewrite the parts in every per-person table, waited for, and the rebuild of the
``sentiment_minute`` buckets). Prints the median seconds per erasure and the machine; never
passes or fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU") if os.path.exists("/proc/cpuinfo") else "unknown CPU"
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}, load average {os.getloadavg()[0]:.1f}")


def rows(n: int, start: int, t0: datetime, months: int) -> list[dict]:
    from pulsewire.streams.rows import scored_row

    span = months * 30 * 86400
    out = []
    for i in range(start, start + n):
        ev = {"event_id": f"ev-{i}", "source": "bench", "kind": "review", "type": "review",
              "customer_id": f"c{i % 5000}", "occurred_at": (t0 + timedelta(seconds=(i * 7919) % span)).isoformat(),
              "ingested_at": t0.isoformat(), "text": f"review number {i}", "attributes": {}}
        out.append(scored_row({"event": ev, "sentiment": None}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stored", type=int, default=200_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from pulsewire.streams.erasure import Subject, erase_rows
    from pulsewire.streams.store import open_store

    store = open_store(f"chdb://{tempfile.mkdtemp(prefix='bench-erasure-')}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=30 * args.months + 1)
    for start in range(0, args.stored, 50_000):
        store.insert_rows("events_scored", rows(min(50_000, args.stored - start), start, t0, args.months))
    parts = store.query_dicts("SELECT count() AS n FROM system.parts WHERE table = 'events_scored' AND active")[0]["n"]
    times: dict[str, list[float]] = {"lightweight DELETE (baseline)": [], "erase_rows (mutations + rebuild)": []}
    for run in range(args.runs):
        t = time.perf_counter()
        store.command("DELETE FROM events_scored WHERE customer_id = {c:String}", {"c": f"c{2 * run}"})
        times["lightweight DELETE (baseline)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        removed, _ = erase_rows(store, Subject("customer", f"c{2 * run + 1}", "-"))
        times["erase_rows (mutations + rebuild)"].append(time.perf_counter() - t)
        assert removed["events_scored"] == args.stored // 5000
    print(f"events_scored: {args.stored} rows over {args.months} months ({parts} active parts); "
          f"{args.stored // 5000} rows per customer; {args.runs} runs each")
    for name, ts in times.items():
        print(f"  {name:34} median {statistics.median(ts):.3f} s  (min {min(ts):.3f}, max {max(ts):.3f})")
    print(f"machine: {machine()}")
    store.close()


if __name__ == "__main__":
    main()
