"""The range of event times pulsewire accepts: not before ``earliest`` and not far in the future.

A year-9999 or year-0001 timestamp is a typo or a placeholder at the source, not an event; it
cannot be stored in a ClickHouse ``Date`` column either, so it is dead-lettered with
``timestamp_out_of_range`` before it reaches a store. Both bounds are settings
(``PULSEWIRE_MAX_FUTURE_DAYS``, ``PULSEWIRE_EARLIEST_EVENT_DATE``); the future bound moves with
the clock, because sources stamp events on their own clocks, which may run a little ahead.

>>> from datetime import datetime, timedelta, timezone
>>> now = datetime.now(timezone.utc)
>>> TimeWindow().problem(now - timedelta(days=3650)) is None
True
>>> TimeWindow().problem(now + timedelta(days=2))
'... is more than 1 day(s) in the future (max_future_days)'
>>> TimeWindow().problem(datetime(1989, 12, 31, tzinfo=timezone.utc))
'1989-12-31T00:00:00+00:00 is before 1990-01-01 (earliest_event_date)'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

MAX_FUTURE_DAYS = 1.0
EARLIEST_EVENT_DATE = date(1990, 1, 1)


@dataclass(frozen=True)
class TimeWindow:
    max_future_days: float = MAX_FUTURE_DAYS
    earliest_event_date: date = EARLIEST_EVENT_DATE

    @classmethod
    def from_settings(cls, settings) -> "TimeWindow":
        return cls(settings.max_future_days, settings.earliest_event_date)

    def problem(self, ts: datetime, now: datetime | None = None) -> str | None:
        """Why the aware ``ts`` is outside the window, or None when it is inside."""
        earliest = self.earliest_event_date
        if ts < datetime(earliest.year, earliest.month, earliest.day, tzinfo=timezone.utc):
            return f"{ts.isoformat()} is before {earliest.isoformat()} (earliest_event_date)"
        if ts > (now or datetime.now(timezone.utc)) + timedelta(days=self.max_future_days):
            return f"{ts.isoformat()} is more than {self.max_future_days:g} day(s) in the future (max_future_days)"
        return None
