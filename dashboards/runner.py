"""Run a dashboard's panel queries (macros expanded for a time range) against a store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .macros import TimeRange, auto_interval, expand, parse_duration

DEFAULT_MAX_POINTS = 200


@dataclass
class Frame:
    """One query result: column names, ClickHouse type names, rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple]
    sql: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None

    def kinds(self) -> list[str]:
        return [type_kind(t) for t in self.types]


@dataclass
class PanelResult:
    panel: dict
    frames: list[Frame] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return next((f.error for f in self.frames if f.error), None)


def type_kind(ch_type: str) -> str:
    """'time' | 'number' | 'string' | 'other' for a ClickHouse type name."""
    t = ch_type
    for wrapper in ("Nullable(", "LowCardinality("):
        while t.startswith(wrapper):
            t = t[len(wrapper):-1]
    if t.startswith(("DateTime", "Date")):
        return "time"
    if t.startswith(("UInt", "Int", "Float", "Decimal")) or t == "Bool":
        return "number"
    if t.startswith(("String", "FixedString", "Enum")):
        return "string"
    if t == "Nothing":  # a literal NULL column
        return "number"
    return "other"


def panel_range(panel: dict, tr: TimeRange, max_points: int | None = None) -> TimeRange:
    return auto_interval(tr, max_points or panel.get("maxDataPoints") or DEFAULT_MAX_POINTS, panel.get("interval"))


def dashboard_range(dashboard: dict, now: datetime) -> TimeRange:
    """The dashboard's default relative range ('now-14d' .. 'now') anchored at ``now``."""
    t = dashboard.get("time", {})
    start = _relative(t.get("from", "now-6h"), now)
    end = _relative(t.get("to", "now"), now)
    return TimeRange(start, end)


def _relative(expr: str, now: datetime) -> datetime:
    if expr == "now":
        return now
    if expr.startswith("now-"):
        return now - timedelta(seconds=parse_duration(expr[4:]))
    return datetime.fromisoformat(expr.replace("Z", "+00:00"))


def run_sql(store, sql: str) -> Frame:
    t0 = time.perf_counter()
    try:
        res = store.client.query(sql)
    except Exception as exc:  # a broken panel is reported on the board, not fatal
        return Frame([], [], [], sql, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - t0) * 1000
    types = [getattr(t, "name", str(t)) for t in res.column_types]
    return Frame(list(res.column_names), types, [tuple(r) for r in res.result_rows], sql, elapsed)


def run_panel(store, panel: dict, tr: TimeRange, max_points: int | None = None) -> PanelResult:
    ptr = panel_range(panel, tr, max_points)
    out = PanelResult(panel)
    for target in panel.get("targets", []):
        out.frames.append(run_sql(store, expand(target["rawSql"], ptr)))
    return out


def anchor_time(store, anchor_sql: str) -> datetime | None:
    try:
        value = store.client.query(anchor_sql).result_rows[0][0]
    except Exception:
        return None
    if not isinstance(value, datetime) or value.year < 1971:
        return None
    return ceil_to_second(value if value.tzinfo else value.replace(tzinfo=timezone.utc))


def ceil_to_second(t: datetime) -> datetime:
    """The next whole second at or after ``t``: ``$__timeFilter`` compares with whole seconds (as
    Grafana's plugin does), so a range ending at the newest row's 08:05:35.901 must end at 08:05:36
    or that row falls outside it.

    >>> ceil_to_second(datetime(2026, 1, 1, 8, 5, 35, 901000, tzinfo=timezone.utc)).isoformat()
    '2026-01-01T08:05:36+00:00'
    >>> ceil_to_second(datetime(2026, 1, 1, 8, 5, 35, tzinfo=timezone.utc)).isoformat()
    '2026-01-01T08:05:35+00:00'
    """
    return t if t.microsecond == 0 else t.replace(microsecond=0) + timedelta(seconds=1)
