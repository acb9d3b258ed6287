"""Alerts on ``alerts.churn``, ``alerts.burnout``, ``alerts.sentiment``: CloudEvents 1.0, structured JSON mode.

Each Kafka record's value is one CloudEvent as a JSON object (content type
``application/cloudevents+json``); the record key is the subject (customer id,
pseudonymised employee id, team id, channel or product). ``id`` is deterministic
(a hash of the alert type, the subject and the event that triggered it), so a
consumer de-duplicates on it when a replay sends an alert again.

>>> ce = make_cloudevent({"alert_type": "churn", "subject": "cus-1", "subject_type": "customer", "team_id": "",
...     "score": 0.81, "threshold": 0.5, "model_version": "churn-v3-n420", "t": 1_780_000_000.0,
...     "trigger_event_id": "ev-9", "inputs": {"neg_tickets_7d": 3.0},
...     "reasons": [{"feature": "neg_tickets_7d", "value": 3.0, "contribution": 1.2,
...                  "text": "3 negative tickets in 7 days"}]})
>>> ce["type"], ce["subject"], ce["data"]["summary"]
('dev.pulsewire.alert.churn.v1', 'cus-1', '3 negative tickets in 7 days')
>>> _ = ChurnAlert.model_validate(ce)
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALERT_KINDS = ("churn", "burnout", "sentiment")
SUGGESTION = ("This is a suggestion for a human to review, not a decision. It was produced automatically from "
              "the signals listed in 'reasons'; check with the people involved before acting.")
SCHEMA_BASE = "https://pulsewire.dev/schemas/"


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature: str = Field(description="Feature name (documented in docs/learners.md).")
    value: float = Field(description="The feature's value when the alert was raised.")
    contribution: float = Field(description="Its contribution to the score (log-odds for model alerts; "
                                            "excess over the baseline for sentiment spikes).")
    text: str = Field(description="The same in plain words, e.g. '3 negative tickets in 7 days'.")


class AlertData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_type: Literal["churn", "burnout", "sentiment"]
    subject_type: Literal["customer", "employee", "team", "channel", "product"]
    entity_id: str = Field(description="Customer id, pseudonymised employee id (emp_…), team id, channel or product.")
    team_id: str = Field(default="", description="The employee's or team's team, else empty.")
    score: float = Field(description="Probability (churn, burnout) or today's negative share (sentiment).")
    threshold: float = Field(description="The score at or above which this alert was raised.")
    model_version: str = Field(description="Model (or rule) version that produced the score.")
    reasons: list[Reason] = Field(description="Top contributing signals, largest first.")
    summary: str = Field(description="The reasons joined in one line of plain words.")
    inputs: dict[str, float | int | str] = Field(description="The features the decision used.")
    trigger_event_id: str = Field(description="The event (or day and dimension) that triggered the alert.")
    occurred_at: datetime = Field(description="Event time of the trigger.")
    alert_number: int = Field(ge=1, description="How many alerts this subject has had (1 = first).")
    suggestion_only: Literal[True] = Field(default=True, description="Always true: a human decides.")
    notice: str = Field(default=SUGGESTION)


class _CloudEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Deterministic: the same alert replayed has the same id.")
    source: str = Field(min_length=1, description="URI reference of the producer, e.g. /pulsewire/learners/churn.")
    subject: str = Field(description="Same as data.entity_id and the Kafka record key.")
    time: datetime = Field(description="Event time of the trigger (RFC 3339).")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str


class ChurnAlert(_CloudEvent):
    """A customer at risk of churning (CloudEvents 1.0, structured mode)."""

    type: Literal["dev.pulsewire.alert.churn.v1"]
    data: AlertData


class BurnoutAlert(_CloudEvent):
    """An employee (only with their consent) or a team at risk of burnout (CloudEvents 1.0, structured mode)."""

    type: Literal["dev.pulsewire.alert.burnout.v1"]
    data: AlertData


class SentimentAlert(_CloudEvent):
    """A negative-sentiment spike for a channel, product or team against its own baseline (CloudEvents 1.0)."""

    type: Literal["dev.pulsewire.alert.sentiment.v1"]
    data: AlertData


MODELS = {"churn": ChurnAlert, "burnout": BurnoutAlert, "sentiment": SentimentAlert}


def alert_id(alert_type: str, subject: str, trigger_event_id: str) -> str:
    return hashlib.sha256(f"{alert_type}|{subject}|{trigger_event_id}".encode()).hexdigest()[:32]


def make_cloudevent(alert: dict) -> dict:
    """A JSON-ready CloudEvent from an alert decision (see ``models.learners.processor``)."""
    kind = alert["alert_type"]
    when = datetime.fromtimestamp(float(alert["t"]), timezone.utc).isoformat()
    reasons = alert.get("reasons") or []
    return {
        "specversion": "1.0",
        "id": alert_id(kind, alert["subject"], alert["trigger_event_id"]),
        "source": f"/pulsewire/learners/{kind}",
        "type": f"dev.pulsewire.alert.{kind}.v1",
        "subject": alert["subject"],
        "time": when,
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}alert.{kind}.schema.json",
        "data": {
            "alert_type": kind, "subject_type": alert["subject_type"], "entity_id": alert["subject"],
            "team_id": alert.get("team_id") or "", "score": round(float(alert["score"]), 6),
            "threshold": round(float(alert["threshold"]), 6), "model_version": alert["model_version"],
            "reasons": reasons, "summary": "; ".join(r["text"] for r in reasons) or "score above threshold",
            "inputs": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in (alert.get("inputs") or {}).items()},
            "trigger_event_id": alert["trigger_event_id"], "occurred_at": when,
            "alert_number": int(alert.get("n_alerts") or 1), "suggestion_only": True, "notice": SUGGESTION,
        },
    }


def alert_schemas() -> dict[str, dict]:
    """{filename: JSON Schema} for ``schemas/generate.py``."""
    out = {}
    for kind, model in MODELS.items():
        name = f"alert.{kind}.schema.json"
        schema = model.model_json_schema()
        out[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_BASE + name,
                     "title": f"pulsewire {kind} alert (CloudEvents 1.0, structured JSON), version 1",
                     **{k: v for k, v in schema.items() if k != "title"}}
    return out
