"""What the ``dead_letters`` table may keep of a personal record: its shape, never a value.

Pure functions over the raw payload of a dead letter. ``field_names`` lists the record's field
names (never values); ``scrub`` removes the record's values from a human-readable detail, because
details written by our code and by pydantic can quote what they refused.

Only names known beforehand are listed: the canonical event's field names, the fields the source
declared (its ``personal_fields`` and ``known_field_names``, e.g. a file connector's configured
columns) and the webhook envelope. Any other key may be a value used as a key (a person's name, a user id), so it
is only counted:

>>> payload = '{"email": "ann@example.com", "comment": "My manager Bob humiliates me", "n": 4}'
>>> field_names(payload, personal=["email", "comment"])
['comment', 'email', '+1 other field']
>>> field_names('{"Bob Miller": 1, "bob.miller": 2, "text": "x"}', personal=None)
['text', '+2 other fields']

Names inside a personal field are not listed (a record may key its answers by person), nor
below the top level of a record whose source declared nothing:

>>> field_names('{"answers": {"ann.smith": 5}, "attributes": {"lang": "en"}}', personal=["answers", "lang"])
['answers', 'attributes', 'attributes.lang']
>>> field_names('{"answers": {"ann.smith": 5}, "attributes": {"lang": "en"}}', personal=None)
['attributes', '+1 other field']
>>> scrub("unknown termination type 'ann@example.com'", payload)
'unknown termination type [value]'
>>> scrub("not a timestamp: 'My manager Bob humil' (Invalid isoformat string)", payload)
'not a timestamp: [value] (Invalid isoformat string)'

Only whole values go, never part of a word of the detail:

>>> scrub("not a timestamp: not a time (Invalid isoformat string: 'not a time')", '{"at": "not a time"}')
'not a timestamp: [value] (Invalid isoformat string: [value])'

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
from pulsewire.schemas.scored import ScoredEvent, Sentiment

from .json_input import loads_json

PLACEHOLDER = "[value]"
#: The webhook connector's own envelope around a provider's request body.
ENVELOPE_FIELDS = frozenset({"route", "received_at", "body_sha256", "body"})
#: Keys that look like identifiers; any other key (an e-mail address, a user id ``U2147483697``)
#: is treated as a value when scrubbing a detail.
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
#: Field names of our own schemas: the canonical events and the scored event around one.
CANONICAL_FIELDS = frozenset(name for model in (*EVENT_MODELS.values(), ScoredEvent, Sentiment)
                             for name in model.model_fields)
# Shorter values are left in place: they cannot name anyone, and scrubbing every "1" or "a" would
# leave a detail nobody can read.
_MIN_VALUE_CHARS = 3


def _parse(payload: str) -> Any:
    try:
        return loads_json(payload)
    except ValueError:
        return None


def field_names(payload: str, personal: Iterable[str] | None, known: Iterable[str] = ()) -> list[str]:
    """The record's known field names as dotted paths (sorted, at most 64, three levels deep), then
    ``+N other field(s)`` counting the rest; nothing of a payload that is not a JSON object. Known:
    a canonical event field, a ``personal`` or ``known`` (declared) field or a webhook envelope field. Names
    inside a ``personal`` field are not walked, nor below the top level when ``personal`` is None
    (nothing declared)."""
    obj = _parse(payload)
    if not isinstance(obj, dict):
        return []
    closed = set(personal) if personal is not None else None
    known = CANONICAL_FIELDS | ENVELOPE_FIELDS | (closed or set()) | set(known)
    names: set[str] = set()
    others = 0

    def walk(node: dict, prefix: str, depth: int) -> None:
        nonlocal others
        for key, value in node.items():
            if not isinstance(key, str) or key not in known:
                others += 1
                continue
            name = f"{prefix}{key}"
            names.add(name)
            if isinstance(value, dict) and depth < _MAX_DEPTH and closed is not None and key not in closed:
                walk(value, f"{name}.", depth + 1)

    walk(obj, "", 1)
    listed = sorted(names)[:_MAX_FIELDS]
    others += len(names) - len(listed)
    return listed + ([f"+{others} other field{'s' if others > 1 else ''}"] if others else [])


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
        is_value = inner and inner not in VOCABULARY and any(_part_of(inner, v) for v in vals)
        return PLACEHOLDER if is_value else m.group(0)

    out = _QUOTED.sub(quoted, detail)
    for value in vals:
        if value in out:
            out = re.sub(_bounded(value), PLACEHOLDER, out)
    return out


def _part_of(quoted: str, value: str) -> bool:
    """Whether a quoted part is (a part of) ``value``, also as pydantic shortens a long input:
    its start, ``...``, its end.

    >>> _part_of("My manager Bob humiliates me in...be fired tomorrow", "My manager Bob humiliates me in "
    ...          "meetings and should be fired tomorrow")
    True
    """
    if quoted in value:
        return True
    head, sep, tail = quoted.partition("...")
    return bool(sep) and len(head) + len(tail) >= _MIN_VALUE_CHARS and value.startswith(head) and value.endswith(tail)


def _bounded(value: str) -> str:
    """A pattern for ``value`` that does not match inside a longer word (``Bob`` in ``Bobby``,
    ``not a time`` in ``not a timestamp``)."""
    head = r"(?<!\w)" if re.match(r"\w", value) else ""
    tail = r"(?!\w)" if re.search(r"\w$", value) else ""
    return head + re.escape(value) + tail
