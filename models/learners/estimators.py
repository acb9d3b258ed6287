"""The churn and burnout classifiers: River pipelines with online calibration, explanations and signed snapshots.

Composition is River's: ``Calibrated(PriorBlend(Shape() | GaussianNBRisk(), Shape() | RiskPrior(...)))``
for burnout and ``Calibrated(PriorBlend(Shape() | LinearDiscriminantRisk(), Shape() | RiskPrior(...)))`` for churn
(``make_model``); a snapshot of an earlier structure still loads and keeps learning as it was. A
``Calibrated(StandardScaler() | LogisticRegression())`` works the same way and passes the same
checks, but SGD swings with the bursts of delayed labels (docs/learners.md explains the choice).
``Calibrated`` is online Platt scaling: it maps the inner model's log-odds
through ``sigmoid(a * z + b)`` and learns ``a, b`` from each example *before*
the inner model learns it (so the calibrator only sees held-out predictions).

>>> model = make_model("churn")
>>> for i in range(400):
...     x = {"neg": float(i % 5), "csat": float(5 - i % 5)}
...     model.learn_one(x, i % 5 >= 3)
>>> p_hi = model.predict_proba_one({"neg": 4.0, "csat": 1.0})[True]
>>> p_lo = model.predict_proba_one({"neg": 0.0, "csat": 5.0})[True]
>>> p_hi > 0.7 > 0.3 > p_lo
True
>>> sorted(name for name, _ in explain(model, {"neg": 4.0, "csat": 1.0})[:2])
['csat', 'neg']
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import pickle
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from river import base, compose, linear_model, preprocessing

SNAPSHOT_FORMAT = "pickle+hmac-sha256/1"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))


class Calibrated(base.Wrapper, base.Classifier):
    """Online Platt scaling around a binary classifier.

    Parameters
    ----------
    classifier
        A binary classifier with ``predict_proba_one`` (e.g. a River pipeline).
    lr
        Learning rate of the two calibration parameters.

    >>> from river import linear_model, preprocessing
    >>> m = Calibrated(preprocessing.StandardScaler() | linear_model.LogisticRegression())
    >>> m.predict_proba_one({"x": 1.0})
    {False: 0.5, True: 0.5}
    >>> m.learn_one({"x": 1.0}, True)
    >>> m.predict_proba_one({"x": 1.0})[True] > 0.5
    True
    """

    def __init__(self, classifier: base.Classifier, lr: float = 0.02):
        self.classifier = classifier
        self.lr = lr
        self.a = 1.0
        self.b = 0.0
        self.n = 0

    @property
    def _wrapped_model(self):
        return self.classifier

    @property
    def _multiclass(self):
        return False

    @classmethod
    def _unit_test_params(cls):
        yield {"classifier": preprocessing.StandardScaler() | linear_model.LogisticRegression()}

    def _raw(self, x) -> float:
        return self.classifier.predict_proba_one(x).get(True, 0.0)

    def learn_one(self, x, y, w: float = 1.0):
        y = bool(y)
        z = _logit(self._raw(x))
        p = _sigmoid(self.a * z + self.b)
        g = p - (1.0 if y else 0.0)  # gradient of log loss w.r.t. the calibrated logit
        self.a -= self.lr * w * g * z
        self.b -= self.lr * w * g
        self.a = max(0.05, self.a)  # never flip the ranking of the inner model
        self.n += 1
        if w == 1.0:
            self.classifier.learn_one(x, y)
        else:
            self.classifier.learn_one(x, y, w=w)

    def predict_proba_one(self, x):
        p = _sigmoid(self.a * _logit(self._raw(x)) + self.b)
        return {False: 1.0 - p, True: p}


class GaussianNBRisk(base.Classifier):
    """Binary Gaussian naive Bayes with weighted updates, a variance floor and clipped evidence.

    Order-invariant (its state is sums), so bursts of delayed labels (one cancellation labels a month of
    one customer's predictions) cannot swing it the way SGD swings a linear model. Each feature's
    contribution is its log-likelihood ratio, clipped to ``±clip``, so an explanation is just those terms.

    >>> nb = GaussianNBRisk()
    >>> for i in range(100):
    ...     nb.learn_one({"neg": float(i % 4)}, i % 4 == 3)
    >>> nb.predict_proba_one({"neg": 3.0})[True] > 0.8 > 0.1 > nb.predict_proba_one({"neg": 0.0})[True]
    True
    """

    def __init__(self, var_floor: float = 0.05, clip: float = 3.0, prior_strength: float = 1.0):
        self.var_floor = var_floor
        self.clip = clip
        self.prior_strength = prior_strength
        self.stats: dict = {False: {}, True: {}}  # class -> feature -> [weight, mean, M2]
        self.counts = {False: 0.0, True: 0.0}

    @property
    def _multiclass(self):
        return False

    @staticmethod
    def _upd(s: list, x: float, w: float) -> None:
        s[0] += w
        d = x - s[1]
        s[1] += w * d / s[0]
        s[2] += w * d * (x - s[1])

    def learn_one(self, x, y, w: float = 1.0):
        y = bool(y)
        self.counts[y] += w
        st = self.stats[y]
        for k, v in x.items():
            self._upd(st.setdefault(k, [0.0, 0.0, 0.0]), float(v), w)

    def _var(self, s) -> float:
        return s[2] / s[0] if s[0] > 0 else 0.0

    def contributions(self, x) -> dict[str, float]:
        out = {}
        for k, v in x.items():
            s1, s0 = self.stats[True].get(k), self.stats[False].get(k)
            if not s1 or not s0 or s1[0] < 2 or s0[0] < 2:
                continue
            pooled = (s1[2] + s0[2]) / (s1[0] + s0[0])
            floor = max(self.var_floor * pooled, 1e-4)
            v1, v0 = max(self._var(s1), floor), max(self._var(s0), floor)
            llr = (-0.5 * math.log(v1) - (v - s1[1]) ** 2 / (2 * v1)) - (-0.5 * math.log(v0) - (v - s0[1]) ** 2 / (2 * v0))
            out[k] = max(-self.clip, min(self.clip, llr))
        return out

    def predict_proba_one(self, x):
        n1, n0 = self.counts[True], self.counts[False]
        if n1 <= 0 or n0 <= 0:
            return {False: 0.5, True: 0.5}
        a = self.prior_strength
        z = math.log((n1 + a) / (n0 + a)) + sum(self.contributions(x).values())
        p = _sigmoid(z)
        return {False: 1.0 - p, True: p}


class LinearDiscriminantRisk(base.Classifier):
    """Binary linear discriminant: two class means and one pooled covariance, all kept as weighted sums.

    Order-invariant like ``GaussianNBRisk`` (its state is sums, so a burst of delayed labels cannot swing
    it), but it sees that features move together: three ticket counts that rise at once are one piece of
    evidence, not three. The log-odds are ``log(n1 / n0) + sum_k w_k (x_k - m_k)`` with
    ``w = S^-1 (mu1 - mu0)`` (``S`` shrunk towards its diagonal) and ``m`` the midpoint of the class means;
    each term, clipped to ``±clip`` like naive Bayes' evidence, is that feature's contribution, i.e. the
    explanation (the clip limits what one extreme value can say; it also means redundant features count
    once only while their terms stay inside it). A feature missing from ``x`` contributes nothing.

    >>> lda = LinearDiscriminantRisk()
    >>> for i in range(200):
    ...     lda.learn_one({"neg": float(i % 4), "neg_copy": float(i % 4), "csat": float(4 - i % 4)}, i % 4 == 3)
    >>> lda.predict_proba_one({"neg": 3.0, "neg_copy": 3.0, "csat": 1.0})[True] > 0.8
    True
    >>> lda.predict_proba_one({"neg": 0.0, "neg_copy": 0.0, "csat": 4.0})[True] < 0.1
    True
    """

    def __init__(self, shrinkage: float = 0.1, clip: float = 3.0, prior_strength: float = 1.0):
        self.shrinkage = shrinkage
        self.clip = clip
        self.prior_strength = prior_strength
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.counts = {False: 0.0, True: 0.0}
        self.sums = {False: np.zeros(0), True: np.zeros(0)}
        self.outer = {False: np.zeros((0, 0)), True: np.zeros((0, 0))}
        self._fit = None  # (weights, midpoint), cached until the next learn_one

    @property
    def _multiclass(self):
        return False

    def _grow(self, x) -> None:
        new = [k for k in x if k not in self.index]
        if not new:
            return
        for k in new:
            self.index[k] = len(self.names)
            self.names.append(k)
        d, extra = len(self.names), len(new)
        for c in (False, True):
            self.sums[c] = np.concatenate([self.sums[c], np.zeros(extra)])
            grown = np.zeros((d, d))
            grown[:d - extra, :d - extra] = self.outer[c]
            self.outer[c] = grown

    def learn_one(self, x, y, w: float = 1.0):
        y = bool(y)
        self._grow(x)
        v = np.zeros(len(self.names))
        for k, val in x.items():
            v[self.index[k]] = float(val)
        self.counts[y] += w
        self.sums[y] += w * v
        self.outer[y] += w * np.outer(v, v)
        self._fit = None

    def _weights(self):
        if self._fit is None:
            n0, n1 = self.counts[False], self.counts[True]
            mu0, mu1 = self.sums[False] / n0, self.sums[True] / n1
            cov = (self.outer[False] - n0 * np.outer(mu0, mu0) + self.outer[True] - n1 * np.outer(mu1, mu1)) / (n0 + n1)
            diag = np.diag(cov).copy()
            floor = 1e-3 * max(float(diag.mean()), 0.0) + 1e-6
            diag = np.maximum(diag, floor)
            shrunk = (1 - self.shrinkage) * cov + self.shrinkage * np.diag(diag)
            shrunk[np.diag_indices_from(shrunk)] = np.maximum(np.diag(shrunk), floor)
            self._fit = (np.linalg.solve(shrunk, mu1 - mu0), (mu0 + mu1) / 2)
        return self._fit

    def contributions(self, x) -> dict[str, float]:
        if self.counts[True] < 2 or self.counts[False] < 2:
            return {}
        weights, mid = self._weights()
        out = {}
        for k, val in x.items():
            i = self.index.get(k)
            if i is not None:
                c = float(weights[i] * (float(val) - mid[i]))
                out[k] = max(-self.clip, min(self.clip, c)) if math.isfinite(c) else 0.0
        return out

    def predict_proba_one(self, x):
        n1, n0 = self.counts[True], self.counts[False]
        if n1 < 2 or n0 < 2:
            return {False: 0.5, True: 0.5}
        a = self.prior_strength
        p = _sigmoid(math.log((n1 + a) / (n0 + a)) + sum(self.contributions(x).values()))
        return {False: 1.0 - p, True: p}


class Shape(base.Transformer):
    """Feature shaping before the model: ``log1p`` of count features (names ending ``_7d``, ``_14d``,
    ``_28d``, ``_60d``, ``_90d``), the rest unchanged.

    >>> Shape().transform_one({"neg_tickets_7d": 3.0, "csat_recent": 2.0})
    {'neg_tickets_7d': 1.3863, 'csat_recent': 2.0}
    """

    SUFFIXES = ("_7d", "_14d", "_28d", "_60d", "_90d")

    def transform_one(self, x):
        return {k: (round(math.log1p(max(0.0, v)), 4) if k.endswith(self.SUFFIXES) else v) for k, v in x.items()}


class RiskPrior(base.Classifier):
    """A fixed, weakly-informative logistic score: the model before it has seen any label.

    ``weights`` maps a feature to ``(weight, center, scale)``; the log-odds are
    ``logit(base_rate) + sum(weight * (x - center) / scale)`` over the features present. The weights
    encode domain knowledge only (which way a signal points and roughly how strongly), never data;
    ``learn_one`` does nothing. ``PriorBlend`` hands over from it to the learned model as labels arrive.

    >>> prior = RiskPrior({"neg": (1.0, 0.0, 1.0), "csat": (-1.0, 4.0, 1.0)}, base_rate=0.05)
    >>> round(prior.predict_proba_one({})[True], 3)
    0.05
    >>> prior.predict_proba_one({"neg": 3.0, "csat": 2.0})[True] > 0.5 > prior.predict_proba_one({"neg": 0.0})[True]
    True
    >>> prior.contributions({"neg": 3.0, "csat": 2.0})
    {'neg': 3.0, 'csat': 2.0}
    """

    def __init__(self, weights: dict, base_rate: float = 0.05, clip: float = 3.0):
        self.weights = weights
        self.base_rate = base_rate
        self.clip = clip

    @property
    def _multiclass(self):
        return False

    @classmethod
    def _unit_test_params(cls):
        yield {"weights": {"x": (1.0, 0.0, 1.0)}}

    def learn_one(self, x, y, w: float = 1.0):
        return None  # fixed: the prior is what the model believes before any data

    def contributions(self, x) -> dict[str, float]:
        out = {}
        for k, (wt, center, scale) in self.weights.items():
            if k in x:
                c = wt * (float(x[k]) - center) / scale
                out[k] = max(-self.clip, min(self.clip, c))
        return out

    def predict_proba_one(self, x):
        p = _sigmoid(_logit(self.base_rate) + sum(self.contributions(x).values()))
        return {False: 1.0 - p, True: p}


class PriorBlend(base.Wrapper, base.Classifier):
    """Hands over from a fixed prior to a learned classifier as positive labels arrive.

    Log-odds ``lam * z_prior + (1 - lam) * z_model`` with ``lam = strength / (strength + n_pos)``
    (``n_pos``: positive examples learned), never below ``floor``. Before the first positive label the
    prediction is the prior's: a cold-started model already ranks entities by the obvious risk signals
    instead of predicting one constant for everybody. Both parts see the same ``x``; put shaping
    transformers in front of each (``Shape() | RiskPrior(...)``).

    >>> blend = PriorBlend(GaussianNBRisk(), RiskPrior({"neg": (1.0, 0.0, 1.0)}), strength=10)
    >>> blend.predict_proba_one({"neg": 3.0})[True] > 0.5 > blend.predict_proba_one({"neg": 0.0})[True]
    True
    >>> for i in range(200):
    ...     blend.learn_one({"neg": float(i % 4)}, i % 4 == 0)     # the data say the opposite
    >>> blend.lam, blend.predict_proba_one({"neg": 0.0})[True] > blend.predict_proba_one({"neg": 3.0})[True]
    (0.1667, True)
    """

    def __init__(self, classifier: base.Classifier, prior: base.Classifier, strength: float = 60.0,
                 floor: float = 0.0):
        self.classifier = classifier
        self.prior = prior
        self.strength = strength
        self.floor = floor
        self.n_pos = 0

    @property
    def _wrapped_model(self):
        return self.classifier

    @property
    def _multiclass(self):
        return False

    @classmethod
    def _unit_test_params(cls):
        yield {"classifier": GaussianNBRisk(), "prior": RiskPrior({"x": (1.0, 0.0, 1.0)})}

    @property
    def lam(self) -> float:
        if self.strength <= 0:
            return self.floor
        return round(max(self.floor, self.strength / (self.strength + self.n_pos)), 4)

    def learn_one(self, x, y, w: float = 1.0):
        y = bool(y)
        self.n_pos += int(y)
        if w == 1.0:
            self.classifier.learn_one(x, y)
        else:
            self.classifier.learn_one(x, y, w=w)

    def predict_proba_one(self, x):
        lam = self.lam
        z = lam * _logit(self.prior.predict_proba_one(x).get(True, 0.5))
        if lam < 1.0:
            z += (1.0 - lam) * _logit(self.classifier.predict_proba_one(x).get(True, 0.5))
        p = _sigmoid(z)
        return {False: 1.0 - p, True: p}

    def contributions(self, x) -> dict[str, float]:
        """Per-feature log-odds terms of both parts, weighted like the prediction."""
        lam, out = self.lam, {}
        for part, weight in ((self.prior, lam), (self.classifier, 1.0 - lam)):
            transformers, last = _split(part)
            if weight <= 0 or not hasattr(last, "contributions"):
                continue
            z = dict(x)
            for step in transformers:
                z = step.transform_one(z)
            for k, c in last.contributions(z).items():
                out[k] = out.get(k, 0.0) + weight * c
        return out


def _split(model):
    if isinstance(model, compose.Pipeline):
        steps = list(model.steps.values())
        return steps[:-1], steps[-1]
    return [], model


#: The churn model's prior: obvious risk signals with their direction, on a rough unit scale each
#: (sentiment -1..1; counts after ``Shape``'s log1p; CSAT and stars 1-5). Domain knowledge, not fitted.
CHURN_PRIOR = {
    "sent_recent": (-1.0, 0.0, 0.5),        # negative tone
    "sent_drop": (0.5, 0.0, 0.5),           # tone worsened
    "neg_texts_7d": (0.7, 0.0, 0.7),        # complaints this week
    "neg_tickets_28d": (0.5, 0.0, 0.7),     # negative tickets this month
    "urgent_tickets_28d": (0.7, 0.0, 0.7),  # escalations
    "csat_recent": (-0.5, 4.0, 1.0),        # poor ratings of support
    "csat_drop": (0.3, 0.0, 1.0),
    "rating_last": (-0.3, 4.0, 1.0),        # bad review
    "downgrades_90d": (1.0, 0.0, 0.7),      # paying less
    # what the customer does (activity events). Centred on the value a customer without activity events
    # has (0), so a deployment that sends none keeps the prior it had. Only signals whose scale does not
    # depend on the business: going quiet, activity falling against their own usual, a late order. Absolute
    # rates and spend are left to the learned part (a high rate for one product is a low one for another).
    "days_since_active": (0.5, 0.0, 14.0),   # two quiet weeks: +0.5
    "activity_trend_rel": (-0.8, 0.0, 0.5),  # activity halved against their usual: +0.8
    "purchase_overdue": (0.4, 0.0, 1.0),     # next order late: three usual gaps without one: +1.2
}


#: The burnout model's prior, in the same spirit: more overtime than usual, sick days, after-hours
#: messages, low workload / wellbeing / eNPS answers, a burned-out pulse answer, negative comments.
BURNOUT_PRIOR = {
    "overtime_trend": (0.5, 0.0, 5.0),       # hours a week above their usual
    "overtime_recent": (0.3, 5.0, 5.0),
    "sick_days_60d": (0.4, 0.0, 0.7),
    "after_hours_share": (0.5, 0.1, 0.15),
    "workload_last": (-0.5, 4.0, 1.0),
    "wellbeing_last": (-0.7, 4.0, 1.0),
    "wellbeing_drop": (0.4, 0.0, 1.0),
    "burnout_last": (1.0, 2.0, 1.0),         # "I feel burned out often" (4-5 of 5)
    "enps_last": (-0.3, 7.0, 2.0),
    "sent_recent": (-0.7, 0.0, 0.5),
    "neg_comments_14d": (0.5, 0.0, 0.7),
}


PRIOR_STRENGTH = 200.0  # positive examples after which the prior has half the say (seeds 11, 13)
PRIOR_FLOOR = 0.3  # the prior keeps 30% of the say: on few labels it ranks better than naive Bayes alone


def make_model(name: str) -> Calibrated:
    """A fresh model for ``churn`` or ``burnout`` (same structure; separate state)."""
    if name not in ("churn", "burnout"):
        raise ValueError(f"unknown model {name!r}")
    if name == "churn":
        return Calibrated(PriorBlend(Shape() | LinearDiscriminantRisk(), Shape() | RiskPrior(CHURN_PRIOR, base_rate=0.04),
                                     strength=PRIOR_STRENGTH, floor=PRIOR_FLOOR), lr=0.02)
    return Calibrated(PriorBlend(Shape() | GaussianNBRisk(), Shape() | RiskPrior(BURNOUT_PRIOR, base_rate=0.1),
                                 strength=PRIOR_STRENGTH, floor=PRIOR_FLOOR), lr=0.02)


def _steps(model):
    inner = model.classifier if isinstance(model, Calibrated) else model
    if isinstance(inner, compose.Pipeline):
        steps = list(inner.steps.values())
        return steps[:-1], steps[-1]
    return [], inner


def explain(model, x: dict) -> list[tuple[str, float]]:
    """Per-feature contributions to the log-odds (weight × scaled value), largest positive first.

    Works for a linear model, optionally behind transformers and inside ``Calibrated``.
    """
    transformers, last = _steps(model)
    z = dict(x)
    for step in transformers:
        z = step.transform_one(z)
    a = model.a if isinstance(model, Calibrated) else 1.0
    if hasattr(last, "contributions"):
        contrib = [(k, a * c) for k, c in last.contributions(z).items()]
        contrib.sort(key=lambda kv: -kv[1])
        return contrib
    weights = getattr(last, "weights", {}) or {}
    contrib = [(k, a * float(weights.get(k, 0.0)) * float(v)) for k, v in z.items()]
    contrib.sort(key=lambda kv: -kv[1])
    return contrib


# ---------------------------------------------------------------------------- learner state and snapshots
class SnapshotError(ValueError):
    pass


@dataclass
class ModelHandle:
    """What a predicting worker holds: a model and its version."""

    name: str
    model: object
    version: int = 0
    n_labels: int = 0
    created_at: float = 0.0
    n_pos: int = 0

    @property
    def version_str(self) -> str:
        return f"{self.name}-v{self.version}-n{self.n_labels}"

    def predict(self, x: dict) -> float:
        return float(self.model.predict_proba_one(x).get(True, 0.0))


@dataclass
class OnlineLearner:
    """The single learner of one model: de-duplicates examples, validates progressively, learns, snapshots.

    ``learn(example)`` takes a training example (see ``labels.make_example``). The
    example carries the probability that was predicted when it was made, so the
    progressive-validation figures need no re-scoring. ``offsets`` remembers the
    last offset learned per input partition: a learner that resumes from a
    snapshot skips what the snapshot already contains, so a replay after a crash
    does not learn twice.

    >>> ln = OnlineLearner("churn")
    >>> ex = {"id": "e1", "x": {"a": 1.0}, "y": 1, "p": 0.5}
    >>> ln.learn(ex), ln.learn(ex), ln.n_labels     # the second copy is ignored
    (True, False, 1)
    """

    name: str
    model: object = None
    version: int = 0
    n_labels: int = 0
    n_pos: int = 0
    offsets: dict = field(default_factory=dict)
    seen: deque = field(default_factory=lambda: deque(maxlen=4096))
    _seen_set: set = field(default_factory=set)
    # the calibrator's learning rate when the deployment sets one (``LearnerConfig.calibration_lr``); it
    # applies to a model resumed from a snapshot too. None: the model's own
    calibration_lr: float | None = None

    def __post_init__(self):
        if self.model is None:
            self.model = make_model(self.name)
        if self.calibration_lr is not None and isinstance(self.model, Calibrated):
            self.model.lr = float(self.calibration_lr)
        self._seen_set = set(self.seen)

    def _remember(self, h: int) -> None:
        if len(self.seen) == self.seen.maxlen:
            self._seen_set.discard(self.seen[0])
        self.seen.append(h)
        self._seen_set.add(h)

    def learn(self, example: dict, partition: int | None = None, offset: int | None = None) -> bool:
        """Learn one example; False if it was seen before (de-duplication by example id and offset)."""
        if not self._accept(example, partition, offset):
            return False
        self.model.learn_one(example["x"], bool(example["y"]), w=float(example.get("w", 1.0)))
        self.n_labels += 1
        self.n_pos += int(bool(example["y"]))
        return True

    def learn_batch(self, examples: list[dict], partition: int | None = None,
                    offsets: list[int] | None = None) -> int:
        """Learn a batch (offsets, when given, are the examples' offsets on ``partition``); return how many
        were new."""
        return sum(self.learn(ex, partition, offsets[i] if offsets is not None else None)
                   for i, ex in enumerate(examples))

    def _accept(self, example: dict, partition, offset) -> bool:
        if partition is not None and offset is not None:
            if offset <= self.offsets.get(str(partition), -1):
                return False
            self.offsets[str(partition)] = offset
        h = int.from_bytes(hashlib.sha1(str(example["id"]).encode()).digest()[:8], "big")
        if h in self._seen_set:
            return False
        self._remember(h)
        return True

    def publish_handle(self) -> ModelHandle:
        """Bump the version and return a handle (the in-process equivalent of publishing a snapshot)."""
        self.version += 1
        return self.handle()

    def handle(self) -> ModelHandle:
        return ModelHandle(self.name, copy.deepcopy(self.model), self.version, self.n_labels, time.time(), self.n_pos)

    # -- snapshots: pickle, signed with HMAC-SHA256 under the pseudonymisation key -------------------------
    def snapshot(self, key: bytes) -> bytes:
        """Bump the version and return a signed snapshot (JSON envelope, pickled state inside)."""
        self.version += 1
        payload = pickle.dumps({"model": self.model, "offsets": self.offsets, "seen": list(self.seen)},
                               protocol=pickle.HIGHEST_PROTOCOL)
        env = {"format": SNAPSHOT_FORMAT, "name": self.name, "version": self.version, "n_labels": self.n_labels,
               "n_pos": self.n_pos, "created_at": time.time(), "payload": base64.b64encode(payload).decode()}
        env["signature"] = _sign(key, env)
        return json.dumps(env).encode()

    @classmethod
    def from_snapshot(cls, raw: bytes, key: bytes, calibration_lr: float | None = None) -> "OnlineLearner":
        env, state = load_snapshot(raw, key)
        ln = cls(env["name"], model=state["model"], version=env["version"], n_labels=env["n_labels"],
                 calibration_lr=calibration_lr,
                 n_pos=env.get("n_pos", 0), offsets=dict(state.get("offsets") or {}))
        for h in state.get("seen") or []:
            ln._remember(h)
        return ln


def _sign(key: bytes, env: dict) -> str:
    msg = "|".join(str(env[k]) for k in ("format", "name", "version", "n_labels", "payload")).encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def snapshot_meta(raw: bytes) -> dict:
    """Name, version, n_labels of a snapshot without verifying or unpickling it."""
    env = json.loads(raw)
    return {k: env.get(k) for k in ("name", "version", "n_labels", "n_pos", "created_at")}


def load_snapshot(raw: bytes, key: bytes) -> tuple[dict, dict]:
    """Verify the signature, then unpickle. A tampered or foreign snapshot raises ``SnapshotError``."""
    try:
        env = json.loads(raw)
    except Exception as exc:
        raise SnapshotError(f"snapshot is not JSON: {exc}") from None
    if env.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"unknown snapshot format {env.get('format')!r}")
    if not hmac.compare_digest(str(env.get("signature", "")), _sign(key, env)):
        raise SnapshotError(f"snapshot {env.get('name')} v{env.get('version')} has a bad signature: refused "
                            "(tampered, or signed with another PULSEWIRE_PSEUDONYM_KEY)")
    state = pickle.loads(base64.b64decode(env["payload"]))
    return env, state


def handle_from_snapshot(raw: bytes, key: bytes) -> ModelHandle:
    env, state = load_snapshot(raw, key)
    return ModelHandle(env["name"], state["model"], env["version"], env["n_labels"], env.get("created_at", 0.0),
                       env.get("n_pos", 0))
