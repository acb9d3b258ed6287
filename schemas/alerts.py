"""Alerts on ``alerts.churn``, ``alerts.burnout``, ``alerts.sentiment``: CloudEvents 1.0, structured JSON mode.

Each Kafka record's value is one CloudEvent as a JSON object, with the Kafka protocol binding's header
``content-type: application/cloudevents+json``; the record key is the subject (customer id,
pseudonymised employee id, team id, channel or product). ``id`` is a pure function of what the alert
is about: its type, its subject and its *episode* (the event that opened the run of high scores; for
sentiment spikes and team alerts the day and dimension). A replay sends no alert with a new id, and a
consumer de-duplicates on ``id``. ``time`` and ``data.occurred_at`` are event times (of the trigger),
so a replayed record is byte-for-byte the same.

>>> alert = {"alert_type": "churn", "subject": "cus-1", "subject_type": "customer", "team_id": "",
...     "score": 0.81, "threshold": 0.5, "model_version": "churn-v3-n420", "t": 1_780_000_000.0,
...     "trigger_event_id": "ev-9", "episode": {"event_id": "ev-7", "t": 1_779_900_000.0},
...     "inputs": {"neg_tickets_7d": 3.0}, "reasons": [{"feature": "neg_tickets_7d", "value": 3.0,
...     "contribution": 1.2, "text": "3 negative tickets in 7 days"}]}
>>> ce = make_cloudevent(alert)
>>> ce["type"], ce["subject"], ce["data"]["summary"], ce["data"]["episode_event_id"]
('dev.pulsewire.alert.churn.v1', 'cus-1', '3 negative tickets in 7 days', 'ev-7')
>>> ce["data"]["model_card"]["command"]
'pulsewire model-card churn'
>>> _ = ChurnAlert.model_validate(ce)

The same episode triggered by a later event (another model version, a higher score) has the same id:

>>> later = dict(alert, score=0.9, trigger_event_id="ev-12", t=1_780_100_000.0, model_version="churn-v4-n430")
>>> make_cloudevent(later)["id"] == ce["id"]
True
>>> key, value, headers = kafka_record(ce)
>>> key, headers
(b'cus-1', [('content-type', b'application/cloudevents+json')])
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALERT_KINDS = ("churn", "burnout", "sentiment")
SUGGESTION = ("This is a suggestion for a human to review, not a decision. It was produced automatically from "
              "the signals listed in 'reasons'; check with the people involved before acting.")
SCHEMA_BASE = "https://pulsewire.dev/schemas/"
CONTENT_TYPE = "application/cloudevents+json"
KAFKA_HEADERS = [("content-type", CONTENT_TYPE.encode())]  # CloudEvents Kafka protocol binding, structured mode
#: Each alert kind's model card, as a path from the root of the pulsewire repository (and of its package).
MODEL_CARDS = {"churn": "models/learners/CHURN_CARD.md", "burnout": "models/learners/BURNOUT_CARD.md",
               "sentiment": "models/sentiment/MODEL_CARD.md"}


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature: str = Field(description="Feature name (documented in the model card, data.model_card).")
    value: float = Field(description="The feature's value when the alert was raised.")
    contribution: float = Field(description="Its contribution to the score (log-odds for model alerts; "
                                            "excess over the baseline for sentiment spikes).")
    text: str = Field(description="The same in plain words, e.g. '3 negative tickets in 7 days'.")


class ModelCardLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The card's file, relative to the root of the pulsewire repository, e.g. "
                                  "models/learners/CHURN_CARD.md.")
    command: str = Field(description="The command that prints the card, e.g. 'pulsewire model-card churn'.")


def model_card_link(kind: str) -> dict:
    """Where the card of the model behind a ``kind`` alert is: the same for every alert of that kind.

    >>> model_card_link("burnout")
    {'path': 'models/learners/BURNOUT_CARD.md', 'command': 'pulsewire model-card burnout'}
    """
    return {"path": MODEL_CARDS[kind], "command": f"pulsewire model-card {kind}"}


class WinBack(BaseModel):
    """A silent customer, under the inactivity definition of churn: what a CRM needs to reach out."""

    model_config = ConfigDict(extra="forbid")

    last_active_at: datetime = Field(description="Event time of the customer's last activity (any event of theirs).")
    silent_days: float = Field(description="Days without activity when the alert was raised.")
    usual_gap_days: float | None = Field(default=None, description=(
        "Their usual gap in days between active days (median of their recent gaps); null before two."))
    inactive_days: float = Field(description="N for this customer: this many silent days make them churned.")
    churned_at: datetime = Field(description="When they count as churned if nothing happens before: "
                                             "last_active_at + inactive_days.")
    text: str = Field(description="The same in plain words, e.g. 'no activity in 41 days, usually every 12'.")


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
    # Optional only so that records written before episodes existed still validate (an additive change
    # to v1); every alert sent now carries both.
    episode_event_id: str | None = Field(default=None, description=(
        "The event that opened the episode this alert is about (for sentiment spikes and team alerts: the "
        "day and dimension). The alert id derives from it."))
    episode_started_at: datetime | None = Field(default=None, description=(
        "Event time of the event that opened the episode."))
    alert_number: int = Field(ge=1, description="How many alerts this subject has had (1 = first).")
    suggestion_only: Literal[True] = Field(default=True, description="Always true: a human decides.")
    notice: str = Field(default=SUGGESTION)
    # Optional only so that records written before cards existed still validate (an additive change to v1)
    model_card: ModelCardLink | None = Field(default=None, description=(
        "The model card of the model behind this alert: what its features and reasons mean, its labels, "
        "thresholds, measured quality, limits, and intended and forbidden uses. data.model_version says "
        "which version scored it."))
    # Optional (an additive change to v1): churn alerts only
    churn_definition: Literal["subscription", "inactivity"] | None = Field(default=None, description=(
        "Churn alerts: what churn means in this deployment. 'subscription': the customer cancels; "
        "'inactivity': no activity for data.win_back.inactive_days (or the deployment's N)."))
    action: Literal["win_back"] | None = Field(default=None, description=(
        "'win_back': the customer has gone silent (inactivity definition) and the alert was raised by the "
        "daily check of silent customers, not by an event of theirs; data.win_back says since when."))
    win_back: WinBack | None = Field(default=None, description="Set when data.action is 'win_back'.")


class _CloudEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="sha256(type | subject | episode)[:32]: one id per episode; a "
                                              "replay re-sends the same id. De-duplicate on it.")
    source: str = Field(min_length=1, description="URI reference of the producer, e.g. /pulsewire/learners/churn.")
    subject: str = Field(description="Same as data.entity_id and the Kafka record key.")
    time: datetime = Field(description="Event time of the trigger (RFC 3339), not the time the record was sent.")
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


def alert_id(alert_type: str, subject: str, episode_id: str) -> str:
    """One id per (alert type, subject, episode): never from wall-clock time, a counter or a random uuid."""
    return hashlib.sha256(f"{alert_type}|{subject}|{episode_id}".encode()).hexdigest()[:32]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(float(t), timezone.utc).isoformat()


def make_cloudevent(alert: dict) -> dict:
    """A JSON-ready CloudEvent from an alert decision (see ``models.learners.processor``)."""
    kind = alert["alert_type"]
    when = _iso(alert["t"])
    reasons = alert.get("reasons") or []
    # aggregates (sentiment spikes, team burnout) name their episode in the trigger id: day and dimension
    episode = alert.get("episode") or {"event_id": alert["trigger_event_id"], "t": alert["t"]}
    episode_id = episode["event_id"] or f"t={float(episode['t']):.3f}"
    return {
        "specversion": "1.0",
        "id": alert_id(kind, alert["subject"], episode_id),
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
            "episode_event_id": episode_id, "episode_started_at": _iso(episode["t"]),
            "alert_number": int(alert.get("n_alerts") or 1), "suggestion_only": True, "notice": SUGGESTION,
            "model_card": model_card_link(kind),
            **_churn_fields(alert),
        },
    }


def _churn_fields(alert: dict) -> dict:
    """The optional churn-definition fields of an alert decision that has them; a win-back alert's
    summary starts with the silence in plain words.

    >>> wb = {"last_active_at": "2026-05-01T00:00:00+00:00", "silent_days": 41.0, "usual_gap_days": 12.0,
    ...       "inactive_days": 45.0, "churned_at": "2026-06-15T00:00:00+00:00",
    ...       "text": "no activity in 41 days, usually every 12"}
    >>> ce = make_cloudevent({"alert_type": "churn", "subject": "cus-2", "subject_type": "customer", "score": 0.7,
    ...     "threshold": 0.3, "model_version": "churn-v3-n420", "t": 1_781_000_000.0, "reasons": [],
    ...     "trigger_event_id": "silence:cus-2:2026-06-11", "churn_definition": "inactivity", "action": "win_back",
    ...     "win_back": wb})
    >>> ce["data"]["action"], ce["data"]["summary"], ce["data"]["win_back"]["silent_days"]
    ('win_back', 'no activity in 41 days, usually every 12', 41.0)
    >>> _ = ChurnAlert.model_validate(ce)
    """
    out = {k: alert[k] for k in ("churn_definition", "action", "win_back") if alert.get(k) is not None}
    if out.get("win_back"):
        texts = [out["win_back"]["text"]] + [r["text"] for r in alert.get("reasons") or []]
        out["summary"] = "; ".join(texts)
    return out


def kafka_record(ce: dict) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka record that carries the CloudEvent ``ce`` (structured mode)."""
    return ce["subject"].encode(), json.dumps(ce, separators=(",", ":")).encode(), list(KAFKA_HEADERS)


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
