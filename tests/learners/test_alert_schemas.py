"""Alerts validate against the committed JSON Schemas; ids are deterministic; files do not drift."""

import json
from pathlib import Path

import jsonschema
import pytest

from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
from pulsewire.schemas import generate
from pulsewire.schemas.alerts import ALERT_KINDS, make_cloudevent
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

JSON_DIR = Path(generate.__file__).parent / "json"


def schema(kind):
    return json.loads((JSON_DIR / f"alert.{kind}.schema.json").read_text())


def validate(ce: dict) -> None:
    kind = ce["type"].split(".")[3]
    jsonschema.Draft202012Validator(schema(kind), format_checker=jsonschema.FormatChecker()).validate(ce)


@pytest.fixture(scope="module")
def replay():
    sim = SmbSimulation(GeneratorConfig(seed=5))
    recs = list(sim.records(limit=9000))
    return Replay(LearnerConfig(min_positives_to_alert=10)).run(recs, hidden_label_sentiment(sim.text_labels))


def test_committed_schema_files_match_the_models():
    assert [n for n in generate.drift() if n.startswith("alert.")] == []
    for kind in ALERT_KINDS:
        jsonschema.Draft202012Validator.check_schema(schema(kind))


def test_every_alert_kind_validates(replay):
    kinds = {a["alert_type"] for a in replay.alerts}
    assert {"churn", "burnout"} <= kinds, kinds
    for a in replay.alerts:
        ce = json.loads(json.dumps(make_cloudevent(a)))
        validate(ce)
        assert ce["data"]["suggestion_only"] is True and "suggestion for a human" in ce["data"]["notice"]
        assert ce["subject"] == ce["data"]["entity_id"]


def test_alert_ids_are_deterministic_and_bad_alerts_fail(replay):
    a = replay.alerts[0]
    assert make_cloudevent(a)["id"] == make_cloudevent(dict(a))["id"]
    ce = make_cloudevent(a)
    ce["data"].pop("reasons")
    with pytest.raises(jsonschema.ValidationError):
        validate(ce)
