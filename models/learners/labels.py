"""Delayed labels: which events are labels, and joining them to the features known at prediction time.

Each prediction leaves a *pending* entry in the entity's state: the feature
vector as it was then, the probability, the baseline score and the model
version. When a label arrives later, every pending entry made *before* the
label's event time becomes one training example; nothing computed after the
prediction leaks into it. Pending entries are thinned to one per half day
(the newest wins) and capped, so the state stays small.

Labels
------
* churn: ``account/cancellation`` → 1, ``account/renewal`` → 0 (the default *subscription* definition). With
  ``PULSEWIRE_LEARN_CHURN_DEFINITION=inactivity`` (shops): N days without any activity → 1, labelled at the
  end of those N days; active again before → 0; a cancellation → 1 (``inactivity.py``; docs/learners.md,
  "Churn definitions").
* burnout: ``hr/exit`` with ``exit_type=voluntary`` → 1; ``hr/pulse`` with
  ``question=burnout`` → 1 for answers 4-5 ("I feel burned out often"), else 0;
  an involuntary exit drops the pending entries (no label).

>>> st = {"pending": [], "labels_seen": []}
>>> add_pending(st, {"id": "ev1", "t": 100.0, "x": {"a": 1.0}, "p": 0.2, "b": 0.0, "v": "m-v1"})
>>> add_pending(st, {"id": "ev2", "t": 200_000.0, "x": {"a": 2.0}, "p": 0.4, "b": 0.0, "v": "m-v1"})
>>> exs = join_label(st, "churn", "cus-1", "lab1", 1, 150_000.0)   # only ev1 was predicted before the label
>>> [(e["pred_event_id"], e["y"]) for e in exs], len(st["pending"])
([('ev1', 1)], 1)
>>> join_label(st, "churn", "cus-1", "lab1", 1, 150_000.0)   # the same label again: ignored
[]
"""

from __future__ import annotations

import hashlib

DROP = "drop"
MAX_PENDING = 64
MIN_GAP_S = 12 * 3600.0
HORIZON_S = 56 * 86400.0  # predictions older than this when the label comes are not labelled
WEIGHT_PER_LABEL = 4.0
MODEL_OF = {"customer": "churn", "employee": "burnout"}


def label_of(entity_type: str, ev: dict):
    """1, 0, ``DROP`` (clear pending, no label) or None (not a label)."""
    kind, typ = ev.get("kind"), ev.get("type")
    if entity_type == "customer" and kind == "account":
        return {"cancellation": 1, "renewal": 0}.get(typ)
    if entity_type == "employee" and kind == "hr":
        if typ == "exit":
            return 1 if ev.get("exit_type") == "voluntary" else DROP
        if typ == "pulse" and ev.get("question") == "burnout" and ev.get("score") is not None:
            return 1 if ev["score"] >= 4 else 0
    return None


def ends_entity(entity_type: str, ev: dict) -> bool:
    return (entity_type == "customer" and ev.get("kind") == "account" and ev.get("type") == "cancellation") or (
        entity_type == "employee" and ev.get("kind") == "hr" and ev.get("type") == "exit")


def add_pending(state: dict, entry: dict, max_pending: int = MAX_PENDING, min_gap_s: float = MIN_GAP_S) -> None:
    pend = state["pending"]
    if pend and abs(entry["t"] - pend[-1]["t"]) < min_gap_s and entry["t"] >= pend[-1]["t"]:
        pend[-1] = entry
    else:
        pend.append(entry)
        if len(pend) > 1 and pend[-2]["t"] > entry["t"]:
            pend.sort(key=lambda e: e["t"])
    if len(pend) > max_pending:
        del pend[: len(pend) - max_pending]


def example_id(model: str, entity_id: str, pred_event_id: str) -> str:
    return hashlib.sha1(f"{model}|{entity_id}|{pred_event_id}".encode()).hexdigest()[:24]


def join_label(state: dict, model: str, entity_id: str, label_event_id: str, y, t_label: float,
               horizon_s: float = HORIZON_S) -> list[dict]:
    """Turn the pending predictions made before ``t_label`` into training examples (and forget them).

    A label event seen before (same event id) is ignored: labels arriving twice learn once.
    """
    seen = state.setdefault("labels_seen", [])
    if label_event_id in seen:
        return []
    seen.append(label_event_id)
    del seen[:-32]
    if y is not None:  # remember recent labels: an event that arrives late (out of order) is labelled by them
        hist = state.setdefault("labels", [])
        hist.append([t_label, y, label_event_id])
        hist.sort(key=lambda h: h[0])
        del hist[:-8]
    before = [e for e in state["pending"] if e["t"] <= t_label]
    state["pending"] = [e for e in state["pending"] if e["t"] > t_label]
    if y == DROP or y is None:
        return []
    out = []
    before = [e for e in before if t_label - e["t"] <= horizon_s]
    # one label, many snapshots of one entity: weight them so that each label counts about WEIGHT_PER_LABEL
    w = min(1.0, WEIGHT_PER_LABEL / len(before)) if before else 1.0
    for e in before:
        out.append({"id": example_id(model, entity_id, e["id"]), "model": model, "entity_id": entity_id,
                    "pred_event_id": e["id"], "label_event_id": label_event_id, "predicted_at": e["t"],
                    "labelled_at": t_label, "x": e["x"], "y": int(y), "p": e["p"], "b": e.get("b"),
                    "model_version": e.get("v", ""), "n_labels": e.get("n", 0), "n_pos": e.get("np", 0), "w": round(w, 6)})
    return out


def late_label(state: dict, t: float, horizon_s: float = HORIZON_S):
    """The earliest remembered label at or after ``t`` (within the horizon), for an event that arrived late."""
    for t_label, y, label_event_id in state.get("labels", []):
        if t_label > t and t_label - t <= horizon_s:
            return t_label, y, label_event_id
    return None


def join_late(state: dict, model: str, entity_id: str, entry: dict, late) -> list[dict]:
    t_label, y, label_event_id = late
    if y == DROP:
        return []
    return [{"id": example_id(model, entity_id, entry["id"]), "model": model, "entity_id": entity_id,
             "pred_event_id": entry["id"], "label_event_id": label_event_id, "predicted_at": entry["t"],
             "labelled_at": t_label, "x": entry["x"], "y": int(y), "p": entry["p"], "b": entry.get("b"),
             "model_version": entry.get("v", ""), "n_labels": entry.get("n", 0), "n_pos": entry.get("np", 0),
             "w": 1.0 / max(1.0, WEIGHT_PER_LABEL), "late": True}]
