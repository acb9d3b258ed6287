"""The connector contract: everything a connector author writes against.

A connector is a class with a config model and four methods::

    class ShopReviews(Connector):
        name = "shop_reviews"              # how `pulsewire connect NAME` finds it
        Config = ShopReviewsConfig         # pydantic model, validated in __init__ (no I/O there)
        personal_fields = ("customer", "body")  # source fields that hold personal data; () if none

        def setup(self): ...               # open files, connections, servers
        def poll(self, cursor): ...        # yield raw records (or Raw(payload, cursor=...)), None when idle
        def map(self, payload): ...        # pure: raw record -> canonical event dict(s), or None to skip
        def teardown(self): ...            # close what setup() opened

The runtime (``runtime.py``) does the rest: validates every mapped event with
``schemas.events``, sends bad ones to ``events.dlq`` with the raw payload and a
reason, produces good ones to ``events.<kind>`` in bounded batches, and stores
the cursor of the last delivered record only after the batch is flushed.

``personal_fields`` decides what the ``dead_letters`` table may keep of a rejected record: of a
personal source (any field declared, or nothing declared at all) only the reason, a scrubbed
detail, a keyed hash and the field names; the raw record stays on ``events.dlq`` for its short
retention.

>>> stable_id("shop", "order-1", 2)
'shop:b3cc1826fc56f88947a9d10781325dfe'
>>> parse_time("2026-11-01 10:00:00", assume_tz="UTC")
'2026-11-01T10:00:00+00:00'
"""

from __future__ import annotations

import hashlib
import math
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, ClassVar, Iterator
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from pulsewire.schemas.dead_letter import Reason

from ..time_window import TimeWindow

__all__ = ["Connector", "ConnectorConfig", "ConnectorError", "Raw", "Reject", "Reason",
           "stable_id", "parse_time", "to_int", "to_float", "compact", "TimeWindow", "event_time_window"]

#: The event times a run accepts: the runner sets it from the settings, ``parse_time`` checks it.
event_time_window: ContextVar[TimeWindow] = ContextVar("event_time_window", default=TimeWindow())


class ConnectorConfig(BaseModel):
    """Base of every connector's config; unknown keys are refused so a typo fails at start."""

    model_config = ConfigDict(extra="forbid")

    instance: str | None = Field(default=None, description="Names this running copy: key of its cursor and of "
                                 "its dead letters. Default: the connector's name.")
    personal_fields: list[str] = Field(default_factory=list, description="More source fields that hold personal "
                                       "data in this deployment, added to the connector's own declaration.")


class ConnectorError(RuntimeError):
    """Fatal: the connector stops, prints this message and exits non-zero."""


class Reject(Exception):
    """Raise from ``map()`` (or ``poll()`` via ``Raw(reject=...)``) to dead-letter a record with a reason."""

    def __init__(self, reason: Reason, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass
class Raw:
    """One raw record as the source gave it.

    payload: what ``map()`` receives (a dict, a CSV row, ...).
    cursor:  the position *after* this record; stored once the record is delivered.
    raw:     the original bytes/text for a dead letter (default: the payload as JSON).
    reject:  ``(Reason, detail)``: dead-letter without mapping (e.g. invalid UTF-8 found while reading).
    ack:     called with "produced", "dead_lettered" or "skipped" once the outcome is durable.
    remember: a delivery id the runtime records (topic ``connectors.deliveries``) in the same batch as
             the record's outcome, so a restarted connector gets it back in ``restore()``.
    verdict: ``(Reason, detail)`` of its dead letter, set by the runtime, so a push source can tell its
             sender why (read it in ``ack``).
    """

    payload: Any
    cursor: str | None = None
    raw: bytes | str | None = None
    reject: tuple[Reason, str] | None = None
    ack: Callable[[str], None] | None = None
    remember: str | None = None
    verdict: tuple[Reason, str] | None = None


class Connector:
    name: ClassVar[str] = ""
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    #: The source fields (as ``map()`` receives them; dotted paths into nested records) that hold
    #: personal data; ``()`` declares that none do. ``None`` (not declared) is treated as personal.
    personal_fields: ClassVar[tuple[str, ...] | None] = None
    #: Keys of the events' ``attributes`` that name a group people can be treated unfairly by (a region,
    #: a segment): ``pulsewire audit`` reports the alerts per value of each (docs/oversight.md).
    auditable_fields: ClassVar[tuple[str, ...]] = ()
    remembers: ClassVar[bool] = False  # True: it sets Raw.remember, and restore() gets the ids back
    #: The event kinds it can produce (``events.<kind>``), for the transparency notice; None: any kind.
    kinds: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, config: ConnectorConfig | dict | None = None, **overrides):
        if isinstance(config, self.Config) and not overrides:
            self.config = config
        else:
            data = config.model_dump() if isinstance(config, BaseModel) else dict(config or {})
            self.config = self.Config.model_validate({**data, **overrides})

    @property
    def instance(self) -> str:
        return self.config.instance or self.name

    def declared_personal_fields(self) -> tuple[str, ...] | None:
        """The class's declaration plus the config's ``personal_fields``; None when the class declares
        nothing (its dead letters are then treated as personal, and the conformance check fails)."""
        declared = type(self).personal_fields
        if declared is None:
            return None
        return tuple(dict.fromkeys((*declared, *self.config.personal_fields)))

    def known_field_names(self) -> tuple[str, ...]:
        """Source field names this connector knows beforehand (configured columns), which a dead
        letter may list; any other name of a rejected record is only counted (it may be a value)."""
        return ()

    def setup(self) -> None:
        """Open connections, files, servers. Raise ConnectorError for what the user must fix."""

    def poll(self, cursor: str | None) -> Iterator[Raw | Any | None]:
        """Yield raw records after ``cursor`` (None: from the start); yield None when idle (flushes)."""
        raise NotImplementedError

    def map(self, payload: Any) -> dict | list[dict] | None:
        """Pure: a raw record to canonical event dict(s); None skips it; raise Reject to dead-letter it."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Close what setup() opened. Called even when poll() failed."""

    def restore(self, remembered: dict[str, str]) -> None:
        """With ``remembers``: called before setup() with the ids earlier runs recorded (``Raw.remember``)
        and when each was accepted (ISO time)."""


