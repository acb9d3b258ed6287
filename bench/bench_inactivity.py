"""What churn by inactivity costs and produces on the fast path: the same generator records through the
in-process replay under the subscription definition (the same-run baseline: no sweep) and under the
inactivity definition (the daily event-time sweep of every customer).

    python bench/bench_inactivity.py [--events 20000] [--seed 11] [--days 45]

Prints the machine, events/s of each run, and for the inactivity run: lapses, y = 1 / y = 0 churn
examples, sweep predictions and win-back alerts (with the warm-up as configured).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench_learners import machine  # the same machine line as the other benches


def run(records, sentiments, cfg):
    from pulsewire.models.learners.replay import Replay

    t0 = time.perf_counter()
    r = Replay(cfg)
    for rec, s in zip(records, sentiments):
        r.feed(rec, s)
    return r, len(records) / (time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--days", type=float, default=45.0)
    args = ap.parse_args(argv)

    from pulsewire.models.learners.processor import LearnerConfig
    from pulsewire.models.learners.replay import hidden_label_sentiment
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=args.seed))
    records = [r for r in sim.records(limit=args.events) if isinstance(r, dict) and "kind" in r]
    sent = hidden_label_sentiment(sim.text_labels)
    sentiments = [sent(r) for r in records]
    base, base_rate = run(records, sentiments, LearnerConfig())
    inact, rate = run(records, sentiments, LearnerConfig(churn_definition="inactivity", churn_inactive_days=args.days))
    churn = [e for e in inact.examples if e["model"] == "churn"]
    silent = [p for p in inact.predictions if p["event_id"].startswith("silence:")]
    win_back = [a for a in inact.alerts if a.get("action") == "win_back"]
    print(f"machine: {machine()}")
    print(f"{len(records)} generator records (seed {args.seed}), N = {args.days:g} days")
    print(f"subscription (baseline, no sweep): {base_rate:,.0f} events/s; "
          f"churn examples {sum(e['model'] == 'churn' for e in base.examples)}")
    print(f"inactivity (daily sweep):          {rate:,.0f} events/s ({rate / base_rate:.2f} x); lapses "
          f"{inact.notes['lapsed']}, churn examples y=1 {sum(e['y'] for e in churn)} / y=0 "
          f"{sum(1 - e['y'] for e in churn)}, sweep predictions {len(silent)}, win-back alerts {len(win_back)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
