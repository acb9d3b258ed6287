"""River updates per second for each learner (a benchmark that prints figures; never pass/fail).

    python bench/bench_learners.py [--events 20000] [--repeat 3]

Training examples come from the in-process replay of the generator (seed 11), so the
feature vectors are the real ones. Measures learn_one (updates/s) and
predict_proba_one (predictions/s) of each composed model (``make_model``), and, as the
baseline measured in the same run on the same examples, River's own
``StandardScaler() | LogisticRegression()``; each rate is also printed as a ratio of the
baseline's. Then the whole per-event path of the features agent (``process_event``: features +
prediction + label join + policy).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}, load average {load:.1f}")


def best_rate(fn, n: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / min(times)


def learn_predict_rates(make, ex: list, repeat: int, weighted: bool) -> tuple[float, float]:
    """(learn_one/s from a fresh model, predict_proba_one/s of a model trained on all of ``ex``)."""

    def train():
        m = make()
        for x, y, w in ex:
            if weighted:
                m.learn_one(x, y, w=w)
            else:
                m.learn_one(x, y)
        return m

    trained = train()

    def predict():
        for x, _, _ in ex:
            trained.predict_proba_one(x)

    return best_rate(train, len(ex), repeat), best_rate(predict, len(ex), repeat)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    import river
    from river import linear_model, preprocessing

    from pulsewire.models.learners.estimators import make_model
    from pulsewire.models.learners.processor import LearnerConfig
    from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
    from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=11))
    records = list(sim.records(limit=args.events))
    sent = hidden_label_sentiment(sim.text_labels)
    sentiments = [sent(r) for r in records]
    t0 = time.perf_counter()
    r = Replay(LearnerConfig())
    for rec, s in zip(records, sentiments):
        r.feed(rec, s)
    path_rate = len(records) / (time.perf_counter() - t0)
    print(f"machine: {machine()}; river {river.__version__}")
    print(f"{'learner':10} {'examples':>9} {'learn_one/s':>12} {'predict_proba_one/s':>20}")
    for name in ("churn", "burnout"):
        ex = [(e["x"], bool(e["y"]), e["w"]) for e in r.examples if e["model"] == name]
        if not ex:
            continue

        rates = learn_predict_rates(lambda: make_model(name), ex, args.repeat, weighted=True)
        base_rates = learn_predict_rates(lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
                                         ex, args.repeat, weighted=False)
        print(f"{name:10} {len(ex):>9} {rates[0]:>12,.0f} {rates[1]:>20,.0f}   "
              f"({rates[0] / base_rates[0]:.2f} x / {rates[1] / base_rates[1]:.2f} x the baseline)")
        print(f"{'  baseline':10} {len(ex):>9} {base_rates[0]:>12,.0f} {base_rates[1]:>20,.0f}   "
              "(River StandardScaler | LogisticRegression, same examples)")
    print(f"whole per-event path (features + label join + predict + policy + metric contributions), "
          f"in-process: {path_rate:,.0f} events/s over {len(records)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
