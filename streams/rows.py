"""Flatten pipeline records into ClickHouse rows (pure functions, tested without a store)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pulsewire.schemas.dead_letter import DeadLetter

from .dedup import content_hash
from .json_input import loads_json
from .privacy import Pseudonymiser

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
        "p_negative": probs.get("negative"), "p_neutral": probs.get("neutral"), "p_positive": probs.get("positive"),
        "text_truncated": int(bool(s.get("truncated"))), "model_version": s.get("model_version", ""),
        "attributes": {str(k): str(v) for k, v in (ev.get("attributes") or {}).items()},
        "content_hash": content_hash(ev),
    }
    for col in _EVENT_COLUMNS:
        value = ev.get(col)
        row[col] = value if value is not None or col in ("hours", "days", "mrr") else ""
    return row


def dead_letter_row(dl: DeadLetter, pseudonymise: Pseudonymiser) -> dict:
    """One ``dead_letters`` row. Raw employee ids never reach ClickHouse: they are pseudonymised
    in parseable payloads, and unparseable HR payloads are redacted (the full copy stays on the topic)."""
    payload = dl.payload
    if dl.payload_encoding == "utf-8":
        payload = _redact(payload, dl.source_topic, pseudonymise)
    elif dl.source_topic == "events.hr":
        payload = "[redacted: undecodable HR payload; the original is on events.dlq]"
    where = f"{dl.source_topic}|{dl.partition}|{dl.offset}" if dl.offset is not None else \
        f"{dl.source_topic}|{dl.reason.value}|{dl.payload}"
    return {
        "dl_id": hashlib.sha1(where.encode("utf-8", "surrogatepass")).hexdigest(),
        "source_topic": dl.source_topic, "reason": dl.reason.value, "detail": dl.detail,
        "payload": payload[:65536], "payload_encoding": dl.payload_encoding, "stage": dl.where,
        "partition": dl.partition, "offset": dl.offset, "failed_at": dl.failed_at,
    }


def _redact(payload: str, topic: str, pseudonymise: Pseudonymiser) -> str:
    try:
        obj = loads_json(payload)
    except ValueError:  # malformed, too deep or non-finite: handled as unparseable below
        obj = None
    if isinstance(obj, dict):
        if isinstance(obj.get("employee_id"), str) and obj["employee_id"]:
            obj["employee_id"] = pseudonymise(obj["employee_id"])
            return json.dumps(obj, ensure_ascii=False)
        if "employee_id" in obj:
            obj["employee_id"] = "[redacted]"
            return json.dumps(obj, ensure_ascii=False)
        return payload
    if topic == "events.hr" or "employee" in payload:
        return "[redacted: unparseable payload that may hold an employee id; the original is on events.dlq]"
    return payload
