"""Subscription churn alerts: the deployed rule against other ways to decide on the same scores.

    python bench/churn_alert_rules.py [--events 20000] [--seeds 11,13,7] [--no-activity] [--sentiment model]

Issue 13 asks for precision >= 0.6 at recall >= 0.6 for subscription churn. This bench asks whether
the *alert rule* is what stands in the way, or the scores. Each seed runs once through the fast path
(``models.learners.replay``: the pipeline's pure functions; sentiment from the hidden text labels, blurred,
or with ``--sentiment model`` from the packaged model as the score agent gives it, which is much closer
to the real pipeline's figures: ``pulsewire evaluate --fast --sentiment``); every
rule is then replayed on the same warm predictions in event time, so the rows of one seed differ only
in the rule. Figures are the episode figures ``pulsewire evaluate`` prints (``episode_figures``):
precision over customers first alerted at least 28 days before the end, recall over customers who
cancelled after warm-up, median lead in days, alerts per alerted customer.

Rules (one alert per episode; hysteresis and cooldown as deployed):

* ``deployed``: what the pipeline published (``LearnerConfig``: 0.55 on the first score, or 0.35 held
  for 2 days with every score in between at or above it for a customer who sends activity events);
* ``first T``: the first score at or above T;
* ``second T D-W``: a score at or above T while an earlier one at or above T lies D to W days back
  (a bad week passes, a decline comes back);
* ``mean T D``: the mean of the scores of the last D days at or above T (two scores at least);
* ``held + sweep``: the deployed held rule, where a customer's last score also stands in the silence
  after it (a sweep every half day alerts once it has held 2 days without a newer, lower score).

With ``--no-activity`` no hold applies, so ``deployed`` and ``first 0.55`` must print the same figures:
a check that the replay decides as the pipeline does.

The last line per seed checks the yardstick rather than the rule: precision of the deployed alerts
when an alert counts only if the cancellation follows within 56 days (the learners' label horizon)
and is judged only once 56 days of stream follow it. If that were much higher, the 28-day censor
would be hiding true alerts whose cancellation fell after the end of the stream.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from bench_learners import machine  # the same machine line as the other benches

DAY = 86400.0
HORIZON_DAYS = 56.0


def seed_run(seed: int, events: int, activity: bool, sentiment: str = "labels") -> dict:
    """Warm churn predictions per customer (event time), positives, entities and the stream's ends."""
    from pulsewire.models.learners.evaluation import positives_from_truth, with_churn_definition
    from pulsewire.models.learners.replay import Replay
    from pulsewire.streams.evaluate import EvalOptions, generate_counted

    opts = EvalOptions(seed=seed, events=events, activity=activity, sentiment=sentiment)
    cfg = opts.learner_config()
    sim, records, _ = generate_counted(seed, events, None, "subscription", activity)
    r = Replay(cfg).run(records, opts.fast_sentiment(sim, records))
    truth = with_churn_definition(sim.ground_truth(cfg.churn_inactive_days), opts.definition(),
                                  cfg.churn_inactive_days)
    preds = sorted((p for p in r.predictions if p["model"] == "churn"), key=lambda p: p["t"])
    warm = [p for p in preds if p.get("n_pos", 0) >= cfg.min_positives_to_alert]
    by_entity = defaultdict(list)
    for p in warm:
        by_entity[p["entity_id"]].append(p)
    return {"by_entity": by_entity, "entities": {p["entity_id"] for p in preds},
            "positives": positives_from_truth(truth)["churn"], "end_t": r.last_t,
            "warm_t": min((p["t"] for p in warm), default=r.last_t), "policy": cfg.policy("churn"),
            "held_policy": cfg.policy("churn", activity=True)}


def replay_rule(run: dict, threshold: float, ok) -> dict[str, list[float]]:
    """Alert times per customer when the policy sees a score at or above ``threshold`` only where
    ``ok(history, threshold)`` holds (``history``: the customer's (time, score) pairs so far)."""
    from pulsewire.models.learners.policy import AlertPolicy

    base = run["policy"]
    policy = AlertPolicy(threshold, min(base.rearm_below, threshold / 2), base.cooldown_days, 1, base.rearm_days)
    out = {}
    for e, preds in run["by_entity"].items():
        state, history, times = {}, [], []
        for p in preds:
            s = float(p["probability"])
            history.append((p["t"], s))
            seen = s if s >= threshold and ok(history, threshold) else min(s, threshold - 1e-9)
            if policy.decide(state, seen, p["t"]):
                times.append(p["t"])
        if times:
            out[e] = times
    return out


def first(history, threshold):
    return True


