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

# Client libraries log every connection at INFO, and every retry of an unreachable server at
# WARNING or ERROR. Without --verbose a user sees none of it: these clients' failures reach our
# commands as exceptions, which end the command with one line. Other libraries keep WARNING.
CLIENT_LIBRARIES = ("kafka", "clickhouse_connect", "urllib3")
CHATTY_LIBRARIES = ("aiokafka", "httpx")


class _ClientLogFilter(logging.Filter):
    """Drops the client libraries' records (by top-level logger name) unless --verbose. A filter on
    the handlers, not logger levels: clickhouse_connect sets urllib3's level itself when imported."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose:
            return True
        top = record.name.partition(".")[0]
        if top in CLIENT_LIBRARIES:
            return False
        return top not in CHATTY_LIBRARIES or record.levelno >= logging.WARNING


_verbose = False


def filter_client_logs(logger: logging.Logger | None = None) -> None:
    """(Re)apply the client-log filter to ``logger``'s handlers (the root's by default). The worker calls
    it again once Faust has replaced the root logger's handlers with its own."""
    for handler in (logger or logging.getLogger()).handlers:
        for old in [f for f in handler.filters if isinstance(f, _ClientLogFilter)]:
            handler.removeFilter(old)
        handler.addFilter(_ClientLogFilter(_verbose))


@app.callback()
def _options(verbose: bool = typer.Option(False, "--verbose", "-v",
                                          help="Also show the logs of the Kafka and ClickHouse clients.")) -> None:
    global _verbose
    _verbose = verbose
    filter_client_logs()


def _flags_take_no_value() -> None:
    """typer 0.29 labels every boolean option ``<bool>`` in --help, as if it took a value; a flag takes none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich


_flags_take_no_value()

# Optional modules are skipped only when they are absent (ModuleNotFoundError for that very module).
SUBCOMMANDS = ["pipeline", "broker", "score", "connectors", "learn", "board", "grafana", "forget", "notice", "export",
               "audit", "outcome", "replay", "generate", "sentiment"]


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


def _one_line_usage_everywhere(typer_app: typer.Typer, cls=None) -> None:
    """Every command answers a mistyped flag or a missing argument with one ``error:`` line and exit 2
    (``errors.one_line_usage_errors``), not click's usage box; a command with its own class keeps it."""
    from typer.core import TyperCommand

    from .errors import one_line_usage_errors

    cls = cls or one_line_usage_errors()
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = cls
    for group in typer_app.registered_groups:
        _one_line_usage_everywhere(group.typer_instance, cls)


_one_line_usage_everywhere(app)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()
