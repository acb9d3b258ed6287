"""The default sentiment model until 2026-12-01, kept as an explicit, opt-in choice.

    python -m pulsewire.models.sentiment.previous --out DIR
    PULSEWIRE_MODEL_DIR=DIR pulsewire worker

That model (``minilm-l4-3c-ft-int8-2026.11.27``) and today's default share the same fine-tuned,
int8 encoder; they differ only in the linear head (384 x 3 weights and 3 biases). So the repository
keeps that head and its manifest (``baseline/finetune_head.npz``, ``baseline/finetune_manifest.json``),
not a second 20 MB graph, and this writes the old model by putting the old head back into today's graph.
The result is checked against the sha256 the manifest records, so a changed default graph is refused
instead of silently giving a different model. Its scores equal the old model's; only the ONNX
serialisation differs from the file shipped until 2026-12-01 (sha256 ``d9d4f8d1...``).

Why one would choose it: it scores polar, in-domain short text slightly better (held-out macro-F1
0.813 vs 0.755); it pushes neutral text to a pole (see the model card). Its licence is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from .data import REPO_ROOT
from .scorer import DEFAULT_MODEL_DIR, sha256_file, verify_manifest

BASELINE = Path(__file__).resolve().parent / "baseline"
CACHE_DIR = REPO_ROOT / ".cache" / "sentiment" / "previous"
HEAD_FILE = BASELINE / "finetune_head.npz"
MANIFEST_FILE = BASELINE / "finetune_manifest.json"


class PreviousModelError(RuntimeError):
    pass


def write_previous(out: Path, base_dir: Path = DEFAULT_MODEL_DIR) -> dict:
    """Write the previous default into ``out`` (atomically) and return its manifest."""
    from .head_graph import with_head

    manifest = json.loads(MANIFEST_FILE.read_text(encoding="utf-8"))
    base = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))
    head = np.load(HEAD_FILE)
    out = Path(out)
    part = out.parent / f".{out.name}.part-{os.getpid()}"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        graph = with_head((base_dir / base["model"]).read_bytes(), head["w"], head["b"])
        (part / manifest["model"]).write_bytes(graph)
        shutil.copy(base_dir / base["tokenizer"], part / manifest["tokenizer"])
        for name, digest in manifest["files"].items():
            if sha256_file(part / name) != digest:
                raise PreviousModelError(
                    f"{name} rebuilt from {base_dir} does not match the previous model's sha256: the default "
                    "graph's encoder or tokenizer changed, so the previous model cannot be rebuilt from it")
        (part / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(part, out)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return manifest


def cached_previous(cache: Path = CACHE_DIR) -> Path:
    """The previous default, rebuilt into ``cache`` unless it is there and intact."""
    try:
        verify_manifest(cache)
        if json.loads((cache / "manifest.json").read_text(encoding="utf-8")) == json.loads(
                MANIFEST_FILE.read_text(encoding="utf-8")):
            return cache
    except (OSError, ValueError):
        pass
    write_previous(cache)
    return cache


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pulsewire.models.sentiment.previous", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--base", type=Path, default=DEFAULT_MODEL_DIR, help="model whose graph is reused")
    args = ap.parse_args(argv)
    try:
        m = write_previous(args.out, args.base)
    except (OSError, KeyError, ValueError, PreviousModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({m['version']}); use it with PULSEWIRE_MODEL_DIR={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
