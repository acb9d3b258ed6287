"""Long texts are read as sentence windows, pooled by token count; short texts are scored as before."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from pulsewire.models.sentiment import LABELS, SentimentScorer, load_scorer

TINY_FP32 = Path(__file__).resolve().parents[1] / "fixtures" / "sentiment" / "tiny_fp32"

PRAISE = " ".join([
    "The staff were lovely and made us feel welcome from the first minute.",
    "Breakfast was delicious, with fresh fruit and great coffee every morning.",
    "Housekeeping did a wonderful job and left little chocolates on the pillow.",
    "The concierge booked us a fantastic restaurant nearby.",
    "Check-in was quick and the receptionist was very friendly.",
    "The view from the balcony over the bay was stunning.",
    "We loved the spa, the massage was the best I have ever had.",
    "Everything was clean, modern and thoughtfully designed.",
    "The staff remembered our names and always greeted us with a smile.",
    "The rooftop bar served excellent cocktails at sunset.",
    "We cannot wait to come back next summer with the whole family.",
]) + " "
COMPLAINT = " ".join([
    "On the last night the manager shouted at me in front of other guests.",
    "They lost my luggage and refused to take any responsibility.",
    "The bathroom flooded and nobody came to fix it for hours.",
    "They charged my card twice and refused any refund.",
    "When I complained, the staff were rude and laughed at me.",
    "I will never stay here again and I am reporting them.",
]) + " "
SHORT = ["Great service!", "The food was cold and the waiter was rude.", "ok", "The invoice was sent on Tuesday.",
         "It was fine I guess, nothing special but nothing bad either, just an average experience overall."]


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return load_scorer()


def _tokens(sc: SentimentScorer, text: str) -> int:
    return len(sc.tokenizer.encode(text).ids)


def test_negative_part_after_the_first_window_counts(scorer):
    """Praise for the first ~130 tokens, then a complaint: reading only the start would call it positive."""
    text = PRAISE + COMPLAINT
    assert _tokens(scorer, PRAISE) > scorer.max_tokens  # the complaint starts after token 128
    start_only = scorer.score_one(PRAISE)  # what scoring the first 128 tokens of `text` gave
    r = scorer.score_one(text)
    assert start_only.score > 0.9
    assert r.windows >= 2 and r.truncated is False
    assert r.min_window_score < -0.5
    assert r.score < start_only.score - 0.5  # the complaint weighs in, by its share of the tokens
    assert -0.6 < r.score < 0.6


def test_first_window_only_is_the_old_prefix_reading(scorer):
    """max_windows=1 reads the start only and says so; the default reads it all."""
    text = PRAISE + COMPLAINT
    first = load_scorer(max_windows=1).score_one(text)
    assert first.truncated is True and first.windows == 1 and first.score > 0.9
    assert scorer.score_one(text).score < first.score - 0.5


def test_truncated_only_when_text_is_dropped(scorer):
    text = PRAISE + COMPLAINT + PRAISE[: 2 * len(PRAISE) // 3]
    assert 280 <= _tokens(scorer, text) <= 330
    r = scorer.score_one(text)
    assert r.truncated is False and r.windows == 3
    r2 = load_scorer(max_windows=2).score_one(text)
    assert r2.truncated is True and r2.windows == 2
    # past the default cap (64 windows of 128 tokens): text is dropped, the cost is bounded
    huge = scorer.score_one("word " * 20_000)
    assert huge.truncated is True and huge.windows == scorer.max_windows == 64
    # English prose at the worker's max_text_chars (20,000 characters) is read in full
    prose = ((PRAISE + COMPLAINT) * 40)[:20_000]
    assert scorer.score_one(prose).truncated is False


def test_short_text_result_unchanged(scorer):
    """A text that fits one window gets exactly what the model gives for its token ids, bit for bit."""
    for text in SHORT:
        ids = scorer.tokenizer.encode(text).ids
        assert len(ids) <= scorer.max_tokens
        p = scorer.session.run(["probabilities"], {"input_ids": np.array([ids], dtype=np.int64),
                                                   "attention_mask": np.ones((1, len(ids)), dtype=np.int64)})[0][0]
        p = p.astype(np.float64) / p.astype(np.float64).sum()
        r = scorer.score_one(text)
        assert [r.probabilities[k] for k in LABELS] == p.tolist()
        assert r.score == r.min_window_score and r.windows == 1 and r.truncated is False


def test_windows_cover_long_sentences_and_keep_special_tokens(scorer):
    """A single sentence longer than a window is cut at token boundaries; every window is [CLS] ... [SEP]."""
    text = "and then " * 200  # one 400-token sentence, no sentence end: 126 + 126 + 126 + 22 text tokens
    ids, owner, truncated = scorer._windows([text])
    assert owner == [0] * len(ids) and truncated == [False]
    assert [len(w) for w in ids] == [128, 128, 128, 24]
    assert all(w[0] == 101 and w[-1] == 102 for w in ids)
    body = [t for w in ids for t in w[1:-1]]
    assert body == scorer.tokenizer.encode(text).ids[1:-1]  # nothing lost, nothing repeated


def _mixed_texts() -> list[str]:
    rng = random.Random(5)
    long = [PRAISE + COMPLAINT, COMPLAINT * 3, PRAISE * 6 + COMPLAINT, "word " * 700]
    texts = SHORT + long
    rng.shuffle(texts)
    return texts


def test_batching_order_does_not_change_results_fp32():
    """Exact on a tiny fp32 model: windows share sub-batches with other texts' windows, padding is masked."""
    sc = SentimentScorer(TINY_FP32)
    texts = _mixed_texts()
    alone = sc.predict_proba(texts, batch_size=1)
    perm = list(range(len(texts)))
    random.Random(1).shuffle(perm)
    for bs in (2, 5, 32):
        np.testing.assert_allclose(sc.predict_proba(texts, batch_size=bs), alone, atol=1e-5)
        shuffled = sc.predict_proba([texts[i] for i in perm], batch_size=bs)
        np.testing.assert_allclose(shuffled, alone[perm], atol=1e-5)


