"""One person's copy of everything the store holds about them (``pulsewire export``), and the record of
every such look-up in ``data_access_audit``.

The person is found the way ``pulsewire forget`` finds them (``streams/erasure.py``): the raw id the HR
or CRM system knows, pseudonymised with the key for employees, and the per-person condition of every
table in ``ERASABLE``. So whatever erasure would remove, an export shows, and a table added there is
exported without a change here. Beside those: the outcomes people recorded for the person's alerts
(``alert_outcomes``, when the store has that table), the erasures of the person and earlier look-ups of
their data (both found by the subject's keyed hash).

The access audit stores the subject only as that keyed hash:

>>> from pulsewire.streams.erasure import subject_of
>>> from pulsewire.streams.privacy import KeyRing
>>> from datetime import datetime, timezone
>>> s = subject_of(KeyRing(b"0123456789abcdef-test-key"), employee="emp-0001")
>>> row = access_row(s, {"events_scored": 3, "erasures": 0}, requested_by="dpo", os_user="ops",
...                  at=datetime(2026, 1, 2, tzinfo=timezone.utc), access_id="a1")
>>> row["rows_total"], row["found"], row["subject_type"], row["command"]
(3, 1, 'employee', 'export')
>>> "emp-0001" in json.dumps(row, default=str) or s.entity_id in json.dumps(row, default=str)
False
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date, datetime, timezone
from typing import Any

from ..erasure import AUDIT_TABLE, ERASABLE, NOT_PER_PERSON, Subject, earlier_erasures
from ..retention import TABLES as RETENTION

ACCESS_TABLE = "data_access_audit"
OUTCOMES_TABLE = "alert_outcomes"  # recorded by the people who acted on an alert; absent in older stores
FORMAT = "pulsewire.export.v1"

#: String columns that hold JSON: exported as the objects they are.
JSON_COLUMNS = {"alerts_audit": ("inputs",), "learn_examples": ("features",)}
#: The first of these a row has orders a section (oldest first).
TIME_COLUMNS = ("occurred_at", "predicted_at", "scored_at", "created_at", "recorded_at", "decided_at",
                "requested_at", "accessed_at")

ABOUT_EXTRA = {
    OUTCOMES_TABLE: "what the people who received your alerts recorded about them (acted, not useful, wrong, "
                    "already known), by role",
    AUDIT_TABLE: "erasures of your data carried out on request: when, by which role, how many rows",
    ACCESS_TABLE: "earlier look-ups of your data (this export is recorded the same way): when, by which role "
                  "and login, how many rows",
}

NOT_HERE = (
    "Rejected input (dead letters) is not per person: it is stored without any of its values (redacted), "
    "so nothing there can be found by your id; the raw record stays on the Kafka topic events.dlq for its "
    "short retention only.",
    "Aggregates over groups (daily metrics, per-minute sentiment) are counted over at least the minimum group "
    "size and name nobody; the learned models are weights over everybody, not records about you.",
    "Records on Kafka topics (raw events, alerts) expire with each topic's retention and cannot be read per "
    "person; alerts already delivered to a CRM or HR system are held there too.",
)


#: What stands in a person's copy where a row names somebody else.
OTHER_PERSON = "(another person)"
#: Where a text in the person's copy was written by somebody else.
OTHERS_TEXT = "(written by another person: left out)"
OTHERS = ("Rows about you can involve other people (the customers an employee answered, the employees who "
          "answered a customer): their ids are replaced by \"" + OTHER_PERSON + "\" and the texts they wrote "
          "are left out (\"" + OTHERS_TEXT + "\"); only your own fields and your own texts are here.")


def own_view(table: str, row: dict, subject_type: str) -> dict:
    """A row as its subject may see it: the other party's id replaced and the texts they wrote left out.

    In ``events_scored`` a row with an ``employee_id`` was written by that employee (a chat reply, a
    pulse answer; the same rule makes ``sentiment_minute``'s author), one with only a ``customer_id``
    by the customer. Every other per-person table is keyed by the subject alone.

    >>> reply = {"customer_id": "cus-1", "employee_id": "emp_ab", "text": "Happy to help", "content_hash": "9f"}
    >>> own_view("events_scored", reply, "customer")
    {'customer_id': 'cus-1', 'employee_id': '(another person)', 'text': '(written by another person: left out)', 'content_hash': ''}
    >>> own_view("events_scored", reply, "employee")
    {'customer_id': '(another person)', 'employee_id': 'emp_ab', 'text': 'Happy to help', 'content_hash': '9f'}
    >>> own_view("events_scored", {"customer_id": "cus-1", "employee_id": "", "text": "late again"}, "customer")
    {'customer_id': 'cus-1', 'employee_id': '', 'text': 'late again'}
    """
    if table != "events_scored":
        return row
    row = dict(row)
    if subject_type == "employee":
        if row.get("customer_id"):
            row["customer_id"] = OTHER_PERSON
    elif row.get("employee_id"):
        row["employee_id"] = OTHER_PERSON
        if row.get("text"):
            row["text"] = OTHERS_TEXT
        if "content_hash" in row:  # a hash of the other person's text
            row["content_hash"] = ""
    return row


def about() -> dict[str, str]:
    """What each exported section holds, in plain words (the retention declaration's own descriptions).

    >>> about()["events_scored"]
    'one row per event: customer id or employee pseudonym, team, scores, metadata; the raw text of reviews, tickets, chats and survey comments'
    """
    out: dict[str, list[str]] = {}
    for r in sorted(RETENTION, key=lambda r: r.column is not None):  # a table's rows before a column of it
        out.setdefault(r.table, []).append(r.holds)
    return {**{t: "; ".join(h) for t, h in out.items()}, **ABOUT_EXTRA}


def plain(value: Any) -> Any:
    """A stored value as JSON: times in ISO 8601, maps and arrays as objects and lists, floats rounded.

    >>> plain({"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "p": 0.699999988079071, "r": ("a",)})
    {'at': '2026-01-02T03:04:05+00:00', 'p': 0.7, 'r': ['a']}
    >>> plain(float("nan")) is None
    True
    """
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def section(table: str, rows: list[dict]) -> list[dict]:
    """A table's rows as exported: JSON columns parsed, plain values, oldest first.

    >>> section("alerts_audit", [{"created_at": "2026-02", "inputs": '{"tickets": 3}'},
    ...                          {"created_at": "2026-01", "inputs": "not json"}])
    [{'created_at': '2026-01', 'inputs': 'not json'}, {'created_at': '2026-02', 'inputs': {'tickets': 3}}]
    """
    out = []
    for row in rows:
        row = dict(row)
        for col in JSON_COLUMNS.get(table, ()):
            if isinstance(row.get(col), str):
                try:
                    row[col] = json.loads(row[col])
                except ValueError:
                    pass
        out.append(plain(row))
    clock = next((c for c in TIME_COLUMNS if out and c in out[0]), None)
    return sorted(out, key=lambda r: str(r.get(clock) or "")) if clock else out


def person_rows(store, subject: Subject) -> dict[str, list[dict]]:
    """Every row the store holds about ``subject``, per table (tables the store lacks are left out)."""
    params = {"id": subject.entity_id, "type": subject.entity_type}
    engines = {r["name"]: r["engine"] for r in store.query_dicts(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase()")}

    def rows(table: str, where: str, p: dict) -> list[dict]:
        final = " FINAL" if "Replacing" in engines.get(table, "") else ""
        return store.query_dicts(f"SELECT * FROM {table}{final} WHERE {where}", p)

    out = {t.table: rows(t.table, t.where, params) for t in ERASABLE if t.table in engines}
    alerts = next(t for t in ERASABLE if t.table == "alerts_audit")
    if OUTCOMES_TABLE in engines and OUTCOMES_TABLE not in out:
        out[OUTCOMES_TABLE] = rows(OUTCOMES_TABLE, f"alert_id IN (SELECT alert_id FROM alerts_audit WHERE {alerts.where})",
                                   params)
    out[AUDIT_TABLE] = earlier_erasures(store, subject) if AUDIT_TABLE in engines else []
    out[ACCESS_TABLE] = rows(ACCESS_TABLE, "subject_hash = {h:String}", {"h": subject.subject_hash}) \
        if ACCESS_TABLE in engines else []
    return out


def found(rows: dict[str, list]) -> bool:
    """Anything about the person, or a record that they were erased; earlier look-ups alone do not count
    (a mistyped id looked up twice would otherwise be "found" the second time).

    >>> found({"events_scored": [], "data_access_audit": [{"x": 1}]}), found({"erasures": [{"x": 1}]})
    (False, True)
    """
    return any(v for t, v in rows.items() if t != ACCESS_TABLE)


def document(subject: Subject, raw_id: str, rows: dict[str, list[dict]], at: datetime) -> dict:
    """The export: who it is about, what is held per table (with what each table is), what is not here.

    >>> from pulsewire.streams.erasure import subject_of
    >>> from pulsewire.streams.privacy import KeyRing
    >>> s = subject_of(KeyRing(b"0123456789abcdef-test-key"), customer="cus_9")
    >>> d = document(s, "cus_9", {"events_scored": [{"kind": "review", "occurred_at": "2026-01-01"}]},
    ...              datetime(2026, 1, 2, tzinfo=timezone.utc))
    >>> d["subject"], d["counts"], d["data"]["events_scored"][0]["kind"]
    ({'type': 'customer', 'id': 'cus_9', 'stored_as': 'cus_9'}, {'events_scored': 1}, 'review')
    >>> sorted(d["not_per_person"]) == sorted(t for t in NOT_PER_PERSON if t not in (AUDIT_TABLE, ACCESS_TABLE))
    True
    """
    descriptions = about()
    return {
        "format": FORMAT,
        "generated_at": at.isoformat(),
        "subject": {"type": subject.entity_type, "id": raw_id, "stored_as": subject.entity_id},
        "counts": {t: len(v) for t, v in rows.items()},
        "data": {t: section(t, [own_view(t, r, subject.entity_type) for r in v]) for t, v in rows.items()},
        "other_people": OTHERS,
        "about": {t: descriptions.get(t, "") for t in rows},
        "not_per_person": {t: why for t, why in NOT_PER_PERSON.items() if t not in (AUDIT_TABLE, ACCESS_TABLE)},
        "not_here": list(NOT_HERE),
    }


def access_row(subject: Subject, counts: dict[str, int], *, requested_by: str = "", os_user: str = "",
               at: datetime | None = None, access_id: str | None = None, command: str = "export") -> dict:
    """The row recorded in ``data_access_audit``: the subject as its keyed hash, never an id."""
    returned = {t: int(n) for t, n in counts.items() if t != ACCESS_TABLE}
    return {"access_id": access_id or uuid.uuid4().hex, "accessed_at": at or datetime.now(timezone.utc),
            "command": command, "subject_hash": subject.subject_hash, "subject_type": subject.entity_type,
            "requested_by": requested_by, "os_user": os_user,
            "found": int(any(returned.values())),
            "rows_returned": returned, "rows_total": sum(returned.values())}


def export_person(store, subject: Subject, raw_id: str, *, requested_by: str = "", os_user: str = "",
                  at: datetime | None = None) -> tuple[dict, dict]:
    """Read everything about ``subject``, record the look-up, and return (the export, the audit row).
    The look-up is recorded before anything is returned, also when nothing was found."""
    at = at or datetime.now(timezone.utc)
    rows = person_rows(store, subject)
    audit = access_row(subject, {t: len(v) for t, v in rows.items()}, requested_by=requested_by,
                       os_user=os_user, at=at)
    store.insert_rows(ACCESS_TABLE, [audit])
    return document(subject, raw_id, rows, at), audit
