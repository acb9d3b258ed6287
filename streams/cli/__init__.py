"""The ``pulsewire`` command. Subcommands live in this package, one module each;
each module exposes ``register(app)``."""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(
    name="pulsewire",
    help="Real-time sentiment, churn and burnout signals for small and medium businesses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Optional modules are skipped only when they are absent (ModuleNotFoundError for that very module).
SUBCOMMANDS = ["pipeline", "score", "connectors", "learn", "board", "grafana"]


def _register_all() -> None:
    for name in SUBCOMMANDS:
        modname = f"{__name__}.{name}"
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        mod.register(app)


_register_all()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()
