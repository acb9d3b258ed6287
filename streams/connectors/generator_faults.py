"""Deliberately bad records for the synthetic generator (exercise the dead-letter path).

Each bad record is a corrupted copy of the good record that follows it in the
stream. Nothing in it says that it is bad: the validator has to find out.
"""

from __future__ import annotations

import hashlib
import json
import re

from pulsewire.schemas.events import KINDS as KNOWN_KINDS

FAULTS = ("malformed_json", "missing_field", "wrong_type", "unknown_kind", "text_too_large", "naive_timestamp")
_NUMERIC = ("rating", "csat", "score", "hours", "days", "mrr")
_KIND_IN_BYTES = re.compile(rb'"kind":\s*"(\w+)"')


def make_bad(rec: dict, fault: str, filler: str) -> dict | bytes:
    """A corrupted copy of ``rec``: bytes for malformed JSON, a dict otherwise."""
    bad = dict(rec)
    if fault == "malformed_json":
        raw = json.dumps(bad).encode()
        return raw[: max(10, len(raw) - 9)]  # cut off mid-value: not valid JSON any more
    if fault == "missing_field":
        del bad["occurred_at"]
    elif fault == "wrong_type":
        field = next((f for f in _NUMERIC if bad.get(f) is not None), None)
        if field is not None:
            bad[field] = str(bad[field])  # e.g. rating "5"
        elif bad.get("customer_id"):
            bad["customer_id"] = int(hashlib.sha1(bad["customer_id"].encode()).hexdigest()[:6], 16)
        else:
            bad["employee_id"] = int(hashlib.sha1(str(bad.get("employee_id")).encode()).hexdigest()[:6], 16)
    elif fault == "unknown_kind":
        bad["kind"] = "survey"
    elif fault == "text_too_large":
        base = (bad.get("text") or filler or "too long") + " "
        bad["text"] = (base * (20_500 // len(base) + 1))[:20_500]
    elif fault == "naive_timestamp":
        bad["occurred_at"] = bad["occurred_at"][:19]  # "2026-05-01T09:13:05", no offset
    else:
        raise ValueError(f"unknown fault {fault!r}")
    return bad


def topic_for(rec: dict | bytes) -> str:
    """``events.<kind>``; ``events.review`` when the kind is unknown or unreadable."""
    if isinstance(rec, (bytes, bytearray)):
        m = _KIND_IN_BYTES.search(bytes(rec))
        kind = m.group(1).decode() if m else None
    else:
        kind = rec.get("kind")
    return f"events.{kind}" if kind in KNOWN_KINDS else "events.review"


def key_for(rec: dict | bytes) -> str:
    """The partition key: customer_id, else employee_id; a content hash for unreadable records."""
    if isinstance(rec, (bytes, bytearray)):
        return "bad-" + hashlib.sha1(bytes(rec)).hexdigest()[:16]
    for field in ("customer_id", "employee_id", "event_id"):
        value = rec.get(field)
        if value is not None and value != "":
            return str(value)
    return "bad-" + hashlib.sha1(json.dumps(rec, sort_keys=True, default=str).encode()).hexdigest()[:16]
