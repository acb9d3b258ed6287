"""The privacy canary suite: canary ids and comment text through every built-in connector and a real
worker (``conftest.canary_run``), then every place the deployment keeps data is searched for them.

Where the canaries may be:
* canary ids: nowhere the suite scans. Only ``events.<kind>`` (what connectors produce, raw ids
  included; the validator pseudonymises them) and ``events.dlq`` (the documented raw dead-letter
  topic, short retention) hold them, and neither is scanned.
* the canary comment (an employee's survey comment and chat message): in the text-carrying hops
  and the one declared place at rest, see ``COMMENT_TABLE_COLUMNS`` and ``COMMENT_TOPICS``.

Spellings searched: as fed, lower-cased (the search ignores case), URL-encoded (``%40``, ``%23``,
``+``) and JSON-escaped. Run: ``pytest -m integration tests/privacy`` (see docs/privacy.md).
"""

from __future__ import annotations

import pytest

from pulsewire.schemas.events import KINDS
from pulsewire.streams.privacy import KeyRing

from . import canaries
from .canaries import COMMENT_NEEDLES, ID_NEEDLES, find

pytestmark = pytest.mark.integration

#: The one place at rest the comment text may be: the scored event's text, which the sentiment
#: panels are computed from and which the raw-text TTL (PULSEWIRE_RAW_TEXT_TTL_DAYS) removes.
COMMENT_TABLE_COLUMNS = {("events_scored", "text")}
#: The topics that carry an event's text from the validator to the scorer (events.valid) and from
#: the scorer to the sink (scored.text): the text is what they exist to deliver (7-day retention).
COMMENT_TOPICS = {"events.valid", "scored.text"}
#: Not scanned: what connectors produce (raw ids before the validator) and the raw dead letters.
RAW_TOPICS = {"events.dlq"} | {f"events.{k}" for k in KINDS}


def _table_findings(run, needles, allowed=frozenset()) -> list[str]:
    out = []
    for name, table in sorted(run.tables.items()):
        for row in table.get("rows", []):
            for col, value in row.items():
                if (name.split(".", 1)[1], col) in allowed:
                    continue
                for hit in find(value, needles):
                    out.append(f"{name}.{col} holds {hit!r}: {value[:160]!r}")
    return sorted(set(out))


def _topic_findings(run, needles, allowed=frozenset()) -> list[str]:
    out = []
    for topic, records in sorted(run.topics.items()):
        if topic in RAW_TOPICS or topic in allowed:
            continue
        for r in records:
            for part, text in (("key", r.key), ("value", r.value), ("headers", r.headers)):
                for hit in find(text, needles):
                    out.append(f"{topic} {part} holds {hit!r}: {text[:160]!r}")
    return sorted(set(out))


def _report(findings: list[str]) -> str:
    return f"{len(findings)} leak(s):\n" + "\n".join(findings[:40])


def test_the_canaries_went_through_every_connector_good_and_bad_rows(canary_run, pseudonym_key):
    """The run did what the other checks rely on: every connector produced good events and dead letters,
    the raw topics hold the canaries (so the search would find them), and the canary employees' events
    were stored under their pseudonyms with the comment text."""
    for instance, s in canary_run.stats.items():
        assert s["events"] > 0 and s["dead_letters"] > 0, (instance, s)
    assert [(r, want) for r, want, got in canary_run.webhook_status if want != got] == [], canary_run.webhook_status
    raw = " ".join(r.key + r.value for t in RAW_TOPICS for r in canary_run.topics.get(t, []))
    assert set(find(raw, ID_NEEDLES)) == set(ID_NEEDLES), "a canary id never reached a raw topic"
    assert find(raw, COMMENT_NEEDLES) == ["comment"]

    scored = next(t for n, t in canary_run.tables.items() if n.endswith(".events_scored"))["rows"]
    pseudonymise = KeyRing(pseudonym_key.encode()).pseudonymise
    stored = {r["employee_id"] for r in scored}
    for raw_id in (canaries.HR_NUMBER, canaries.HR_NUMBER_SPACED, canaries.EMAIL, canaries.SLACK_USER,
                   canaries.PSEUDONYM_SHAPED, canaries.INTERCOM_ADMIN):
        assert pseudonymise(raw_id) in stored, f"no event of {raw_id!r} was stored"
    assert any(canaries.COMMENT in r["text"] for r in scored)
    assert {r["source"] for r in scored} >= {"files-hr", "files-chat", "hris", "pulse", "generator", "slack",
                                             "intercom", "zendesk", "freshdesk"}


