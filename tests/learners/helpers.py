"""Small builders for learner tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)  # a Monday


def at(days: float = 0.0, hours: float = 0.0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).isoformat()


_n = [0]


def ev(kind: str, type_: str, d: float = 0.0, **fields) -> dict:
    _n[0] += 1
    out = {"schema_version": 1, "event_id": fields.pop("event_id", f"t-{_n[0]}"), "source": "test", "kind": kind,
           "type": type_, "occurred_at": at(d, fields.pop("hour", 0.0))}
    out.update(fields)
    return out


NEG = {"label": "negative", "score": -0.8, "probabilities": {}, "model_version": "t", "truncated": False}
POS = {"label": "positive", "score": 0.8, "probabilities": {}, "model_version": "t", "truncated": False}
