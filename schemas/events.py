"""Canonical events, version 1: what every connector produces to ``events.<kind>``.

One model per kind; ``kind`` is the discriminator. Fields are strict (a string
is never silently coerced into a number) and unknown fields are refused, so
schema drift at a source shows up as a dead letter instead of a quiet loss.

>>> ev = parse_event_json(b'{"event_id": "r-1", "source": "shop", "kind": "review",'
...     b' "occurred_at": "2026-11-01T10:00:00Z", "customer_id": "c-1", "rating": 5, "text": "Great"}')
>>> ev.kind, ev.rating, ev.occurred_at.tzinfo is not None
('review', 5, True)
>>> ev.entity_id
'c-1'
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, Union, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

SCHEMA_VERSION = 1

Id = Annotated[str, Field(min_length=1, max_length=128)]


class _EventBase(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    event_id: Id = Field(description="Stable across retries: the source's id, else a hash of source + natural key.")
    source: Id = Field(description="The connector or system the event came from, e.g. 'zendesk'.")
    occurred_at: AwareDatetime = Field(description="When it happened at the source (timezone-aware).")
    ingested_at: AwareDatetime | None = Field(default=None, description="When pulsewire accepted it; set by the validator.")
    customer_id: Id | None = None
    employee_id: Id | None = Field(default=None, description="Pseudonymised by the first agent; raw ids never leave the worker.")
    team_id: Id | None = None
    text: str | None = Field(default=None, description="Free text to score; limited by settings.max_text_chars.")
    attributes: dict[str, str] = Field(default_factory=dict, description="Source-specific extras, kept as strings.")

    @property
    def entity_id(self) -> str:
        """The key the event is partitioned by: the customer, else the employee."""
        return self.customer_id or self.employee_id or self.team_id or self.event_id


class ReviewEvent(_EventBase):
    kind: Literal["review"] = "review"
    type: Literal["review"] = "review"
    customer_id: Id
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    product: Id | None = None
    channel: Id | None = Field(default=None, description="Where it was posted, e.g. 'app_store', 'google'.")


class TicketEvent(_EventBase):
    kind: Literal["ticket"] = "ticket"
    type: Literal["created", "comment", "status_changed", "rated"]
    customer_id: Id
    ticket_id: Id
    status: Literal["new", "open", "pending", "solved", "closed"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    channel: Id | None = None
    product: Id | None = None

    @model_validator(mode="after")
    def _rated_has_csat(self) -> "TicketEvent":
        if self.type == "rated" and self.csat is None:
            raise ValueError("a 'rated' ticket event needs csat (1-5)")
        return self


class ChatEvent(_EventBase):
    kind: Literal["chat"] = "chat"
    type: Literal["message"] = "message"
    conversation_id: Id
    author_role: Literal["customer", "agent", "employee"]
    channel: Id | None = Field(default=None, description="e.g. 'intercom', 'slack:#support'.")
    text: str

    @model_validator(mode="after")
    def _has_author(self) -> "ChatEvent":
        if self.author_role == "customer" and not self.customer_id:
            raise ValueError("a customer chat message needs customer_id")
        if self.author_role in ("agent", "employee") and not self.employee_id:
            raise ValueError("an employee chat message needs employee_id")
        return self


class HrEvent(_EventBase):
    kind: Literal["hr"] = "hr"
    type: Literal["pulse", "enps", "overtime", "leave", "hire", "exit"]
    employee_id: Id
    team_id: Id
    question: Id | None = Field(default=None, description="pulse: the question id, e.g. 'workload', 'burnout'.")
    score: Annotated[int, Field(ge=0, le=10)] | None = Field(default=None, description="pulse: 1-5; enps: 0-10.")
    hours: Annotated[float, Field(ge=0, le=168)] | None = Field(default=None, description="overtime hours in the period.")
    days: Annotated[float, Field(ge=0, le=366)] | None = Field(default=None, description="leave days.")
    leave_type: Literal["vacation", "sick", "parental", "other"] | None = None
    exit_type: Literal["voluntary", "involuntary"] | None = None
    consent: bool | None = Field(default=None, description="Employee agreed to per-person wellbeing alerts.")

    @model_validator(mode="after")
    def _type_fields(self) -> "HrEvent":
        need = {"pulse": ("question", "score"), "enps": ("score",), "overtime": ("hours",),
                "leave": ("days",), "exit": ("exit_type",)}.get(self.type, ())
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"hr '{self.type}' event needs {', '.join(missing)}")
        if self.type == "pulse" and self.score is not None and not 1 <= self.score <= 5:
            raise ValueError("pulse score must be 1-5")
        return self


class AccountEvent(_EventBase):
    kind: Literal["account"] = "account"
    type: Literal["signup", "renewal", "cancellation", "plan_change"]
    customer_id: Id
    plan: Id | None = None
    previous_plan: Id | None = None
    mrr: Annotated[float, Field(ge=0)] | None = Field(default=None, description="Monthly recurring revenue after the event.")


#: What a customer *does* (product analytics, shop orders): a free ``type`` so no fixed catalogue is assumed.
#: Lower case letters, digits and ``_ . : -``; connectors normalise source names (``Order Completed`` ->
#: ``order_completed``) with ``normalise_activity_type``.
ActivityType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.:-]*$")]
#: Activity types that are purchases (for recency, frequency and monetary value), besides any event with an amount.
PURCHASE_TYPES = frozenset({"order_placed", "order_completed", "purchase", "checkout_completed", "order"})


def normalise_activity_type(name: str) -> str:
    """A source's event name as an activity ``type``: lower case, spaces and other runs become ``_``.

    >>> normalise_activity_type("Order Completed"), normalise_activity_type("  Feature Used!! ")
    ('order_completed', 'feature_used')
    >>> normalise_activity_type("page.view")
    'page.view'
    """
    out = re.sub(r"[^a-z0-9_.:-]+", "_", name.strip().lower()).strip("_.:-")
    return out[:64]


class ActivityEvent(_EventBase):
    """One thing a customer did: a login, a feature used, an order placed. High volume: not text-scored,
    stored aggregated per customer, type and day.

    >>> ev = parse_event({"event_id": "o-1", "source": "shop", "kind": "activity", "type": "order_placed",
    ...     "occurred_at": "2026-11-01T10:00:00Z", "customer_id": "c-1", "amount": 42.5, "currency": "EUR"})
    >>> ev.type, ev.amount, ev.is_purchase
    ('order_placed', 42.5, True)
    """

    kind: Literal["activity"] = "activity"
    type: ActivityType = Field(description="What the customer did, e.g. 'login', 'feature_used', 'order_placed'.")
    customer_id: Id
    quantity: Annotated[float, Field(ge=0, le=1e9)] | None = Field(default=None, description="Items, seats, minutes...")
    amount: Annotated[float, Field(ge=-1e12, le=1e12)] | None = Field(
        default=None, description="Money moved (an order's total; negative for a refund); needs currency.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = Field(default=None, description="ISO 4217 code.")
    product: Id | None = None
    session_id: Id | None = Field(default=None, description="The source's session id (not a person's id).")

    @model_validator(mode="after")
    def _amount_has_currency(self) -> "ActivityEvent":
        if self.amount is not None and self.currency is None:
            raise ValueError("an activity with an amount needs currency (ISO 4217, e.g. 'EUR')")
        if self.text is not None:
            raise ValueError("activity events carry no text (send a review, ticket or chat instead)")
        return self

    @property
    def is_purchase(self) -> bool:
        return self.type in PURCHASE_TYPES or (self.amount is not None and self.amount > 0)


Event = Annotated[
    Union[ReviewEvent, TicketEvent, ChatEvent, HrEvent, AccountEvent, ActivityEvent],
    Field(discriminator="kind"),
]
#: The canonical fields that hold personal data: who (customer, employee), what they wrote, and the
#: source's free-form extras. A record on ``events.<kind>`` is a personal source by this declaration, so
#: the validator's dead letters are stored redacted (``streams/rows.py``), like a connector's.
PERSONAL_FIELDS: tuple[str, ...] = ("customer_id", "employee_id", "text", "attributes")

# The union above is the one list of event kinds: topics (events.<kind>), validation and the
# generator derive theirs from it.
EVENT_MODELS = {m.model_fields["kind"].default: m for m in get_args(get_args(Event)[0])}
KINDS: tuple[str, ...] = tuple(EVENT_MODELS)
_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event_json(raw: bytes | str) -> Event:
    """Parse and validate one JSON event; raises ``pydantic.ValidationError`` or ``ValueError``."""
    return _event_adapter.validate_json(raw)


def parse_event(obj: dict) -> Event:
    """Validate a Python dict as it would arrive in JSON (datetimes as ISO strings)."""
    return _event_adapter.validate_json(_json_dumps(obj))


def event_to_json(ev: _EventBase) -> bytes:
    return ev.model_dump_json(exclude_none=True).encode()


def _json_dumps(obj: dict) -> bytes:
    import json

    return json.dumps(obj, default=_default).encode()


def _default(o):
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
