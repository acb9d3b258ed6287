"""Evaluation helpers shared by train and evaluate (numpy only)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .data import UCI_SETS, load_uci

# probabilities -> [n, 3] in (negative, neutral, positive) order
ProbaFn = Callable[[Sequence[str]], np.ndarray]


def binary_from_proba(p: np.ndarray) -> np.ndarray:
    """UCI is binary: 1 iff p_positive > p_negative, 0 iff below (neutral mass ignored).

    A tie (e.g. VADER's neutral band, [0, 1, 0]) gives -1: an abstention, counted as wrong.

    >>> binary_from_proba(np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.0, 1.0, 0.0]])).tolist()
    [1, 0, -1]
    """
    return np.where(p[:, 2] > p[:, 0], 1, np.where(p[:, 2] < p[:, 0], 0, -1))


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int = 3) -> float:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    f1s = []
    for c in range(n_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        denom = 2 * tp + fp + fn
        f1s.append(0.0 if denom == 0 else 2 * tp / denom)
    return float(np.mean(f1s))


def uci_accuracy(proba: ProbaFn) -> dict[str, float]:
    out = {}
    all_ok = []
    for name in UCI_SETS:
        data = load_uci(name)
        p = proba([t for t, _ in data])
        ok = binary_from_proba(p) == np.array([y for _, y in data])
        out[name] = float(ok.mean())
        all_ok.append(ok)
    out["all"] = float(np.concatenate(all_ok).mean())
    return out


def heldout_macro_f1(proba: ProbaFn, heldout) -> float:
    p = proba([e.text for e in heldout])
    return macro_f1([e.label for e in heldout], p.argmax(axis=1))


def evaluate_proba(proba: ProbaFn, heldout) -> dict[str, float]:
    """UCI accuracies, and the held-out macro-F1 unless ``heldout`` is None (its corpora come with
    the training extra)."""
    m = {f"uci_{k}": v for k, v in uci_accuracy(proba).items()}
    if heldout is not None:
        m["heldout_macro_f1"] = heldout_macro_f1(proba, heldout)
    return m
