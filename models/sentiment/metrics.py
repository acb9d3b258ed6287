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


# ---------------------------------------------------------------------------- 3-class, calibration, length
# p is always [n, 3] in (negative, neutral, positive) order; score = p_positive - p_negative.

NEUTRAL = 1
LENGTH_BUCKETS = (("<32", 0, 31), ("32-128", 32, 128), ("128-512", 129, 512), (">512", 513, None))


def per_class_recall(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int = 3) -> list[float | None]:
    """Recall of each class (None for a class absent from ``y_true``).

    >>> per_class_recall([0, 0, 1, 1, 1, 2], [0, 2, 1, 0, 1, 2])
    [0.5, 0.6666666666666666, 1.0]
    >>> per_class_recall([0, 0], [0, 1])
    [0.5, None, None]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out: list[float | None] = []
    for c in range(n_classes):
        gold = y_true == c
        out.append(float(np.mean(y_pred[gold] == c)) if gold.any() else None)
    return out


def sentiment_score(p: np.ndarray) -> np.ndarray:
    """``p_positive - p_negative`` per row.

    >>> sentiment_score(np.array([[0.1, 0.2, 0.7], [0.9, 0.1, 0.0]])).round(3).tolist()
    [0.6, -0.9]
    """
    p = np.asarray(p, dtype=np.float64)
    return p[:, 2] - p[:, 0]


def neutral_polar_rate(y_true: Sequence[int], p: np.ndarray, threshold: float = 0.5) -> float | None:
    """Share of gold-neutral texts scored with ``|score| > threshold`` (a calm text made to look polar).

    >>> p = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.0, 0.3, 0.7], [0.9, 0.05, 0.05]])
    >>> neutral_polar_rate([1, 1, 1, 0], p)   # neutral scores -0.7, 0.0, 0.7; the negative text is ignored
    0.6666666666666666
    >>> neutral_polar_rate([0], p[:1]) is None
    True
    """
    gold = np.asarray(y_true) == NEUTRAL
    if not gold.any():
        return None
    return float(np.mean(np.abs(sentiment_score(p)[gold]) > threshold))


def neutral_mean_score(y_true: Sequence[int], p: np.ndarray) -> float | None:
    """Mean score on gold-neutral texts: the bias (0 is unbiased, < 0 makes neutral text look negative).

    >>> p = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.0, 0.3, 0.7], [0.9, 0.05, 0.05]])
    >>> round(neutral_mean_score([1, 1, 0, 1], p), 4)   # (-0.7 + 0.0 - 0.85) / 3
    -0.5167
    """
    gold = np.asarray(y_true) == NEUTRAL
    return float(np.mean(sentiment_score(p)[gold])) if gold.any() else None


def reliability_table(y_true: Sequence[int], p: np.ndarray, bins: int = 10) -> list[dict]:
    """Top-label reliability: equal-width confidence bins on [0, 1] (the last bin includes 1.0).

    Each row: ``lo``, ``hi``, ``count``, ``confidence`` (mean top probability) and ``accuracy``
    (share whose top label is right); both None for an empty bin.

    >>> p = np.array([[0.06, 0.06, 0.88], [0.1, 0.86, 0.04], [0.3, 0.3, 0.4], [0.45, 0.35, 0.2]])
    >>> rows = reliability_table([2, 0, 2, 1], p)
    >>> [(r["lo"], r["count"], round(r["confidence"], 4), r["accuracy"]) for r in rows if r["count"]]
    [(0.4, 2, 0.425, 0.5), (0.8, 2, 0.87, 0.5)]
    >>> len(rows)
    10
    """
    p = np.asarray(p, dtype=np.float64)
    conf = p.max(axis=1)
    right = p.argmax(axis=1) == np.asarray(y_true)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        rows.append({"lo": round(b / bins, 6), "hi": round((b + 1) / bins, 6), "count": n,
                     "confidence": float(conf[sel].mean()) if n else None,
                     "accuracy": float(right[sel].mean()) if n else None})
    return rows


def expected_calibration_error(y_true: Sequence[int], p: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: sum over bins of (bin share) x |accuracy - mean confidence|.

    >>> p = np.array([[0.06, 0.06, 0.88], [0.1, 0.86, 0.04], [0.3, 0.3, 0.4], [0.45, 0.35, 0.2]])
    >>> round(expected_calibration_error([2, 0, 2, 1], p), 4)   # 0.5*|0.5-0.425| + 0.5*|0.5-0.87|
    0.2225
    >>> expected_calibration_error([0, 1], np.array([[1.0, 0, 0], [0, 1.0, 0]]))  # sure and right
    0.0
    """
    n = len(np.asarray(y_true))
    return float(sum(r["count"] / n * abs(r["accuracy"] - r["confidence"])
                     for r in reliability_table(y_true, p, bins) if r["count"]))


def length_bucket(n_tokens: int) -> str:
    """Bucket of a token count: <32, 32-128, 128-512 (129..512), >512; upper bounds inclusive.

    >>> [length_bucket(n) for n in (31, 32, 128, 129, 512, 513)]
    ['<32', '32-128', '32-128', '128-512', '128-512', '>512']
    """
    for name, lo, hi in LENGTH_BUCKETS:
        if n_tokens >= lo and (hi is None or n_tokens <= hi):
            return name
    raise ValueError(f"negative token count {n_tokens}")


def accuracy_by_length(n_tokens: Sequence[int], y_true: Sequence[int], y_pred: Sequence[int]) -> list[dict]:
    """Binary accuracy per length bucket, with the bucket's majority-class baseline beside it.

    ``y_pred`` may hold -1 (an abstention), counted as wrong. Empty buckets have n 0 and None figures.

    >>> rows = accuracy_by_length([10, 20, 40, 50, 60, 600], [1, 0, 1, 1, 0, 1], [1, 1, 1, 0, -1, 1])
    >>> [(r["bucket"], r["n"], r["accuracy"], r["majority"]) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('<32', 2, 0.5, 0.5), ('32-128', 3, 0.3333333333333333, 0.6666666666666666),
     ('128-512', 0, None, None), ('>512', 1, 1.0, 1.0)]
    """
    names = np.array([length_bucket(int(n)) for n in n_tokens])
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rows = []
    for name, _, _ in LENGTH_BUCKETS:
        sel = names == name
        n = int(sel.sum())
        pos = float(y_true[sel].mean()) if n else None
        rows.append({"bucket": name, "n": n, "accuracy": float(np.mean(y_pred[sel] == y_true[sel])) if n else None,
                     "majority": max(pos, 1 - pos) if n else None})
    return rows


def three_class_metrics(y_true: Sequence[int], p: np.ndarray) -> dict:
    """Everything the evaluation reports on a 3-class set, from gold labels and probabilities.

    >>> p = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.0, 0.3, 0.7], [0.9, 0.05, 0.05]])
    >>> m = three_class_metrics([0, 1, 2, 1], p)
    >>> m["n"], round(m["macro_f1"], 3), m["neutral_recall"], m["neutral_polar_rate"], m["neutral_mean_score"]
    (4, 0.778, 0.5, 0.5, -0.425)
    """
    y_true = np.asarray(y_true)
    pred = np.asarray(p).argmax(axis=1)
    recall = per_class_recall(y_true, pred)
    return {"n": int(len(y_true)), "macro_f1": macro_f1(y_true, pred), "recall": recall,
            "neutral_recall": recall[NEUTRAL], "neutral_polar_rate": neutral_polar_rate(y_true, p),
            "neutral_mean_score": neutral_mean_score(y_true, p),
            "ece": expected_calibration_error(y_true, p), "reliability": reliability_table(y_true, p)}
