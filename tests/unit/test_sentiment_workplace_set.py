"""The workplace evaluation set (tests/fixtures/sentiment/workplace): integrity of the file every
neutral/workplace figure is measured on. A broken row here silently changes the model card's numbers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from pulsewire.models.sentiment.data import (
    LABELS,
    UCI_SETS,
    WORKPLACE_GENRES,
    WORKPLACE_PATH,
    load_uci,
    load_workplace,
    load_workplace_rows,
)

# The shares ATTRIBUTION.md states; the set is built to show the neutral bias, so neutral must dominate.
SHARES = {"neutral": (0.45, 0.55), "negative": (0.20, 0.30), "positive": (0.20, 0.30)}
LONG_WORDS = (150, 400)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def rows():
    return load_workplace_rows()


def test_size_and_every_genre_has_every_class(rows):
    assert 250 <= len(rows) <= 350
    pairs = Counter((r["genre"], r["label"]) for r in rows)
    for genre in WORKPLACE_GENRES:
        for label in LABELS:
            assert pairs[(genre, label)] >= 5, (genre, label)


def test_class_shares_within_stated_ranges(rows):
    counts = Counter(r["label"] for r in rows)
    for label, (lo, hi) in SHARES.items():
        assert lo <= counts[label] / len(rows) <= hi, (label, counts[label], len(rows))


def test_no_duplicate_texts(rows):
    dupes = [t for t, n in Counter(_norm(r["text"]) for r in rows).items() if n > 1]
    assert dupes == []


def test_no_text_from_the_uci_fixtures(rows):
    uci = {_norm(t) for name in UCI_SETS for t, _ in load_uci(name)}
    assert [r["text"] for r in rows if _norm(r["text"]) in uci] == []


def test_length_tag_matches_word_count(rows):
    lo, hi = LONG_WORDS
    wrong = [(r["length"], len(r["text"].split()), r["text"][:40]) for r in rows
             if (r["length"] == "long") != (lo <= len(r["text"].split()) <= hi)
             or (r["length"] == "short" and len(r["text"].split()) >= lo)]
    assert wrong == []
    long_rows = [r for r in rows if r["length"] == "long"]
    assert 30 <= len(long_rows) <= 50
    assert {r["label"] for r in long_rows} == set(LABELS)


def test_only_reserved_example_email_domains(rows):
    # Written, not collected: any address must be an RFC 2606 example domain, never a real mailbox.
    domains = {m.group(1).lower() for r in rows for m in re.finditer(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", r["text"])}
    assert all(re.fullmatch(r"example\.(com|net|org)", d) for d in domains), domains


def test_load_workplace_gives_examples_in_file_order(rows):
    examples = load_workplace()
    assert [(e.text, LABELS[e.label]) for e in examples] == [(r["text"], r["label"]) for r in rows]
    assert {e.source for e in examples} == {"workplace"}


def test_a_bad_label_is_an_error_not_a_skip(tmp_path):
    bad = tmp_path / "w.jsonl"
    bad.write_text(WORKPLACE_PATH.read_text(encoding="utf-8").replace('"label": "neutral"', '"label": "neutal"', 1),
                   encoding="utf-8")
    with pytest.raises(ValueError, match="label 'neutal'"):
        load_workplace_rows(bad)
