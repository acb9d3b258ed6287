"""What first-wins de-duplication costs the events_scored sink, against a plain insert.

    python bench/bench_sink.py [--stored 500000] [--batch 2000] [--runs 10]

Fills a fresh chDB store (temporary directory) with ``--stored`` events, then writes batches of
``--batch`` new events ``--runs`` times each way, alternating: the plain table sink (the
baseline: one insert) and the EventSink (look up the batch's ids, insert, look again). Also
times a batch that is an exact replay (two look-ups, nothing inserted). Prints the median
milliseconds per batch and the machine; never passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone


def rows(prefix: str, n: int, t0: datetime) -> list[dict]:
    from pulsewire.streams.rows import scored_row

    out = []
    for i in range(n):
        ev = {"event_id": f"{prefix}-{i}", "source": "bench", "kind": "review", "type": "review",
              "customer_id": f"c{i % 5000}", "occurred_at": (t0 + timedelta(seconds=i)).isoformat(),
              "ingested_at": t0.isoformat(), "text": f"review number {i}", "attributes": {}}
        out.append(scored_row({"event": ev, "sentiment": None}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stored", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()

    from pulsewire.streams.sinks import SINKS, EventSink, TableSink
    from pulsewire.streams.store import open_store

    store = open_store(f"chdb://{tempfile.mkdtemp(prefix='bench-sink-')}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=20)
    for start in range(0, args.stored, 50_000):
        store.insert_rows("events_scored", rows(f"old{start}", min(50_000, args.stored - start), t0))

    async def nothing(_):
        raise AssertionError("no poison rows here")

    plain = TableSink(SINKS["events_scored"], lambda: store, chunk_rows=args.batch, dead_letter=nothing)
    dedup = EventSink(plain)
    times: dict[str, list[float]] = {"plain insert (baseline)": [], "first-wins sink": [], "exact replay": []}
    for run in range(args.runs):
        for name, write, batch in (("plain insert (baseline)", plain.write, rows(f"p{run}", args.batch, t0)),
                                   ("first-wins sink", dedup.write, rows(f"d{run}", args.batch, t0))):
            t = time.perf_counter()
            asyncio.run(write(batch))
            times[name].append(time.perf_counter() - t)
        t = time.perf_counter()
        asyncio.run(dedup.write(rows(f"d{run}", args.batch, t0)))
        times["exact replay"].append(time.perf_counter() - t)
    store.close()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; {args.stored} events stored, batches of {args.batch}")
    base = statistics.median(times["plain insert (baseline)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:26} {med * 1000:8.1f} ms per batch  ({med / base:.2f} x baseline)")


if __name__ == "__main__":
    main()
