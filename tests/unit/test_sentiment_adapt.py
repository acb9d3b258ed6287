"""``pulsewire sentiment adapt``: labels from stars, the split, the head fit, the version, what is read from
the store (erasure, retention, employees), the graph surgery, and the refusals a user sees."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from pulsewire.models.sentiment import head
from pulsewire.models.sentiment.adapt import (LabelledText, MIN_PER_CLASS, AdaptError, check_enough, class_counts,
                                              data_digest, deduplicate, model_version, read_labelled)

from .test_cli_user_errors import assert_user_error, pulsewire

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "sentiment" / "tiny_fp32"
DAY = date(2026, 3, 1)


@pytest.mark.parametrize("stars, label", [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"),
                                          (5, "positive")])
def test_stars_and_csat_map_to_three_classes(stars, label):
    assert head.LABELS[head.label_from_stars(stars)] == label


@pytest.mark.parametrize("stars", [None, 0, 6, 10])
def test_ratings_off_the_1_to_5_scale_are_not_labels(stars):
    assert head.label_from_stars(stars) is None


def test_split_is_stratified_disjoint_and_seeded():
    y = np.array([0] * 100 + [1] * 40 + [2] * 260)
    keep, held = head.stratified_split(y, 0.2, seed=13)
    assert len(set(keep) & set(held)) == 0 and len(keep) + len(held) == len(y)
    assert np.bincount(y[held]).tolist() == [20, 8, 52]
    assert np.array_equal(held, head.stratified_split(y, 0.2, seed=13)[1])
    assert not np.array_equal(held, head.stratified_split(y, 0.2, seed=14)[1])


def _clusters(n: int, dim: int = 16, seed: int = 0):
    """Three separable classes of L2-normalised vectors (like the encoder's pooled embeddings)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:3] * 3.0
    y = rng.integers(0, 3, n)
    X = centres[y] + rng.standard_normal((n, dim)) * 0.5
    return X / np.linalg.norm(X, axis=1, keepdims=True), y


def test_head_fit_learns_separable_classes_from_a_wrong_head():
    X, y = _clusters(600)
    Xt, yt = _clusters(300, seed=1)
    W0 = np.roll(np.eye(16)[:, :3], 1, axis=1) * 5.0  # a head that calls every class the next one
    b0 = np.zeros(3)
    assert np.mean((Xt @ W0).argmax(1) == yt) < 0.1
    W, b = head.fit_head(X, y, W0, b0, lam=1e-3)
    assert np.mean((Xt @ W + b).argmax(1) == yt) > 0.95


def test_a_strong_regularisation_keeps_the_shipped_head():
    X, y = _clusters(300)
    W0 = np.random.default_rng(3).standard_normal((16, 3))
    W, _ = head.fit_head(X, y, W0, np.zeros(3), lam=1e4)
    assert np.abs(W - W0).max() < 1e-3


def test_class_balance_lets_a_rare_class_be_found():
    X, y = _clusters(2000)
    rare = np.flatnonzero(y == 1)[:30]
    keep = np.concatenate([np.flatnonzero(y != 1), rare])
    W, b = head.fit_head(X[keep], y[keep], np.zeros((16, 3)), np.zeros(3), lam=1e-3)
    Xt, yt = _clusters(600, seed=2)
    pred = (Xt @ W + b).argmax(1)
    assert np.mean(pred[yt == 1] == 1) > 0.9


def test_lambda_is_chosen_on_the_training_part_and_beats_the_wrong_head():
    X, y = _clusters(400)
    W0 = np.roll(np.eye(16)[:, :3], 1, axis=1) * 5.0
    choice = head.choose_lambda(X, y, W0, np.zeros(3), seed=13)
    assert choice.lam in head.LAMBDA_GRID and set(choice.losses) == set(head.LAMBDA_GRID)
    assert choice.lam < max(head.LAMBDA_GRID)  # the data contradicts the old head: it must move


def test_comparison_figures_on_known_predictions():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[.9, .05, .05], [.1, .8, .1], [.1, .8, .1], [.9, .05, .05], [.1, .1, .8], [.1, .1, .8]])
    f = head.comparison_figures(y, p)
    assert f["accuracy"] == pytest.approx(4 / 6)
    assert f["neutral_recall"] == 0.5 and f["neutral_polar_rate"] == 0.5
    assert f["macro_f1"] == pytest.approx(np.mean([0.5, 0.5, 1.0]))