def test_batching_order_int8_within_documented_effect(scorer):
    """int8 quantizes activations per sub-batch: neighbours move probabilities by rounding only
    (the bound of test_sentiment.test_batch_vs_one_by_one_int8); window counts and flags never change."""
    texts = _mixed_texts()
    alone = [scorer.score_one(t) for t in texts]
    for bs in (3, 32):
        for a, b in zip(alone, scorer.score(texts, batch_size=bs)):
            assert (a.windows, a.truncated) == (b.windows, b.truncated)
            for k in LABELS:
                assert abs(a.probabilities[k] - b.probabilities[k]) < 0.15
            assert abs(a.min_window_score - b.min_window_score) < 0.3


def test_pulsewire_score_output_carries_windows(scorer):
    import io
    import json

    from pulsewire.streams.cli import score as score_cli

    out = io.StringIO()
    lines = json.dumps({"text": PRAISE + COMPLAINT, "id": 1}) + "\nGreat service!\n"
    score_cli.score_stream(scorer, io.StringIO(lines), out)
    long_row, short_row = [json.loads(line) for line in out.getvalue().splitlines()]
    assert long_row["windows"] >= 2 and long_row["truncated"] is False and long_row["min_window_score"] < -0.5
    assert short_row["windows"] == 1 and short_row["min_window_score"] == short_row["score"]


def test_token_capped_sub_batches_are_exact_fp32():
    """Capping padded tokens per run only regroups rows: on fp32 the results do not move."""
    texts = _mixed_texts()
    uncapped = SentimentScorer(TINY_FP32, max_batch_tokens=None).predict_proba(texts, batch_size=32)
    for cap in (1, 100, 512):
        np.testing.assert_allclose(SentimentScorer(TINY_FP32, max_batch_tokens=cap).predict_proba(texts, batch_size=32),
                                   uncapped, atol=1e-5)
