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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

LABELS = ("negative", "neutral", "positive")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "artifacts"

_SURROGATES = re.compile("[\ud800-\udfff]")
# Long texts are tokenized from a prefix of max_tokens * this many characters
# (see SentimentScorer._tokenize), so a 100 KB text costs no more than a long one.
_CHARS_PER_TOKEN_CAP = 100


@dataclass(frozen=True)
class SentimentResult:
    """Sentiment of one text.

    ``probabilities`` has the three keys of ``LABELS`` and sums to 1.
    ``score`` is ``p_positive - p_negative`` in [-1, 1]. ``truncated`` is True
    when the text had more than ``max_tokens`` tokens and only its beginning was
    scored. Empty or whitespace-only text (and ``None``) is not sent to the
    model: it gets ``label="neutral"``, probabilities ``{negative: 0, neutral:
    1, positive: 0}`` and ``score=0.0``.
    """

    label: str
    probabilities: dict[str, float]
    score: float
    model_version: str
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "score": self.score,
            "model_version": self.model_version,
            "truncated": self.truncated,
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
        batch_size: int = 32,
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
        self.batch_size = max(1, int(batch_size))

        self.tokenizer = Tokenizer.from_file(str(self.model_dir / self.manifest["tokenizer"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
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

        Texts are tokenized once, sorted by token length and run in sub-batches
        of ``batch_size`` padded only to the longest text of each sub-batch.
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
            ids, truncated = self._tokenize([texts[i] for i in todo])
            probs = self._infer(ids, bs)
            for j, i in enumerate(todo):
                results[i] = self._result(probs[j], truncated[j])
        return results  # type: ignore[return-value]

    def predict_proba(self, texts: Sequence[Any], batch_size: int | None = None) -> np.ndarray:
        """[n, 3] probabilities in ``self.labels`` order (empty text -> neutral 1.0)."""
        res = self.score(texts, batch_size)
        return np.array([[r.probabilities[k] for k in self.labels] for r in res], dtype=np.float32)

    # -- internals ------------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> tuple[list[list[int]], list[bool]]:
        """Token ids (truncated to ``max_tokens``) and a truncation flag per text.

        Texts longer than ``max_tokens * 100`` characters are tokenized from a
        prefix of that length first; only if that prefix yields fewer than
        ``max_tokens`` tokens (e.g. a few huge "words") is the whole text
        tokenized, so the flag stays exact and 100 KB inputs stay cheap.
        """
        cap = self.max_tokens * _CHARS_PER_TOKEN_CAP
        long_idx = [i for i, t in enumerate(texts) if len(t) > cap]
        encs = self.tokenizer.encode_batch([t[:cap] for t in texts])
        for i in long_idx:
            if not encs[i].overflowing:
                encs[i] = self.tokenizer.encode(texts[i])
        ids = [e.ids for e in encs]
        truncated = [bool(e.overflowing) for e in encs]
        return ids, truncated

    def _infer(self, ids: list[list[int]], batch_size: int) -> np.ndarray:
        n = len(ids)
        order = sorted(range(n), key=lambda i: len(ids[i]))
        out = np.empty((n, len(self.labels)), dtype=np.float32)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
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
        return SentimentResult("neutral", {"negative": 0.0, "neutral": 1.0, "positive": 0.0}, 0.0, self.version, False)

    def _result(self, p: np.ndarray, truncated: bool) -> SentimentResult:
        p = np.asarray(p, dtype=np.float64)
        p = np.where(np.isfinite(p), np.clip(p, 0.0, None), 0.0)
        s = p.sum()
        p = p / s if s > 0 else np.array([0.0, 1.0, 0.0])
        probs = {k: float(v) for k, v in zip(self.labels, p)}
        label = self.labels[int(np.argmax(p))]
        score = float(np.clip(probs["positive"] - probs["negative"], -1.0, 1.0))
        return SentimentResult(label, probs, score, self.version, bool(truncated))

    def __repr__(self) -> str:
        return f"SentimentScorer(version={self.version!r}, model={self.model_file!r}, threads={self.threads}, max_tokens={self.max_tokens})"


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
    inter_op_threads: int = 1,
    batch_size: int = 32,
    model_file: str | None = None,
    allow_spinning: bool = False,
) -> SentimentScorer:
    """Load (once per process and argument set) the scorer. ``model_dir=None`` = packaged artifacts.

    No network access: everything is read from ``model_dir``.
    """
    key = (
        str(Path(model_dir).resolve()) if model_dir is not None else None,
        int(threads), int(max_tokens), int(inter_op_threads), int(batch_size), model_file, bool(allow_spinning),
    )
    with _CACHE_LOCK:
        sc = _CACHE.get(key)
        if sc is None:
            sc = SentimentScorer(
                model_dir, threads=threads, inter_op_threads=inter_op_threads,
                max_tokens=max_tokens, batch_size=batch_size, model_file=model_file,
                allow_spinning=allow_spinning,
            )
            _CACHE[key] = sc
        return sc