def test_every_clickhouse_table_was_read(canary_run):
    errors = {n: t["error"] for n, t in canary_run.tables.items() if "error" in t}
    assert errors == {}
    assert sum(1 for t in canary_run.tables.values() if "rows" in t) >= 10


def test_no_canary_id_in_any_clickhouse_table(canary_run):
    findings = _table_findings(canary_run, ID_NEEDLES)
    assert findings == [], _report(findings)


def test_comment_text_in_clickhouse_only_in_the_scored_text(canary_run):
    findings = _table_findings(canary_run, COMMENT_NEEDLES, allowed=COMMENT_TABLE_COLUMNS)
    assert findings == [], _report(findings)


def test_no_canary_id_on_any_topic_after_the_raw_ones(canary_run):
    """events.valid, scored.text, alerts.*, signals.metrics, learn.*, models.snapshots,
    connectors.cursors and the app's changelog topics: keys, values and headers."""
    scanned = set(canary_run.topics) - RAW_TOPICS
    assert {"events.valid", "scored.text", "signals.metrics", "connectors.cursors"} <= scanned
    assert any(t.endswith("-changelog") for t in scanned), sorted(scanned)
    findings = _topic_findings(canary_run, ID_NEEDLES)
    assert findings == [], _report(findings)


def test_comment_text_only_on_the_topics_that_carry_text(canary_run):
    findings = _topic_findings(canary_run, COMMENT_NEEDLES, allowed=COMMENT_TOPICS)
    assert findings == [], _report(findings)


def test_alert_payloads_hold_no_canary(canary_run):
    """What a CRM or HR system receives (alerts.*: alerts, drift events, outcomes) and the audit of it
    (alerts_audit)."""
    needles = ID_NEEDLES | COMMENT_NEEDLES
    alerts = {t: rs for t, rs in canary_run.topics.items() if t.startswith("alerts.")}
    assert {"alerts.churn", "alerts.burnout", "alerts.sentiment", "alerts.drift", "alerts.outcomes"} <= set(alerts)
    findings = [f"{t}: {hit!r}" for t, rs in alerts.items() for r in rs for hit in find(r.key + r.value, needles)]
    audit = next(t for n, t in canary_run.tables.items() if n.endswith(".alerts_audit"))
    findings += [f"alerts_audit: {hit!r}" for r in audit["rows"] for hit in find(" ".join(r.values()), needles)]
    assert findings == [], _report(sorted(set(findings)))


def test_the_worker_log_holds_no_canary(canary_run):
    assert canary_run.worker_log, "no worker log was written"
    lines = [ln for ln in canary_run.worker_log.splitlines() if find(ln, ID_NEEDLES | COMMENT_NEEDLES)]
    assert lines == [], _report(lines)


def test_the_html_board_holds_no_canary(canary_run):
    """The canary team is small (fewer than the minimum group size), so nothing about it is shown;
    and the board shows no raw id or comment text of anyone."""
    assert "<html" in canary_run.board_html.lower()
    hits = find(canary_run.board_html, ID_NEEDLES | COMMENT_NEEDLES) + find(canary_run.board_stderr, ID_NEEDLES)
    assert hits == [], f"pulsewire board wrote {hits}"


def test_hr_event_ids_change_with_the_pseudonym_key(canary_run):
    """The same HR records (HRIS, pulse, files, generator) under two keys: no stored HR event id may be
    the same, or whoever holds the HR export could recompute it without the key and find the person's
    answers and comments beside it."""
    ids, other = set(canary_run.hr_ids["key"]), set(canary_run.hr_ids["other key"])
    assert len(ids) > 20 and len(ids) == len(other), (len(ids), len(other))
    same = sorted(ids & other)
    by_source: dict[str, list[str]] = {}
    for event_id in same:
        by_source.setdefault(event_id.split(":")[0].split("-")[0], []).append(event_id)
    examples = {src: (len(v), v[:2]) for src, v in sorted(by_source.items())}
    assert same == [], f"{len(same)} of {len(ids)} HR event ids do not depend on the key: {examples}"
