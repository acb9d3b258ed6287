"""``pulsewire sentiment adapt`` on a demo's store, as a user runs it, and the adapted model in the worker.

A 300-event demo holds too few rated texts to adapt on, so the business's recent rated reviews are
sent through the same worker into the demo's store. Then the command adapts, compares and writes a model directory, and a worker started
with PULSEWIRE_MODEL_DIR scores new events with it: the stored rows carry its version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pulsewire.models.sentiment import DEFAULT_MODEL_DIR, SentimentScorer
from pulsewire.streams.connectors.text_corpus import pools
from pulsewire.streams.demo import demo_key

from .conftest import Pipeline

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "pulsewire.streams.cli"]
STARS = {-1: (1, 2), 0: (3,), 1: (4, 5)}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def _rated_reviews(per_class: int) -> list[tuple[str, str, bytes]]:
    """Recent reviews with stars that agree with their sentences' crowd labels, in the business's words."""
    now = datetime.now(timezone.utc)
    pool = pools()["customer"]
    out = []
    for label, stars in STARS.items():
        texts = pool[label]
        for i in range(per_class):
            customer = f"c-adapt-{label}-{i}"
            ev = {"schema_version": 1, "event_id": uuid.uuid4().hex, "source": "shop-reviews", "kind": "review",
                  "type": "review", "customer_id": customer, "rating": stars[i % len(stars)],
                  "occurred_at": (now - timedelta(days=1 + i % 30, hours=i % 7)).isoformat(),
                  "text": f"{texts[(2 * i) % len(texts)]} {texts[(2 * i + 1) % len(texts)]}"}
            out.append(("events.review", customer, json.dumps(ev).encode()))
    return out


def test_adapt_on_a_demo_store_then_the_worker_scores_with_the_adapted_model(broker, namespace, tmp_path,
                                                                              monkeypatch):
    demo = _cli("demo", "-n", "300", "--seed", "3", "--data-dir", "demo", "--bad-rate", "0", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    data = tmp_path / "demo"

    pipeline = Pipeline(broker, namespace, data, demo_key(data))
    try:
        reviews = _rated_reviews(per_class=45)
        pipeline.produce(reviews)
        pipeline.start()
        pipeline.wait_processed(len(reviews), timeout_s=300)
        assert pipeline.stop() in (0, -15)

        res = _cli("sentiment", "adapt", "--data-dir", "demo", cwd=tmp_path)
        assert res.returncode == 0, res.stderr[-3000:]
        out = res.stdout
        assert "held-out figure" in out and "3-class macro-F1" in out and "neutral recall" in out
        assert "The adapted model is" in out.splitlines()[-1]
        for _, _, raw in reviews[::17]:  # never a text, never an id
            ev = json.loads(raw)
            assert ev["text"] not in out + res.stderr and ev["customer_id"] not in out + res.stderr

        (model_dir,) = (data / "sentiment-models").iterdir()
        manifest = json.loads((model_dir / "manifest.json").read_text())
        shipped = json.loads((DEFAULT_MODEL_DIR / "manifest.json").read_text())["version"]
        assert manifest["version"] != shipped and manifest["version"].startswith(shipped + "+adapt.")
        assert model_dir.name == manifest["version"]
        trained = manifest["adaptation"]["training_data"]
        assert trained["used"] >= 3 * 45 and trained["by_source"]["shop-reviews"] == 3 * 45
        assert set(manifest["adaptation"]["metrics_held_out"]) == {"shipped", "adapted", "macro_f1_gain"}
        # a new head on the shipped encoder keeps the encoder's licence limits
        assert manifest["licence"]["commercial_use"] is False and "encoder of " + shipped in manifest["licence"]["summary"]
        card = (model_dir / "CARD.md").read_text()
        assert all(json.loads(raw)["text"] not in card + json.dumps(manifest) for _, _, raw in reviews)
        scorer = SentimentScorer(model_dir, verify=True)
        assert scorer.version == manifest["version"]
        assert scorer.score_one("This is awful, I want a refund.").label == "negative"

        again = _cli("sentiment", "adapt", "--data-dir", "demo", cwd=tmp_path)  # same data, same version
        assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr

        monkeypatch.setenv("PULSEWIRE_MODEL_DIR", str(model_dir))
        fresh = _rated_reviews(per_class=1)
        pipeline.produce(fresh)
        pipeline.start()
        pipeline.wait_processed(len(reviews) + len(fresh), timeout_s=240)
        assert pipeline.stop() in (0, -15)
        ids = [json.loads(raw)["event_id"] for _, _, raw in fresh]
        before = [json.loads(raw)["event_id"] for _, _, raw in reviews[:3]]
        r = pipeline.query(
            new=f"SELECT DISTINCT model_version FROM events_scored FINAL WHERE event_id IN {tuple(ids)!r}",
            old=f"SELECT DISTINCT model_version FROM events_scored FINAL WHERE event_id IN {tuple(before)!r}")
        assert r["new"] == [{"model_version": manifest["version"]}]
        assert r["old"] == [{"model_version": shipped}]
    finally:
        pipeline.close()
