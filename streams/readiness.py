"""The worker's readiness probe: ``GET /ready`` on Faust's web server (``worker_web_port``).

200 with ``{"ready": true, ...}`` once the worker can do its job: its ClickHouse store is open,
it has joined the consumer group with partitions assigned, and no rebalance or table recovery is
under way; 503 with the reason otherwise. ``docker-compose.yml``'s health check and
``bench/bench_freshness.py`` read it. Faust's own pages that would show table contents (per-entity
features: personal data) or internals are switched off in ``streams/app.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

PATH = "/ready"


@dataclass
class Readiness:
    """What the worker has reached; ``store_open`` is set by the worker once its store is open."""

    store_open: bool = False


def readiness(store_open: bool, assigned: int, rebalancing: bool, recovering: bool) -> tuple[bool, str]:
    """Whether a worker is ready, and why not.

    >>> readiness(True, 12, False, False)
    (True, 'ready')
    >>> readiness(False, 12, False, False)
    (False, 'store not open')
    >>> readiness(True, 0, False, False)
    (False, 'no partitions assigned')
    >>> readiness(True, 12, True, False)
    (False, 'rebalancing')
    >>> readiness(True, 12, False, True)
    (False, 'recovering tables')
    """
    if not store_open:
        return False, "store not open"
    if rebalancing:
        return False, "rebalancing"
    if recovering:
        return False, "recovering tables"
    if assigned <= 0:
        return False, "no partitions assigned"
    return True, "ready"


def of(app) -> Readiness:
    """The app's readiness state (one per app)."""
    return app.__dict__.setdefault("_pulsewire_readiness", Readiness())


def install(app) -> Readiness:
    state = of(app)

    @app.page(PATH, name="pulsewire.ready")
    async def ready(web, request):
        try:
            assigned = len(app.consumer.assignment())
        except Exception:  # consumer not started yet
            assigned = 0
        ok, reason = readiness(state.store_open, assigned, bool(app.rebalancing), bool(app.in_recovery))
        return web.json({"ready": ok, "reason": reason, "partitions": assigned}, status=200 if ok else 503)

    return state
