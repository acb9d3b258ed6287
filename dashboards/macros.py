"""Expand the ``grafana-clickhouse-datasource`` macros the way the plugin's backend does.

Same output as the plugin (pkg/macros/macros.go, v4), so a panel's SQL runs unchanged
in Grafana and in ``pulsewire board``:

=========================  ===============================================================
``$__timeFilter(c)``       ``c >= toDateTime(FROM) AND c <= toDateTime(TO)`` (Unix seconds)
``$__timeFilter_ms(c)``    same with ``fromUnixTimestamp64Milli(ms)``
``$__dateFilter(c)``       ``c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')``
``$__dateTimeFilter(d,t)`` both of the above (alias ``$__dt``)
``$__timeInterval(c)``     ``toStartOfInterval(toDateTime(c), INTERVAL N second)``
``$__timeInterval_ms(c)``  ``toStartOfInterval(toDateTime64(c, 3), INTERVAL N millisecond)``
``$__interval_s``          ``N``
``$__fromTime``/``$__toTime`` and ``_ms`` variants
=========================  ===============================================================

>>> from datetime import datetime, timezone
>>> tr = TimeRange(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc), 3600)
>>> expand("SELECT $__timeInterval(ts) t FROM x WHERE $__timeFilter(ts)", tr)
'SELECT toStartOfInterval(toDateTime(ts), INTERVAL 3600 second) t FROM x WHERE ts >= toDateTime(1793491200) AND ts <= toDateTime(1793577600)'
>>> expand("$__dateFilter(day) AND $__interval_s > 0", tr)
"day >= toDate('2026-11-01') AND day <= toDate('2026-11-02') AND 3600 > 0"
>>> auto_interval(tr, max_points=200, min_interval="1m").interval_s
600
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

_MACRO = re.compile(r"\$__(\w+)")

#: Grafana's "nice" interval steps (seconds), as used when it rounds $__interval.
_NICE = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
         604800, 2592000]
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class MacroError(ValueError):
    pass


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_s: int = 60

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def parse_duration(text: str) -> float:
    """'10s', '1m', '6h', '1d', '7d' -> seconds.

    >>> parse_duration("6h"), parse_duration("500ms")
    (21600.0, 0.5)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)\s*", text or "")
    if not m:
        raise MacroError(f"not a duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def auto_interval(tr: TimeRange, max_points: int = 200, min_interval: str | None = None) -> TimeRange:
    """The interval Grafana would pick: range / max data points, rounded to a nice step,
    never below the panel's min interval."""
    raw = tr.seconds / max(1, max_points)
    nice = next((n for n in _NICE if n >= raw), _NICE[-1])
    if min_interval:
        nice = max(nice, int(parse_duration(min_interval)))
    return replace(tr, interval_s=max(1, int(nice)))


def _args(sql: str, pos: int) -> tuple[list[str], int]:
    """Parse '(a, b(c), d)' starting at sql[pos] == '('; return the top-level args and the end."""
    depth, start, args = 0, pos + 1, []
    quote = None
    for i in range(pos, len(sql)):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in ("'", '"', "`"):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i].strip())
                return [a for a in args if a], i + 1
        elif ch == "," and depth == 1:
            args.append(sql[start:i].strip())
            start = i + 1
    raise MacroError(f"unbalanced parentheses after position {pos}")


def _dt(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp())})"


def _dt64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(round(t.timestamp() * 1000))})"


def _date(t: datetime) -> str:
    return f"toDate('{t.strftime('%Y-%m-%d')}')"


def _need(name: str, args: list[str], n: int) -> None:
    if len(args) != n:
        raise MacroError(f"$__{name} expects {n} argument(s), got {len(args)}")


def _apply(name: str, args: list[str] | None, tr: TimeRange) -> str:
    a, b = tr.start, tr.end
    if name in ("fromTime", "toTime", "fromTime_ms", "toTime_ms", "interval_s"):
        if args is not None:
            raise MacroError(f"$__{name} takes no arguments")
        return {"fromTime": _dt(a), "toTime": _dt(b), "fromTime_ms": _dt64(a), "toTime_ms": _dt64(b),
                "interval_s": str(max(1, int(tr.interval_s)))}[name]
    if args is None:
        raise MacroError(f"$__{name} needs arguments")
    if name == "timeFilter":
        _need(name, args, 1)
        return f"{args[0]} >= {_dt(a)} AND {args[0]} <= {_dt(b)}"
    if name == "timeFilter_ms":
        _need(name, args, 1)
        return f"{args[0]} >= {_dt64(a)} AND {args[0]} <= {_dt64(b)}"
    if name == "dateFilter":
        _need(name, args, 1)
        return f"{args[0]} >= {_date(a)} AND {args[0]} <= {_date(b)}"
    if name in ("dateTimeFilter", "dt"):
        _need(name, args, 2)
        return (f"({args[0]} >= {_date(a)} AND {args[0]} <= {_date(b)}) AND "
                f"({args[1]} >= {_dt(a)} AND {args[1]} <= {_dt(b)})")
    if name == "timeInterval":
        _need(name, args, 1)
        return f"toStartOfInterval(toDateTime({args[0]}), INTERVAL {max(1, int(tr.interval_s))} second)"
    if name == "timeInterval_ms":
        _need(name, args, 1)
        return f"toStartOfInterval(toDateTime64({args[0]}, 3), INTERVAL {max(1, int(tr.interval_s * 1000))} millisecond)"
    raise MacroError(f"unknown macro $__{name}")


def expand(sql: str, tr: TimeRange) -> str:
    """Replace every macro in ``sql``; an unknown macro or a bad argument count raises MacroError."""
    out, pos = [], 0
    while True:
        m = _MACRO.search(sql, pos)
        if not m:
            out.append(sql[pos:])
            return "".join(out)
        out.append(sql[pos:m.start()])
        name, end = m.group(1), m.end()
        args = None
        if end < len(sql) and sql[end] == "(":
            args, end = _args(sql, end)
            args = [expand(x, tr) for x in args]
        out.append(_apply(name, args, tr))
        pos = end


def macros_used(sql: str) -> set[str]:
    return set(_MACRO.findall(sql))
