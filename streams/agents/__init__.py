"""Agents, one module per concern. ``install_all`` wires them onto the app.

Every agent is a small loop: take from a topic, do one thing, send on. An
exception never escapes an agent: bad records become dead letters, and a sink
that cannot write retries without acknowledging, so nothing accepted is lost.
"""

from __future__ import annotations

from . import score, sink, validate

INSTALLERS = [validate.install, score.install, sink.install]


def install_all(app, ctx) -> None:
    for install in INSTALLERS:
        install(app, ctx)
