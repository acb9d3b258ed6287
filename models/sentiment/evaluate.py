"""Evaluation tables: every model on every data set, VADER beside as the same-run baseline.

    python -m pulsewire.models.sentiment.evaluate [--model NAME=DIR ...] [--fp32 PATH] [--json]

Data sets (``BINARY_SETS``, ``THREE_CLASS_SETS``; one line each, so a new set is one line). A set
whose data is missing is skipped with one line on stderr saying how to get it.

* ``uci_amazon``, ``uci_yelp``, ``uci_imdb`` (pooled as ``uci_all``): UCI sentences, binary, in the
  repository. Never trained on.
* ``imdb_reviews``: 2,000 full IMDB reviews (aclImdb test split, seeded and balanced), binary, from
  ``$PULSEWIRE_SENTIMENT_DATA/imdb``. The long-text set.
* ``goemotions_test``: GoEmotions test split, 3 classes, from ``$PULSEWIRE_SENTIMENT_DATA/goemotions``.
  Out of domain: no model here was trained on GoEmotions.
* ``workplace``: 300 workplace and support texts written by the project (half neutral, 40 long),
  3 classes, in the repository. Never trained or tuned on.
* ``heldout``: the held-out 10% of the training sources (``train`` extra); in-domain, so it flatters.

Figures per model:

* binary accuracy: positive iff p_positive > p_negative; a tie (VADER's neutral band) counts as wrong;
* on 3-class sets: macro-F1, recall per class, the share of gold-neutral texts with
  |score| > 0.5 (score = p_positive - p_negative), the mean score on gold-neutral texts (the bias),
  top-label expected calibration error over 10 equal-width bins and its reliability table (``--json``);
* binary accuracy by text length on ``LENGTH_SETS``: tokens of the shipped model's tokenizer, whole
  text, special tokens included (<32, 32-128, 129-512, >512), each bucket with its majority-class rate.

Models (``default_models``; ``--model NAME=DIR`` adds any model directory the scorer loads):

* VADER (vadersentiment 3.3.2): "±0.05" is compound >= 0.05 positive, <= -0.05 negative, else
  neutral; "sign" is compound > 0 positive, else negative (never neutral). Its probabilities are
  one-hot, so its ECE is its error rate.
* shipped int8: ``artifacts/`` through the runtime scorer (its batching, truncation and pooling).
* shipped fp32: the fp32 encoder of the same training run (``--fp32``, default
  ``.cache/sentiment/ft_L4/model.fp32.onnx``, not in git) with the shipped head put in; the row is left
  out when the file is absent.
* previous default int8: the default until 2026-12-01 (``previous.py``: the same encoder with its
  fine-tuned head), rebuilt once into ``.cache/sentiment/previous``: the old-vs-new rows.
* skeleton (``--skeleton``, ``train`` extra): frozen all-MiniLM-L6-v2 + logistic-regression head.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data import REPO_ROOT, load_goemotions, load_imdb, load_uci, load_workplace, train_heldout_split
from .metrics import LENGTH_BUCKETS, ProbaFn, accuracy_by_length, binary_from_proba, three_class_metrics
from .previous import MANIFEST_FILE, cached_previous
from .scorer import sha256_file

PKG = Path(__file__).resolve().parent
SHIPPED_DIR = PKG / "artifacts"
DEFAULT_FP32 = REPO_ROOT / ".cache" / "sentiment" / "ft_L4" / "model.fp32.onnx"

# name -> loader of (text, 0|1) pairs, 1 = positive
BINARY_SETS: dict[str, Callable[[], list[tuple[str, int]]]] = {
    "uci_amazon": lambda: load_uci("amazon"),
    "uci_yelp": lambda: load_uci("yelp"),
    "uci_imdb": lambda: load_uci("imdb"),
    "imdb_reviews": lambda: load_imdb(n=2000),
}
# pooled binary sets: name -> members of BINARY_SETS
BINARY_POOLS = {"uci_all": ("uci_amazon", "uci_yelp", "uci_imdb")}
# name -> loader of (text, 0|1|2) pairs in (negative, neutral, positive) order
THREE_CLASS_SETS: dict[str, Callable[[], list[tuple[str, int]]]] = {
    "goemotions_test": lambda: [(e.text, e.label) for e in load_goemotions("test")],
    "workplace": lambda: [(e.text, e.label) for e in load_workplace()],
    "heldout": lambda: [(e.text, e.label) for e in train_heldout_split()[1]],
}
LENGTH_SETS = ("uci_all", "imdb_reviews")
ALL_SETS = (*BINARY_SETS, *BINARY_POOLS, *THREE_CLASS_SETS)


@dataclass(frozen=True)
class ModelSpec:
    """A table row: ``load`` returns the model's probability function, or raises ImportError /
    FileNotFoundError / RuntimeError when it is not available here (the row is then skipped)."""

    name: str
    load: Callable[[], ProbaFn]


def vader_proba(sign: bool = False) -> ProbaFn:
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


def scorer_proba(model_dir: Path, model_file: str | None = None) -> ProbaFn:
    """The runtime scorer of a model directory (2 threads), so rows measure what the pipeline runs."""
    from .scorer import SentimentScorer

    if model_file is not None and not Path(model_file).is_file():
        raise FileNotFoundError(f"{model_file} not found")
    return SentimentScorer(model_dir, threads=2, verify=True, model_file=model_file).predict_proba


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


def skeleton_proba(int8: bool) -> ProbaFn:
    from .train import load_tokenizer, ort_session, proba_fn

    sk32, sk8 = skeleton_paths()
    return proba_fn(ort_session(sk8 if int8 else sk32), load_tokenizer(128))


def shipped_version(model_dir: Path = SHIPPED_DIR) -> str:
    return json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))["version"]


def default_models(fp32_path: Path | None = None, skeleton: bool = False, vader: bool = True) -> list[ModelSpec]:
    version = shipped_version()
    fp32_path = fp32_path or DEFAULT_FP32
    rows = []
    if vader:
        rows += [ModelSpec("VADER (±0.05)", vader_proba), ModelSpec("VADER sign", lambda: vader_proba(sign=True))]
    if skeleton:
        rows += [ModelSpec("skeleton fp32 (frozen L6 + LR)", lambda: skeleton_proba(int8=False)),
                 ModelSpec("skeleton int8 (frozen L6 + LR)", lambda: skeleton_proba(int8=True))]
    rows += [ModelSpec(f"previous default int8 ({previous_version()})", lambda: scorer_proba(cached_previous())),
             ModelSpec(f"shipped fp32 ({version.replace('-int8', '')})",
                       lambda: scorer_proba(SHIPPED_DIR, str(fp32_with_shipped_head(fp32_path)))),
             ModelSpec(f"shipped int8 ({version})", lambda: scorer_proba(SHIPPED_DIR))]
    return rows


def previous_version() -> str:
    return json.loads(MANIFEST_FILE.read_text(encoding="utf-8"))["version"]


def fp32_with_shipped_head(fp32_path: Path) -> Path:
    """The fp32 encoder graph with the shipped int8 model's head, written next to it once."""
    from .head_graph import read_head, with_head

    if not fp32_path.is_file():
        raise FileNotFoundError(f"{fp32_path} not found")
    int8 = (SHIPPED_DIR / json.loads((SHIPPED_DIR / "manifest.json").read_text(encoding="utf-8"))["model"])
    w, b = read_head(int8.read_bytes())
    out = fp32_path.with_name(f"{fp32_path.stem}.head-{sha256_file(int8)[:12]}.onnx")
    if not out.exists():
        out.write_bytes(with_head(fp32_path.read_bytes(), w, b))
    return out.resolve()


