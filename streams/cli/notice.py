"""``pulsewire notice``: the plain-language notice for employees and customers, from the running configuration."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer


class Audience(str, enum.Enum):
    employees = "employees"
    customers = "customers"
    both = "both"


class Format(str, enum.Enum):
    markdown = "markdown"
    html = "html"


def register(app: typer.Typer) -> None:
    @app.command()
    def notice(
        audience: Audience = typer.Option(Audience.both, "--audience", help="Whom the notice is for."),
        fmt: Format = typer.Option(Format.markdown, "--format", help="Markdown, or one self-contained HTML page."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write it here instead of to stdout."),
    ):
        """What pulsewire collects from which sources, what it infers, who sees what, thresholds, how long
        it keeps each thing, consent and how to withdraw it, and how to ask for a copy or erasure: every
        figure from the configuration this command runs with (run it with the worker's PULSEWIRE_* settings)."""
        from ..sdk.connector import ConnectorError
        from ..transparency.notice import facts, html_page, installed_sources, markdown
        from .errors import fail, load_learner_config, load_settings

        settings = load_settings()
        learner = load_learner_config()
        try:
            sources = installed_sources()
        except ConnectorError as exc:
            fail(str(exc))
        f = facts(settings, sources, learner)
        text = html_page(f, audience.value) if fmt is Format.html else markdown(f, audience.value)
        if output is None:
            typer.echo(text, nl=False)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror}")
        typer.echo(f"wrote {output}")
