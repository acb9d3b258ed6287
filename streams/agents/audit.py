"""The daily bias audit rows: every hour the leader worker runs the audit over the store and writes
today's (UTC) ``bias_audit_daily`` rows through its sink, replacing the day's earlier computation (the
first one, soon after a start, saw only part of the data); a worker writes a first set soon after it
starts. The rows replace each other on (day, model, attribute, group, measure) with ``computed_at`` as
the version, and readers keep only the day's newest computation, so two workers writing the same day,
or a restart, show one audit. A failure is logged and tried again at the next check: it never stops
the worker.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from pulsewire.streams.bias_audit import TABLE, connector_auditable_fields, daily_rows, run_audit, store_min_group

log = logging.getLogger("pulsewire.audit")

CHECK_INTERVAL_S = 3600.0  # how often the leader recomputes today's rows
START_DELAY_S = 30.0       # after start: let the store open and the first batches land


def audit_rows(store, min_group: int, day) -> list[dict] | None:
    """The rows for ``day`` over what the store holds now; None when the audit failed."""
    try:
        report = run_audit(store, min_group=store_min_group(store, min_group), extra=connector_auditable_fields())
        return daily_rows(report, day)
    except Exception as exc:  # a query the store refused: logged, tried again at the next check
        log.warning("bias audit for %s not computed: %s", day, exc)
        return None


async def record_daily(ctx, day=None) -> int:
    """Compute and write ``day``'s (default today's) audit rows, replacing the day's earlier ones; how many
    rows were written (0 when none or on a failure)."""
    sink = ctx.sinks[TABLE]
    day = day or datetime.now(timezone.utc).date()
    try:
        # through the sink: it waits (with backoff) while the store is away, like every write
        rows = await sink.call(f"bias audit for {day}", audit_rows, ctx.settings.min_group_size, day)
        if rows:
            await sink.write(rows)
            log.info("bias audit for %s: %d rows, %d flagged", day, len(rows), sum(r["flagged"] for r in rows))
        return len(rows)
    except Exception as exc:  # the store is away or a query failed: try again at the next check
        log.warning("bias audit for %s not written: %s", day, exc)
        return 0


def install(app, ctx) -> None:
    @app.timer(CHECK_INTERVAL_S, on_leader=True, name="pulsewire.audit.daily")
    async def daily_bias_audit():
        await record_daily(ctx)

    @app.task
    async def bias_audit_on_start():
        await asyncio.sleep(START_DELAY_S)
        await record_daily(ctx)