def _items(labels, day=DAY):
    return [LabelledText(f"text number {i}", y, "review", "shop", day) for i, y in enumerate(labels)]


def test_version_is_derived_from_the_data_not_the_clock():
    a = _items([0, 1, 2] * 5)
    v = model_version("base-1", DAY, data_digest(a, "base-1", 13))
    assert re.fullmatch(r"base-1\+adapt\.20260301\.[0-9a-f]{10}", v)
    assert v == model_version("base-1", DAY, data_digest(list(a), "base-1", 13))
    b = a[:-1] + [LabelledText("text number 14", 1, "review", "shop", DAY)]  # one label changed
    assert data_digest(b, "base-1", 13) != data_digest(a, "base-1", 13)
    assert data_digest(a, "base-2", 13) != data_digest(a, "base-1", 13)


def test_deduplication_keeps_one_copy_and_drops_texts_rated_both_ways():
    items = [LabelledText("Thanks,  great help", 2, "ticket", "s", DAY),
             LabelledText("thanks, great help", 2, "review", "s", DAY - timedelta(days=3)),
             LabelledText("It works", 1, "review", "s", DAY), LabelledText("it works", 2, "ticket", "s", DAY),
             LabelledText("Broken again", 0, "ticket", "s", DAY)]
    d = deduplicate(items)
    assert [(x.text, x.day) for x in d.items] == [("Broken again", DAY), ("thanks, great help", DAY - timedelta(days=3))]
    assert (d.duplicates, d.conflicting) == (1, 1)
    assert deduplicate(list(reversed(items))).items == d.items


def test_too_few_texts_in_a_class_is_refused_with_the_counts():
    check_enough({"negative": MIN_PER_CLASS, "neutral": MIN_PER_CLASS, "positive": MIN_PER_CLASS})
    with pytest.raises(AdaptError, match=rf"neutral {MIN_PER_CLASS - 1}, positive 80; need at least {MIN_PER_CLASS} in each class \(neutral short\)"):
        check_enough(class_counts([0] * 80 + [1] * (MIN_PER_CLASS - 1) + [2] * 80))


# ------------------------------------------------------------------------------------- the store
def _row(source: str, kind: str, n: int, *, text: str = "some words", days_ago: float = 3, **fields) -> dict:
    at = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return {"event_id": f"{source}:{kind}-{n}", "source": source, "kind": kind, "type": "review" if kind == "review"
            else "rated", "occurred_at": at, "ingested_at": at, "text": text, "attributes": {},
            "customer_id": "", "employee_id": "", "rating": None, "csat": None, **fields}


def test_reads_rated_customer_text_only_within_retention_and_never_an_erased_person(store):
    from pulsewire.streams.erasure import Subject, erase_rows

    src = f"adapt-{uuid.uuid4().hex[:8]}"
    rows = [
        _row(src, "review", 1, customer_id="c1", rating=5, text="loved it"),
        _row(src, "ticket", 2, customer_id="c1", csat=3, text="it was handled"),
        _row(src, "ticket", 3, customer_id="c1", text="no csat on this one"),  # not rated
        _row(src, "review", 4, customer_id="c2", rating=1, text="awful, erase me"),  # this person is erased below
        _row(src, "review", 5, customer_id="c3", rating=2, text="too old", days_ago=40),  # past a 30-day text TTL
        _row(src, "review", 6, employee_id="emp_" + "a" * 24, rating=4, text="employee words"),  # never read
        _row(src, "review", 7, customer_id="c4", rating=4, text=""),  # text already cleared by the TTL
        _row(src, "chat", 8, customer_id="c4", text="chat has no rating"),
    ]
    store.insert_rows("events_scored", rows)
    erase_rows(store, Subject("customer", "c2", "h" * 32))
    got = sorted((r.text, r.label, r.kind) for r in read_labelled(store, raw_text_ttl_days=30) if r.source == src)
    assert got == [("it was handled", 1, "ticket"), ("loved it", 2, "review")]


