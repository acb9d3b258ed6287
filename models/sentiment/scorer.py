"""Sentiment scorer: onnxruntime + tokenizers + numpy only (no torch).

>>> scorer = load_scorer()
>>> r = scorer.score_one("I absolutely love this, thank you so much!")
>>> r.label
'positive'
>>> round(sum(r.probabilities.values()), 5)
1.0
>>> scorer.score_one("   ").probabilities  # empty / whitespace: neutral by convention
{'negative': 0.0, 'neutral': 1.0, 'positive': 0.0}
>>> [x.label for x in scorer.score(["This is awful, I want a refund.", "Great job, team!"])]
['negative', 'positive']

A text longer than ``max_tokens`` tokens is read as windows of whole
sentences (see :func:`pack_windows`), every window is scored, and the text's
probabilities are the token-weighted mean of its windows (:func:`pool_windows`):

>>> windows_of_16 = load_scorer(max_tokens=16)
>>> r = windows_of_16.score_one("The staff were lovely and made us feel welcome. "
...                            "They lost my luggage and refused any refund.")
>>> r.windows, r.truncated, r.min_window_score < -0.8 < r.score
(2, False, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

LABELS = ("negative", "neutral", "positive")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "artifacts"

_SURROGATES = re.compile("[\ud800-\udfff]")
# Long texts are tokenized from a prefix of (tokens that can be read) * this many
# characters (see SentimentScorer._windows), so a huge text costs no more than a long one.
_CHARS_PER_TOKEN_CAP = 100
# A sentence ends at . ! ? or … (with closing quotes/brackets) followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"')\]\u201d\u2019]*\s+|\n\s*")
# Windows read per text. 64 windows of 126 text tokens read about 7,000-8,000 tokens: all of a
# 20,000-character text (the worker's max_text_chars) at 2.9 characters per token or more (English
# prose: about 4.4), while one pathological text (a token every character or two) costs at most
# 64 windows and is flagged truncated.
DEFAULT_MAX_WINDOWS = 64
# Padded tokens per onnxruntime run: a sub-batch of 32 rows of ~40 tokens has activations of several MB
# (the 1536-wide feed-forward layer) that fall out of the per-core cache; capping a run at 512 tokens
# (12 short texts, 4 windows) gave 1.2-1.6x the texts per CPU-second (bench/bench_sentiment.py).
DEFAULT_MAX_BATCH_TOKENS = 512


@dataclass(frozen=True)
class SentimentResult:
    """Sentiment of one text.

    ``probabilities`` has the three keys of ``LABELS`` and sums to 1.
    ``score`` is ``p_positive - p_negative`` in [-1, 1]. A text of more than
    ``max_tokens`` tokens is scored as ``windows`` windows of whole sentences,
    pooled by token count; ``min_window_score`` is the score of its most
    negative window (equal to ``score`` for one window), so a complaint buried
    in a long friendly text stays visible. ``truncated`` is True only when text
    was not read: it needed more than ``max_windows`` windows. Empty or
    whitespace-only text (and ``None``) is not sent to the model: it gets
    ``label="neutral"``, probabilities ``{negative: 0, neutral: 1, positive:
    0}``, ``score=0.0``, ``min_window_score=0.0`` and ``windows=0``.
    """

    label: str
    probabilities: dict[str, float]
    score: float
    model_version: str
    truncated: bool = False
    min_window_score: float | None = None  # None: the same as score (one window)
    windows: int = 1

    def __post_init__(self) -> None:
        if self.min_window_score is None:
            object.__setattr__(self, "min_window_score", self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "score": self.score,
            "model_version": self.model_version,
            "truncated": self.truncated,
            "min_window_score": self.min_window_score,
            "windows": self.windows,
        }


def clean_text(text: Any) -> str:
    """Turn any input into a str the tokenizer accepts.

    bytes are decoded as UTF-8 with replacement; lone surrogates (``"\\ud800"``)
    become U+FFFD; ``None`` becomes ``""``; other objects go through ``str``.

    >>> clean_text(b"caf\\xc3\\xa9 \\xff")
    'café \\ufffd'
    >>> clean_text("a\\ud800b")
    'a\\ufffdb'
    """
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = str(text)
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def sentence_token_starts(text: str, token_starts: Sequence[int]) -> list[int]:
    """Indexes of the tokens that begin a sentence, the first token excluded.

    ``token_starts`` holds each token's first character in ``text`` (non-decreasing).

    >>> text = "Great room. Awful food!  Why?"
    >>> sentence_token_starts(text, [0, 6, 10, 12, 18, 22, 25, 28])
    [3, 6]
    >>> sentence_token_starts("no end here", [0, 3, 7])
    []
    """
    starts: list[int] = []
    for m in _SENTENCE_END.finditer(text):
        k = bisect_left(token_starts, m.end())
        if 0 < k < len(token_starts) and (not starts or k > starts[-1]):
            starts.append(k)
    return starts


def pack_windows(sentence_starts: Sequence[int], n_tokens: int, limit: int) -> list[tuple[int, int]]:
    """Token spans ``[start, end)`` of at most ``limit`` tokens covering ``range(n_tokens)``.

    Consecutive sentences (they start at 0 and at each of ``sentence_starts``)
    are packed into one window while they fit; a sentence longer than ``limit``
    is cut every ``limit`` tokens and its last piece packs with what follows.

    >>> pack_windows([3, 5, 9], 12, 5)   # sentences of 3, 2, 4 and 3 tokens
    [(0, 5), (5, 9), (9, 12)]
    >>> pack_windows([], 12, 5)          # one long sentence
    [(0, 5), (5, 10), (10, 12)]
    >>> pack_windows([2], 9, 5)          # 2 tokens, then 7: cut at 7, its tail packs on
    [(0, 2), (2, 7), (7, 9)]
    >>> pack_windows([], 0, 5)
    []
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    bounds = [0, *(s for s in sentence_starts if 0 < s < n_tokens), n_tokens]
    pieces: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:]):
        pieces.extend((p, min(p + limit, b)) for p in range(a, b, limit))
    windows: list[tuple[int, int]] = []
    for a, b in pieces:
        if windows and b - windows[-1][0] <= limit:
            windows[-1] = (windows[-1][0], b)
        else:
            windows.append((a, b))
    return windows


