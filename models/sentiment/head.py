"""A new linear head for the frozen encoder: labels from stars, a stratified split, a class-balanced,
regularised multinomial logistic fit, and the figures that compare two heads (numpy only).

The head is pulled towards the shipped head rather than towards zero: ``lam * ||W - W0||^2 / 2``.
With little data (a large ``lam``) the adapted model stays the shipped one; with enough data it
moves as far as the data supports. ``lam`` is chosen on a validation part of the training data.

>>> label_from_stars(2), label_from_stars(3), label_from_stars(5), label_from_stars(None), label_from_stars(9)
(0, 1, 2, None, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .data import LABELS
from .metrics import macro_f1, neutral_polar_rate, per_class_recall

NEUTRAL = 1
#: The regularisation strengths tried; the largest keeps the head within a hair of the shipped one.
LAMBDA_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


def label_from_stars(stars: int | None) -> int | None:
    """A 1-5 star rating or CSAT as a class index: 1-2 negative, 3 neutral, 4-5 positive; else None."""
    if stars is None or not 1 <= int(stars) <= 5:
        return None
    return (0, 0, 1, 2, 2)[int(stars) - 1]


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out): ``fraction`` of each class held out (at least one of a class that has
    two or more), chosen by a seeded shuffle; both sorted.

    >>> keep, out = stratified_split([0] * 10 + [1] * 5 + [2] * 20, 0.2, seed=1)
    >>> len(keep), len(out), sorted(set(keep) & set(out))
    (28, 7, [])
    >>> [int(np.sum(np.array([0] * 10 + [1] * 5 + [2] * 20)[out] == c)) for c in range(3)]
    [2, 1, 4]
    >>> np.array_equal(stratified_split([0, 1] * 50, 0.2, 3)[1], stratified_split([0, 1] * 50, 0.2, 3)[1])
    True
    """
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        held.extend(idx[:n].tolist())
    out = np.array(sorted(held), dtype=int)
    keep = np.setdiff1d(np.arange(len(y)), out)
    return keep, out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def balanced_weights(y: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """Per-example weights summing to 1, each class carrying the same total (absent classes none).

    >>> balanced_weights(np.array([0, 0, 0, 2])).round(3).tolist()
    [0.167, 0.167, 0.167, 0.5]
    """
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    w = np.zeros(len(y))
    for c in np.flatnonzero(present):
        w[y == c] = 1.0 / (counts[c] * present.sum())
    return w


def weighted_log_loss(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    """Class-balanced cross-entropy of the head (W, b) on (X, y)."""
    p = softmax(X @ W + b)
    return float(-np.sum(balanced_weights(y, W.shape[1]) * np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def fit_head(X: np.ndarray, y: np.ndarray, W0: np.ndarray, b0: np.ndarray, lam: float, *,
             max_iter: int = 3000, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the class-balanced cross-entropy plus ``lam/2 ||W - W0||^2`` from (W0, b0).

    Nesterov's accelerated gradient with step ``1/L``: the softmax Hessian's eigenvalues are at most
    1/2, so for weights summing to 1, ``L = max(|x|^2 + 1) / 2 + lam`` bounds the curvature (1 for
    the encoder's L2-normalised embeddings) and the fit needs no line search and no tuning.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((300, 8)); y = np.argmax(X[:, :3], axis=1)
    >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> W, b = fit_head(X, y, np.zeros((8, 3)), np.zeros(3), lam=1e-4)
    >>> float(np.mean(np.argmax(X @ W + b, axis=1) == y)) > 0.95
    True
    """
    X = np.asarray(X, dtype=np.float64)
    sw = balanced_weights(y, W0.shape[1])
    Y = np.eye(W0.shape[1])[y]
    L = 0.5 * (float(np.max(np.sum(X * X, axis=1))) + 1.0) + lam
    W, b = W0.astype(np.float64).copy(), b0.astype(np.float64).copy()
    vW, vb = W.copy(), b.copy()
    t = 1.0
    for _ in range(max_iter):
        G = (softmax(X @ vW + vb) - Y) * sw[:, None]
        gW = X.T @ G + lam * (vW - W0)
        gb = G.sum(axis=0)
        W_new, b_new = vW - gW / L, vb - gb / L
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        vW = W_new + (t - 1) / t_new * (W_new - W)
        vb = b_new + (t - 1) / t_new * (b_new - b)
        step = max(float(np.max(np.abs(W_new - W))), float(np.max(np.abs(b_new - b))))
        W, b, t = W_new, b_new, t_new
        if step < tol:
            break
    return W.astype(np.float32), b.astype(np.float32)


@dataclass(frozen=True)
class Choice:
    lam: float
    losses: dict[float, float]  # validation loss per lam tried


def choose_lambda(X: np.ndarray, y: np.ndarray, W0: np.ndarray, b0: np.ndarray, seed: int,
                  grid: Sequence[float] = LAMBDA_GRID) -> Choice:
    """The ``lam`` of ``grid`` with the lowest class-balanced log-loss on a stratified 25% of (X, y)
    (fitted on the rest): the held-out part of the data is never seen here. Ties go to the larger
    ``lam`` (closer to the shipped head)."""
    fit, val = stratified_split(y, 0.25, seed + 1)
    losses = {}
    for lam in grid:
        W, b = fit_head(X[fit], y[fit], W0, b0, lam)
        losses[lam] = weighted_log_loss(X[val], y[val], W, b)
    best = min(losses.values())
    return Choice(max(lam for lam, v in losses.items() if v <= best + 1e-9), losses)


def comparison_figures(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """What the comparison reports for one model on labelled texts: 3-class macro-F1, accuracy, the
    neutral class's recall, and the share of neutral texts scored with |p_pos - p_neg| > 0.5.

    >>> p = np.array([[.8, .1, .1], [.1, .8, .1], [.1, .1, .8], [.05, .1, .85]])
    >>> comparison_figures(np.array([0, 1, 2, 1]), p)
    {'macro_f1': 0.7777777777777777, 'accuracy': 0.75, 'neutral_recall': 0.5, 'neutral_polar_rate': 0.5}
    """
    pred = proba.argmax(axis=1)
    recall, polar = per_class_recall(y, pred)[NEUTRAL], neutral_polar_rate(y, proba)
    return {
        "macro_f1": macro_f1(y, pred),
        "accuracy": float(np.mean(pred == y)),
        "neutral_recall": float("nan") if recall is None else float(recall),
        "neutral_polar_rate": float("nan") if polar is None else float(polar),
    }


def bootstrap_gain(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, seed: int,
                   rounds: int = 1000) -> tuple[float, float, float]:
    """Macro-F1 of b minus a, and its 95% paired-bootstrap interval (texts resampled with replacement).

    >>> y = np.array([0, 1, 2] * 20); gain, lo, hi = bootstrap_gain(y, np.zeros(60, int), y, seed=0)
    >>> round(gain, 3), lo > 0.5
    (0.833, True)
    """
    rng = np.random.default_rng(seed)
    gain = macro_f1(y, pred_b) - macro_f1(y, pred_a)
    n = len(y)
    gains = np.empty(rounds)
    for r in range(rounds):
        i = rng.integers(0, n, n)
        gains[r] = macro_f1(y[i], pred_b[i]) - macro_f1(y[i], pred_a[i])
    lo, hi = np.percentile(gains, [2.5, 97.5])
    return float(gain), float(lo), float(hi)
