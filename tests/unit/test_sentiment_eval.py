"""Sentiment evaluation: the metrics that see neutral bias, calibration and length, and the CLI that
reports them for the shipped model on data it reads from $PULSEWIRE_SENTIMENT_DATA."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pulsewire.models.sentiment.metrics import (
    accuracy_by_length,
    expected_calibration_error,
    neutral_mean_score,
    neutral_polar_rate,
    per_class_recall,
    reliability_table,
    three_class_metrics,
)

# rows: (negative, neutral, positive); gold: 0 negative, 1 neutral, 2 positive
P = np.array([
    [0.70, 0.20, 0.10],  # gold neutral, score -0.60: polar, wrong
    [0.10, 0.80, 0.10],  # gold neutral, score 0.00, right
    [0.05, 0.15, 0.80],  # gold neutral, score +0.75: polar, wrong
    [0.90, 0.05, 0.05],  # gold negative, right
    [0.20, 0.35, 0.45],  # gold positive, right
    [0.55, 0.40, 0.05],  # gold positive, wrong
])
Y = [1, 1, 1, 0, 2, 2]


def test_neutral_bias_figures_use_only_gold_neutral_texts():
    assert neutral_polar_rate(Y, P) == pytest.approx(2 / 3)
    assert neutral_mean_score(Y, P) == pytest.approx((-0.60 + 0.0 + 0.75) / 3)
    assert neutral_polar_rate(Y, P, threshold=0.7) == pytest.approx(1 / 3)
    assert per_class_recall(Y, P.argmax(axis=1)) == pytest.approx([1.0, 1 / 3, 0.5])


def test_calibration_error_and_reliability_table_by_hand():
    # top-label confidences 0.70 0.80 0.80 0.90 0.45 0.55 -> bins 7, 8, 8, 9, 4, 5
    rows = {r["lo"]: r for r in reliability_table(Y, P) if r["count"]}
    assert sorted(rows) == [0.4, 0.5, 0.7, 0.8, 0.9]
    assert (rows[0.8]["count"], rows[0.8]["confidence"], rows[0.8]["accuracy"]) == (2, pytest.approx(0.8), 0.5)
    assert (rows[0.7]["accuracy"], rows[0.5]["accuracy"], rows[0.4]["accuracy"]) == (0.0, 0.0, 1.0)
    want = (abs(0 - 0.70) + 2 * abs(0.5 - 0.80) + abs(1 - 0.90) + abs(1 - 0.45) + abs(0 - 0.55)) / 6
    assert expected_calibration_error(Y, P) == pytest.approx(want)
    # a model that is right exactly as often as it says is calibrated
    p = np.array([[0.6, 0.3, 0.1]] * 5)
    assert expected_calibration_error([0, 0, 0, 1, 2], p) == pytest.approx(0.0)


def test_accuracy_by_length_reports_the_majority_baseline_of_each_bucket():
    lengths = [5, 31, 32, 128, 129, 300, 512, 513, 2000]
    gold = [1, 1, 0, 0, 1, 1, 1, 0, 0]
    pred = [1, 0, 0, -1, 1, 0, 1, 1, 1]  # -1: abstained, counts as wrong
    rows = {r["bucket"]: r for r in accuracy_by_length(lengths, gold, pred)}
    assert [rows[b]["n"] for b in ("<32", "32-128", "128-512", ">512")] == [2, 2, 3, 2]
    assert rows["<32"]["accuracy"] == 0.5 and rows["<32"]["majority"] == 1.0
    assert rows["32-128"]["accuracy"] == 0.5 and rows["32-128"]["majority"] == 1.0
    assert rows["128-512"]["accuracy"] == pytest.approx(2 / 3) and rows["128-512"]["majority"] == 1.0
    assert rows[">512"]["accuracy"] == 0.0 and rows[">512"]["majority"] == 1.0


def test_three_class_metrics_gathers_all_figures():
    m = three_class_metrics(Y, P)
    assert m["n"] == 6 and m["neutral_recall"] == pytest.approx(1 / 3)
    assert m["neutral_polar_rate"] == pytest.approx(2 / 3) and sum(r["count"] for r in m["reliability"]) == 6


# ---------------------------------------------------------------------------- the CLI, real shipped scorer

EMOTIONS = ["anger", "joy", "neutral", "surprise", "gratitude"]
COMMENTS = [  # (text, emotion ids); "surprise" is ambiguous and "0,1" is mixed: both left out
    ("The meeting is at 3pm.", "2"), ("The invoice was sent on Tuesday.", "2"),
    ("Our office is closed on Monday.", "2"), ("The report has four sections.", "2"),
    ("I hate how this was handled, it is awful.", "0"), ("This is the worst support ever.", "0"),
    ("Thank you so much, this is wonderful!", "4"), ("I love it, great job everyone!", "1"),
    ("Oh, really?", "3"), ("Love it and hate it", "0,1"),
]
LONG_POS = "A wonderful film with a moving story and brilliant acting. " * 60  # > 512 tokens


def _write_data(root):
    g = root / "goemotions"
    g.mkdir(parents=True)
    (g / "emotions.txt").write_text("\n".join(EMOTIONS) + "\n", encoding="utf-8")
    (g / "test.tsv").write_text("".join(f"{t}\t{e}\tid{i}\n" for i, (t, e) in enumerate(COMMENTS)), encoding="utf-8")
    reviews = [("pos/1_9", LONG_POS), ("pos/2_8", "Great movie, I loved it."),
               ("neg/3_1", "Terrible, boring and far too long.<br /><br />Avoid it."), ("neg/4_2", "Awful.")]
    (root / "imdb").mkdir()
    (root / "imdb" / "test.jsonl").write_text(
        "".join(json.dumps({"id": i, "rating": int(i[-1]), "label": i[:3], "text": t}) + "\n" for i, t in reviews),
        encoding="utf-8")


def _run(data_dir, *args):
    env = {**os.environ, "PULSEWIRE_SENTIMENT_DATA": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "pulsewire.models.sentiment.evaluate", "--no-vader", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_evaluate_cli_reports_neutral_bias_and_length_of_the_shipped_model(tmp_path):
    from pulsewire.models.sentiment.scorer import SentimentScorer

    _write_data(tmp_path)
    res = _run(tmp_path, "--only", "goemotions_test,imdb_reviews", "--json")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    out = json.loads(res.stdout)
    assert out["data"]["goemotions_test"] == {"n": 8, "kind": "3-class"}
    (name, row), = [(k, v) for k, v in out["models"].items() if k.startswith("shipped int8")]
    g = row["three_class"]["goemotions_test"]

    # the same figures, straight from the runtime scorer on the 8 kept comments
    texts, gold = [t for t, _ in COMMENTS[:8]], np.array([1, 1, 1, 1, 0, 0, 2, 2])
    p = SentimentScorer(threads=2).predict_proba(texts)
    score = p[:, 2] - p[:, 0]
    assert g["neutral_mean_score"] == pytest.approx(score[gold == 1].mean(), abs=1e-5)
    assert g["neutral_polar_rate"] == pytest.approx(np.mean(np.abs(score[gold == 1]) > 0.5))
    assert g["neutral_recall"] == pytest.approx(np.mean(p[gold == 1].argmax(axis=1) == 1))
    assert sum(r["count"] for r in g["reliability"]) == 8 and 0.0 <= g["ece"] <= 1.0

    buckets = {b["bucket"]: b for b in row["length"]["imdb_reviews"]}
    assert (buckets["<32"]["n"], buckets[">512"]["n"]) == (3, 1)
    assert buckets[">512"]["majority"] == 1.0 and buckets["<32"]["majority"] == pytest.approx(2 / 3)
    right = sum(b["accuracy"] * b["n"] for b in buckets.values() if b["n"])
    assert row["binary"]["imdb_reviews"] == pytest.approx(right / 4)

    table = _run(tmp_path, "--only", "goemotions_test,imdb_reviews")
    assert table.returncode == 0, table.stderr
    assert "| majority class | 0.667 | - | - | 1.000 |" in table.stdout
    assert f"| {name} | {g['macro_f1']:.3f} |" in table.stdout


def test_evaluate_cli_skips_missing_data_with_one_line_naming_how_to_get_it(tmp_path):
    res = _run(tmp_path / "nothing-here", "--only", "goemotions_test,imdb_reviews")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    lines = sorted(ln for ln in res.stderr.splitlines() if "skipped" in ln and "fp32" not in ln)
    assert len(lines) == 2, res.stderr
    assert lines[0].startswith("goemotions_test skipped: GoEmotions not found in")
    assert "PULSEWIRE_SENTIMENT_DATA" in lines[0]
    assert lines[1].startswith("imdb_reviews skipped: IMDB reviews not found at") and "aclImdb" in lines[1]


def test_evaluate_cli_rejects_an_unknown_set_in_one_line(tmp_path):
    res = _run(tmp_path, "--only", "goemotions")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].endswith("unknown data set(s) goemotions; known: uci_amazon, uci_yelp, "
                                                        "uci_imdb, imdb_reviews, uci_all, goemotions_test, workplace, heldout")
