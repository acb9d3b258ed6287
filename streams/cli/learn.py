"""``pulsewire evaluate``: measured quality of the churn and burnout learners (see streams/evaluate.py);
``pulsewire model-card``: what a model is for, its inputs, thresholds, figures and limits."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        ctx: typer.Context,
        events: int = typer.Option(20_000, "--events", "-n", min=100, help="How many generated events."),
        seed: int = typer.Option(7, help="Generator seed (fixed: the same seed, the same events)."),
        data_dir: Path = typer.Option(Path("pulsewire-evaluate"), "--data-dir",
                                      help="Where the broker and store of the run live (recreated)."),
        fast: bool = typer.Option(False, "--fast", help="In-process replay instead of the real pipeline."),
        sentiment: str = typer.Option("labels", "--sentiment", help=(
            "With --fast: the texts' sentiment from the generator's hidden labels, blurred ('labels', quickest) "
            "or from the packaged model, as the pipeline scores them ('model', closer to the real figures).")),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
        write_card: bool = typer.Option(False, "--write-card", help=(
            "Also write the figures the model cards show (evaluation.json) and regenerate the cards.")),
        card_dir: Path = typer.Option(None, "--card-dir", help=(
            "Where --write-card writes (default: beside the learners' code, models/learners/).")),
        bias: Optional[str] = typer.Option(None, "--bias", help="Plant a bias for testing the audit: "
                                           "'plan:<starter|growth|business>' or 'team:<team id>' (see docs/oversight.md)."),
        mode: str = typer.Option("subscription", "--mode", help=(
            "The simulated business: 'subscription' (accounts that cancel) or 'shop' (no subscriptions).")),
        no_activity: bool = typer.Option(False, "--no-activity", help=(
            "The same generated stream with its activity events removed (same customers, same churn).")),
        churn_definition: Optional[str] = typer.Option(None, "--churn-definition", help=(
            "'subscription' (a cancellation) or 'inactivity' (no activity for N days); "
            "default: subscription in subscription mode, inactivity in shop mode.")),
        input_file: Optional[Path] = typer.Option(None, "--input", help=(
            "Events from this file (as `pulsewire replay` reads it) instead of the generator; needs --truth.")),
        truth: Optional[Path] = typer.Option(None, "--truth", help=(
            "With --input: the ground truth (JSON, shaped like `pulsewire generate --truth` writes).")),
    ):
        """Run the generator (or --input's events) through the pipeline and print churn / burnout quality
        against a baseline."""
        from rich.console import Console

        from pulsewire.models.learners.evaluation import format_table

        from ..evaluate import EvalOptions, EvaluateError, run_fast, run_pipeline
        from ..connectors.generator_bias import parse_bias
        from .errors import fail, load_learner_config, load_settings
        from .generate import check_mode, left_out_line

        load_settings(data_dir=data_dir)  # a bad setting is one line, before the data dir is touched
        load_learner_config()
        if input_file is not None or truth is not None:
            _check_input(ctx, input_file, truth)
        if card_dir is not None and not card_dir.is_dir():
            typer.echo(f"pulsewire evaluate: --card-dir {card_dir} is not a directory", err=True)
            raise typer.Exit(2)
        try:
            parse_bias(bias)
        except ValueError as exc:
            fail(str(exc))
        check_mode(mode)
        if sentiment not in ("labels", "model"):
            fail(f"--sentiment must be 'labels' or 'model', got {sentiment!r}")
        if ctx.get_parameter_source("sentiment").name == "COMMANDLINE" and not fast:
            fail("--sentiment chooses the --fast replay's sentiment (the real pipeline always scores with the "
                 "model): add --fast or drop --sentiment")
        if churn_definition not in (None, "subscription", "inactivity"):
            fail(f"--churn-definition must be 'subscription' or 'inactivity', got {churn_definition!r}")
        if mode == "shop" and bias and bias.startswith("plan:"):
            fail("a shop has no plans: a planted bias in shop mode is 'team:<team id>'")
        if mode == "shop" and churn_definition == "subscription":
            fail("a shop has no subscriptions to cancel: use --churn-definition inactivity with --mode shop")
        if write_card and (mode != "subscription" or no_activity or churn_definition not in (None, "subscription")):
            fail("--write-card records the model cards' figures, measured in subscription mode with activity: "
                 "drop --write-card or the other options")
        if bias and write_card:
            fail("--write-card records the model cards' figures, which are measured without a planted bias: "
                 "drop --bias or --write-card")
        logging.getLogger().setLevel(logging.WARNING)
        console = Console(stderr=True)
        opts = EvalOptions(events=events, seed=seed, data_dir=data_dir, show_progress=not as_json, bias=bias,
                           mode=mode, activity=not no_activity, churn_definition=churn_definition,
                           input=input_file, truth=truth, sentiment=sentiment)
        try:
            opts.learner_config()  # this run's churn definition with the environment's settings
        except ValueError as exc:
            fail(str(exc))
        if os.environ.get("PULSEWIRE_LEARN_ALERTS_FROM", "").strip():
            typer.echo("pulsewire evaluate: PULSEWIRE_LEARN_ALERTS_FROM (a worker's go-live) is ignored here: "
                       "every alert of the stream is judged", err=True)
        try:
            fig = run_fast(opts) if fast else run_pipeline(opts, console=None if as_json else console)
        except EvaluateError as exc:
            console.print(f"[red]evaluate failed:[/red] {exc}")
            raise typer.Exit(1)
        if write_card:
            _write_card(fig, events, seed, fast, card_dir, console, sentiment)
        if as_json:
            typer.echo(json.dumps(fig, default=str))
            return
        run = fig["run"]
        source = f"input {run['input']}" if "input" in run else f"seed {run['seed']}"
        typer.echo(f"pulsewire evaluate: {run['events']} events, {source}, mode {run['mode']}, {run['wall_s']}s")
        if "activity_left_out" in run:
            typer.echo(left_out_line(run["activity_left_out"], run["events"] + run["activity_left_out"]))
        if run.get("skipped"):
            typer.echo(f"lines of the input that are not events (not produced): {run['skipped']}")
        measured = f"churn by {run['churn_definition']}"
        if "generator_mode" in run:
            measured = (f"{run['generator_mode']} business, {measured}, "
                        f"{'with' if run['activity'] else 'without'} activity events")
        typer.echo(f"measured: {measured}")
        typer.echo(format_table(fig))
        typer.echo(f"alerts published: {fig.get('alerts_published')}")
        if pop := fig.get("burnout_population"):
            typer.echo(f"burnout measured on the {pop['consenting']} of {pop['employees']} employees who consented "
                       "(only their predictions are stored)")

    @app.command("model-card")
    def model_card(
        model: str = typer.Argument(..., help="churn, burnout or sentiment."),
    ):
        """Print a model's card (Markdown): what it is for, its inputs, thresholds, figures and limits."""
        from pulsewire.schemas.alerts import MODEL_CARDS

        if model not in MODEL_CARDS:
            from .errors import fail

            fail(f"no model {model!r}: one of {', '.join(MODEL_CARDS)}")
        typer.echo(card_file(model).read_text(), nl=False)


def _check_input(ctx: typer.Context, input_file: Path | None, truth: Path | None) -> None:
    """--input goes with --truth and with none of the generator's options."""
    from ..evaluate import EvaluateError, load_truth
    from .errors import fail

    if input_file is None or truth is None:
        fail("--input and --truth go together: the events to run and who really churned or burned out")
    generator_only = ("events", "seed", "bias", "fast", "sentiment", "write_card", "mode", "no_activity")
    given = [f"--{name.replace('_', '-')}" for name in generator_only
             if ctx.get_parameter_source(name).name == "COMMANDLINE"]
    if given:
        fail(f"{', '.join(given)}: only for generated events; with --input the events are the file's")
    if input_file.is_dir():
        fail(f"--input {input_file} is a directory: give the events file (JSON Lines, .gz or not)")
    if not input_file.is_file():
        fail(f"no file {input_file}")
    try:
        load_truth(truth)
    except EvaluateError as exc:
        fail(str(exc))


def card_file(model: str) -> Path:
    """The card of ``model`` in the installed package (the same file as in the repository)."""
    import pulsewire.models
    from pulsewire.schemas.alerts import MODEL_CARDS

    return Path(pulsewire.models.__file__).parent / MODEL_CARDS[model].removeprefix("models/")


def evaluate_command(events: int, seed: int, fast: bool, sentiment: str = "labels") -> str:
    """The command line that reproduces a run's figures.

    >>> evaluate_command(20000, 7, False)
    'pulsewire evaluate -n 20000 --seed 7 --write-card'
    >>> evaluate_command(20000, 7, True, "model")
    'pulsewire evaluate -n 20000 --seed 7 --fast --sentiment model --write-card'
    """
    how = (" --fast" + (" --sentiment model" if sentiment == "model" else "")) if fast else ""
    return f"pulsewire evaluate -n {events} --seed {seed}{how} --write-card"


def _write_card(fig: dict, events: int, seed: int, fast: bool, card_dir: Path | None, console,
                sentiment: str = "labels") -> None:
    from pulsewire.models.learners import card

    directory = card_dir or card.CARD_DIR
    figures = card.card_figures(fig, fig.get("run", {}), evaluate_command(events, seed, fast, sentiment),
                                card.today())
    paths = [card.write_evaluation(figures, directory), *card.write_cards(figures, directory)]
    console.print("wrote " + ", ".join(str(p) for p in paths))
