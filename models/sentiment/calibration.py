"""Temperature calibration, and the neutral figures of one model in one dict (numpy only).

Temperature scaling divides a model's logits by one scalar ``T`` fitted on held-out data by
negative log-likelihood: labels do not change (argmax is invariant), only how sure the
probabilities are. Because ``log_softmax(z) = z - c`` for a per-row constant ``c``,
``softmax(log p / T) == softmax(z / T)``: a model's output probabilities are enough to fit and
apply ``T``, and folding it into a linear head (``W / T``, ``b / T``) gives the same answer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .metrics import neutral_mean_score, neutral_polar_rate, per_class_recall

NEU = 1


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large logits.

    >>> np.round(np.exp(log_softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))), 3).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    z = np.asarray(z, np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def logits_from_proba(p: np.ndarray, floor: float = 1e-30) -> np.ndarray:
    """Log-probabilities standing in for logits (equal up to a per-row constant)."""
    return np.log(np.clip(np.asarray(p, np.float64), floor, 1.0))


def apply_temperature(logits_or_log_probs: np.ndarray, t: float) -> np.ndarray:
    """Probabilities ``softmax(z / t)``.

    >>> apply_temperature(np.log(np.array([[0.2, 0.8]])), 1.0).round(3).tolist()
    [[0.2, 0.8]]
    >>> apply_temperature(np.array([[0.0, 2.0]]), 1e9).round(3).tolist()
    [[0.5, 0.5]]
    """
    return np.exp(log_softmax(np.asarray(logits_or_log_probs, np.float64) / t))


def nll(logits_or_log_probs: np.ndarray, labels: Sequence[int], t: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(z / t)``.

    >>> round(nll(np.log(np.array([[0.25, 0.75]])), [1]), 4)
    0.2877
    """
    y = np.asarray(labels)
    lp = log_softmax(np.asarray(logits_or_log_probs, np.float64) / t)
    return float(-lp[np.arange(len(y)), y].mean())


def fit_temperature(logits_or_log_probs: np.ndarray, labels: Sequence[int],
                    lo: float = 0.05, hi: float = 20.0, iters: int = 60) -> float:
    """The temperature in [lo, hi] that minimises NLL: golden-section search on log T.

    NLL(T) is unimodal in T for fixed logits, so a 1-D bracketing search is enough.
    Sampling labels from ``softmax(z / 2)`` and fitting recovers T close to 2:

    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(0, 4, size=(20000, 3))
    >>> y = np.array([rng.choice(3, p=p) for p in apply_temperature(z, 2.0)])
    >>> round(fit_temperature(z, y), 1)
    2.0
    >>> fit_temperature(z, z.argmax(axis=1)) == 0.05   # always right: sharpen to the bound
    True
    """
    z = np.asarray(logits_or_log_probs, np.float64)
    if len(z) == 0:
        raise ValueError("fit_temperature needs at least one example")
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5.0) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(z, labels, np.exp(c)), nll(z, labels, np.exp(d))
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(z, labels, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(z, labels, np.exp(d))
    t = float(np.exp((a + b) / 2))
    # a minimum on the boundary is reported as the boundary itself
    return lo if np.isclose(t, lo, rtol=1e-3) else hi if np.isclose(t, hi, rtol=1e-3) else t


def neutral_figures(proba: np.ndarray, labels: Sequence[int], polar_at: float = 0.5) -> dict[str, float]:
    """What a model does with gold-neutral texts: recall of the neutral class, the share scored
    ``|p_pos - p_neg| > polar_at`` (pushed to a pole), and their mean score (the bias).

    >>> p = np.array([[0.1, 0.8, 0.1], [0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.0, 0.1, 0.9]])
    >>> neutral_figures(p, [1, 1, 1, 2])
    {'neutral_recall': 0.6667, 'neutral_polar_rate': 0.3333, 'neutral_mean_score': -0.2667}
    """
    y = np.asarray(labels)
    recall = per_class_recall(y, np.asarray(proba).argmax(axis=1))[NEU]
    return {
        "neutral_recall": round(float(recall), 4),
        "neutral_polar_rate": round(float(neutral_polar_rate(y, proba, polar_at)), 4),
        "neutral_mean_score": round(float(neutral_mean_score(y, proba)), 4),
    }