def pool_windows(probs: np.ndarray, lengths: Sequence[int]) -> np.ndarray:
    """Token-weighted mean of per-window probabilities ``[k, labels]``; one window is returned as is.

    >>> pool_windows(np.array([[0.8, 0.1, 0.1], [0.0, 0.2, 0.8]]), [30, 10]).round(3).tolist()
    [0.6, 0.125, 0.275]
    >>> p = np.array([[0.1, 0.2, 0.7]], dtype=np.float32)
    >>> q = pool_windows(p, [7]); q.dtype, q.tolist() == p[0].tolist()
    (dtype('float32'), True)
    """
    if len(probs) == 1:
        return probs[0]
    w = np.asarray(lengths, dtype=np.float64)
    return (np.asarray(probs, dtype=np.float64) * w[:, None]).sum(axis=0) / w.sum()


def sub_batches(sorted_lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the length-sorted rows run together: at most ``batch_size`` rows and,
    when ``max_tokens`` is set, at most ``max_tokens`` padded tokens (rows x longest row; one row always fits).

    >>> sub_batches([5, 5, 6, 9, 9], 2)
    [(0, 2), (2, 4), (4, 5)]
    >>> sub_batches([5, 5, 6, 9, 9], 32, max_tokens=20)   # 3 x 6 fits, 4 x 9 does not
    [(0, 3), (3, 5)]
    >>> sub_batches([300], 32, max_tokens=20)
    [(0, 1)]
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for end in range(1, len(sorted_lengths) + 1):
        rows = end - start
        if rows > batch_size or (max_tokens is not None and rows > 1 and rows * sorted_lengths[end - 1] > max_tokens):
            spans.append((start, end - 1))
            start = end - 1
    if start < len(sorted_lengths):
        spans.append((start, len(sorted_lengths)))
    return spans


def normalized(p: np.ndarray) -> np.ndarray:
    """Probabilities made safe: finite, non-negative, summing to 1 (all-zero -> neutral).

    >>> normalized(np.array([1.0, float("nan"), 3.0])).tolist()
    [0.25, 0.0, 0.75]
    """
    p = np.asarray(p, dtype=np.float64)
    p = np.where(np.isfinite(p), np.clip(p, 0.0, None), 0.0)
    s = p.sum()
    return p / s if s > 0 else np.array([0.0, 1.0, 0.0])


class SentimentScorer:
    """Scores texts with the packaged int8 ONNX model (see MODEL_CARD.md).

    Thread-safe: onnxruntime sessions and ``tokenizers`` may be shared across
    threads. Construct with :func:`load_scorer`.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        *,
        threads: int = 2,
        inter_op_threads: int = 1,
        max_tokens: int = 128,
        max_windows: int = DEFAULT_MAX_WINDOWS,
        batch_size: int = 32,
        max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
        model_file: str | None = None,
        verify: bool = False,
        allow_spinning: bool = False,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        manifest_path = self.model_dir / "manifest.json"
        if not manifest_path.exists():
            raise FileNotFoundError(f"no sentiment model at {self.model_dir} (manifest.json missing)")
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        if verify:
            verify_manifest(self.model_dir, self.manifest)
        self.version: str = self.manifest["version"]
        self.labels: tuple[str, ...] = tuple(self.manifest.get("labels", LABELS))
        if set(self.labels) != set(LABELS):
            raise ValueError(f"unexpected labels in manifest: {self.labels}")
        max_pos = int(self.manifest.get("max_position_embeddings", 512))
        self.max_tokens = max(3, min(int(max_tokens), max_pos))
        self.max_windows = max(1, int(max_windows))
        self.batch_size = max(1, int(batch_size))
        self.max_batch_tokens = None if max_batch_tokens is None else max(1, int(max_batch_tokens))

        self.tokenizer = Tokenizer.from_file(str(self.model_dir / self.manifest["tokenizer"]))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()  # long texts are cut into windows by _windows
        self._pad_id = int(self.manifest.get("pad_id", 0))

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = max(1, int(inter_op_threads))
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if not allow_spinning:
            # idle worker threads sleep instead of spinning: better when the scorer shares
            # few cores with other work (broker, stream workers), slightly slower standalone
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.model_file = model_file or self.manifest["model"]
        self.session = ort.InferenceSession(
            str(self.model_dir / self.model_file), sess_options=so, providers=["CPUExecutionProvider"]
        )
        self.threads = so.intra_op_num_threads

    # -- public API -----------------------------------------------------------------

    def score_one(self, text: Any) -> SentimentResult:
        """Score a single text."""
        return self.score([text])[0]

    def score(self, texts: Iterable[Any], batch_size: int | None = None) -> list[SentimentResult]:
        """Score texts; same order and length as the input. Never raises on odd text.

        Texts are tokenized once and cut into windows (one for a text of at most
        ``max_tokens`` tokens); all windows are sorted by token length and run in
        sub-batches of at most ``batch_size`` windows and ``max_batch_tokens``
        padded tokens (:func:`sub_batches`), padded only to the longest window of
        each sub-batch; each text's windows are then pooled (:func:`pool_windows`).
        """
        texts = [clean_text(t) for t in texts]
        if not texts:
            return []
        bs = max(1, int(batch_size or self.batch_size))
        results: list[SentimentResult | None] = [None] * len(texts)
        todo = []
        for i, t in enumerate(texts):
            if t.strip():
                todo.append(i)
            else:
                results[i] = self._empty_result()
        if todo:
            ids, owner, truncated = self._windows([texts[i] for i in todo])
            probs = self._infer(ids, bs)
            lo = 0
            for j, i in enumerate(todo):
                hi = lo
                while hi < len(owner) and owner[hi] == j:
                    hi += 1
                results[i] = self._result(probs[lo:hi], [len(w) for w in ids[lo:hi]], truncated[j])
                lo = hi
        return results  # type: ignore[return-value]

    def predict_proba(self, texts: Sequence[Any], batch_size: int | None = None) -> np.ndarray:
        """[n, 3] probabilities in ``self.labels`` order (empty text -> neutral 1.0)."""
        res = self.score(texts, batch_size)
        return np.array([[r.probabilities[k] for k in self.labels] for r in res], dtype=np.float32)

    # -- internals ------------------------------------------------------------------

    def _windows(self, texts: list[str]) -> tuple[list[list[int]], list[int], list[bool]]:
        """Token ids of every window, the index of the text each belongs to, and a truncation flag per text.

        A text of at most ``max_tokens`` tokens is one window, its ids exactly as
        the tokenizer gives them. A longer one keeps the tokenizer's special
        tokens ([CLS] ... [SEP]) around each window of :func:`pack_windows`; at
        most ``max_windows`` windows are read and ``truncated`` says when text
        was left over. Texts longer than the characters those windows can hold
        (``_CHARS_PER_TOKEN_CAP`` per token) are tokenized from a prefix first;
        only if that prefix yields too few tokens (e.g. a few huge "words") is
        the whole text tokenized, so the flag stays exact and 100 KB inputs stay cheap.
        """
        budget = self.max_windows * self.max_tokens  # tokens that can be read, specials included
        cap = budget * _CHARS_PER_TOKEN_CAP
        encs = self.tokenizer.encode_batch([t[:cap] for t in texts])
        ids: list[list[int]] = []
        owner: list[int] = []
        truncated: list[bool] = []
        for j, (text, enc) in enumerate(zip(texts, encs)):
            tok = enc.ids
            if len(tok) <= self.max_tokens and len(text) <= cap:
                ids.append(tok)
                owner.append(j)
                truncated.append(False)
                continue
            cut = len(text) > cap
            if cut and len(tok) < budget:
                enc, cut = self.tokenizer.encode(text), False
                tok = enc.ids
            if len(tok) <= self.max_tokens:
                ids.append(tok)
                owner.append(j)
                truncated.append(cut)
                continue
            mask = enc.special_tokens_mask
            head = next((k for k, m in enumerate(mask) if not m), len(tok))
            tail = len(tok) - next((k for k, m in enumerate(reversed(mask)) if not m), 0)
            body = tok[head:tail]
            starts = [o[0] for o in enc.offsets[head:tail]]
            limit = self.max_tokens - head - (len(tok) - tail)
            spans = pack_windows(sentence_token_starts(text, starts), len(body), limit)
            for a, b in spans[: self.max_windows]:
                ids.append(tok[:head] + body[a:b] + tok[tail:])
                owner.append(j)
            truncated.append(cut or len(spans) > self.max_windows)
        return ids, owner, truncated

    def _infer(self, ids: list[list[int]], batch_size: int) -> np.ndarray:
        n = len(ids)
        order = sorted(range(n), key=lambda i: len(ids[i]))
        out = np.empty((n, len(self.labels)), dtype=np.float32)
        for start, end in sub_batches([len(ids[i]) for i in order], batch_size, self.max_batch_tokens):
            idx = order[start:end]
            seq = max(len(ids[i]) for i in idx)
            input_ids = np.full((len(idx), seq), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.int64)
            for r, i in enumerate(idx):
                L = len(ids[i])
                input_ids[r, :L] = ids[i]
                mask[r, :L] = 1
            probs = self.session.run(["probabilities"], {"input_ids": input_ids, "attention_mask": mask})[0]
            out[idx] = probs
        return out

    def _empty_result(self) -> SentimentResult:
        """Empty / whitespace-only text: neutral by convention (a fresh dict each time)."""
        return SentimentResult("neutral", {"negative": 0.0, "neutral": 1.0, "positive": 0.0}, 0.0, self.version, False,
                               0.0, 0)

    def _result(self, window_probs: np.ndarray, lengths: list[int], truncated: bool) -> SentimentResult:
        """One text's result from its windows' probabilities and token counts."""
        p = normalized(pool_windows(window_probs, lengths))
        probs = {k: float(v) for k, v in zip(self.labels, p)}
        label = self.labels[int(np.argmax(p))]
        score = self._score(probs)
        worst = score if len(lengths) == 1 else min(
            self._score(dict(zip(self.labels, normalized(w)))) for w in window_probs)
        return SentimentResult(label, probs, score, self.version, bool(truncated), worst, len(lengths))

    @staticmethod
    def _score(probs: dict[str, float]) -> float:
        return float(np.clip(probs["positive"] - probs["negative"], -1.0, 1.0))

    def __repr__(self) -> str:
        return (f"SentimentScorer(version={self.version!r}, model={self.model_file!r}, threads={self.threads}, "
                f"max_tokens={self.max_tokens}, max_windows={self.max_windows})")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_manifest(model_dir: str | os.PathLike, manifest: dict[str, Any] | None = None) -> None:
    """Raise ValueError if any file listed in the manifest is missing or differs."""
    model_dir = Path(model_dir)
    manifest = manifest or json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    for name, digest in manifest.get("files", {}).items():
        p = model_dir / name
        if not p.exists():
            raise ValueError(f"{p} listed in manifest is missing")
        if sha256_file(p) != digest:
            raise ValueError(f"{p} does not match the sha256 in the manifest")


_CACHE: dict[tuple, SentimentScorer] = {}
_CACHE_LOCK = threading.Lock()


def load_scorer(
    model_dir: str | os.PathLike | None = None,
    threads: int = 2,
    max_tokens: int = 128,
    *,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    inter_op_threads: int = 1,
    batch_size: int = 32,
    max_batch_tokens: int | None = DEFAULT_MAX_BATCH_TOKENS,
    model_file: str | None = None,
    allow_spinning: bool = False,
) -> SentimentScorer:
    """Load (once per process and argument set) the scorer. ``model_dir=None`` = packaged artifacts.

    No network access: everything is read from ``model_dir``.
    """
    key = (
        str(Path(model_dir).resolve()) if model_dir is not None else None,
        int(threads), int(max_tokens), int(max_windows), int(inter_op_threads), int(batch_size), max_batch_tokens,
        model_file, bool(allow_spinning),
    )
    with _CACHE_LOCK:
        sc = _CACHE.get(key)
        if sc is None:
            sc = SentimentScorer(
                model_dir, threads=threads, inter_op_threads=inter_op_threads,
                max_tokens=max_tokens, max_windows=max_windows, batch_size=batch_size,
                max_batch_tokens=max_batch_tokens, model_file=model_file,
                allow_spinning=allow_spinning,
            )
            _CACHE[key] = sc
        return sc
