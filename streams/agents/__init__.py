"""Agents, one module per concern. ``install_all`` wires them onto the app.

Every agent is a small loop: take from a topic, do one thing, send on. An
exception never escapes an agent: bad records become dead letters, and a sink
that cannot write retries without acknowledging, so nothing accepted is lost.
"""

from __future__ import annotations

from . import health, score, sink, validate

INSTALLERS = [validate.install, score.install, sink.install, health.install]

# Issue 4 (learners): model follower + single learner, per-entity features, metrics, alerts audit.
from . import alerts as _alerts, features as _features, learn as _learn, metrics as _metrics  # noqa: E402

INSTALLERS += [_learn.install, _features.install, _metrics.install, _alerts.install]


CORE = {validate.install, score.install, sink.install, health.install}


def install_all(app, ctx) -> None:
    for install in INSTALLERS:
        # A deployment may split roles: scoring-only workers run with PULSEWIRE_SIGNALS_ENABLED=false.
        if install in CORE or ctx.settings.signals_enabled:
            install(app, ctx)
