"""``pulsewire generate``: the simulated SMB's events (and its ground truth) as files, for ``pulsewire replay``
and ``pulsewire evaluate --input``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Optional

import typer

from .errors import one_line_usage_errors


def register(app: typer.Typer) -> None:
    @app.command(cls=one_line_usage_errors())
    def generate(
        output: Path = typer.Option(..., "--output", "-o", help="The events file: JSON Lines, gzipped when it ends "
                                    "in .gz."),
        truth: Optional[Path] = typer.Option(None, "--truth", help="Also write the ground truth (JSON): who churned, "
                                             "burned out or left, and when."),
        events: int = typer.Option(20_000, "--events", "-n", min=1, help="How many events."),
        seed: int = typer.Option(7, help="Generator seed: the same seed, the same events as "
                                 "`pulsewire evaluate -n N --seed S`."),
        mode: str = typer.Option("subscription", "--mode", help=(
            "The simulated business: 'subscription' (accounts that cancel) or 'shop' (no subscriptions).")),
        no_activity: bool = typer.Option(False, "--no-activity", help=(
            "The same generated stream with its activity events removed (same customers, same churn).")),
    ):
        """Write the generator's events (one canonical event per line, in event-time order) and its ground truth.

        `pulsewire evaluate --input FILE --truth TRUTH` on them gives the figures of
        `pulsewire evaluate -n N --seed S`; `pulsewire replay FILE` sends them to a running deployment."""
        from ..evaluate import generate_counted
        from .errors import fail, load_learner_config

        check_mode(mode)
        # shop truth: churned_at = last activity + N days, N from the learners' setting as evaluate uses it
        inactive_days = load_learner_config().churn_inactive_days
        for path in (output, truth):
            if path is not None and not path.parent.is_dir():
                fail(f"no directory {path.parent} for {path}")
        sim, records, left_out = generate_counted(seed, events, mode=mode, activity=not no_activity)
        try:
            with (gzip.open(output, "wb") if output.suffix.lower() == ".gz" else open(output, "wb")) as f:
                for rec in records:
                    f.write(rec if isinstance(rec, bytes) else json.dumps(rec, ensure_ascii=False).encode())
                    f.write(b"\n")
            if truth is not None:
                truth.write_text(json.dumps(sim.ground_truth(inactive_days), indent=1, default=str))
        except OSError as exc:
            fail(f"cannot write {exc.filename or output}: {exc.strerror or exc}")
        if no_activity:
            typer.echo(left_out_line(left_out, len(records) + left_out))
        span = f" ({records[0]['occurred_at']} .. {records[-1]['occurred_at']})" if records else ""
        typer.echo(f"wrote {len(records)} events{span} to {output}")
        if truth is not None:
            t = sim.ground_truth(inactive_days)
            typer.echo(f"wrote the ground truth of {len(t['customers'])} customers and {len(t['employees'])} "
                       f"employees to {truth}")


MODES = ("subscription", "shop")


def check_mode(mode: str) -> None:
    """The generator's mode, or one line naming the ones there are."""
    from .errors import fail

    if mode not in MODES:
        fail(f"--mode must be 'subscription' or 'shop', got {mode!r}")


def left_out_line(left_out: int, generated: int) -> str:
    """What --no-activity did to the stream, said once.

    >>> left_out_line(2765, 6000)
    '--no-activity: left out 2765 activity events of the 6000 generated (3235 remain)'
    """
    return (f"--no-activity: left out {left_out} activity events of the {generated} generated "
            f"({generated - left_out} remain)")