def second_look(days: float, within: float):
    def ok(history, threshold):
        t = history[-1][0]
        return any(t - within * DAY <= u <= t - days * DAY and s >= threshold for u, s in history[:-1])
    return ok


def window_mean(days: float):
    def ok(history, threshold):
        t = history[-1][0]
        recent = [s for u, s in history if u >= t - days * DAY]
        return len(recent) >= 2 and sum(recent) / len(recent) >= threshold
    return ok


def held_with_sweep(run: dict, step_days: float = 0.5) -> dict[str, list[float]]:
    """The deployed held rule, but a customer's last score also stands between its events: every
    ``step_days`` a sweep alerts when that score has held long enough (silence counts as holding)."""
    policy, out = run["held_policy"], {}
    for e, preds in run["by_entity"].items():
        state, times = {}, []
        stop = min(run["end_t"], run["positives"].get(e) or run["end_t"])
        for i, p in enumerate(preds):
            if policy.decide(state, float(p["probability"]), p["t"], p["event_id"]):
                times.append(p["t"])
            t, nxt = p["t"] + step_days * DAY, preds[i + 1]["t"] if i + 1 < len(preds) else stop
            while t < nxt:
                due = state.get("armed", True) and state.get("above") and \
                    t - state.get("above_t", t) >= policy.hold_days * DAY
                if due and policy.decide(state, float(p["probability"]), t, p["event_id"]):
                    times.append(t)
                t += step_days * DAY
        if times:
            out[e] = times
    return out


def strict_precision(run: dict, alerts: dict[str, list[float]]) -> tuple[int, int]:
    """(true, judged) first alerts when true means a cancellation within the label horizon."""
    judged = tp = 0
    for e, ts in alerts.items():
        if e not in run["entities"] or ts[0] > run["end_t"] - HORIZON_DAYS * DAY:
            continue
        judged += 1
        out = run["positives"].get(e)
        tp += out is not None and ts[0] < out <= ts[0] + HORIZON_DAYS * DAY
    return tp, judged


def row(name: str, run: dict, alerts: dict) -> str:
    from pulsewire.models.learners.evaluation import episode_figures

    f = episode_figures(alerts, run["positives"], run["entities"], run["end_t"], run["warm_t"])
    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    return (f"  {name:<18} precision {fmt(f['precision'], '.2f')}  recall {fmt(f['recall'], '.2f')}  "
            f"lead {fmt(f['median_lead_days'], '5.1f')} d  alerts/alerted {fmt(f['alerts_per_alerted_entity'], '.2f')}"
            f"  ({f['true_positives']}/{f['judged_alerts']} judged, {f['caught']}/{f['positives']} caught)")


def seed_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def event_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1000, got {text!r}")
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=event_count, default=20000)
    ap.add_argument("--seeds", type=seed_list, default=[11, 13, 7], help="comma-separated generator seeds")
    ap.add_argument("--no-activity", action="store_true", help="customers send no activity events")
    ap.add_argument("--sentiment", choices=("labels", "model"), default="labels",
                    help="texts' sentiment: the hidden labels, blurred, or the packaged model's")
    a = ap.parse_args()
    t0 = time.monotonic()
    for seed in a.seeds:
        run = seed_run(seed, a.events, not a.no_activity, a.sentiment)
        deployed = {e: [p["t"] for p in ps if p.get("alerted")] for e, ps in run["by_entity"].items()}
        deployed = {e: ts for e, ts in deployed.items() if ts}
        print(f"seed {seed}, subscription, {'without' if a.no_activity else 'with'} activity, "
              f"sentiment from the {'packaged model' if a.sentiment == 'model' else 'hidden labels'}")
        print(row("deployed", run, deployed))
        if not a.no_activity:
            print(row("held + sweep", run, held_with_sweep(run)))
        for t in (0.35, 0.45, 0.55):
            print(row(f"first {t}", run, replay_rule(run, t, first)))
        for t in (0.35, 0.45):
            for d, w in ((3, 14), (7, 21)):
                print(row(f"second {t} {d}-{w}", run, replay_rule(run, t, second_look(d, w))))
        for t in (0.25, 0.35):
            for d in (7, 14):
                print(row(f"mean {t} {d}", run, replay_rule(run, t, window_mean(d))))
        tp, judged = strict_precision(run, deployed)
        print(f"  deployed, true = cancels within {HORIZON_DAYS:.0f} days, judged after {HORIZON_DAYS:.0f}: "
              f"precision {format(tp / judged, '.2f') if judged else '-'} ({tp}/{judged})")
    print(f"# {a.events} events per seed, fast path ({a.sentiment}), {time.monotonic() - t0:.0f} s; {machine()}")


if __name__ == "__main__":
    main()
