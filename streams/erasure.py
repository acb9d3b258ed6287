"""Erasure on request (``pulsewire forget``): who a request is about, what it removes, what it records.

The CLI publishes an erasure request on ``privacy.erasure``, keyed by the entity id the pipeline
uses (the customer id, or the employee's pseudonym), so the worker that owns the person's feature
state (``scored.text`` is keyed the same way) gets it. That worker removes the person's rows from
every per-person ClickHouse table (``ERASABLE``), drops and tombstones their state, records the
erasure in ``erasures`` and answers on ``privacy.erasure.receipts``. The worker does the ClickHouse
part too: on the embedded default it holds the only handle on the chDB store, and against a
server the same code path serves, so there is one procedure for both.

A subject is recorded only as a keyed hash (subkey ``erasure``): the audit table proves that a
person was erased to whoever holds the key and their id, and tells nobody else who it was.

>>> from pulsewire.streams.privacy import KeyRing
>>> keys = KeyRing(b"0123456789abcdef-test-key")
>>> s = subject_of(keys, employee="EMP-1042")
>>> s.entity_type, s.entity_id == keys.pseudonymise("EMP-1042"), s.state_key == "employee:" + s.entity_id
('employee', True, True)
>>> "EMP-1042" in s.subject_hash or s.entity_id in s.subject_hash, len(s.subject_hash)
(False, 32)
>>> subject_of(keys, customer="cus_9").entity_id
'cus_9'
>>> subject_of(keys, employee="EMP-1042", customer="cus_9")
Traceback (most recent call last):
...
ValueError: name exactly one person: --employee ID or --customer ID
"""

from __future__ import annotations

import hmac
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

REQUEST_TOPIC = "privacy.erasure"            # declared in streams/topics.py
RECEIPT_TOPIC = "privacy.erasure.receipts"   # declared in streams/topics.py
AUDIT_TABLE = "erasures"

ROLE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
PSEUDONYM = re.compile(r"^emp_[0-9a-f]{24}$")  # streams/privacy.py PREFIX + 24 hex characters
KEY_CHECK_LABEL = b"pulsewire/erasure/key-check"


@dataclass(frozen=True)
class Subject:
    entity_type: str   # customer | employee
    entity_id: str     # as the pipeline stores it: the customer id, or the employee's pseudonym
    subject_hash: str  # keyed hash (subkey "erasure"): the only form that reaches the audit table

    @property
    def state_key(self) -> str:
        """The person's key in the Faust table ``entity-features`` (see ``processor.route``)."""
        return f"{self.entity_type}:{self.entity_id}"


def subject_hash(keys, entity_type: str, entity_id: str) -> str:
    return hmac.new(keys.subkey("erasure"), f"{entity_type}\x1f{entity_id}".encode(), hashlib.sha256).hexdigest()[:32]


def subject_of(keys, *, employee: str | None = None, customer: str | None = None) -> Subject:
    """The subject of a request from the raw id the HR or CRM system knows (employees are pseudonymised)."""
    if bool(employee) == bool(customer):
        raise ValueError("name exactly one person: --employee ID or --customer ID")
    etype, eid = ("employee", keys.pseudonymise(employee)) if employee else ("customer", customer)
    return Subject(etype, eid, subject_hash(keys, etype, eid))


def check_id(option: str, raw: str) -> str:
    """A raw id as the HR or CRM system knows it: matched exactly, so stray spaces or a pseudonym
    (what burnout alerts show; pseudonymising it again would find nobody) are refused.

    >>> check_id("--employee", "EMP-1042")
    'EMP-1042'
    >>> check_id("--employee", "emp_1794361e1427d8428bb4e67e")
    Traceback (most recent call last):
    ...
    ValueError: --employee takes the id the HR system uses, not a pseudonym (emp_ and 24 hex characters, as alerts show it): look the person up in the HR system
    >>> check_id("--customer", " cus_9")
    Traceback (most recent call last):
    ...
    ValueError: --customer has spaces before or after the id: ids are matched exactly, pass it without them
    """
    if raw != raw.strip():
        raise ValueError(f"{option} has spaces before or after the id: ids are matched exactly, pass it without them")
    if option == "--employee" and PSEUDONYM.match(raw):
        raise ValueError(f"{option} takes the id the HR system uses, not a pseudonym (emp_ and 24 hex characters, "
                         "as alerts show it): look the person up in the HR system")
    return raw


