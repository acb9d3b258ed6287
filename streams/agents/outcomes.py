"""outcomes: ``alerts.outcomes`` → ``alert_outcomes`` in ClickHouse, joined to the alert in ``alerts_audit``.

Per batch: every record is validated (``parse_outcome``); a bad one becomes a dead letter with a
machine-readable reason. The valid ones are looked up in ``alerts_audit`` (kind, model version,
subject, times) and in ``alert_outcomes`` (already stored?):

* an alert id ``alerts_audit`` does not hold: dead letter ``unknown_alert`` (not kept pending: an
  outcome comes from a person who saw the alert, by then long audited; the record stays on
  ``events.dlq`` for its retention and can be sent again);
* an outcome id already stored with the same content: nothing happens (a replay, a re-send);
* an outcome id already stored with other content: dead letter ``conflicting_duplicate`` (the first stays);
* else a row in ``alert_outcomes``, written before the batch is acknowledged.

With ``PULSEWIRE_OUTCOMES_AS_LABELS`` on (off by default), a stored ``wrong`` outcome of a churn
alert that stands (no later outcome of the alert is stored) also becomes a negative training example
on ``learn.churn``, built from the features the alert recorded; it is logged and counted
(``outcome_labels`` in the stage counters), never silent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone

from pydantic import ValidationError

from pulsewire.models.learners.labels import example_id
from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.schemas.outcome import AlertOutcome

from ..json_input import JsonRejected, loads_json
from ..validation import _describe, _reason_for
from ._common import Batch, run_batches, send_dead_letter

log = logging.getLogger("pulsewire.agents.outcomes")

TOPIC = "alerts.outcomes"
TABLE = "alert_outcomes"
FIELDS = list(AlertOutcome.model_fields)


class OutcomeRejected(ValueError):
    def __init__(self, reason: Reason, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def parse_outcome(raw: bytes) -> AlertOutcome:
    """One record of ``alerts.outcomes`` as an ``AlertOutcome``, or ``OutcomeRejected`` with the reason.

    >>> parse_outcome(b'{"outcome_id": "o1", "alert_id": "a1", "outcome": "acted", "role": "other",'
    ...               b' "when": "2026-11-02T09:30:00Z"}').outcome
    'acted'
    >>> def why(raw):
    ...     try:
    ...         parse_outcome(raw)
    ...     except OutcomeRejected as exc:
    ...         return exc.reason.value
    >>> why(b'{oops'), why(b'[1]'), why(b'{"alert_id": "a1"}')
    ('malformed_json', 'not_an_object', 'missing_field')
    >>> ok = {"outcome_id": "o1", "alert_id": "a1", "outcome": "acted", "role": "other", "when": "2026-11-02T09:30:00Z"}
    >>> why(json.dumps({**ok, "outcome": "great"}).encode()), why(json.dumps({**ok, "when": "2026-11-02T09:30"}).encode())
    ('invalid_value', 'naive_timestamp')
    """
    try:
        obj = loads_json(raw)
    except JsonRejected as exc:
        raise OutcomeRejected(exc.reason, exc.detail) from None
    except ValueError as exc:
        raise OutcomeRejected(Reason.MALFORMED_JSON, f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise OutcomeRejected(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
    try:
        return AlertOutcome.model_validate(obj)
    except ValidationError as exc:
        raise OutcomeRejected(_reason_for(exc), _describe(exc)) from None


def content_hash(o: AlertOutcome) -> str:
    """What tells a re-sent outcome (same hash) from another one under the same id."""
    return hashlib.sha256(o.model_dump_json(exclude_none=True).encode()).hexdigest()


def outcome_row(o: AlertOutcome, alert: dict) -> dict:
    """The ``alert_outcomes`` row of an outcome and the ``alerts_audit`` row of its alert.

    >>> t = datetime(2026, 11, 2, tzinfo=timezone.utc)
    >>> o = AlertOutcome(outcome_id="o1", alert_id="a1", outcome="wrong", role="hr_partner", when=t)
    >>> r = outcome_row(o, {"alert_type": "burnout", "subject": "emp_x", "subject_type": "employee", "team_id": "t1",
    ...                     "model_version": "burnout-v2", "created_at": t, "occurred_at": t})
    >>> r["outcome"], r["note"], r["alert_type"], r["model_version"]
    ('wrong', '', 'burnout', 'burnout-v2')
    """
    return {"outcome_id": o.outcome_id, "alert_id": o.alert_id, "outcome": o.outcome, "role": o.role,
            "note": o.note or "", "outcome_at": o.when.astimezone(timezone.utc), "alert_type": alert["alert_type"],
            "subject": alert["subject"], "subject_type": alert["subject_type"], "team_id": alert.get("team_id") or "",
            "model_version": alert["model_version"], "alert_created_at": alert["created_at"],
            "alert_occurred_at": alert["occurred_at"], "content_hash": content_hash(o)}


def standing_key(o: AlertOutcome) -> tuple[datetime, str]:
    """What orders the outcomes of one alert (``schemas.outcome.winner``), at the store's millisecond precision.

    >>> standing_key(AlertOutcome(outcome_id="o1", alert_id="a1", outcome="acted", role="other",
    ...                           when="2026-11-02T09:30:00.123456+01:00"))
    (datetime.datetime(2026, 11, 2, 8, 30, 0, 123000, tzinfo=datetime.timezone.utc), 'o1')
    """
    when = o.when.astimezone(timezone.utc)
    return when.replace(microsecond=when.microsecond // 1000 * 1000), o.outcome_id


def label_example(o: AlertOutcome, alert: dict, as_labels: bool) -> dict | None:
    """The negative training example a ``wrong`` churn alert offers the learner when the policy
    (``as_labels``, ``PULSEWIRE_OUTCOMES_AS_LABELS``) says so, else None.

    Built from the features the alert recorded (``alerts_audit.inputs``), labelled 0 (did not churn as
    predicted); one per alert, whatever how many ``wrong`` outcomes it gets (the id derives from the alert).

    >>> t = datetime(2026, 11, 2, tzinfo=timezone.utc)
    >>> o = AlertOutcome(outcome_id="o1", alert_id="a1", outcome="wrong", role="account_manager", when=t)
    >>> alert = {"alert_type": "churn", "subject": "cus-1", "score": 0.8, "model_version": "churn-v3",
    ...          "occurred_at": t, "inputs": '{"inputs": {"neg_tickets_7d": 3.0, "plan": "pro"}, '
    ...          '"trigger_event_id": "ev-9"}'}
    >>> ex = label_example(o, alert, as_labels=True)
    >>> ex["y"], ex["x"], ex["pred_event_id"], ex["label_event_id"]
    (0, {'neg_tickets_7d': 3.0}, 'ev-9', 'outcome:o1')
    >>> label_example(o, alert, as_labels=False) is None  # the default policy: never
    True
    >>> label_example(o.model_copy(update={"outcome": "acted"}), alert, as_labels=True) is None
    True
    """
    if not as_labels or o.outcome != "wrong" or alert["alert_type"] != "churn":
        return None
    recorded = json.loads(alert.get("inputs") or "{}")
    x = {k: float(v) for k, v in (recorded.get("inputs") or {}).items()
         if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not x:
        return None
    trigger = recorded.get("trigger_event_id") or o.alert_id
    t_pred = alert["occurred_at"].timestamp()
    return {"id": example_id("churn", alert["subject"], f"outcome:{o.alert_id}"), "model": "churn",
            "entity_id": alert["subject"], "pred_event_id": trigger, "label_event_id": f"outcome:{o.outcome_id}",
            "predicted_at": t_pred, "labelled_at": max(t_pred, o.when.timestamp()), "x": x, "y": 0,
            "p": float(alert.get("score") or 0.0), "b": None, "model_version": alert.get("model_version", ""),
            "n_labels": 0, "n_pos": 0, "w": 1.0, "source": "alert_outcome"}


# ------------------------------------------------------------------------------------- store look-ups
def _alerts(store, ids: list[str]) -> dict[str, dict]:
    rows = store.query_dicts(
        "SELECT alert_id, alert_type, subject, subject_type, team_id, model_version, score, inputs, created_at, "
        "occurred_at FROM alerts_audit FINAL WHERE alert_id IN {ids:Array(String)}", {"ids": ids})
    return {r["alert_id"]: r for r in rows}


def _standing(store, alert_ids: list[str]) -> dict[str, tuple[datetime, str]]:
    rows = store.query_dicts(f"SELECT alert_id, max((outcome_at, outcome_id)) AS k FROM {TABLE} "
                             "WHERE alert_id IN {ids:Array(String)} GROUP BY alert_id", {"ids": alert_ids})
    return {r["alert_id"]: (r["k"][0].astimezone(timezone.utc), r["k"][1]) for r in rows}


def _stored(store, ids: list[str]) -> dict[str, str]:
    rows = store.query_dicts(f"SELECT outcome_id, any(content_hash) AS h FROM {TABLE} "
                             "WHERE outcome_id IN {ids:Array(String)} GROUP BY outcome_id", {"ids": ids})
    return {r["outcome_id"]: r["h"] for r in rows}


def install(app, ctx) -> None:
    sink = ctx.sinks[TABLE]
    as_labels = ctx.settings.outcomes_as_labels

    async def dead(batch: Batch, rec, reason: Reason, detail: str) -> None:
        batch.dead_letters += 1
        await send_dead_letter(ctx, DeadLetter.make(TOPIC, rec.raw, reason, detail, where="outcomes",
                                                    partition=rec.partition, offset=rec.offset, known_fields=FIELDS))

    async def handle(batch: Batch) -> None:
        valid = []
        for rec in batch.records:
            try:
                valid.append((rec, parse_outcome(rec.raw)))
            except OutcomeRejected as exc:
                await dead(batch, rec, exc.reason, exc.detail)
        if not valid:
            return
        alert_ids = sorted({o.alert_id for _, o in valid})
        outcome_ids = sorted({o.outcome_id for _, o in valid})
        alerts = await sink.call(f"look-up of {len(alert_ids)} alerts", _alerts, alert_ids)
        stored = await sink.call(f"look-up of {len(outcome_ids)} outcome ids", _stored, outcome_ids)
        standing = await sink.call(f"look-up of the outcomes of {len(alert_ids)} alerts", _standing, alert_ids)
        rows, examples = [], []
        for rec, o in valid:
            alert = alerts.get(o.alert_id)
            if alert is None:
                await dead(batch, rec, Reason.UNKNOWN_ALERT,
                           f"alert {o.alert_id!r} is not in alerts_audit: no such alert was sent (or it was erased)")
                continue
            h = content_hash(o)
            if o.outcome_id in stored:
                if stored[o.outcome_id] != h:
                    await dead(batch, rec, Reason.CONFLICTING_DUPLICATE,
                               f"outcome_id {o.outcome_id!r} is already stored with other content; the first stays")
                continue
            stored[o.outcome_id] = h
            rows.append(outcome_row(o, alert))
            key, before = standing_key(o), standing.get(o.alert_id)
            if before is not None and before > key:
                continue  # a later outcome of this alert is stored: this one does not stand, and teaches nothing
            standing[o.alert_id] = key
            if (ex := label_example(o, alert, as_labels)) is not None:
                examples.append(ex)
        await sink.write(rows)
        for ex in examples:  # after the outcome is stored: a crash before this replays the batch, and the
            # learner de-duplicates the example by its id
            await ctx.topics["learn.churn"].send(key=None, value=json.dumps(ex).encode())
            log.info("outcome %s: the 'wrong' churn alert for %s is offered to the learner as a negative example "
                     "(PULSEWIRE_OUTCOMES_AS_LABELS is on)", ex["label_event_id"], ex["pred_event_id"])
        if examples:
            ctx.stats.add("outcome_labels", len(examples), 0.0)

    @app.agent(ctx.topics[TOPIC], name="pulsewire.outcomes")
    async def outcomes(stream):
        await run_batches(ctx, stream, "outcomes", size=500, within=1.0, parse=bytes, handle=handle)

    ctx.agents["outcomes"] = outcomes
