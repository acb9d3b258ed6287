"""Alerts per episode for churn and burnout over many generator seeds: tune on some, report on the others.

    python bench/alert_episodes.py [--events 20000] [--late-hours 0,24] [--tune 1,2,3,11,13]
        [--held-out 4,5,6,7,8,9,10,12,14,15] [--before FIELD=VALUE,...] [--cache /tmp/alert-runs.pkl]

Each seed runs through the fast path (``models.learners.replay``: the pipeline's pure functions, hidden
text labels as sentiment) once per delay: records arrive in event time plus a random delay
(exponential, mean ``--late-hours``; 0 = in event-time order). Delays happen in the real pipeline,
where the validator reads the five ``events.*`` topics independently, so one entity's events reach
the features agent out of order (``pulsewire evaluate`` lets the validator lag by up to 250 records,
about two simulated days at 20,000 events over 26 weeks). The alert policy does not feed the learners,
so every candidate (hysteresis ``rearm_below`` and ``rearm_days``, ``cooldown_days``) is then replayed
on the same warm predictions, in arrival order, in seconds. The threshold and confirmations stay as
configured: they set when the first alert comes (precision, recall, lead time).

Rows: ``configured`` is the policy as deployed (``LearnerConfig``); ``no watermark`` is the same
policy deciding on late scores too (not moving only forward in event time), the same-run
baseline; ``before`` is the ``--before`` policy, also without the watermark; ``chosen``
is the candidate picked on the tuning seeds: the one whose worst tuning seed, under every delay, gives
the fewest alerts per alerted entity (the generator gives each entity at most one episode, so that is
alerts per episode, false alarms included), ties (to 0.01) going to the one that suppresses least
(shortest cooldown, then shortest ``rearm_days``, then highest rearm level). Cooldowns stop at 45 days:
the generator has no second episode to lose, but a customer who recovers and relapses two months later
should be alerted again, so longer cooldowns would win here and be wrong there.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import time
from dataclasses import replace

from bench_learners import machine  # the same machine line as the other benches


def seed_run(seed: int, events: int, cfg, late_hours: float):
    """Warm predictions per model (in arrival order), positives and the end of the stream for one seed."""
    import random

    from pulsewire.models.learners.evaluation import positives_from_truth
    from pulsewire.models.learners.features import event_time
    from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
    from pulsewire.streams.evaluate import generate

    sim, records = generate(seed, events)
    rng = random.Random(seed)
    good = [r for r in records if isinstance(r, dict) and "kind" in r]
    arrival = sorted(good, key=lambda r: event_time(r) + (rng.expovariate(1.0) * late_hours * 3600 if late_hours else 0))
    r = Replay(cfg).run(arrival, hidden_label_sentiment(sim.text_labels))
    pos = positives_from_truth(sim.ground_truth())
    out = {}
    for m in ("churn", "burnout"):
        preds = [p for p in r.predictions if p["model"] == m]
        warm = [p for p in preds if p["n_pos"] >= cfg.min_positives_to_alert]
        warm_t = min((p["t"] for p in warm), default=r.last_t)
        out[m] = {"warm": warm, "entities": {p["entity_id"] for p in preds}, "positives": pos[m],
                  "end_t": r.last_t, "warm_t": warm_t,
                  "published": sum(1 for p in warm if p["alerted"]), "policy": cfg.policy(m)}
    return out


def arrival_alerts(preds: list[dict], policy, watermark: bool = True) -> dict[str, list[float]]:
    """Alert times per entity when ``policy`` decides on the scores in the order they arrived."""
    from collections import defaultdict

    states, out = defaultdict(dict), defaultdict(list)
    for p in preds:
        st = states[p["entity_id"]]
        if not watermark:
            st.pop("seen_t", None)
        if policy.decide(st, float(p["probability"]), p["t"]):
            out[p["entity_id"]].append(p["t"])
    return {e: sorted(ts) for e, ts in out.items()}


def figures(run: dict, policy, watermark: bool = True) -> dict:
    from pulsewire.models.learners.evaluation import episode_figures

    times = arrival_alerts(run["warm"], policy, watermark)
    return episode_figures(times, run["positives"], run["entities"], run["end_t"], run["warm_t"])


def candidates(policy):
    for rearm, cooldown, rearm_days in itertools.product((0.5, 0.6, 0.7, 0.8), (21, 30, 45),
                                                         (0.0, 3.0, 7.0, 14.0)):
        yield replace(policy, rearm_below=round(policy.threshold * rearm, 4), cooldown_days=cooldown,
                      rearm_days=rearm_days)


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else float("nan")


POLICY_FIELDS = ("threshold", "rearm_below", "cooldown_days", "confirm", "rearm_days")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--tune", default="1,2,3,11,13")
    ap.add_argument("--held-out", default="4,5,6,7,8,9,10,12,14,15")
    ap.add_argument("--late-hours", default="0,24", help="mean delays of a record's arrival, one run each")
    ap.add_argument("--cache", help="pickle of the seeds' predictions: written once, read when present "
                                    "(the learners' code is not part of its key: delete it when that changes)")
    ap.add_argument("--before", default="", help="LearnerConfig fields of an earlier policy, e.g. "
                    "burnout_rearm_below=0.25,burnout_cooldown_days=30,burnout_rearm_days=0: a row of that "
                    "policy deciding on late scores too, as policies did before they moved only forward in event time")
    a = ap.parse_args(argv)
    from pulsewire.models.learners.processor import LearnerConfig

    cfg = LearnerConfig.from_env()
    previous = {k: type(getattr(cfg, k))(v) for k, v in (kv.split("=") for kv in a.before.split(",") if kv)}
    tune = [int(s) for s in a.tune.split(",") if s]
    held = [int(s) for s in a.held_out.split(",") if s]
    lates = [float(h) for h in a.late_hours.split(",") if h]
    t0 = time.monotonic()
    # predictions do not depend on the alert policy: a cache made under another policy is still good
    key = (a.events, repr(replace(cfg, **{f: None for f in cfg.__dataclass_fields__ if f.endswith(POLICY_FIELDS)})))
    runs = {}
    if a.cache and os.path.exists(a.cache):
        with open(a.cache, "rb") as f:
            cached = pickle.load(f)
        runs = cached["runs"] if cached.get("key") == key else {}
    for late in lates:
        for s in tune + held:
            if (late, s) not in runs:
                runs[(late, s)] = seed_run(s, a.events, cfg, late)
    if a.cache:
        with open(a.cache, "wb") as f:
            pickle.dump({"key": key, "runs": runs}, f)
    print(f"# {a.events} events per seed, fast path, {time.monotonic() - t0:.0f} s; {machine()}")
    for m in ("churn", "burnout"):
        current = cfg.policy(m)
        scored = []
        for cand in [current, *candidates(current)]:
            worst = max((figures(runs[(late, s)][m], cand)["alerts_per_alerted_entity"] or 0.0)
                        for late in lates for s in tune)
            scored.append((round(worst, 2), cand.cooldown_days, cand.rearm_days, -cand.rearm_below, cand))
        chosen = min(scored, key=lambda x: x[:4])[4]
        before = replace(cfg, **previous).policy(m) if previous else None
        print(f"\n## {m}: configured {fmt(current)}"
              f"{f'; before {fmt(before)}' if before and before != current else ''}"
              f"\n   chosen on seeds {tune} (every delay): {fmt(chosen)}")
        for late in lates:
            print(f"\n{m}, arrival delay mean {late:g} h")
            print(f"{'seed':>5} {'set':8} {'policy':12} {'alerts/entity':>13} {'max':>4} {'alerts/caught':>13} "
                  f"{'precision':>9} {'recall':>6} {'lead d':>6} {'alerted':>7}")
            rows = {"configured": [], "no watermark": [], "before": [], "chosen": []}
            for s in tune + held:
                for name, pol, wm in (("configured", current, True), ("no watermark", current, False),
                                      ("before", before, False), ("chosen", chosen, True)):
                    if pol is None or (name == "before" and pol == current) or (name == "chosen" and pol == current):
                        continue
                    f = figures(runs[(late, s)][m], pol, wm)
                    rows[name].append((s in held, f))
                    print(f"{s:>5} {'tune' if s in tune else 'held-out':8} {name:12} "
                          f"{num(f['alerts_per_alerted_entity'])} {f['max_alerts_per_entity']:>4} "
                          f"{num(f['alerts_per_caught_episode'])} {num(f['precision'], 9)} {num(f['recall'], 6)} "
                          f"{num(f['median_lead_days'], 6)} {f['alerted_entities']:>7}")
            for name, rs in rows.items():
                for label, keep in (("tuning", False), ("held-out", True)):
                    fs = [f for h, f in rs if h == keep]
                    if fs:
                        print(f"{m} {late:g} h {label:8} {name:12} alerts per alerted entity: mean "
                              f"{mean([f['alerts_per_alerted_entity'] for f in fs]):.3f}, worst "
                              f"{max(f['alerts_per_alerted_entity'] or 0 for f in fs):.3f}; alerts per caught "
                              f"episode: mean {mean([f['alerts_per_caught_episode'] for f in fs]):.3f}, worst "
                              f"{max(f['alerts_per_caught_episode'] or 0 for f in fs):.3f}")
    # the in-process policy must agree with the offline replay of it (same decisions on the same scores)
    for (late, s), run in runs.items():
        for m in ("churn", "burnout"):
            offline = sum(len(ts) for ts in arrival_alerts(run[m]["warm"], run[m]["policy"]).values())
            if offline != run[m]["published"]:
                print(f"WARNING seed {s}, {late:g} h, {m}: {offline} offline decisions vs {run[m]['published']} "
                      f"in process", file=sys.stderr)
    return 0


def fmt(p) -> str:
    return (f"threshold {p.threshold}, confirm {p.confirm}, rearm below {p.rearm_below}"
            f"{f' for {p.rearm_days:g} days' if p.rearm_days else ''}, cooldown {p.cooldown_days:g} days")


def num(x, w: int = 13) -> str:
    return f"{x:>{w}.2f}" if isinstance(x, float) else f"{'n/a' if x is None else x:>{w}}"


if __name__ == "__main__":
    sys.exit(main())
