"""Drift watch figures (prints them; never pass/fail): detection delay of the generator's planted shift,
alarms on the same stream without it, and alarms on long stationary synthetic series.

    python bench/bench_drift.py [--events 20000] [--seeds 7 11 13] [--shift channel:email@week10]
                                [--synthetic 200000] [--learners]

``--learners`` also replays a clean stream (no shift) through the learners in process, as
``pulsewire evaluate --fast`` does, and counts what the learn agent's error and feature watchers would
report if they were on (``LEARNER_WATCH`` is off; this is the figure that keeps it off).

Texts are scored with the packaged sentiment model and watched per channel as the metrics agent
watches them (default ``DetectorParams``). The delay is counted in the shifted channel's texts after
the first text of the shift week; "since" is how far the reported change point is from the shift.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from datetime import datetime

from bench_learners import machine  # the same machine line as the other benches

from pulsewire.models.oversight.drift import (DetectorParams, WatchGroup, Watcher, channel_observations,
                                              example_observations)
from pulsewire.models.sentiment.scorer import load_scorer
from pulsewire.streams.connectors.generator import WEEK, GeneratorConfig, SmbSimulation
from pulsewire.streams.connectors.generator_drift import parse_shift


def texts(seed: int, shift: str | None, n: int):
    sim = SmbSimulation(GeneratorConfig(seed=seed, shift=shift))
    return [r for r in sim.records(limit=n) if isinstance(r, dict) and r.get("customer_id") and r.get("text")
            and r.get("author_role") != "agent"
            and r.get("channel")], sim


def watch(recs, scores):
    groups, found = {}, []
    for i, (r, s) in enumerate(zip(recs, scores)):
        g = groups.setdefault(r["channel"], WatchGroup.restore(None, DetectorParams()))
        item = {"k": "cs", "s": s, "t": datetime.fromisoformat(r["occurred_at"]).timestamp()}
        found += [(i, r["channel"], c) for _, c in g.feed("signals.metrics", 0, i, channel_observations([item]))]
    return found


def learner_alarms(seed: int, n: int) -> tuple[dict, Counter]:
    from pulsewire.models.learners.processor import LearnerConfig
    from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
    from pulsewire.streams.evaluate import generate

    sim, records = generate(seed, n)
    r = Replay(LearnerConfig.from_env()).run(records, hidden_label_sentiment(sim.text_labels))
    groups, alarms = {}, Counter()
    for i, ex in enumerate(r.examples):
        g = groups.setdefault(ex["model"], WatchGroup.restore(None, DetectorParams()))
        for name, _ in g.feed(f"learn.{ex['model']}", 0, i, example_observations(ex)):
            alarms[f"{ex['model']}/{name.split(':')[0]}"] += 1
    return Counter(e["model"] for e in r.examples), alarms


def trimodal(rng):
    r = rng.random()
    return rng.uniform(-1, -0.6) if r < 0.3 else (rng.uniform(-0.2, 0.2) if r < 0.6 else rng.uniform(0.6, 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    ap.add_argument("--shift", default="channel:email@week10")
    ap.add_argument("--synthetic", type=int, default=200_000)
    ap.add_argument("--learners", action="store_true", help="also count the (off) learner watchers' alarms")
    a = ap.parse_args(argv)
    shift = parse_shift(a.shift)
    print(f"machine: {machine()}; params: {DetectorParams()}")
    scorer = load_scorer()
    for seed in a.seeds:
        stable, sim = texts(seed, None, a.events)
        shifted, _ = texts(seed, a.shift, a.events)
        scores = [s.score for s in scorer.score([r["text"] for r in stable])]
        changed = [i for i, (x, y) in enumerate(zip(stable, shifted)) if x["text"] != y["text"]]
        new = dict(zip(changed, (s.score for s in scorer.score([shifted[i]["text"] for i in changed]))))
        shifted_scores = [new.get(i, s) for i, s in enumerate(scores)]
        shift_t = sim.t0 + shift.week * WEEK
        on_channel = [r for r in stable if r["channel"] == shift.value]
        before = sum(datetime.fromisoformat(r["occurred_at"]).timestamp() < shift_t for r in on_channel)
        false_stable = watch(stable, scores)
        found = watch(shifted, shifted_scores)
        print(f"seed {seed}: {len(stable)} customer texts on {len({r['channel'] for r in stable})} channels; "
              f"{shift.value}: {len(on_channel)} texts, {before} before the shift")
        print(f"  stable stream: {len(false_stable)} drift events " +
              ", ".join(f"{ch} {c.direction} at text {i}" for i, ch, c in false_stable))
        for i, ch, c in found:
            after = sum(1 for r in shifted[:i + 1] if r["channel"] == ch
                        and datetime.fromisoformat(r["occurred_at"]).timestamp() >= shift_t)
            print(f"  shifted stream: {ch} {c.direction}: {after} {ch} texts after the shift "
                  f"({(c.detected_at - shift_t) / 86400:.1f} days), since {(c.changed_since - shift_t) / 86400:+.1f} "
                  f"days from the shift, mean {c.before_mean:+.3f} (n={c.before_count}) -> {c.after_mean:+.3f} "
                  f"(n={c.after_count})")
    for name, gen in (("gaussian", lambda r: r.gauss(0, 1)), ("trimodal scores", trimodal),
                      ("bernoulli(0.1)", lambda r: float(r.random() < 0.1))):
        alarms = []
        for seed in range(3):
            rng, w = random.Random(seed), Watcher.new(DetectorParams())
            alarms.append(sum(1 for i in range(a.synthetic) if w.observe(gen(rng), float(i))))
        print(f"stationary {name}: {alarms} alarms in 3 x {a.synthetic} values")
    for seed in a.seeds if a.learners else ():
        examples, alarms = learner_alarms(seed, a.events)
        print(f"learner watchers (off), clean stream seed {seed}: {dict(examples)} examples, "
              f"{sum(alarms.values())} alarms {dict(alarms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
