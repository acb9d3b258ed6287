"""Flatten pipeline records into ClickHouse rows (pure functions, tested without a store)."""

from __future__ import annotations

from datetime import datetime

from pulsewire.schemas.dead_letter import DeadLetter

from .dedup import content_hash
from .privacy import KeyRing
from .redaction import field_names, scrub

_EVENT_COLUMNS = ("channel", "product", "question", "hours", "days", "status", "exit_type", "plan", "mrr")


def _ts(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def scored_row(scored: dict) -> dict:
    """One ``events_scored`` row from a ScoredEvent as JSON (``{"event": {...}, "sentiment": {...}}``)."""
    ev, s = scored["event"], scored.get("sentiment") or {}
    probs = s.get("probabilities") or {}
    answer = ev.get("score") if ev.get("kind") == "hr" else None
    consent = ev.get("consent")
    row = {
        "event_id": ev["event_id"], "source": ev["source"], "kind": ev["kind"], "type": ev.get("type", ""),
        "occurred_at": _ts(ev["occurred_at"]), "ingested_at": _ts(ev["ingested_at"]),
        "customer_id": ev.get("customer_id") or "", "employee_id": ev.get("employee_id") or "",
        "team_id": ev.get("team_id") or "", "text": ev.get("text") or "",
        "rating": ev.get("rating"), "csat": ev.get("csat"), "answer": answer,
        "consent": None if consent is None else int(consent),
        "sentiment_label": s.get("label", ""), "sentiment_score": s.get("score"),
        "sentiment_min_window_score": s.get("min_window_score"), "text_windows": s.get("windows"),
        "p_negative": probs.get("negative"), "p_neutral": probs.get("neutral"), "p_positive": probs.get("positive"),
        "text_truncated": int(bool(s.get("truncated"))), "model_version": s.get("model_version", ""),
        "attributes": {str(k): str(v) for k, v in (ev.get("attributes") or {}).items()},
        "content_hash": content_hash(ev),
    }
    for col in _EVENT_COLUMNS:
        value = ev.get(col)
        row[col] = value if value is not None or col in ("hours", "days", "mrr") else ""
    return row


def dead_letter_row(dl: DeadLetter, keys: KeyRing) -> dict:
    """One ``dead_letters`` row. Of a personal source (see ``DeadLetter.personal``) it keeps the
    reason, the detail without the record's values, a keyed hash of the payload, its size and
    field names, and where it came from: never a value (the raw record stays on ``events.dlq``).

    ``dl_id`` is a keyed id of the source, the reason and the payload's keyed hash: a replay, and
    the same bad record sent again (a connector re-run, a re-sent request), give the same id.
    """
    raw = dl.payload_bytes()
    payload_hash = keys.payload_hash(raw)
    text = raw.decode("utf-8", "replace")
    personal = dl.personal
    return {
        "dl_id": keys.keyed_id("dead_letter", dl.source_topic, dl.reason.value, payload_hash),
        "source_topic": dl.source_topic, "reason": dl.reason.value,
        "detail": scrub(dl.detail, text) if personal else dl.detail,
        "payload": "" if personal else dl.payload[:65536], "payload_encoding": dl.payload_encoding,
        "payload_hash": payload_hash, "payload_bytes": len(raw),
        "payload_fields": field_names(text, dl.personal_fields, dl.known_fields), "redacted": int(personal),
        "stage": dl.where, "partition": dl.partition, "offset": dl.offset, "failed_at": dl.failed_at,
    }
