"""The scoring agent inside the running pipeline vs. the scorer standalone, in one run.

    python bench/bench_pipeline.py [--events 6000] [--batch 64]

1. standalone: the int8 scorer on the generator's own texts, in batches of --batch (texts/s);
2. pipeline: ``pulsewire demo`` with the same generator on the embedded broker, then from the
   store: texts scored, the score stage's busy seconds (pipeline_health), and wall time.

Printed: texts/s standalone; the scoring agent's rate inside the pipeline (texts per busy second
of the score stage, i.e. what the agent achieves while it shares the 2 cores with the broker,
the other agents and the producer); the end-to-end rate (texts per second of pipeline wall time);
and both as ratios of standalone. Figures, not pass/fail.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def generator_texts(n_events: int, seed: int) -> list[str]:
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=seed))
    return [r["text"] for r in sim.records(limit=n_events) if isinstance(r, dict) and r.get("text")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=64, help="the score agent's default micro-batch")
    args = ap.parse_args(argv)

    from bench_sentiment import machine, standalone_rate

    from pulsewire.models.sentiment import load_scorer

    print("machine:", json.dumps(machine()))
    texts = generator_texts(args.events, args.seed)
    scorer = load_scorer(threads=2)
    alone = standalone_rate(scorer, texts, args.batch, min_seconds=10.0)
    alone_rate = alone["texts_per_s"] if "texts_per_s" in alone else alone.get("rate")
    print(f"standalone: {len(texts)} generator texts, batch {args.batch}: {alone_rate:.1f} texts/s "
          f"({scorer.version})")
    del scorer

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "demo"
        env = dict(os.environ, PULSEWIRE_SCORE_BATCH_SIZE=str(args.batch))
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "demo", "--events", str(args.events),
                            "--seed", str(args.seed), "--data-dir", str(data), "--bad-rate", "0", "--json"],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            print(r.stderr[-3000:])
            return 1
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        q = ("from pulsewire.streams.store import open_store; import json, sys\n"
             "s = open_store(sys.argv[1])\n"
             "print(json.dumps(s.query_dicts(\"SELECT stage, sum(events) AS events, sum(busy_s) AS busy_s "
             "FROM pipeline_health GROUP BY stage\")))")
        rows = json.loads(subprocess.run([sys.executable, "-c", q, f"chdb://{data / 'clickhouse'}"],
                                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    stages = {row["stage"]: row for row in rows}
    scored = sum(summary["sentiment_labels"].values())
    score_busy = stages.get("score", {}).get("busy_s") or float("nan")
    agent_rate = scored / score_busy
    e2e_rate = scored / summary["pipeline_s"]
    print(f"pipeline: {summary['events_sent']} events, {scored} texts scored, pipeline {summary['pipeline_s']} s, "
          f"{summary['events_per_s']} events/s, wall {time.perf_counter() - t0:.1f} s")
    print(f"score agent inside the pipeline: {agent_rate:.1f} texts/s per busy second "
          f"= {agent_rate / alone_rate:.2f} x standalone")
    print(f"end to end: {e2e_rate:.1f} texts/s of pipeline wall time = {e2e_rate / alone_rate:.2f} x standalone")
    print("stages (events, busy s):", {k: (v["events"], round(v["busy_s"], 1)) for k, v in stages.items()})
    print(f"python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