def token_lengths(texts: list[str], model_dir: Path = SHIPPED_DIR) -> list[int]:
    """Tokens per text with the model's tokenizer, whole text (no truncation), special tokens included."""
    from tokenizers import Tokenizer

    manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    tok = Tokenizer.from_file(str(model_dir / manifest["tokenizer"]))
    tok.no_truncation()
    tok.no_padding()
    return [len(e.ids) for e in tok.encode_batch(texts)]


def load_sets(warn=print, only: set[str] | None = None) -> tuple[dict, dict]:
    """(binary, three_class): name -> (texts, labels, token lengths or None); missing sets skipped.

    ``only`` restricts to these set names (a pool brings its members)."""
    wanted = None if only is None else only | {m for p in only & set(BINARY_POOLS) for m in BINARY_POOLS[p]}

    def load(registry):
        out = {}
        for name, loader in registry.items():
            if wanted is not None and name not in wanted:
                continue
            try:
                rows = loader()
            except RuntimeError as exc:
                warn(f"{name} skipped: {exc}")
                continue
            out[name] = ([t for t, _ in rows], np.array([y for _, y in rows]))
        return out

    binary, three = load(BINARY_SETS), load(THREE_CLASS_SETS)
    for pool, members in BINARY_POOLS.items():
        if all(m in binary for m in members) and (only is None or pool in only):
            pooled = (sum((binary[m][0] for m in members), []), np.concatenate([binary[m][1] for m in members]))
            # the pool's column right after its last member
            at = list(binary).index(members[-1]) + 1
            items = list(binary.items())
            binary = dict(items[:at] + [(pool, pooled)] + items[at:])
    lengths = {name: token_lengths(binary[name][0]) for name in LENGTH_SETS if name in binary}
    return {k: (*v, lengths.get(k)) for k, v in binary.items()}, three


def evaluate_model(proba: ProbaFn, binary: dict, three: dict) -> dict:
    """All figures of one model. Pools reuse their members' probabilities: each text is scored once."""
    out: dict[str, dict] = {"binary": {}, "three_class": {}, "length": {}}
    preds = {}
    for name, (texts, y, _) in binary.items():
        if name not in BINARY_POOLS:
            preds[name] = binary_from_proba(proba(texts))
    for pool, members in BINARY_POOLS.items():
        if pool in binary:
            preds[pool] = np.concatenate([preds[m] for m in members])
    for name, (texts, y, lengths) in binary.items():
        out["binary"][name] = float(np.mean(preds[name] == y))
        if lengths is not None:
            out["length"][name] = accuracy_by_length(lengths, y, preds[name])
    for name, (texts, y) in three.items():
        out["three_class"][name] = three_class_metrics(y, proba(texts))
    return out


