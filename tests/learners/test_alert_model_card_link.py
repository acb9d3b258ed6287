"""Every alert links the model card of the model behind it; the link is additive to v1 and changes no id."""

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
from pulsewire.schemas import generate
from pulsewire.schemas.alerts import ALERT_KINDS, MODELS, alert_id, kafka_record, make_cloudevent
from pulsewire.streams.cli import app
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

ROOT = Path(__file__).resolve().parents[2]

def _alert(kind: str, **kw) -> dict:
    return {"alert_type": kind, "subject": "s-1", "subject_type": {"churn": "customer", "burnout": "employee",
                                                                    "sentiment": "channel"}[kind],
            "score": 0.8, "threshold": 0.5, "model_version": f"{kind}-v3-n40", "t": 1_780_000_000.0,
            "trigger_event_id": "ev-9", "episode": {"event_id": "ev-7", "t": 1_779_900_000.0}, "inputs": {"x": 1.0},
            "reasons": [{"feature": "x", "value": 1.0, "contribution": 0.5, "text": "x is 1"}], **kw}


def _committed_schema(kind: str) -> dict:
    return json.loads((Path(generate.__file__).parent / "json" / f"alert.{kind}.schema.json").read_text())


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_every_alert_kind_links_its_model_card_and_the_link_resolves(kind):
    ce = json.loads(kafka_record(make_cloudevent(_alert(kind)))[1])
    link = ce["data"]["model_card"]
    path = ROOT / link["path"]
    assert path.is_file()
    assert path.read_text().startswith("# Model card: pulsewire ")
    assert kind in path.read_text().splitlines()[0]
    res = CliRunner().invoke(app, link["command"].split()[1:])
    assert res.exit_code == 0, res.output
    assert res.output == path.read_text()
    jsonschema.Draft202012Validator(_committed_schema(kind)).validate(ce)


def test_the_alerts_the_learners_raise_link_their_cards():
    """Churn, a person's burnout and a team's burnout, as the per-entity and team logic raise them."""
    sim = SmbSimulation(GeneratorConfig(seed=11, activity=False))  # the text and account stream
    records = list(sim.records(limit=6000))
    r = Replay(LearnerConfig(min_positives_to_alert=0)).run(records, hidden_label_sentiment(sim.text_labels))
    raised = {(a["alert_type"], a["subject_type"]) for a in r.alerts}
    assert {("churn", "customer"), ("burnout", "employee"), ("burnout", "team")} <= raised
    for a in r.alerts:
        ce = make_cloudevent(a)
        assert ce["data"]["model_card"] == {"path": f"models/learners/{a['alert_type'].upper()}_CARD.md",
                                            "command": f"pulsewire model-card {a['alert_type']}"}
        MODELS[a["alert_type"]].model_validate(ce)


def test_the_link_changes_neither_the_id_nor_the_bytes_of_a_replayed_alert():
    a = _alert("churn")
    ce = make_cloudevent(a)
    assert ce["id"] == alert_id("churn", "s-1", "ev-7")
    assert kafka_record(make_cloudevent(dict(a))) == kafka_record(ce)


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_an_alert_written_before_cards_still_validates(kind):
    ce = json.loads(json.dumps(make_cloudevent(_alert(kind))))
    del ce["data"]["model_card"]
    jsonschema.Draft202012Validator(_committed_schema(kind), format_checker=jsonschema.FormatChecker()).validate(ce)
    assert MODELS[kind].model_validate(ce).data.model_card is None


def test_a_malformed_link_is_refused():
    ce = json.loads(json.dumps(make_cloudevent(_alert("churn"))))
    ce["data"]["model_card"] = {"path": "x.md"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_committed_schema("churn")).validate(ce)
