"""Is subscription churn short of a better learner or of labelled history? One seed held out at a time.

    python bench/churn_more_data.py [--seeds 11,13,17,19,23,29,31,37] [--events 20000] [--sentiment model|labels]

Each seed's stream is replayed on the fast path under the deployed settings (``models.learners.replay``,
texts scored by the packaged model unless ``--sentiment labels``). For each held-out seed the bench
compares, on the churn examples made after warm-up (the pipeline's ROC AUC "after warm-up"):

* ``online``: the probability the pipeline predicted, learning from that stream alone since its start;
* ``pooled``: the same learner (``OnlineLearner("churn")``) after it learned the other seeds' examples,
  scoring the held-out examples without learning from them: the same features and model, more history;
* ``river LR``: River's ``StandardScaler | LogisticRegression`` on the same pooled examples (shuffled, the
  same weights): another learner, the same data.

If ``pooled`` beats ``online`` while ``river LR`` does not beat ``pooled``, the churn model is short of
labelled history (a 20,000-event stream holds 50-120 cancellations), not of a better learner; a deployment
gets that history by replaying its past events before it alerts (``pulsewire replay``, docs/learners.md).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench_learners import machine
from churn_alert_rules import seed_list
from churn_settings import DEFAULT_SEEDS


def seed_examples(seed: int, events: int, sentiment: str) -> list[dict]:
    """The churn examples of one seed's stream under the deployed settings, in the order they were made."""
    from pulsewire.models.learners.replay import Replay
    from pulsewire.streams.evaluate import EvalOptions, generate_counted

    opts = EvalOptions(seed=seed, events=events, sentiment=sentiment)
    sim, records, _ = generate_counted(seed, events, None, "subscription", True)
    r = Replay(opts.learner_config()).run(records, opts.fast_sentiment(sim, records))
    return [e for e in r.examples if e["model"] == "churn"]


def pooled_scores(train: list[dict], test: list[dict]) -> tuple[list[float], list[float]]:
    """Scores of ``test`` by the pipeline's churn learner and by River's logistic regression, both trained on
    ``train``."""
    from river import linear_model, preprocessing

    from pulsewire.models.learners.estimators import OnlineLearner

    ln = OnlineLearner("churn")
    for ex in train:
        ln.learn(ex)
    handle = ln.handle()
    lr = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    shuffled = list(train)
    random.Random(0).shuffle(shuffled)  # an SGD learner depends on order; the pooled seeds come one after another
    for ex in shuffled:
        lr.learn_one(ex["x"], bool(ex["y"]), w=float(ex.get("w", 1.0)))
    return ([handle.predict(ex["x"]) for ex in test],
            [float(lr.predict_proba_one(ex["x"]).get(True, 0.0)) for ex in test])


def main() -> None:
    from pulsewire.models.learners.evaluation import roc_auc
    from pulsewire.models.learners.processor import LearnerConfig

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=seed_list, default=DEFAULT_SEEDS, help="comma-separated generator seeds (two or more)")
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--sentiment", choices=("model", "labels"), default="model")
    a = ap.parse_args()
    if len(a.seeds) < 2:
        ap.error("--seeds: give at least two seeds (each is held out against the others)")
    t0 = time.monotonic()
    examples = {s: seed_examples(s, a.events, a.sentiment) for s in a.seeds}
    warm = LearnerConfig().min_positives_to_alert
    rows = []
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    print(f"{'seed':>4}  {'online':>6}  {'pooled':>6}  {'river LR':>8}  examples (positive) after warm-up, pooled from")
    for s in a.seeds:
        test = [e for e in examples[s] if e.get("n_pos", 0) >= warm]
        train = [e for t in a.seeds if t != s for e in examples[t]]
        ys = [e["y"] for e in test]
        pooled, river_lr = pooled_scores(train, test)
        row = (roc_auc([e["p"] for e in test], ys), roc_auc(pooled, ys), roc_auc(river_lr, ys))
        rows.append(row)
        print(f"{s:>4}  {fmt(row[0]):>6}  {fmt(row[1]):>6}  {fmt(row[2]):>8}  {len(test)} ({sum(ys)}), "
              f"{len(train)} ({sum(e['y'] for e in train)})")
    means = [fmt(statistics.mean(v)) if (v := [r[i] for r in rows if r[i] is not None]) else "-" for i in range(3)]
    print(f"mean  {means[0]:>6}  {means[1]:>6}  {means[2]:>8}  (ROC AUC on each held-out seed's examples after "
          f"warm-up; '-': a seed with no positive example after warm-up)")
    print(f"# subscription with activity, sentiment {a.sentiment}, {a.events} events per seed, fast path, "
          f"{time.monotonic() - t0:.0f} s; {machine()}")


if __name__ == "__main__":
    main()