def evaluate_all(models: list[ModelSpec], warn=print, only: set[str] | None = None) -> dict:
    binary, three = load_sets(warn, only)
    result = {"data": {**{k: {"n": len(v[1]), "kind": "binary"} for k, v in binary.items()},
                       **{k: {"n": len(v[1]), "kind": "3-class"} for k, v in three.items()}},
              "models": {}}
    for spec in models:
        try:
            proba = spec.load()
        except (ImportError, FileNotFoundError, RuntimeError) as exc:
            hint = " (pip install -e '.[train]')" if isinstance(exc, ImportError) else ""
            warn(f"{spec.name} skipped: {exc}{hint}")
            continue
        result["models"][spec.name] = evaluate_model(proba, binary, three)
    return result


def _f(x, fmt=".3f") -> str:
    return "-" if x is None else format(x, fmt)


def tables(result: dict) -> str:
    """Markdown: binary accuracy, one 3-class table per set, one length table per set in LENGTH_SETS."""
    models = result["models"]
    bsets = [k for k, v in result["data"].items() if v["kind"] == "binary"]
    tsets = [k for k, v in result["data"].items() if v["kind"] == "3-class"]
    sections = []
    if bsets:
        sections.append(["Binary accuracy (n: " + ", ".join(f"{k} {result['data'][k]['n']}" for k in bsets) + ")", "",
                         "| model | " + " | ".join(bsets) + " |", "|---|" + "---:|" * len(bsets)]
                        + [f"| {m} | " + " | ".join(_f(r["binary"].get(k)) for k in bsets) + " |"
                           for m, r in models.items()])
    for s in tsets:
        sec = [f"3-class, {s} (n {result['data'][s]['n']}); score = p_pos - p_neg; neutral = gold neutral", "",
               "| model | macro-F1 | recall neg | recall neutral | recall pos | neutral with abs(score) > 0.5 "
               "| mean score on neutral | ECE (10 bins) |", "|---|" + "---:|" * 7]
        for m, r in models.items():
            t = r["three_class"].get(s)
            if t:
                rec = t["recall"]
                sec.append(f"| {m} | {_f(t['macro_f1'])} | {_f(rec[0])} | {_f(rec[1])} | {_f(rec[2])} | "
                           f"{_f(t['neutral_polar_rate'])} | {_f(t['neutral_mean_score'], '+.3f')} | {_f(t['ece'])} |")
        sections.append(sec)
    buckets = [b for b, _, _ in LENGTH_BUCKETS]
    for s in LENGTH_SETS:
        rows = [(m, r["length"][s]) for m, r in models.items() if s in r["length"]]
        if rows:
            sections.append([f"Binary accuracy by length, {s} (tokens of the shipped tokenizer, whole text)", "",
                             "| model | " + " | ".join(buckets) + " |", "|---|" + "---:|" * len(buckets),
                             "| texts (n) | " + " | ".join(str(b["n"]) for b in rows[0][1]) + " |",
                             "| majority class | " + " | ".join(_f(b["majority"]) for b in rows[0][1]) + " |"]
                            + [f"| {m} | " + " | ".join(_f(b["accuracy"]) for b in bs) + " |" for m, bs in rows])
    return "\n\n".join("\n".join(sec) for sec in sections)


def parse_model_arg(value: str) -> ModelSpec:
    """``NAME=DIR`` or ``DIR`` (named by its manifest's version) -> a scorer row."""
    name, sep, d = value.partition("=")
    path = Path(d if sep else name)
    if not (path / "manifest.json").is_file():
        raise argparse.ArgumentTypeError(f"{path} is not a model directory (no manifest.json)")
    return ModelSpec(name if sep else shipped_version(path), lambda: scorer_proba(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pulsewire.models.sentiment.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", type=Path, default=None, help="fp32 ONNX of the shipped model")
    ap.add_argument("--model", type=parse_model_arg, action="append", default=[], metavar="NAME=DIR",
                    help="also evaluate this model directory (repeatable)")
    ap.add_argument("--skeleton", action="store_true", help="add the frozen-encoder skeleton rows (train extra)")
    ap.add_argument("--no-vader", action="store_true")
    ap.add_argument("--only", default=None, metavar="SET,...",
                    help="evaluate only these data sets: " + ", ".join(ALL_SETS))
    ap.add_argument("--json", action="store_true", help="everything, reliability tables included")
    args = ap.parse_args(argv)
    only = None if args.only is None else {s.strip() for s in args.only.split(",") if s.strip()}
    if only is not None and only - set(ALL_SETS):
        ap.error(f"unknown data set(s) {', '.join(sorted(only - set(ALL_SETS)))}; known: {', '.join(ALL_SETS)}")
    models = default_models(args.fp32, skeleton=args.skeleton, vader=not args.no_vader) + args.model
    result = evaluate_all(models, warn=lambda msg: print(msg, file=sys.stderr), only=only)
    print(json.dumps(result, indent=2) if args.json else tables(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