def check_role(role: str) -> str:
    """``--by`` names a role (who, in the organisation's terms), never a person.

    >>> check_role("hr-admin")
    'hr-admin'
    >>> check_role("Jane Doe <jane@example.com>")
    Traceback (most recent call last):
    ...
    ValueError: --by takes a role such as hr-admin or dpo (lower-case letters, digits, - and _; 2-40 characters), not a person's name or address
    """
    if not ROLE.match(role or ""):
        raise ValueError("--by takes a role such as hr-admin or dpo (lower-case letters, digits, - and _; "
                         "2-40 characters), not a person's name or address")
    return role


# ------------------------------------------------------------------------------------- requests on the topic
def key_check(keys) -> str:
    """A fingerprint of the key (HMAC of a fixed label under the ``erasure`` subkey, never the key):
    a worker with another key would look for a pseudonym nobody has, so it refuses the request.

    >>> from pulsewire.streams.privacy import KeyRing
    >>> a = key_check(KeyRing(b"0123456789abcdef-test-key"))
    >>> a == key_check(KeyRing(b"0123456789abcdef-test-key")), a == key_check(KeyRing(b"wrongkeywrongkey1234")), len(a)
    (True, False, 16)
    """
    return hmac.new(keys.subkey("erasure"), KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]


def request_message(request_id: str, subject: Subject, by: str, at: datetime, check: str) -> bytes:
    return json.dumps({"schema_version": 2, "request_id": request_id, "entity_type": subject.entity_type,
                       "entity_id": subject.entity_id, "requested_by": by,
                       "requested_at": at.isoformat(), "key_check": check}).encode()


def refusal(request: dict, keys) -> dict | None:
    """The receipt refusing a request made with another key (or none), else None.

    >>> from pulsewire.streams.privacy import KeyRing
    >>> k = KeyRing(b"0123456789abcdef-test-key")
    >>> refusal({"request_id": "r1", "key_check": key_check(k)}, k) is None
    True
    >>> refusal({"request_id": "r1", "key_check": key_check(KeyRing(b"wrongkeywrongkey1234"))}, k)["refused"]
    'key_mismatch'
    >>> refusal({"request_id": "r1"}, k)["refused"]
    'key_mismatch'
    """
    if hmac.compare_digest(str(request.get("key_check", "")), key_check(keys)):
        return None
    return {"request_id": request["request_id"], "refused": "key_mismatch",
            "detail": "the worker runs with another PULSEWIRE_PSEUDONYM_KEY than the request was made with; "
                      "nothing was erased or recorded"}


def parse_request(raw: bytes, keys) -> tuple[dict, Subject]:
    r = json.loads(raw)
    if r.get("entity_type") not in ("customer", "employee") or not r.get("entity_id") or not r.get("request_id"):
        raise ValueError("an erasure request needs request_id, entity_type (customer | employee) and entity_id")
    check_role(r.get("requested_by", ""))
    return r, Subject(r["entity_type"], r["entity_id"], subject_hash(keys, r["entity_type"], r["entity_id"]))


# ------------------------------------------------------------------------------------- ClickHouse
@dataclass(frozen=True)
class ErasableTable:
    table: str
    where: str  # a condition on {id:String} (and {type:String}) that selects one person's rows


#: Every table that holds rows about one person. A test fails when a migration adds a table that is
#: in neither this list nor ``NOT_PER_PERSON``.
ERASABLE: tuple[ErasableTable, ...] = (
    ErasableTable("events_scored", "if({type:String} = 'employee', employee_id, customer_id) = {id:String}"),
    ErasableTable("activity_events", "{type:String} = 'customer' AND customer_id = {id:String}"),
    ErasableTable("activity_daily", "{type:String} = 'customer' AND customer_id = {id:String}"),
    ErasableTable("predictions", "entity_id = {id:String}"),
    ErasableTable("risk_latest", "entity_id = {id:String}"),
    ErasableTable("learn_examples", "entity_id = {id:String}"),
    ErasableTable("alerts_audit", "subject = {id:String} AND subject_type = {type:String}"),
    ErasableTable("alert_outcomes", "subject = {id:String} AND subject_type = {type:String}"),
    ErasableTable("consent_audit", "{type:String} = 'employee' AND entity_id = {id:String}"),
)

