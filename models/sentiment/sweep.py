"""Small fine-tuning sweep, as run once on a GPU (record of how the shipped model was chosen).

    python -m pulsewire.models.sentiment.sweep --out DIR [--budget-s 420]

Trains the configurations below in order (until the time budget is spent),
scores each on the held-out split of the TRAINING sources (3-class macro-F1;
this is the selection criterion) and, for information only, on the UCI
sentences (never used for selection). Saves the best 6-layer model's weights
(fp32, word embeddings omitted: they are frozen) and the best 4-layer model's
(fp16) as ``weights_L6.npz`` / ``weights_L4.npz``; ``train --weights FILE``
then exports them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

CONFIGS = [
    {"layers": 6, "lr": 3e-5, "epochs": 3},
    {"layers": 4, "lr": 5e-5, "epochs": 3},
    {"layers": 6, "lr": 5e-5, "epochs": 2},
    {"layers": 6, "lr": 2e-5, "epochs": 4},
]


def torch_proba(model, tok, texts, dev, batch: int = 256) -> np.ndarray:
    import torch

    encs = tok.encode_batch([t if t.strip() else "." for t in texts])
    ids = [e.ids for e in encs]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.empty((len(ids), 3), np.float32)
    model.eval()
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            L = max(len(ids[i]) for i in idx)
            a = np.zeros((len(idx), L), np.int64)
            m = np.zeros((len(idx), L), np.int64)
            for r, i in enumerate(idx):
                a[r, :len(ids[i])] = ids[i]
                m[r, :len(ids[i])] = 1
            p = model(torch.from_numpy(a).to(dev), torch.from_numpy(m).to(dev))
            out[idx] = p.float().cpu().numpy()
    return out


def main(argv=None) -> int:
    import torch

    from .data import train_heldout_split
    from .metrics import evaluate_proba
    from .torch_model import SentimentNet, save_weights_npz
    from .train import BASELINE_DIR, finetune, load_encoder_weights, load_tokenizer, set_seed

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--budget-s", type=float, default=420)
    ap.add_argument("--configs", default=None, help="comma-separated indices into CONFIGS")
    ap.add_argument("--limit", type=int, default=None, help="subsample training data (smoke test)")
    ap.add_argument("--epochs", type=int, default=None, help="override epochs (smoke test)")
    args = ap.parse_args(argv)
    t_start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    set_seed(args.seed)
    train, heldout = train_heldout_split(seed=args.seed)
    if args.limit:
        train, heldout = train[:args.limit], heldout[:args.limit]
    z = np.load(BASELINE_DIR / "frozen_head.npz")
    base = load_encoder_weights()
    tok = load_tokenizer(128)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    configs = [CONFIGS[int(i)] for i in args.configs.split(",")] if args.configs else CONFIGS
    if args.epochs:
        configs = [{**c, "epochs": args.epochs} for c in configs]
    results = []
    best: dict[int, tuple] = {}
    for cfg in configs:
        elapsed = time.time() - t_start
        if results and elapsed + 1.2 * max(r["seconds"] for r in results) > args.budget_s:
            print(f"skip {cfg}: budget", flush=True)
            continue
        t0 = time.time()
        torch.manual_seed(args.seed)
        w, hw, hb, info = finetune(train, heldout, args.seed, z["w"], z["b"], epochs=cfg["epochs"], lr=cfg["lr"],
                                   batch=32, max_tokens=128, layers=cfg["layers"], base_weights=base,
                                   log=lambda s: print(s, flush=True))
        model = SentimentNet.from_weights(w, hw, hb).to(dev).eval()
        m = evaluate_proba(lambda texts: torch_proba(model, tok, list(texts), dev), heldout)
        r = {**cfg, **m, "seconds": round(time.time() - t0, 1)}
        results.append(r)
        print("RESULT", json.dumps(r), flush=True)
        L = cfg["layers"]
        if L not in best or m["heldout_macro_f1"] > best[L][0]:
            best[L] = (m["heldout_macro_f1"], w, hw, hb, {**info, **cfg, "selected_by": "heldout_macro_f1",
                                                           "sweep_metrics_torch": m})
    for L, (_, w, hw, hb, info) in best.items():
        w = {k: v for k, v in w.items() if k != "embeddings.word_embeddings.weight"}
        if L != 6:
            w = {k: v.astype(np.float16) for k, v in w.items()}
        save_weights_npz(args.out / f"weights_L{L}.npz", w, hw, hb, info)
    (args.out / "sweep.json").write_text(json.dumps(results, indent=2))
    print(f"done in {time.time() - t_start:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
