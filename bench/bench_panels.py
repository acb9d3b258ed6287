"""Panel-query latency on 1 million events in the embedded store (chDB).

    python bench/bench_panels.py [--events 1000000] [--runs 30] [--threads 2] [--days 30]

Fills a fresh chDB store in a temporary directory (its own process: chDB runs one store
per process) with the synthetic sample (pulsewire.dashboards.sample, 30 days of events;
risks, alerts, metrics, pipeline health and lag as well), then runs every panel's SQL of
the three boards, macros expanded for the dashboard's default range ending at the newest
data (the heaviest range a board refreshes), ``--runs`` times each, and prints p50/p95 per
panel. ``--threads`` sets ClickHouse's max_threads (2 = the target machine's cores); pin
the process to cores too with ``taskset -c 0,1`` for a faithful 2-core figure.
Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--data-dir", type=Path, default=None, help="Keep the store here (default: a temp dir).")
    ap.add_argument("--full-range", action="store_true",
                    help="Query the whole data range (--days) instead of each dashboard's default range.")
    args = ap.parse_args()

    from pulsewire.dashboards import sample
    from pulsewire.dashboards.build import RULES, _sql, boards
    from pulsewire.dashboards.macros import TimeRange, expand
    from pulsewire.dashboards.runner import anchor_time, dashboard_range, panel_range
    from pulsewire.streams.store import open_store
    from datetime import timedelta

    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="pulsewire-bench-")
        args.data_dir = Path(tmp.name)
    url = f"chdb://{(args.data_dir / 'clickhouse').resolve()}"
    import chdb
    import clickhouse_connect

    print(f"machine: {platform.machine()} {platform.processor() or ''} · {os.cpu_count()} CPUs visible, "
          f"affinity {len(os.sched_getaffinity(0))} · Python {platform.python_version()} · chDB {chdb.__version__} "
          f"· clickhouse-connect {clickhouse_connect.__version__}")
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
        print(f"cpu: {cpu}")
    except (OSError, StopIteration):
        pass
    with open_store(url) as store:
        t0 = time.perf_counter()
        sample.fill(store, sample.SampleConfig(events=args.events, days=args.days, pipeline_minutes=60))
        store.client.command("OPTIMIZE TABLE sentiment_minute FINAL")  # what background merges do over time
        fill_s = time.perf_counter() - t0
        counts = {t: store.query_dicts(f"SELECT count() AS n FROM {t}")[0]["n"]
                  for t in ("events_scored", "sentiment_minute", "risk_latest", "alerts_audit", "pipeline_health")}
        print(f"filled in {fill_s:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        settings = {"max_threads": args.threads}
        print(f"max_threads={args.threads}, {args.runs} runs per query (after 1 warm-up)\n")
        print(f"{'board / panel':58} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        worst = []
        for b in boards():
            now = anchor_time(store, b.anchor_sql)
            tr = dashboard_range(b.dashboard, now)
            if args.full_range and b.uid != "pulsewire-pipeline":
                tr = TimeRange(now - timedelta(days=args.days), now)
            for p in b.dashboard["panels"]:
                sql = expand(p["targets"][0]["rawSql"], panel_range(p, tr))
                worst.append(_time(store, f"{b.dashboard['title']} / {p['title']}", sql, settings, args.runs))
        pipe_now = anchor_time(store, "SELECT max(ts) FROM pipeline_health")
        for spec in RULES:
            sql = expand(_sql(spec.sql), TimeRange(pipe_now - timedelta(seconds=spec.window_s), pipe_now))
            worst.append(_time(store, f"alert rule / {spec.title}", sql, settings, args.runs))
        # the trade-off in docs/dashboards.md: the per-minute aggregate vs. exact reads of events_scored
        b = boards()[0]
        now = anchor_time(store, b.anchor_sql)
        tr = dashboard_range(b.dashboard, now)
        if args.full_range:
            tr = TimeRange(now - timedelta(days=args.days), now)
        p = next(x for x in b.dashboard["panels"] if x["title"] == "Sentiment by channel")
        exact = (p["targets"][0]["rawSql"]
                 .replace("round(sum(score_sum) / sum(scored), 3)", "round(avg(sentiment_score), 3)")
                 .replace("FROM customer_sentiment_minute", "FROM events_scored FINAL")
                 .replace("$__timeInterval(minute)", "$__timeInterval(occurred_at)")
                 .replace("$__timeFilter(minute)", "$__timeFilter(occurred_at)")
                 .replace("channel != '' AND scored > 0",
                          "employee_id = '' AND channel != '' AND sentiment_label != ''"))
        print("\ncomparison (not a panel):")
        _time(store, "Sentiment by channel, exact from events_scored FINAL", expand(exact, panel_range(p, tr)),
              settings, args.runs)
        _time(store, "  same, without FINAL (replays double-counted)",
              expand(exact.replace(" FINAL", ""), panel_range(p, tr)), settings, args.runs)
        p95s = sorted(worst, reverse=True)
        print(f"\nslowest p95: {p95s[0]:.1f} ms; panels over 200 ms at p95: {sum(x > 200 for x in worst)}")
    if tmp:
        tmp.cleanup()


def _time(store, name: str, sql: str, settings: dict, runs: int) -> float:
    res = store.client.query(sql, settings=settings)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        store.client.query(sql, settings=settings)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"{name[:58]:58} {len(res.result_rows):>6} {p50:>8.1f} {p95:>8.1f} {times[-1]:>8.1f}")
    sys.stdout.flush()
    return p95


if __name__ == "__main__":
    main()