#: Stored tables that hold no row about one person, and why. (Views store nothing: they read these.)
NOT_PER_PERSON: dict[str, str] = {
    "schema_migrations": "migrations applied",
    "pipeline_health": "counters per stage",
    "consumer_lag": "offsets per topic partition",
    "metrics_daily": "aggregates over at least the minimum group size",
    "sentiment_minute": "aggregates per minute; the buckets a person touched are rebuilt without them",
    "dead_letters": "rejected input of personal sources is stored redacted (no values)",
    "privacy_settings": "the small-group thresholds in force",
    "drift_events": "means over at least min_count values of a channel or a model, never a person's value",
    "bias_audit_daily": "the bias audit: aggregates per group of at least the minimum group size",
    AUDIT_TABLE: "the erasure audit: a keyed hash of the subject, never an id",
    "data_access_audit": "the data-access audit (pulsewire export): a keyed hash of the subject, never an id",
}

# The buckets of sentiment_minute are derived from these columns of events_scored: delete and
# rebuild use the same condition, so the rebuilt buckets hold exactly what events_scored still holds.
_BUCKETS_OF_EVENTS = ("toDateTime(toStartOfMinute(occurred_at), 'UTC') IN {minutes:Array(DateTime('UTC'))} "
                      "AND team_id IN {teams:Array(String)} AND kind IN {kinds:Array(String)} "
                      "AND source IN {sources:Array(String)}")
_BUCKETS = ("minute IN {minutes:Array(DateTime('UTC'))} AND team_id IN {teams:Array(String)} "
            "AND kind IN {kinds:Array(String)} AND source IN {sources:Array(String)}")
_REBUILD = """
INSERT INTO sentiment_minute (minute, author, kind, source, channel, product, team_id, events, scored, score_sum,
                              negative, neutral, positive, people, commenters)
SELECT
    toDateTime(toStartOfMinute(occurred_at), 'UTC') AS minute,
    if(employee_id != '', 'employee', 'customer') AS author,
    kind, source, channel, product, team_id,
    toUInt64(count()) AS events,
    toUInt64(countIf(sentiment_label != '')) AS scored,
    sum(toFloat64(ifNull(sentiment_score, 0))) AS score_sum,
    toUInt64(countIf(sentiment_label = 'negative')) AS negative,
    toUInt64(countIf(sentiment_label = 'neutral')) AS neutral,
    toUInt64(countIf(sentiment_label = 'positive')) AS positive,
    uniqExactState(if(employee_id != '', employee_id, customer_id)) AS people,
    uniqExactStateIf(if(employee_id != '', employee_id, customer_id), sentiment_label != '') AS commenters
FROM events_scored FINAL
WHERE """ + _BUCKETS_OF_EVENTS + """
GROUP BY minute, author, kind, source, channel, product, team_id"""

# Mutations rewrite the parts that hold the rows (a lightweight DELETE only masks them until a
# merge); mutations_sync = 2 returns when every replica has done so.
_DELETE = "ALTER TABLE {table} DELETE WHERE {where} SETTINGS mutations_sync = 2"


def existing_tables(store, stored_only: bool = False) -> set[str]:
    where = " AND engine LIKE '%MergeTree'" if stored_only else ""
    return {r["name"] for r in store.query_dicts(
        f"SELECT name FROM system.tables WHERE database = currentDatabase(){where}")}


def erase_rows(store, subject: Subject) -> tuple[dict[str, int], list[str]]:
    """Delete the subject's rows from every table in ``ERASABLE`` that the store has; return the
    rows removed per table and the teams their events were stored under (whose metric state holds
    them too). ``sentiment_minute`` buckets the subject's events fell into are rebuilt from what
    ``events_scored`` holds once they are gone (an event stored into one of those past minutes
    while the rebuild runs is counted twice there, like a replayed batch; see migration 0010)."""
    params = {"id": subject.entity_id, "type": subject.entity_type}
    present = existing_tables(store)
    removed: dict[str, int] = {}
    teams = [r["team_id"] for r in store.query_dicts(
        f"SELECT DISTINCT team_id FROM events_scored WHERE {ERASABLE[0].where} AND team_id != '' ORDER BY team_id",
        params)]
    buckets = _buckets(store, params)
    for t in ERASABLE:
        if t.table not in present:
            continue
        n = int(store.query_dicts(f"SELECT count() AS n FROM {t.table} WHERE {t.where}", params)[0]["n"])
        if n:
            store.command(_DELETE.format(table=t.table, where=t.where), params)
        removed[t.table] = n
    if buckets and "sentiment_minute" in present:
        store.command(_DELETE.format(table="sentiment_minute", where=_BUCKETS), buckets)
        store.command(_REBUILD, buckets)
    return removed, teams


