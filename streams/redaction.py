"""What the ``dead_letters`` table may keep of a personal record: its shape, never a value.

Pure functions over the raw payload of a dead letter. ``field_names`` lists the record's field
names (never values); ``scrub`` removes the record's values from a human-readable detail, because
details written by our code and by pydantic can quote what they refused.

>>> payload = '{"email": "ann@example.com", "comment": "My manager Bob humiliates me", "n": 4}'
>>> field_names(payload, personal=["email", "comment"])
['comment', 'email', 'n']

Names inside a personal field are not listed (a record may key its answers by person), nor
below the top level of a record whose source declared nothing:

>>> field_names('{"answers": {"ann.smith": 5}, "meta": {"lang": "en"}}', personal=["answers"])
['answers', 'meta', 'meta.lang']
>>> field_names('{"answers": {"ann.smith": 5}, "meta": {"lang": "en"}}', personal=None)
['answers', 'meta']
>>> scrub("unknown termination type 'ann@example.com'", payload)
'unknown termination type [value]'
>>> scrub("not a timestamp: 'My manager Bob humil' (Invalid isoformat string)", payload)
'not a timestamp: [value] (Invalid isoformat string)'

The canonical schema's own words (kinds, types, field names) name no one and stay, so that a
detail still says where the problem is:

>>> scrub("ticket.occurred_at: Field required", '{"kind": "ticket", "customer_id": "ann@example.com"}')
'ticket.occurred_at: Field required'

A quoted value cut off where a long detail was shortened goes too:

>>> scrub("not a timestamp: 'My manager Bo", payload)
'not a timestamp: [value]'

A payload that is not JSON (a CSV line, broken JSON) is split on the usual delimiters:

>>> scrub("line at byte 40 has 3 fields: 'E-1042'", 'E-1042;ann@example.com;Sales')
'line at byte 40 has 3 fields: [value]'
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator, get_args

from pulsewire.schemas.events import EVENT_MODELS

from .json_input import loads_json

PLACEHOLDER = "[value]"
#: Field names kept: identifier-shaped, so that a record keyed by e-mail addresses or user ids
#: (``U2147483697``: three digits or more) shows none of them.
_FIELD_NAME = re.compile(r"^(?!.*[0-9].*[0-9].*[0-9])[A-Za-z_][A-Za-z0-9_ .#:-]{0,63}$")
_MAX_FIELDS = 64
_MAX_DEPTH = 3
_DELIMITERS = re.compile(r"[,;\t|\r\n]")
# a quoted part; or one cut off at the end of a detail that was shortened to its limit
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)(?:'|$)|\"((?:[^\"\\]|\\.)*)(?:\"|$)")
def _vocabulary() -> frozenset[str]:
    """Kinds, field names and the literal values of the canonical event models."""
    words: set[str] = set()
    for kind, model in EVENT_MODELS.items():
        words.add(kind)
        for name, field in model.model_fields.items():
            words.add(name)
            words.update(str(a) for a in get_args(field.annotation) if isinstance(a, str))
            for arg in get_args(field.annotation):  # Literal[...] | None
                words.update(str(a) for a in get_args(arg) if isinstance(a, str))
    return frozenset(words)


VOCABULARY = _vocabulary()
# Shorter values are left in place: they cannot name anyone, and scrubbing every "1" or "a" would
# leave a detail nobody can read.
_MIN_VALUE_CHARS = 3


def _parse(payload: str) -> Any:
    try:
        return loads_json(payload)
    except ValueError:
        return None


def field_names(payload: str, personal: Iterable[str] | None) -> list[str]:
    """The record's field names as dotted paths (sorted, at most 64, three levels deep); none of a
    payload that is not a JSON object. Names that do not look like identifiers are left out, and
    so are names inside a ``personal`` field, or below the top level when ``personal`` is None
    (nothing declared)."""
    obj = _parse(payload)
    if not isinstance(obj, dict):
        return []
    closed = set(personal) if personal is not None else None
    names: set[str] = set()

    def walk(node: dict, prefix: str, depth: int) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or not _FIELD_NAME.match(key) or "@" in key:
                continue
            name = f"{prefix}{key}"
            names.add(name)
            if isinstance(value, dict) and depth < _MAX_DEPTH and closed is not None and name not in closed:
                walk(value, f"{name}.", depth + 1)

    walk(obj, "", 1)
    return sorted(names)[:_MAX_FIELDS]


def values(payload: str) -> list[str]:
    """Every value in the payload as text (JSON leaves, else the delimited pieces), longest first."""
    obj = _parse(payload)
    found: set[str] = set()
    if isinstance(obj, (dict, list)):
        for leaf in _leaves(obj):
            found.update(_forms(leaf))
        for key in _keys(obj):  # a key that is not a name (an e-mail address keying a map) is a value
            if not _FIELD_NAME.match(key) or "@" in key:
                found.update(_forms(key))
    else:
        found.update(p.strip().strip("'\"").strip() for p in _DELIMITERS.split(payload))
        found.add(payload.strip())
    return sorted((v for v in found if len(v) >= _MIN_VALUE_CHARS and v not in VOCABULARY), key=len, reverse=True)


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    elif node is not None and not isinstance(node, bool):
        yield node


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _forms(leaf: Any) -> set[str]:
    """How a value can appear in a detail: as is, stripped, as Python's and JSON's quoted forms."""
    text = str(leaf)
    return {text, text.strip(), repr(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def scrub(detail: str, payload: str) -> str:
    """``detail`` without any value of ``payload``: quoted parts that are (part of) a value, and
    every value of three characters or more wherever it stands."""
    vals = values(payload)

    def quoted(m: re.Match) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        return PLACEHOLDER if inner and inner not in VOCABULARY and any(inner in v for v in vals) else m.group(0)

    out = _QUOTED.sub(quoted, detail)
    for value in vals:
        if value in out:
            out = re.sub(_bounded(value), PLACEHOLDER, out)
    return out


def _bounded(value: str) -> str:
    """A pattern for ``value``; a short one does not match inside a longer word (``Bob`` in ``Bobby``)."""
    if len(value) >= 8:
        return re.escape(value)
    head = r"(?<!\w)" if re.match(r"\w", value) else ""
    tail = r"(?!\w)" if re.search(r"\w$", value) else ""
    return head + re.escape(value) + tail
