"""The table sinks (streams/sinks.py) on the real chDB store: a store that is away loses nothing,
a poison row is isolated into a dead letter, and several threads write at once."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.schemas.alerts import make_cloudevent
from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.streams.agents.alerts import audit_row
from pulsewire.streams.agents.features import prediction_rows
from pulsewire.streams.agents.learn import example_row
from pulsewire.streams.agents.sink import health_rows
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.rows import dead_letter_row, scored_row
from pulsewire.streams.sinks import SINKS, TableSink, dead_letter_fallback
from pulsewire.streams.store import http_client_args

KEYS = KeyRing(b"unit-test-key-0123456789")


class FlakyStore:
    """The real store, unreachable for its first ``failures`` calls (inserts and pings alike)."""

    def __init__(self, store, failures: int):
        self.store, self.failures, self.calls = store, failures, 0
        self._lock = threading.Lock()

    def _maybe_fail(self) -> None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise ConnectionRefusedError(f"[Errno 111] Connection refused (call {self.calls})")

    def insert_rows(self, table, rows):
        self._maybe_fail()
        return self.store.insert_rows(table, rows)

    def ping(self):
        self._maybe_fail()
        return self.store.ping()


def _now(days: float = 0.0) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=days)


def _scored(eid: str, occurred_at=None) -> dict:
    t = _now(1).isoformat()
    ev = {"event_id": eid, "source": "sinks", "kind": "review", "type": "review", "customer_id": "c1",
          "occurred_at": occurred_at or t, "ingested_at": t, "text": "fine", "attributes": {}}
    return {"event": ev, "sentiment": None}


def rows_for(table: str, tag: str) -> tuple[list[dict], str, str]:
    """Three rows for ``table`` and the SQL column + value that finds them."""
    t = _now(1)
    if table == "events_scored":
        return [scored_row(_scored(f"{tag}-{i}")) for i in range(3)], "source", "sinks"
    if table == "activity_events":
        from pulsewire.streams.activity import activity_row

        return [activity_row({**_scored(f"{tag}-{i}")["event"], "kind": "activity", "type": "login", "text": None,
                              "customer_id": tag}) for i in range(3)], "customer_id", tag
    if table == "dead_letters":
        return [dead_letter_row(DeadLetter.make(f"t.{tag}", f"x{i}", Reason.MALFORMED_JSON, "bad", personal_fields=[]),
                                KEYS) for i in range(3)], "source_topic", f"t.{tag}"
    if table == "pipeline_health":
        return health_rows({tag: {"events": i, "batches": 1, "busy_s": 0.1, "dead_letters": 0} for i in range(3)},
                           ts=t), "stage", tag
    if table in ("predictions", "risk_latest"):
        preds = [prediction_rows({"model": "churn", "entity_id": tag, "team_id": "", "event_id": f"e{i}",
                                  "t": t.timestamp() + i, "probability": 0.4, "baseline": 0.1, "model_version": "v1",
                                  "n_labels": 3, "n_pos": 1, "alerted": False, "consent": False,
                                  "entity_type": "customer", "reasons": [{"text": "slow replies"}]})
                 for i in range(3)]
        if table == "predictions":
            return [p for p, _ in preds], "entity_id", tag
        return [{**r, "model": f"m{i}"} for i, (_, r) in enumerate(preds)], "entity_id", tag
    if table == "learn_examples":
        return [example_row({"model": "churn", "id": f"{tag}-{i}", "entity_id": tag, "pred_event_id": "p",
                             "label_event_id": "l", "predicted_at": t.timestamp(), "labelled_at": t.timestamp(),
                             "y": 1, "p": 0.3, "x": {"a": 1.0}}, True) for i in range(3)], "entity_id", tag
    if table == "metrics_daily":
        return [{"day": (t - timedelta(days=i)).date(), "metric": "csat", "dimension": "all", "dimension_value": tag,
                 "value": 80.0, "n": 12, "window_days": 1} for i in range(3)], "dimension_value", tag
    if table == "alerts_audit":
        return [audit_row(make_cloudevent({"alert_type": "churn", "subject": tag, "subject_type": "customer",
                                           "trigger_event_id": f"e{i}", "t": t.timestamp(), "score": 0.7,
                                           "threshold": 0.3, "model_version": "v1", "reasons": []}),
                          "alerts.churn") for i in range(3)], "subject", tag
    if table == "consumer_lag":
        return [{"ts": t, "consumer_group": tag, "topic": f"events.{i}", "partition": -1, "committed": 1,
                 "end_offset": 2, "lag": 1} for i in range(3)], "consumer_group", tag
    if table == "consent_audit":
        return [{"entity_id": tag, "old_consent": None if i == 0 else i % 2, "new_consent": (i + 1) % 2,
                 "source": "hris", "event_id": f"ek_{i}", "occurred_at": t, "recorded_at": t} for i in range(3)], \
            "entity_id", tag
    if table == "alert_outcomes":
        from pulsewire.schemas.outcome import AlertOutcome
        from pulsewire.streams.agents.outcomes import outcome_row

        alert = {"alert_type": "churn", "subject": tag, "subject_type": "customer", "model_version": "v1",
                 "created_at": t, "occurred_at": t}
        return [outcome_row(AlertOutcome(outcome_id=f"o{i}", alert_id=f"a{i}", outcome="acted", role="other", when=t),
                            alert) for i in range(3)], "subject", tag
    if table == "erasures":
        from pulsewire.streams.erasure import Subject, audit_row as erasure_row

        return [erasure_row({"request_id": f"{tag}-{i}", "requested_by": "dpo", "requested_at": t.isoformat()},
                            Subject("customer", "c", tag), {"events_scored": i}, [], earlier=i)
                for i in range(3)], "subject_hash", tag
    if table == "drift_events":
        from pulsewire.models.oversight.drift import Change, DetectorParams
        from pulsewire.schemas.drift import Series, drift_row, make_drift_cloudevent

        return [drift_row(make_drift_cloudevent(Series("sentiment", "sentiment", dimension=f"channel:{tag}"),
                                                Change("down", t.timestamp() + i, t.timestamp() + 60 + i, 0.1, 200, -0.6,
                                                       30, 0.4), DetectorParams()))
                for i in range(3)], "dimension", f"channel:{tag}"
    if table == "bias_audit_daily":
        from pulsewire.models.oversight.audit import AuditRow
        from pulsewire.streams.bias_audit import daily_rows

        report = {"window": {"from": t.isoformat(), "to": t.isoformat()}, "min_group": 5,
                  "rows": [AuditRow("churn", "plan", tag, measure, "shown", people=40, n=40, value=0.1).as_dict()
                           for measure in ("alert_rate", "fpr", "recall")]}
        return daily_rows(report, t.date()), "group_name", tag
    raise AssertionError(f"no rows for {table}")


def _sink(table: str, store, dead: list, chunk_rows: int = 2) -> TableSink:
    async def dead_letter(dl):
        dead.append(dl)

    return TableSink(SINKS[table], lambda: store, chunk_rows=chunk_rows, dead_letter=dead_letter,
                     fallback=dead_letter_fallback, first_delay_s=0.01, max_delay_s=0.02)


def _count(store, table: str, column: str, value: str) -> int:
    final = "" if table in ("pipeline_health", "consumer_lag") else "FINAL"  # plain MergeTree: append-only
    return store.query_dicts(f"SELECT count() AS n FROM {table} {final} WHERE {column} = {{v:String}}",
                             {"v": value})[0]["n"]


@pytest.mark.parametrize("table", sorted(SINKS))
def test_a_store_that_fails_then_recovers_loses_nothing(store, table):
    tag = f"flaky-{uuid.uuid4().hex[:8]}"
    rows, column, value = rows_for(table, tag)
    flaky, dead = FlakyStore(store, failures=4), []
    poisoned = asyncio.run(_sink(table, flaky, dead).write(rows))
    assert (poisoned, dead) == (0, [])
    assert flaky.calls > 4  # it really failed first
    assert _count(store, table, column, value) == len(rows)


def test_a_poison_row_becomes_a_dead_letter_and_the_rest_is_stored(store):
    tag = f"poison-{uuid.uuid4().hex[:8]}"
    rows = [scored_row(_scored(f"{tag}-{i}")) for i in range(5)]
    rows[2] = {**rows[2], "rating": "five"}  # ClickHouse cannot store it in a Nullable(UInt8)
    dead = []
    assert asyncio.run(_sink("events_scored", store, dead, chunk_rows=10).write(rows)) == 1
    stored = store.query_dicts("SELECT event_id FROM events_scored FINAL WHERE event_id LIKE {p:String} "
                               "ORDER BY event_id", {"p": f"{tag}-%"})
    assert [r["event_id"] for r in stored] == [f"{tag}-{i}" for i in (0, 1, 3, 4)]
    assert [(d.reason, d.where) for d in dead] == [(Reason.STORE_REJECTED, "sink:events_scored")]
    assert f"{tag}-2" in dead[0].payload and "events_scored" in dead[0].detail


def test_a_batch_of_one_poison_row_is_isolated_not_retried_forever(store):
    row = {**scored_row(_scored(f"lone-{uuid.uuid4().hex[:8]}")), "rating": "five"}
    dead = []

    async def bounded():
        return await asyncio.wait_for(_sink("events_scored", store, dead).write([row]), timeout=30)

    assert asyncio.run(bounded()) == 1 and len(dead) == 1
    # the row's names are our table's columns: dead_letters may list them all
    assert dead_letter_row(dead[0], KEYS)["payload_fields"] == sorted(row)


def test_a_dead_letter_the_store_refuses_is_kept_as_a_fallback_row(store):
    tag = f"t.dlpoison-{uuid.uuid4().hex[:8]}"
    rows = [dead_letter_row(DeadLetter.make(tag, f"x{i}", Reason.MALFORMED_JSON, "bad", personal_fields=[]), KEYS)
            for i in range(3)]
    rows[1] = {**rows[1], "partition": "not a number"}
    dead = []
    assert asyncio.run(_sink("dead_letters", store, dead).write(rows)) == 1
    assert dead == []  # never back onto events.dlq
    got = store.query_dicts("SELECT dl_id, reason, payload, detail FROM dead_letters FINAL "
                            "WHERE source_topic = {t:String} ORDER BY payload", {"t": tag})
    assert [g["payload"] for g in got] == ["", "x0", "x2"]
    assert got[0]["dl_id"] == rows[1]["dl_id"] and got[0]["reason"] == "store_rejected"
    assert "ClickHouse refused" in got[0]["detail"]


def test_several_threads_write_at_once(store):
    """Every agent's insert runs in its own thread (asyncio.to_thread) on one store."""
    tag = f"threads-{uuid.uuid4().hex[:8]}"
    sinks = [_sink("events_scored", store, []) for _ in range(8)]

    async def all_at_once():
        await asyncio.gather(*(s.write([scored_row(_scored(f"{tag}-{k}-{i}")) for i in range(40)])
                               for k, s in enumerate(sinks)))

    asyncio.run(all_at_once())
    assert _count(store, "events_scored", "source", "sinks") >= 320
    assert store.query_dicts("SELECT count() AS n FROM events_scored FINAL WHERE event_id LIKE {p:String}",
                             {"p": f"{tag}-%"})[0]["n"] == 320


@pytest.mark.parametrize("url", ["http://clickhouse:8123", "https://ch.example.com/analytics"])
def test_server_clients_use_no_session_so_threads_can_share_them(url):
    # clickhouse-connect's sync client refuses concurrent queries within one session, and it makes
    # one up unless told not to; the worker's agents insert from several threads at once.
    assert http_client_args(url)["autogenerate_session_id"] is False
