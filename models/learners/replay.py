"""The in-process fast path: the same pure functions as the Faust agents, fed directly.

Used by unit tests and for quick experiments (``pulsewire evaluate --fast``).
The headline quality figures come from the real pipeline (``streams/evaluate.py``);
this path differs only in transport: no Kafka, models published every
``publish_every`` labels instead of every learner batch, and sentiment from a
function you pass (the generator's hidden text labels, or the real scorer).

>>> r = Replay(LearnerConfig(min_positives_to_alert=0), publish_every=1)
>>> r.feed({"event_id": "a", "kind": "account", "type": "signup", "customer_id": "c1",
...         "occurred_at": "2026-05-01T00:00:00+00:00", "plan": "growth"})
>>> r.feed({"event_id": "b", "kind": "account", "type": "cancellation", "customer_id": "c1",
...         "occurred_at": "2026-05-20T00:00:00+00:00"})
>>> len(r.examples), r.examples[0]["y"], r.learners["churn"].n_labels
(1, 1, 1)

What a customer does (the ``activity`` kind) is routed to the customer like their texts:

>>> r.feed({"event_id": "c", "kind": "activity", "type": "login", "customer_id": "c2",
...         "occurred_at": "2026-05-21T00:00:00+00:00"})
>>> list(r.states["customer:c2"]["f"]["act"]["types"]), r.predictions[-1]["entity_id"]
(['login'], 'c2')
"""

from __future__ import annotations

import random
from collections import defaultdict

from .estimators import OnlineLearner
from .evaluation import evaluate_model, positives_from_truth
from .features import event_time
from .metrics import apply, contributions, new_dim_state
from .inactivity import advance
from .processor import LearnerConfig, Output, process_event, sweep_entity


def hidden_label_sentiment(text_labels: dict[str, int], noise: float = 0.25, seed: int = 0):
    """A stand-in scorer for tests: the generator's hidden label of the text, blurred with noise."""
    rng = random.Random(seed)

    def fn(ev: dict) -> dict | None:
        if not ev.get("text"):
            return None
        lab = text_labels.get(ev.get("event_id"), 0)
        if rng.random() < noise:
            lab = rng.choice((-1, 0, 1))
        score = max(-1.0, min(1.0, 0.8 * lab + rng.gauss(0, 0.15)))
        return {"label": {-1: "negative", 0: "neutral", 1: "positive"}[lab], "score": score,
                "probabilities": {}, "model_version": "hidden-labels", "truncated": False}
    return fn


class Replay:
    def __init__(self, cfg: LearnerConfig | None = None, publish_every: int = 100, min_group_size: int = 5,
                 min_comment_group_size: int = 10, seed: int = 0):
        self.cfg = cfg or LearnerConfig()
        self.publish_every = publish_every
        self.learners = {m: OnlineLearner(m, calibration_lr=self.cfg.calibration_lr(m)) for m in ("churn", "burnout")}
        self.handles = {m: ln.handle() for m, ln in self.learners.items()}
        self._since = {m: 0 for m in self.learners}
        self.states: dict[str, dict] = {}
        self.dims: dict[str, dict] = defaultdict(new_dim_state)
        self.examples: list[dict] = []
        self.predictions: list[dict] = []
        self.alerts: list[dict] = []      # published (after consent gating)
        self.decisions: list[dict] = []   # every per-entity alert decision
        self.metric_rows: list[dict] = []
        self.notes: dict[str, int] = defaultdict(int)
        self.groups = {"min_group_size": min_group_size, "min_comment_group_size": min_comment_group_size}
        self.last_t = None
        self._buffer: dict[str, list] = {m: [] for m in self.learners}
        self._rng = random.Random(seed)
        self._mark: dict = {}  # the event-time watermark of the sweep (one partition here)

    def feed(self, ev: dict, sentiment: dict | None = None) -> None:
        from .processor import route

        r = route(ev)
        key = f"{r[0]}:{r[1]}" if r else None
        if self.cfg.churn_definition == "inactivity":  # like the worker: sweep each day the watermark passes
            for now in advance(self._mark, event_time(ev), self.cfg.churn_sweep_lateness_hours * 3600):
                for st in list(self.states.values()):
                    self._collect(sweep_entity(st, now, self.handles, self.cfg), None, None)
        state, out = process_event(self.states.get(key) if key else None, ev, sentiment, self.handles, self.cfg)
        if key:
            self.states[key] = state
        self.last_t = max(self.last_t or event_time(ev), event_time(ev))
        self._collect(out, ev, sentiment)

    def _collect(self, out: Output, ev: dict | None, sentiment: dict | None) -> None:
        for n in out.notes:
            self.notes[n] += 1
        if out.prediction:
            self.predictions.append(out.prediction)
        if out.alert:
            self.decisions.append(out.alert)
            if out.entity_type != "employee" or out.consent:
                self.alerts.append(out.alert)
        for ex in out.examples:
            self.examples.append(ex)
            buf = self._buffer[ex["model"]]
            buf.append(ex)
            if len(buf) >= self.publish_every:  # like the learner agent: a batch, shuffled, then a snapshot
                self.learners[ex["model"]].learn_batch(buf)
                self.handles[ex["model"]] = self.learners[ex["model"]].publish_handle()
                buf.clear()
        if ev is None:  # a sweep: no event, no metric contribution
            return
        by_dim = defaultdict(list)
        for dim, item in contributions(ev, sentiment, out.entity_type, out.team_id, out.entity_id,
                                       team_risk=out.team_risk, previous_team=out.previous_team):
            by_dim[dim].append(item)
        for dim, items in by_dim.items():
            _, rows, alerts = apply(self.dims[dim], dim, items, spike_min_texts=self.cfg.spike_min_texts,
                                    spike_margin=self.cfg.spike_margin,
                                    spike_cooldown_days=self.cfg.spike_cooldown_days,
                                    team_burnout_min_flagged=self.cfg.team_burnout_min_flagged,
                                    burnout_threshold=self.cfg.burnout_threshold,
                                    alerts_from=self.cfg.alerts_from_t, **self.groups)
            self.metric_rows.extend(rows)
            self.alerts.extend(alerts)

    def run(self, records, sentiment_fn) -> "Replay":
        for rec in records:
            if isinstance(rec, dict) and "occurred_at" in rec and "kind" in rec:
                self.feed(rec, sentiment_fn(rec))
        return self

    def figures(self, truth: dict, pseudonymise=None) -> dict:
        pos = positives_from_truth(truth, pseudonymise)
        return {m: evaluate_model(m, self.examples, self.predictions, pos[m], self.last_t, self.cfg.policy(m),
                                  self.cfg.baseline_policy(m), self.cfg.min_positives_to_alert)
                for m in ("churn", "burnout")}
