"""User errors end a command with one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_USAGE = 2  # what the user asked for cannot be done as asked (bad path, bad value, store in use)
EXIT_FAILED = 1  # the command ran but did not do all it should have


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {first_line(message)}", err=True)
    raise typer.Exit(code)


def first_line(message: object) -> str:
    """The first non-blank line of an error (library errors carry stack dumps after it).

    >>> first_line("Code: 60. Unknown table\\n\\nStack trace:\\n0. x")
    'Code: 60. Unknown table'
    """
    return next((line.strip() for line in str(message).splitlines() if line.strip()), str(message))


def load_settings(**overrides):
    """Settings from the environment, or one line naming the bad variable."""
    from pydantic import ValidationError

    from ..settings import Settings

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # a rule over several settings has no single location: its message names the variables
        problems = "; ".join(f"PULSEWIRE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" if e["loc"]
                             else e["msg"].removeprefix("Value error, ") for e in exc.errors())
        fail(f"invalid configuration: {problems}")


def load_learner_config():
    """The learners' configuration (``PULSEWIRE_LEARN_*``), or one line naming the bad variable."""
    from pulsewire.models.learners.processor import LearnerConfig

    try:
        return LearnerConfig.from_env()
    except ValueError as exc:  # from_env's errors name the variable
        fail(str(exc))


def store_failure(url: str, exc: BaseException) -> str:
    """One line for a store that could not be opened or read (our own errors already name the store)."""
    from ..store import StoreError, StoreInUse, redact_url

    if isinstance(exc, (StoreError, StoreInUse)):
        return redact_url(first_line(exc))
    return redact_url(f"cannot read the store at {url}: {first_line(exc)}")


def store_errors() -> tuple[type[BaseException], ...]:
    """What opening or reading a store raises for reasons a user can fix (path, lock, server)."""
    from clickhouse_connect.driver.exceptions import Error as ClickHouseError

    from ..store import StoreError, StoreInUse

    return (StoreError, StoreInUse, ClickHouseError)


def one_line_usage_errors():
    """A command class whose usage errors (a mistyped flag, a missing argument, a bad value) are one
    ``error:`` line and exit 2, instead of click's usage box."""
    from typer.core import TyperCommand

    try:  # typer 0.2x parses with its own copy of click
        from typer._click.exceptions import UsageError
    except ImportError:
        from click import UsageError

    class OneLineUsage(TyperCommand):
        def make_context(self, info_name, args, parent=None, **extra):
            try:
                return super().make_context(info_name, args, parent=parent, **extra)
            except UsageError as exc:
                names = [info_name]  # a subcommand of a group (``sentiment adapt``) names its group too
                while parent is not None and parent.parent is not None:
                    names.insert(0, parent.info_name)
                    parent = parent.parent
                typer.echo(f"error: {first_line(exc.format_message())} (see: pulsewire {' '.join(names)} --help)",
                           err=True)
                raise typer.Exit(EXIT_USAGE) from None

    return OneLineUsage
