"""Agents, one module per concern. ``install_all`` wires them onto the app.

Every agent is a small loop (``_common.run_batches``): take from a topic, do one thing, send on.
An exception never escapes an agent: bad records become dead letters, and a sink that cannot
write retries without acknowledging, so nothing accepted is lost. Agents share only the
``WorkerContext`` that ``create_app`` builds before installing any of them, so the order they
are installed in does not matter.
"""

from __future__ import annotations

from . import alerts, audit, erase, features, health, learn, metrics, outcomes, score, sink, validate

# erase is core: every worker may hold a person's rows or state (it finds the signal agents' tables if installed).
CORE = [validate.install, score.install, sink.install, health.install, erase.install]
# A deployment may split roles: scoring-only workers run with PULSEWIRE_SIGNALS_ENABLED=false.
SIGNALS = [learn.install, features.install, metrics.install, alerts.install, audit.install, outcomes.install]
INSTALLERS = CORE + SIGNALS


def selected_installers(settings) -> list:
    return CORE + (SIGNALS if settings.signals_enabled else [])


def install_all(app, ctx, installers) -> None:
    for install in installers:
        install(app, ctx)
