"""Model cards: generated from the code and the committed evaluation; `pulsewire evaluate --write-card` writes them."""

import json

import pytest
from typer.testing import CliRunner

from pulsewire.models.learners import card
from pulsewire.models.learners.features import FEATURES
from pulsewire.streams.cli import app


def test_committed_cards_equal_what_the_generator_renders():
    figures = card.read_evaluation()
    assert set(card.LEARNERS) <= set(figures), "evaluation.json lacks a learner: run pulsewire evaluate --write-card"
    assert card.drift() == []
    for model in card.LEARNERS:
        text = (card.CARD_DIR / f"{model.upper()}_CARD.md").read_text()
        assert figures["run"]["command"] in text
        auc = figures[model]["model"]["roc_auc"]
        base = figures[model]["baseline"]["roc_auc"]
        assert f"| ROC AUC, progressive, delayed labels | {auc:.3f} | {base:.3f} |" in text


def test_the_check_finds_a_card_edited_by_hand(tmp_path):
    card.write_evaluation(card.read_evaluation(), tmp_path)
    card.write_cards(card.read_evaluation(), tmp_path)
    assert card.drift(tmp_path) == []
    p = tmp_path / "CHURN_CARD.md"
    p.write_text(p.read_text().replace("**0.3**", "**0.9**"))
    assert card.drift(tmp_path) == ["CHURN_CARD.md"]


@pytest.mark.parametrize("model", card.LEARNERS)
def test_the_card_lists_every_feature_the_learner_computes(model):
    text = (card.CARD_DIR / f"{model.upper()}_CARD.md").read_text()
    declared = FEATURES[card.ENTITY_OF[model]]
    used = card.features_used(model)
    assert len(used) >= 10
    for name in used:
        assert f"| `{name}` | {declared[name].doc} |" in text, name


def test_a_feature_without_a_doc_fails_the_card(monkeypatch):
    from pulsewire.models.learners import features

    computed = features.FEATURES_OF["customer"]
    monkeypatch.setitem(features.FEATURES_OF, "customer", lambda st, t: {**computed(st, t), "new_signal": 1.0})
    with pytest.raises(card.CardError, match="new_signal"):
        card.render_card("churn", card.read_evaluation())


def test_model_card_of_an_unknown_model_is_one_line():
    res = CliRunner().invoke(app, ["model-card", "fraud"])
    assert res.exit_code == 2
    assert "no model 'fraud'" in res.output and "Traceback" not in res.output


def test_evaluate_writes_the_figures_and_the_cards(tmp_path):
    res = CliRunner().invoke(app, ["evaluate", "--fast", "-n", "2500", "--seed", "3", "--write-card",
                                   "--card-dir", str(tmp_path), "--data-dir", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    figures = json.loads((tmp_path / "evaluation.json").read_text())
    assert figures["run"]["command"] == "pulsewire evaluate -n 2500 --seed 3 --fast --write-card"
    assert figures["run"]["events"] == 2500 and figures["run"]["seed"] == 3
    assert {"model", "baseline"} <= set(figures["churn"]) and {"model", "baseline"} <= set(figures["burnout"])
    assert card.drift(tmp_path) == []
    text = (tmp_path / "CHURN_CARD.md").read_text()
    assert "pulsewire evaluate -n 2500 --seed 3 --fast --write-card" in text


def test_evaluate_refuses_a_card_dir_that_does_not_exist(tmp_path):
    res = CliRunner().invoke(app, ["evaluate", "--fast", "--write-card", "--card-dir", str(tmp_path / "nope"),
                                   "--data-dir", str(tmp_path / "run")])
    assert res.exit_code == 2 and "is not a directory" in res.output
    assert not (tmp_path / "run").exists()