# ---- helpers for map(): small, pure, and the usual source of bugs when hand-written ----

def stable_id(source: str, *natural_key: Any) -> str:
    """An event_id that is the same on every replay: a hash of the source and the record's natural key.

    A key with nothing in it would give every such record the same id (and the sinks would keep one):
    ``Reject(invalid_source_id)``.
    """
    if not any(k is not None and str(k).strip() for k in natural_key):
        raise Reject(Reason.INVALID_SOURCE_ID, f"no natural key to derive an event_id from (got {natural_key!r})")
    digest = hashlib.sha256("\x1f".join([source, *map(str, natural_key)]).encode()).hexdigest()[:32]
    return f"{source[:90]}:{digest}"


def parse_time(value: Any, assume_tz: str | None = None, *, window: TimeWindow | None = None) -> str:
    """ISO-8601 / epoch seconds / date -> aware ISO string. Naive times need ``assume_tz`` (else Reject);
    times outside ``window`` (default: the run's ``event_time_window``) are ``timestamp_out_of_range``."""
    if value is None or value == "":
        raise Reject(Reason.MISSING_FIELD, "timestamp is missing")
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            dt = datetime.fromtimestamp(float(value), tz=timezone.utc)
        elif isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        else:
            dt = datetime.fromisoformat(str(value).strip())
    except (ValueError, OverflowError) as exc:
        raise Reject(Reason.INVALID_VALUE, f"not a timestamp: {str(value)[:60]!r} ({exc})") from None
    if dt.tzinfo is None:
        if not assume_tz:
            raise Reject(Reason.NAIVE_TIMESTAMP, f"timestamp {value!r} has no timezone; set assume_tz in the config")
        dt = dt.replace(tzinfo=ZoneInfo(assume_tz))
    if problem := (window or event_time_window.get()).problem(dt):
        raise Reject(Reason.TIMESTAMP_OUT_OF_RANGE, problem)
    return dt.isoformat()


def to_int(value: Any) -> int | None:
    """'4', '4.0', 4 -> 4; '' / None -> None; anything else -> Reject(WRONG_TYPE)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise Reject(Reason.WRONG_TYPE, f"not a number: {str(value)[:60]!r}") from None
    if not f.is_integer():
        raise Reject(Reason.WRONG_TYPE, f"not a whole number: {value!r}")
    return int(f)


def to_float(value: Any) -> float | None:
    """'6,5' -> 6.5; '' / None -> None; NaN / inf -> Reject(NON_FINITE_NUMBER); anything else -> Reject(WRONG_TYPE)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise Reject(Reason.WRONG_TYPE, f"not a number: {str(value)[:60]!r}") from None
    if not math.isfinite(f):
        raise Reject(Reason.NON_FINITE_NUMBER, f"not a finite number: {str(value)[:60]!r}")
    return f


def compact(d: dict) -> dict:
    """Drop None values and empty strings (the canonical schema prefers absent to empty)."""
    return {k: v for k, v in d.items() if v is not None and v != ""}
