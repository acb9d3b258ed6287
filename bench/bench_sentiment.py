"""Standalone sentiment scorer benchmark.

    python bench/bench_sentiment.py [--threads 2] [--n 1024] [--fp32 PATH] [--json OUT]

Prints the machine and library versions; texts/s and p50/p99 latency per batch
for batch sizes 1, 32, 128 on ~30-word texts, int8 (shipped) vs fp32 (from the
training run's cache, if present) in the same run; long-text throughput at batch
32 (texts of ~300 and ~1,000 tokens joined from whole UCI sentences, read as
windows); where the time goes (tokenization vs inference); and an estimate of the
physical limit (MACs per token x tokens per text vs what onnxruntime reaches on a
large MatMul on the same cores; skipped with one line where the training-only
``onnx`` package is absent).

``standalone_rate(scorer, texts, batch)`` is reusable (e.g. by a pipeline bench).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FP32 = REPO / ".cache" / "sentiment" / "ft_L4" / "model.fp32.onnx"


# ---------------------------------------------------------------------------- reusable


def standalone_rate(scorer, texts: list[str], batch: int, *, warmup: int = 1, min_seconds: float = 0.0) -> dict:
    """Score ``texts`` in calls of ``batch`` texts; returns texts/s and per-call latency.

    Each call is ``scorer.score(chunk, batch_size=batch)`` (tokenization included).
    The first ``warmup`` calls are not timed. Repeats the whole list until at
    least ``min_seconds`` have been measured.
    """
    chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    for c in chunks[:warmup]:
        scorer.score(c, batch_size=batch)
    lat = []
    n = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    while True:
        for c in chunks:
            s = time.perf_counter()
            scorer.score(c, batch_size=batch)
            lat.append(time.perf_counter() - s)
            n += len(c)
        if time.perf_counter() - t0 >= min_seconds:
            break
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0
    lat_ms = np.array(lat) * 1000
    return {
        "batch": batch,
        "texts": n,
        "texts_per_s": n / total,
        # CPU seconds this process used: robust to other load on the machine (with spinning off)
        "texts_per_cpu_s": n / cpu if cpu > 0 else float("nan"),
        "p50_ms": float(np.percentile(lat_ms, 50)),
        "p99_ms": float(np.percentile(lat_ms, 99)),
    }


def make_texts(n: int = 1024, words: int = 30, seed: int = 0) -> list[str]:
    """~``words``-word texts built from the UCI sentences (deterministic)."""
    import random

    sys.path.insert(0, str(REPO))
    from pulsewire.models.sentiment.data import UCI_SETS, load_uci

    sents = [t for name in UCI_SETS for t, _ in load_uci(name)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        w: list[str] = []
        while len(w) < words:
            w.extend(rng.choice(sents).split())
        out.append(" ".join(w[:words]))
    return out


def make_long_texts(tokenizer, n: int, tokens: int, seed: int = 0) -> list[str]:
    """Texts of about ``tokens`` tokens, each joined from whole UCI sentences (deterministic)."""
    import random

    sys.path.insert(0, str(REPO))
    from pulsewire.models.sentiment.data import UCI_SETS, load_uci

    sents = [t for name in UCI_SETS for t, _ in load_uci(name)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        count = 2  # [CLS] and [SEP]
        while count < tokens:
            s = rng.choice(sents)
            parts.append(s)
            count += len(tokenizer.encode(s, add_special_tokens=False).ids)
        out.append(" ".join(parts))
    return out


# ---------------------------------------------------------------------------- machine / limits


def machine() -> dict:
    import onnxruntime
    import tokenizers

    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        txt = open("/proc/cpuinfo").read()
        flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in txt)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "isa": flags,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def matmul_peak(threads: int, m: int = 4096, k: int = 384, n: int = 1536) -> dict:
    """GMAC/s that onnxruntime reaches on one large MatMul, fp32 and int8 (dynamic quant)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(0)
    w = rng.standard_normal((k, n)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = rng.standard_normal((m, k)).astype(np.float32)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        p32, p8 = Path(d) / "mm.onnx", Path(d) / "mm8.onnx"
        onnx.save(model, str(p32))
        quantize_dynamic(str(p32), str(p8), per_channel=True, weight_type=QuantType.QInt8)
        for name, p in (("fp32", p32), ("int8", p8)):
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.log_severity_level = 3
            s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
            for _ in range(3):
                s.run(None, {"x": x})
            ts = []
            for _ in range(10):
                t = time.perf_counter()
                s.run(None, {"x": x})
                ts.append(time.perf_counter() - t)
            out[name] = m * k * n / min(ts) / 1e9  # best run: least disturbed by other load
    return out


def model_macs(manifest_layers: int, hidden: int, inter: int, tokens: float) -> float:
    """Multiply-accumulates per text for a BERT encoder of ``tokens`` tokens."""
    per_token_linear = 4 * hidden * hidden + 2 * hidden * inter
    per_token_attn = 2 * tokens * hidden  # QK^T and AV
    return manifest_layers * (per_token_linear + per_token_attn) * tokens


def count_layers(onnx_path: Path) -> int:
    import onnx

    m = onnx.load(str(onnx_path), load_external_data=False)
    return sum(1 for n in m.graph.node if n.op_type in ("Attention", "QAttention")) or \
        sum(1 for n in m.graph.node if n.op_type == "Softmax") - 1


# ---------------------------------------------------------------------------- main


def time_split(scorer, texts: list[str], batch: int) -> dict:
    """Seconds per text in tokenization vs inference (session.run), for one batch size."""
    t = time.perf_counter()
    ids, _, _ = scorer._windows(texts)
    tok_s = time.perf_counter() - t
    scorer._infer(ids, batch)
    t = time.perf_counter()
    scorer._infer(ids, batch)
    inf_s = time.perf_counter() - t
    return {"tokenize_ms_per_text": 1000 * tok_s / len(texts), "infer_ms_per_text": 1000 * inf_s / len(texts),
            "tokens_per_text": float(np.mean([len(i) for i in ids]))}


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    from pulsewire.models.sentiment import DEFAULT_MODEL_DIR, SentimentScorer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1024, help="texts per measurement")
    ap.add_argument("--words", type=int, default=30)
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--fp32", type=Path, default=DEFAULT_FP32, help="fp32 ONNX (not in git; from the train run)")
    ap.add_argument("--json", type=Path, default=None, help="also write results as JSON here")
    ap.add_argument("--spin", action="store_true", help="let onnxruntime worker threads spin (scorer default: off)")
    ap.add_argument("--repeats", type=int, default=3, help="report the best of N runs (robust to other load)")
    ap.add_argument("--long", default="300,1000", help="token lengths of the long-text lines ('' to skip)")
    args = ap.parse_args(argv)

    info = machine()
    load0 = os.getloadavg()[0]
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    texts = make_texts(args.n, args.words)
    models = {"int8": SentimentScorer(DEFAULT_MODEL_DIR, threads=args.threads, allow_spinning=args.spin)}
    # same-run baseline for the token cap per onnxruntime run: sub-batches of batch_size rows, whatever their length
    uncapped = SentimentScorer(DEFAULT_MODEL_DIR, threads=args.threads, allow_spinning=args.spin, max_batch_tokens=None)
    if args.fp32.exists():
        models["fp32"] = SentimentScorer(DEFAULT_MODEL_DIR, threads=args.threads, model_file=str(args.fp32),
                                         allow_spinning=args.spin)
    else:
        print(f"(fp32 model {args.fp32} not found: run the train command to produce it; int8 only)")
    print(f"model: {models['int8'].version}, threads={args.threads}, spinning={'on' if args.spin else 'off'},"
          f" max_batch_tokens={models['int8'].max_batch_tokens} ('int8 uncapped': none, same run),"
          f" {len(texts)} texts of {args.words} words")
    results: dict = {"machine": info, "version": models["int8"].version, "rates": [], "split": {}}
    batches = [int(b) for b in args.batches.split(",")]
    print("\n| model | batch | texts/s | p50 ms/batch | p99 ms/batch | texts per CPU-s |\n|---|---:|---:|---:|---:|---:|")
    for name, sc in models.items():
        for b in batches:
            sub = texts[: max(b * 4, min(len(texts), 256 if b == 1 else len(texts)))]
            r = max((standalone_rate(sc, sub, b, min_seconds=1.0) for _ in range(args.repeats)),
                    key=lambda x: x["texts_per_s"])
            r["model"] = name
            results["rates"].append(r)
            print(f"| {name} | {b} | {r['texts_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
                  f" {r['texts_per_cpu_s']:.0f} |")
    if 32 in batches:
        r = max((standalone_rate(uncapped, texts, 32, min_seconds=1.0) for _ in range(args.repeats)),
                key=lambda x: x["texts_per_s"])
        r["model"] = "int8 uncapped"
        results["rates"].append(r)
        print(f"| int8 uncapped | 32 | {r['texts_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
              f" {r['texts_per_cpu_s']:.0f} |")

    if args.long:
        print("\nlong texts, int8, batch 32 (whole UCI sentences joined; read as windows of 128 tokens):")
        print("| scorer | tokens/text | windows/text | texts/s | windows/s | texts per CPU-s |\n"
              "|---|---:|---:|---:|---:|---:|")
        results["long"] = []
        for tokens in (int(x) for x in args.long.split(",")):
            long_texts = make_long_texts(models["int8"].tokenizer, 64 if tokens <= 400 else 32, tokens)
            ids, _, _ = models["int8"]._windows(long_texts)
            per_text = len(ids) / len(long_texts)
            mean_tokens = float(np.mean([len(models["int8"].tokenizer.encode(t).ids) for t in long_texts]))
            for name, sc in (("int8", models["int8"]), ("int8 uncapped", uncapped)):
                r = max((standalone_rate(sc, long_texts, 32, min_seconds=1.0) for _ in range(args.repeats)),
                        key=lambda x: x["texts_per_s"])
                r.update(model=name, tokens=mean_tokens, windows_per_text=per_text)
                results["long"].append(r)
                print(f"| {name} | {mean_tokens:.0f} | {per_text:.1f} | {r['texts_per_s']:.0f} |"
                      f" {r['texts_per_s'] * per_text:.0f} | {r['texts_per_cpu_s']:.0f} |")

    print("\nwhere time goes (batch 32):")
    for name, sc in models.items():
        s = time_split(sc, texts, 32)
        results["split"][name] = s
        print(f"  {name}: tokenize {s['tokenize_ms_per_text']:.3f} ms/text, inference {s['infer_ms_per_text']:.3f}"
              f" ms/text, {s['tokens_per_text']:.1f} tokens/text")

    if importlib.util.find_spec("onnx") is None:
        print("\nphysical limit estimate: skipped, it builds an ONNX graph and needs the training-only 'onnx' "
              "package (pip install -e '.[train]')")
        return _finish(results, load0, args.json)
    peak = matmul_peak(args.threads)
    layers = count_layers(DEFAULT_MODEL_DIR / models["int8"].model_file)
    tokens = results["split"]["int8"]["tokens_per_text"]
    macs = model_macs(layers, 384, 1536, tokens)
    results["limit"] = {"layers": layers, "macs_per_text": macs, "matmul_gmacs": peak}
    print(f"\nphysical limit estimate: {layers} layers x (4·H² + 2·H·I + 2·S·H) MACs/token x {tokens:.1f} tokens"
          f" = {macs / 1e6:.0f} M MACs/text")
    for name in models:
        lim = peak[name] * 1e9 / macs
        best = max(r["texts_per_s"] for r in results["rates"] if r["model"] == name)
        results["limit"][f"{name}_texts_per_s_bound"] = lim
        print(f"  {name}: large MatMul reaches {peak[name]:.1f} GMAC/s on {args.threads} threads -> bound"
              f" ~{lim:.0f} texts/s; best measured {best:.0f} texts/s ({100 * best / lim:.0f}% of bound)")
    return _finish(results, load0, args.json)


def _finish(results: dict, load0: float, json_path: Path | None) -> int:
    load1 = os.getloadavg()[0]
    results["loadavg"] = [load0, load1]
    print(f"\n1-min load average before/after: {load0:.2f} / {load1:.2f}"
          + ("  (machine was busy: figures are pessimistic, rerun on a quiet machine)" if max(load0, load1) > 1.5 else ""))
    if json_path:
        json_path.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