def _buckets(store, params: dict) -> dict | None:
    rows = store.query_dicts(
        "SELECT groupUniqArray(toDateTime(toStartOfMinute(occurred_at), 'UTC')) AS minutes, "
        "groupUniqArray(team_id) AS teams, groupUniqArray(toString(kind)) AS kinds, "
        f"groupUniqArray(toString(source)) AS sources FROM events_scored WHERE {ERASABLE[0].where}", params)
    return rows[0] if rows and rows[0]["minutes"] else None


def earlier_erasures(store, subject: Subject) -> list[dict]:
    return store.query_dicts(f"SELECT * FROM {AUDIT_TABLE} FINAL "
                             "WHERE subject_hash = {h:String} ORDER BY erased_at", {"h": subject.subject_hash})


# ------------------------------------------------------------------------------------- audit and receipt
def audit_row(request: dict, subject: Subject, rows: dict[str, int], state: list[str], earlier: int,
              at: datetime | None = None) -> dict:
    """The row in ``erasures`` and, as JSON, the receipt: no id of the subject, only its keyed hash.

    >>> from pulsewire.streams.privacy import KeyRing
    >>> s = subject_of(KeyRing(b"0123456789abcdef-test-key"), customer="cus_9")
    >>> r = audit_row({"request_id": "r1", "requested_by": "dpo", "requested_at": "2026-01-02T03:04:05+00:00"},
    ...               s, {"events_scored": 3, "predictions": 0}, ["entity-features"], earlier=0)
    >>> r["rows_total"], r["state_removed"], "cus_9" in json.dumps(r, default=str)
    (3, ['entity-features'], False)
    """
    return {"request_id": request["request_id"], "subject_hash": subject.subject_hash,
            "subject_type": subject.entity_type, "requested_by": request["requested_by"],
            "requested_at": datetime.fromisoformat(request["requested_at"]),
            "erased_at": at or datetime.now(timezone.utc), "rows_removed": dict(rows),
            "rows_total": sum(rows.values()), "state_removed": list(state), "earlier_erasures": earlier}


def receipt_message(row: dict) -> bytes:
    return json.dumps(row, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)).encode()


def not_found(receipt: dict) -> bool:
    """Nothing to erase and never erased before: most likely a wrong id (such a request is not recorded).

    >>> not_found({"rows_total": 0, "state_removed": [], "earlier_erasures": 0})
    True
    >>> not_found({"rows_total": 0, "state_removed": [], "earlier_erasures": 1})
    False
    """
    return not receipt.get("refused") and not receipt["rows_total"] and not receipt["state_removed"] \
        and not receipt["earlier_erasures"]


def describe(receipt: dict) -> str:
    """What ``pulsewire forget`` prints.

    >>> print(describe({"subject_type": "customer", "subject_hash": "ab" * 16, "rows_total": 0,
    ...                 "rows_removed": {"events_scored": 0}, "state_removed": [], "earlier_erasures": 1,
    ...                 "request_id": "r2", "requested_by": "dpo"}))
    nothing left to erase for this customer: no rows, no state (erased before: 1 time). Recorded as request r2 by dpo (subject abababababab...).
    >>> print(describe({"subject_type": "customer", "subject_hash": "ab" * 16, "rows_total": 0,
    ...                 "rows_removed": {"events_scored": 0}, "state_removed": [], "earlier_erasures": 0,
    ...                 "request_id": "r3", "requested_by": "dpo"}))
    no data found for this id under this key: check the id (nothing erased, nothing recorded; request r3)
    """
    if receipt.get("refused"):
        return f"refused: {receipt['detail']}"
    if not_found(receipt):
        return ("no data found for this id under this key: check the id (nothing erased, nothing recorded; "
                f"request {receipt['request_id']})")
    where = f"request {receipt['request_id']} by {receipt['requested_by']} (subject {receipt['subject_hash'][:12]}...)"
    if not receipt["rows_total"] and not receipt["state_removed"]:
        before = receipt["earlier_erasures"]
        return (f"nothing left to erase for this {receipt['subject_type']}: no rows, no state"
                f"{f' (erased before: {before} time' + ('s' if before > 1 else '') + ')' if before else ''}. "
                f"Recorded as {where}.")
    rows = ", ".join(f"{t} {n}" for t, n in receipt["rows_removed"].items() if n) or "none"
    state = ", ".join(receipt["state_removed"]) or "none"
    return (f"erased this {receipt['subject_type']}: {receipt['rows_total']} rows ({rows}); state: {state}. "
            f"Recorded as {where}.")
