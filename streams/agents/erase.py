"""erase: ``privacy.erasure`` → one person's rows, state and pending labels gone → ``erasures`` + a receipt.

Requests are keyed like ``scored.text`` (customer id, else the employee's pseudonym), so each
reaches the worker that holds the person's entry in ``entity-features`` (their features, pending
predictions waiting for a label, alert state). Per request (``streams/erasure.py`` does the work):

1. ClickHouse: the person's rows leave every per-person table (mutations, waited for), and the
   ``sentiment_minute`` buckets their events fell into are rebuilt without them;
2. the ``entity-features`` entry is dropped and a tombstone goes to every partition of its
   changelog, so no restart or rebalance brings it back;
3. for an employee, an ``erase`` item goes to each metric dimension they contributed to (``all``
   and their teams) on ``signals.metrics``: the metrics agent drops their eNPS answers and at-risk
   flag there (``models.learners.metrics.forget_entity``);
4. the erasure is recorded in ``erasures`` (subject as a keyed hash) and the same record is the
   receipt on ``privacy.erasure.receipts`` that ``pulsewire forget`` waits for.

A request seen again (a replay after a crash) is not carried out twice: its stored record is sent
again as the receipt. A request made with another pseudonym key is refused (its receipt says so;
nothing is erased or recorded), and one that finds nothing of a person never erased before is
answered but not recorded: both are a wrong key or id, not an erasure.
"""

from __future__ import annotations

import json
import logging
import time

from ..erasure import (RECEIPT_TOPIC, REQUEST_TOPIC, Subject, audit_row, earlier_erasures, erase_rows,
                       not_found, parse_request, receipt_message, refusal)
from ._common import Batch, run_batches

log = logging.getLogger(__name__)

FEATURES_TABLE = "entity-features"  # streams/agents/features.py
METRICS_TABLE = "dimension-metrics"  # streams/agents/metrics.py


def install(app, ctx) -> None:
    sink = ctx.sinks["erasures"]
    receipts = ctx.topics[RECEIPT_TOPIC]

    def forget_features(subject: Subject) -> tuple[bool, str]:
        """Drop the person's feature state; return whether there was one, and the team it knew."""
        table = app.tables.get(FEATURES_TABLE)
        if table is None:  # a worker without the signal agents holds no per-person state
            return False, ""
        state = table.data.pop(subject.state_key, None)
        for partition in range(ctx.settings.topic_partitions):
            table.send_changelog(partition, subject.state_key, None, value_serializer="raw")
        team = ((state or {}).get("f") or {}).get("team_id", "") if subject.entity_type == "employee" else ""
        return state is not None, team

    async def forget_metrics(subject: Subject, teams: set[str]) -> list[str]:
        if subject.entity_type != "employee" or app.tables.get(METRICS_TABLE) is None:
            return []
        dims = ["all", *(f"team:{t}" for t in sorted(teams) if t)]
        item = json.dumps([{"k": "erase", "e": subject.entity_id, "t": time.time()}]).encode()
        for dim in dims:
            await ctx.topics["signals.metrics"].send(key=dim.encode(), value=item)
        return [f"{METRICS_TABLE}:{d}" for d in dims]

    async def erase(request: dict, subject: Subject) -> dict:
        earlier = await sink.call("look-up of earlier erasures", earlier_erasures, subject)
        done = [e for e in earlier if e["request_id"] == request["request_id"]]
        if done:
            return done[-1]
        rows, teams = await sink.call("erasure of one subject's rows", erase_rows, subject)
        had_state, team = forget_features(subject)
        state = [FEATURES_TABLE] if had_state else []
        if had_state or sum(rows.values()):
            state += await forget_metrics(subject, {*teams, team})
        elif not earlier:
            # eNPS answers can outlive the person's rows; nothing says they had any, so not reported
            await forget_metrics(subject, {"all"})
        row = audit_row(request, subject, rows, state, earlier=len(earlier))
        if not not_found(row):  # a wrong id is not an erasure: answered, not recorded
            await sink.write([row])
        return row

    async def handle(batch: Batch) -> None:
        for rec in batch.records:
            request, subject = rec.value
            row = refusal(request, ctx.keys)
            if row is not None:
                log.warning("erase: refused request %s: made with another pseudonym key", request["request_id"])
            else:
                row = await erase(request, subject)
            await receipts.send(key=request["request_id"].encode(), value=receipt_message(row))

    def parse(raw: bytes):
        return parse_request(raw, ctx.keys)

    @app.agent(ctx.topics[REQUEST_TOPIC], name="pulsewire.erase")
    async def erase_agent(stream):
        await run_batches(ctx, stream, "erase", size=50, within=0.5, parse=parse, handle=handle)

    ctx.agents["erase"] = erase_agent