# ------------------------------------------------------------------------------------- the graph
def test_new_head_in_the_graph_scores_exactly_as_the_fitted_head(tmp_path):
    """On the tiny fp32 fixture model (exact, no int8 effects): the embedding output feeds the shipped head
    to the scorer's probabilities, and a graph with a swapped head loads in the runtime scorer unchanged
    and scores softmax(embedding @ W + b)."""
    from pulsewire.models.sentiment import SentimentScorer
    from pulsewire.models.sentiment.adapt import Embedder
    from pulsewire.models.sentiment.head_graph import read_head, with_head

    texts = ["the invoice was sent on tuesday", "awful", "great support, thank you", "ok"]
    emb = Embedder(TINY, max_tokens=128, threads=1)(texts)
    graph = (TINY / "model.onnx").read_bytes()
    W0, b0 = read_head(graph)
    np.testing.assert_allclose(SentimentScorer(TINY, threads=1).predict_proba(texts),
                               head.softmax(emb @ W0 + b0), atol=1e-5)

    W = np.random.default_rng(5).standard_normal(W0.shape).astype(np.float32) * 4
    b = np.array([0.5, -0.2, 0.1], np.float32)
    d = tmp_path / "adapted"
    d.mkdir()
    (d / "model.onnx").write_bytes(with_head(graph, W, b))
    (d / "tokenizer.json").write_bytes((TINY / "tokenizer.json").read_bytes())
    (d / "manifest.json").write_text(json.dumps({**json.loads((TINY / "manifest.json").read_text()),
                                                 "version": "tiny+adapt", "files": {}}))
    adapted = SentimentScorer(d, threads=1)
    np.testing.assert_allclose(adapted.predict_proba(texts), head.softmax(emb @ W + b), atol=1e-5)
    assert adapted.version == "tiny+adapt"
    assert [o.name for o in adapted.session.get_outputs()] == ["probabilities"]
    assert not np.allclose(head.softmax(emb @ W + b), head.softmax(emb @ W0 + b0), atol=1e-2)


# ------------------------------------------------------------------------------------- the command
MAKE_STORE = """
import sys
from datetime import datetime, timedelta, timezone
from pulsewire.streams.store import open_store
now = datetime.now(timezone.utc) - timedelta(days=1)
with open_store(sys.argv[1]) as s:
    s.insert_rows("events_scored", [{"event_id": f"shop:rv-{i}", "source": "shop", "kind": "review",
        "type": "review", "occurred_at": now, "ingested_at": now, "customer_id": f"c{i}", "rating": 1 + i % 5,
        "text": f"review text {i}", "attributes": {}} for i in range(int(sys.argv[2]))])
"""


def test_a_store_with_too_few_rated_texts_is_refused_in_one_line(tmp_path):
    root = tmp_path / "demo" / "clickhouse"
    subprocess.run([sys.executable, "-c", MAKE_STORE, f"chdb://{root}", "40"], check=True, timeout=120)
    res = pulsewire("sentiment", "adapt", "--data-dir", "demo", cwd=tmp_path)
    assert_user_error(res, "too few rated texts", f"need at least {MIN_PER_CLASS} in each class")
    assert res.returncode == 2
    assert "review text" not in res.stdout + res.stderr  # never a text
    assert not (tmp_path / "demo" / "sentiment-models").exists()


def test_an_empty_store_is_refused_in_one_line(tmp_path):
    root = tmp_path / "demo" / "clickhouse"
    subprocess.run([sys.executable, "-c", MAKE_STORE, f"chdb://{root}", "0"], check=True, timeout=120)
    res = pulsewire("sentiment", "adapt", "--data-dir", "demo", cwd=tmp_path)
    assert_user_error(res, "too few rated texts", "negative 0, neutral 0, positive 0")
    assert res.stdout.startswith("read 0 rated texts")


@pytest.mark.parametrize("args, needle", [
    (["--data-dri", "demo"], "No such option: --data-dri"),
    (["--data-dir", "nowhere"], "no data directory nowhere"),
    (["--data-dir", ".", "--base-model", "nowhere"], "no sentiment model at nowhere"),
])
def test_user_errors_are_one_line(tmp_path, args, needle):
    res = pulsewire("sentiment", "adapt", *args, cwd=tmp_path)
    assert_user_error(res, needle)


def test_verdict_names_the_classes_with_few_held_out_texts():
    from pulsewire.models.sentiment.adapt import Result

    held = {"negative": 2, "neutral": 6, "positive": 20, "total": 28}
    r = Result("v", Path("m"), 1.0, {"held_out": held}, {}, {}, (0.0, -0.2, 0.2))
    assert r.verdict.startswith("The adapted model is not clearly better") and not r.better
    assert "on 28 held-out texts (few held out: negative 2, neutral 6; only a large difference can show)" in r.verdict
    enough = Result("v", Path("m"), 1.0, {"held_out": {"negative": 10, "neutral": 12, "positive": 30, "total": 52}},
                    {}, {}, (0.1, 0.02, 0.2))
    assert enough.better and "few held out" not in enough.verdict
