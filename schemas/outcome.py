"""Alert outcomes on ``alerts.outcomes``: what a person did with an alert, version 1 (JSON).

A person who received an alert (in a CRM, an HR tool, the alert e-mail) says what came of it:
``acted`` (it helped and they acted on it), ``not_useful`` (true, but nothing to do),
``wrong`` (the alert was mistaken), ``already_known`` (true, but they knew already). Who said so is
a role from a small declared set, never a name; the optional note is free text about a person, so
it is personal data, bounded in length, stored only in the per-person ``alert_outcomes`` table and
erased with the alert's subject.

The Kafka record's key is the alert id (all outcomes of one alert reach the same partition, in
order); its value is the JSON object below. ``outcome_id`` makes a re-sent outcome idempotent: the
worker stores an outcome id once, whatever how often it arrives.

>>> o = AlertOutcome(outcome_id="crm-7781", alert_id="3f2a9c0d1e4b5a6978812233aabbccdd", outcome="acted",
...                  role="account_manager", when="2026-11-02T09:30:00+00:00")
>>> key, value = kafka_record(o)
>>> key, AlertOutcome.model_validate_json(value) == o
(b'3f2a9c0d1e4b5a6978812233aabbccdd', True)

A role, not a person:

>>> from pydantic import ValidationError
>>> try:
...     AlertOutcome(outcome_id="x", alert_id="a1", outcome="acted", role="jane.doe@example.com",
...                  when="2026-11-02T09:30:00+00:00")
... except ValidationError as exc:
...     print(exc.errors()[0]["msg"][:60])
Value error, role looks like an e-mail address: give a role

When several outcomes of one alert arrive, the latest ``when`` wins; on the same ``when`` the
greatest ``outcome_id`` (a rule every reader applies alike, whatever order the records came in):

>>> a = o.model_copy(update={"outcome_id": "a", "outcome": "wrong"})
>>> b = o.model_copy(update={"outcome_id": "b", "outcome": "not_useful"})
>>> winner([a, b]).outcome, winner([b, a]).outcome
('not_useful', 'not_useful')
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SCHEMA_NAME = "alert_outcome.v1.schema.json"
OUTCOMES = ("acted", "not_useful", "wrong", "already_known")
#: Who reports an outcome, in the organisation's terms. A closed set: a free field would collect names.
ROLES = ("account_manager", "support_lead", "hr_partner", "team_lead", "other")
#: A note is free text about a person: kept short, so it stays a note and not a file on someone.
NOTE_MAX_CHARS = 500
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class AlertOutcome(BaseModel):
    """What a person did with one alert (``alerts.outcomes``, version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    outcome_id: str = Field(pattern=ID_PATTERN, description=(
        "Unique per outcome, chosen by the sender (a CRM activity id, or derived as the CLI does): a re-sent "
        "outcome with the same id is stored once."))
    alert_id: str = Field(pattern=ID_PATTERN, description="The alert's CloudEvents id (its `id`); also the Kafka key.")
    outcome: Literal["acted", "not_useful", "wrong", "already_known"] = Field(description=(
        "acted: useful, acted on it; not_useful: true but nothing to do; wrong: the alert was mistaken; "
        "already_known: true, but known before the alert."))
    role: Literal["account_manager", "support_lead", "hr_partner", "team_lead", "other"] = Field(
        description="Who judged it, as a role. Never a name or an address.")
    note: str | None = Field(default=None, max_length=NOTE_MAX_CHARS, description=(
        "Optional free text (personal data: stored with the outcome, erased with the alert's subject, "
        "never shown on a dashboard)."))
    when: AwareDatetime = Field(description="When the person judged the alert (RFC 3339 with a time zone).")

    @field_validator("role", mode="before")
    @classmethod
    def _a_role_not_a_person(cls, v):
        if isinstance(v, str) and v not in ROLES:
            what = "an e-mail address" if _EMAIL.search(v) else "a name" if " " in v.strip() else "no known role"
            raise ValueError(f"role looks like {what}: give a role ({', '.join(ROLES)}), never who the person is")
        return v


def derive_outcome_id(alert_id: str, outcome: str, role: str, when: datetime) -> str:
    """An outcome id from what the outcome says: the same outcome sent twice has the same id.

    >>> from datetime import timezone
    >>> derive_outcome_id("a1", "acted", "other", datetime(2026, 1, 2, tzinfo=timezone.utc))
    'o-f720970bbe001eb336ab1ca2e9bf800f'
    """
    return "o-" + hashlib.sha256(f"{alert_id}|{outcome}|{role}|{when.isoformat()}".encode()).hexdigest()[:32]


def winner(outcomes: list[AlertOutcome]) -> AlertOutcome:
    """The outcome that stands for an alert: latest ``when``, then greatest ``outcome_id``."""
    return max(outcomes, key=lambda o: (o.when, o.outcome_id))


def kafka_record(o: AlertOutcome) -> tuple[bytes, bytes]:
    """(key, value) of the record on ``alerts.outcomes``."""
    return o.alert_id.encode(), o.model_dump_json(exclude_none=True).encode()


def outcome_schemas() -> dict[str, dict]:
    """{filename: JSON Schema} for ``schemas/generate.py``."""
    schema = AlertOutcome.model_json_schema()
    return {SCHEMA_NAME: {"$schema": "https://json-schema.org/draft/2020-12/schema",
                          "$id": "https://pulsewire.dev/schemas/" + SCHEMA_NAME,
                          "title": "pulsewire alert outcome, version 1",
                          **{k: v for k, v in schema.items() if k != "title"}}}
