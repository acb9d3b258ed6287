"""``pulsewire evaluate --fast --sentiment model``: the in-process replay with the sentiment the pipeline's
score agent would give (the packaged model), instead of the generator's blurred hidden labels."""

import json

import pytest
from typer.testing import CliRunner

from pulsewire.models.sentiment import load_scorer
from pulsewire.streams.cli import app
from pulsewire.streams.evaluate import generate, model_sentiment


def test_each_text_gets_the_scorers_sentiment_and_activity_gets_none():
    _, records = generate(3, 1500)
    scorer = load_scorer()
    fn = model_sentiment(records, scorer)
    texts = [r for r in records if r.get("text") and r["kind"] != "activity"]
    activity = [r for r in records if r["kind"] == "activity"]
    assert texts and activity
    assert all(fn(r) is None for r in activity)
    assert all(fn(r) is None for r in records if not r.get("text"))
    # batched in one call as alone: the same reading, up to the int8 model's per-batch activation rounding
    # (MODEL_CARD.md, "int8 batch effects"; the score agent's micro-batches have it too)
    sample = texts[:: max(1, len(texts) // 40)]
    diffs = []
    for ev in sample:
        got, alone = fn(ev), scorer.score([ev["text"]])[0].to_dict()
        assert got["model_version"] == alone["model_version"]
        diffs.append(abs(got["score"] - alone["score"]))
    assert max(diffs) < 0.25 and sum(diffs) / len(diffs) < 0.05


def test_evaluate_fast_with_the_models_sentiment_says_so(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["evaluate", "--fast", "--sentiment", "model", "--json", "-n", "3000",
                              "--data-dir", str(tmp_path / "ev")])
    assert out.exit_code == 0, out.output
    fig = json.loads(out.stdout.strip().splitlines()[-1])
    assert "packaged model" in fig["run"]["mode"]
    assert fig["churn"]["predictions"] > 0


@pytest.mark.parametrize("args, says", [
    (["--sentiment", "model"], "add --fast"),                  # the real pipeline always uses the model
    (["--fast", "--sentiment", "modle"], "'labels' or 'model'"),
])
def test_a_sentiment_choice_that_cannot_apply_is_one_line(tmp_path, args, says):
    res = CliRunner().invoke(app, ["evaluate", "-n", "500", *args, "--data-dir", str(tmp_path / "ev")])
    assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output
    assert not (tmp_path / "ev").exists()  # refused before the run touched anything
