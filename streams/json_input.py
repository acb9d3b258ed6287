"""``json.loads`` for untrusted input: what the standard parser accepts but an event must not carry.

Python's parser takes ``NaN``/``Infinity`` (not JSON) and overflows to ``inf`` on ``1e999``; those
would reach the store as the text "nan" or break aggregates. Deep nesting makes it raise
``RecursionError``, which no ``except ValueError`` catches. Both become a ``JsonRejected`` with
the dead-letter reason to use.

>>> loads_json('{"a": [1, 2.5]}')
{'a': [1, 2.5]}
>>> loads_json('{"rating": NaN}')
Traceback (most recent call last):
...
pulsewire.streams.json_input.JsonRejected: non_finite_number: NaN is not a JSON number
>>> loads_json("[" * 100 + "]" * 100)
Traceback (most recent call last):
...
pulsewire.streams.json_input.JsonRejected: nesting_too_deep: nested 100 levels deep; the limit is 64
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pulsewire.schemas.dead_letter import Reason

#: Deeper than any event or source record we map (events nest two levels); far below the stack limit.
MAX_DEPTH = 64

# A JSON string (escapes included) or a bracket: brackets inside strings do not nest anything.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class JsonRejected(ValueError):
    def __init__(self, reason: Reason, detail: str):
        super().__init__(f"{reason.value}: {detail}")
        self.reason, self.detail = reason, detail


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest (brackets inside strings do not count).

    >>> nesting_depth('{"a": {"b": [1]}, "c": "[[[["}')
    3
    """
    depth = deepest = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str):
    raise JsonRejected(Reason.NON_FINITE_NUMBER, f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(Reason.NON_FINITE_NUMBER, f"{text[:40]} is out of the range of a number")
    return value


def loads_json(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; raise ``JsonRejected`` (non-finite number, too deep) or ``ValueError`` (malformed)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    # counting brackets is a C-speed scan; the exact depth is only measured when it could be over
    if text.count("[") + text.count("{") > max_depth and (depth := nesting_depth(text)) > max_depth:
        raise JsonRejected(Reason.NESTING_TOO_DEEP, f"nested {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JsonRejected(Reason.NESTING_TOO_DEEP, "nested deeper than the parser can follow") from None
