"""Sentiment model and scorer (int8 ONNX, tokenizer files shipped beside it).

Runtime needs only onnxruntime, tokenizers and numpy. Training, export and
evaluation live in ``train``, ``onnx_build``, ``evaluate`` (``[train]`` extra).
"""

from .scorer import (
    DEFAULT_MODEL_DIR,
    LABELS,
    SentimentResult,
    SentimentScorer,
    clean_text,
    load_scorer,
    verify_manifest,
)

__all__ = [
    "DEFAULT_MODEL_DIR",
    "LABELS",
    "SentimentResult",
    "SentimentScorer",
    "clean_text",
    "load_scorer",
    "verify_manifest",
]
