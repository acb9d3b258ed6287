"""``pulsewire evaluate``: measured quality of the churn and burnout learners (see streams/evaluate.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        events: int = typer.Option(20_000, "--events", "-n", min=100, help="How many generated events."),
        seed: int = typer.Option(7, help="Generator seed (fixed: the same seed, the same events)."),
        data_dir: Path = typer.Option(Path("pulsewire-evaluate"), "--data-dir",
                                      help="Where the broker and store of the run live (recreated)."),
        fast: bool = typer.Option(False, "--fast", help="In-process replay instead of the real pipeline."),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
    ):
        """Run the generator through the pipeline and print churn / burnout quality against a baseline."""
        from rich.console import Console

        from pulsewire.models.learners.evaluation import format_table

        from ..evaluate import EvalOptions, EvaluateError, run_fast, run_pipeline
        from .errors import load_settings

        load_settings(data_dir=data_dir)  # a bad setting is one line, before the data dir is touched
        logging.getLogger().setLevel(logging.WARNING)
        console = Console(stderr=True)
        opts = EvalOptions(events=events, seed=seed, data_dir=data_dir, show_progress=not as_json)
        try:
            fig = run_fast(opts) if fast else run_pipeline(opts, console=None if as_json else console)
        except EvaluateError as exc:
            console.print(f"[red]evaluate failed:[/red] {exc}")
            raise typer.Exit(1)
        if as_json:
            typer.echo(json.dumps(fig, default=str))
            return
        run = fig["run"]
        typer.echo(f"pulsewire evaluate: {run['events']} events, seed {run['seed']}, mode {run['mode']}, "
                   f"{run['wall_s']}s")
        typer.echo(format_table(fig))
        typer.echo(f"alerts published: {fig.get('alerts_published')}")
        if pop := fig.get("burnout_population"):
            typer.echo(f"burnout measured on the {pop['consenting']} of {pop['employees']} employees who consented "
                       "(only their predictions are stored)")
