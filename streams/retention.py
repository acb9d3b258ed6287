"""How long the store keeps what it holds: every ClickHouse table, declared once, with its TTL.

Each table that holds data has a TTL; the days come from a setting where an operator would want
to choose (``PULSEWIRE_<SETTING>``), else they are fixed. Rows count from when pulsewire stored
them (a backfill of old events is not deleted on arrival); raw text from when it was written.
Migrations (0040, 0044) set the defaults; the worker applies the configured days
(``open_from_settings(..., apply_retention=True)``), and only the worker.
Commands that only read a store never change a TTL. A table without a TTL must be in ``KEPT``
with the reason (a test lists the store's tables and fails otherwise). Topics' retention is
declared with the topics (``streams/topics.py``).

>>> r = by_setting()["raw_text_ttl_days"][0]
>>> r.table, r.column, r.ttl(30)
('events_scored', 'text', 'toDateTime(occurred_at) + toIntervalDay(30)')
>>> alter(r, 30)
"ALTER TABLE events_scored MODIFY COLUMN text String DEFAULT '' TTL toDateTime(occurred_at) + toIntervalDay(30)"
>>> alter(by_setting()["audit_ttl_days"][0], 400)
'ALTER TABLE alerts_audit MODIFY TTL toDateTime(created_at) + toIntervalDay(400)'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableRetention:
    table: str
    holds: str  # what, in plain words (docs/privacy.md repeats it)
    clock: str  # the time the TTL counts from (SQL)
    setting: str | None = None  # the Settings field that chooses the days
    days: int | None = None  # fixed days, where no setting chooses them
    column: str | None = None  # a column TTL: the value is cleared, the row stays
    column_type: str = ""  # the column's type and default, as MODIFY COLUMN needs them

    def ttl(self, days: int) -> str:
        return f"{self.clock} + toIntervalDay({int(days)})"


TABLES: tuple[TableRetention, ...] = (
    TableRetention("events_scored", "the raw text of reviews, tickets, chats and survey comments",
                   "toDateTime(occurred_at)", setting="raw_text_ttl_days", column="text",
                   column_type="String DEFAULT ''"),
    TableRetention("events_scored", "one row per event: customer id or employee pseudonym, team, scores, metadata",
                   "toDateTime(ingested_at)", setting="events_ttl_days"),
    TableRetention("sentiment_minute", "per-minute sentiment sums by team, channel and product, with distinct-people "
                   "counts", "stored_at", setting="events_ttl_days"),
    TableRetention("activity_events", "raw activity events (what a customer did: type, time, quantity, amount, "
                   "product, session id, attributes), one row each", "toStartOfDay(stored_at)",
                   setting="activity_raw_days"),
    TableRetention("activity_daily", "per customer, day, type and currency: how many activity events, purchases, "
                   "quantity and amount sums, first and last time", "toDateTime(computed_at)", setting="events_ttl_days"),
    TableRetention("predictions", "every churn and burnout probability per customer or employee pseudonym",
                   "toDateTime(stored_at)", setting="predictions_ttl_days"),
    TableRetention("risk_latest", "the latest churn or burnout probability and reasons per person",
                   "toDateTime(stored_at)", setting="predictions_ttl_days"),
    TableRetention("learn_examples", "training examples: a person's features at prediction time and the label",
                   "toDateTime(stored_at)", setting="predictions_ttl_days"),
    TableRetention("alerts_audit", "every alert raised, with its inputs, score, threshold and model version",
                   "toDateTime(created_at)", setting="audit_ttl_days"),
    TableRetention("alert_outcomes", "what people judged of each alert (acted, not useful, wrong, already known), "
                   "their role, an optional note, and the alert's subject, kind and model version",
                   "toDateTime(stored_at)", setting="audit_ttl_days"),
    TableRetention("consent_audit", "every change of an employee's consent: pseudonym, old and new answer, source",
                   "toDateTime(recorded_at)", setting="audit_ttl_days"),
    TableRetention("data_access_audit", "every look-up of one person's data (pulsewire export): when, the role and "
                   "login that ran it, rows returned; the person only as a keyed hash",
                   "toDateTime(accessed_at)", setting="audit_ttl_days"),
    TableRetention("metrics_daily", "daily eNPS, CSAT, retention, turnover and sentiment per company, team, channel",
                   "toDateTime(computed_at)", setting="metrics_ttl_days"),
    TableRetention("drift_events", "drift events: means of sentiment scores, model errors and features before and "
                   "after a change (no personal data)", "toDateTime(stored_at)", days=365),
    TableRetention("bias_audit_daily", "the daily bias audit: alert rates, risk and quality per group of at least the "
                   "minimum group size (no row per person)", "toDateTime(computed_at)", setting="metrics_ttl_days"),
    TableRetention("pipeline_health", "events, batches and dead letters per pipeline stage (no personal data)",
                   "toDateTime(ts)", days=30),
    TableRetention("consumer_lag", "Kafka consumer lag per topic and partition (no personal data)",
                   "toDateTime(ts)", days=30),
    TableRetention("dead_letters", "rejected input, redacted for personal sources: reason, detail, field names",
                   "toDateTime(least(failed_at, stored_at))", setting="dead_letter_ttl_days"),
)

#: Tables kept without a TTL, and why.
KEPT: dict[str, str] = {
    "schema_migrations": "which migrations ran and when: no personal data, and needed as long as the store exists",
    "erasures": "the record that an erasure was done (keyed hash of the subject, counts, a role, times): the proof "
                "owed to the person and a regulator; it holds no id, pseudonym or value",
    "privacy_settings": "the group-size thresholds the privacy views apply (a few rows per worker start; no personal data)",
}


def by_setting() -> dict[str, list[TableRetention]]:
    out: dict[str, list[TableRetention]] = {}
    for r in TABLES:
        if r.setting:
            out.setdefault(r.setting, []).append(r)
    return out


def days_from_settings(settings) -> dict[str, int]:
    """The configured days of every retention setting: what the worker applies."""
    return {name: int(getattr(settings, name)) for name in by_setting()}


def alter(r: TableRetention, days: int) -> str:
    if r.column:
        return f"ALTER TABLE {r.table} MODIFY COLUMN {r.column} {r.column_type} TTL {r.ttl(days)}"
    return f"ALTER TABLE {r.table} MODIFY TTL {r.ttl(days)}"


def current_ttl(create_sql: str, r: TableRetention) -> str | None:
    """The TTL expression ``r`` has now, read from ``SHOW CREATE TABLE`` (one clause per line)."""
    for line in str(create_sql).replace("\\n", "\n").splitlines():
        line = line.strip().rstrip(",")
        if r.column and line.startswith(f"`{r.column}` ") and " TTL " in line:
            return line.split(" TTL ", 1)[1]
        if not r.column and line.startswith("TTL "):
            return line[4:]
    return None


def apply(client, days: Mapping[str, int]) -> list[str]:
    """Give every table the TTL its setting chooses; change only what differs. Returns the ALTERs run."""
    done = []
    for name, rules in by_setting().items():
        if name not in days:
            continue
        for r in rules:
            if current_ttl(client.command(f"SHOW CREATE TABLE {r.table}"), r) != r.ttl(days[name]):
                client.command(alter(r, days[name]))
                done.append(alter(r, days[name]))
                log.info("retention: %s%s now %d days (%s)", r.table, f".{r.column}" if r.column else "",
                         days[name], name)
    return done
