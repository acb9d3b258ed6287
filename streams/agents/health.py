"""health: every ``lag_interval_s`` seconds, record the worker group's consumer lag in ClickHouse.

Lag is read from the broker (committed vs end offsets), so it is the group's lag, whichever
worker records it; the Pipeline health board and the consumer-lag alert rule read it.
"""

from __future__ import annotations

import asyncio

from ._common import log


def install(app, ctx) -> None:
    s = ctx.settings
    state: dict = {}

    def sample() -> int:
        from pulsewire.dashboards.lag import record_lag

        from ..progress import ProgressReader
        from ..topics import ALL_TOPICS

        if "reader" not in state:
            topics = [s.topic(t.name) for t in ALL_TOPICS if not t.name.startswith(("alerts.", "models."))]
            state["reader"] = ProgressReader(s.bootstrap_servers, s.app_id, topics)
        return record_lag(ctx.store, state["reader"].read(), group=s.app_id)

    @app.timer(s.lag_interval_s, name="pulsewire.health.lag")
    async def record_consumer_lag():
        try:
            await asyncio.to_thread(sample)
        except Exception as exc:  # health is best effort: never stop the worker for it
            log.warning("could not record consumer lag: %s", exc)
            state.pop("reader", None)
