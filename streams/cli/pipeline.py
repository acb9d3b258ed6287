"""Subcommands that run the pipeline: demo, worker, topics, summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        events: int = typer.Option(20_000, "--events", "-n", min=1, help="How many events to generate."),
        seed: int = typer.Option(7, help="Generator seed: the same seed generates the same events."),
        data_dir: Path = typer.Option(Path("pulsewire-demo"), "--data-dir", help="Where the broker and store live."),
        bad_rate: float = typer.Option(0.005, "--bad-rate", min=0.0, max=1.0,
                                       help="Share of deliberately bad records (exercise dead letters)."),
        keep: bool = typer.Option(False, help="Keep data from an earlier demo in --data-dir."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
        bias: Optional[str] = typer.Option(None, "--bias", help="Plant a bias for testing the audit: "
                                           "'plan:<starter|growth|business>' or 'team:<team id>' (see docs/oversight.md)."),
        start: Optional[str] = typer.Option(None, "--start", help="Start of simulated time, ISO 8601 with a time zone "
                                            "(e.g. 2026-05-01T00:00:00+00:00). Default: 2026-05-01 moved by whole weeks so "
                                            "that the 26 simulated weeks end by now (recent data, same records)."),
    ):
        """Run the whole pipeline on embedded parts (broker + in-process ClickHouse) and print a summary."""
        from rich.console import Console

        from ..demo import DemoError, DemoOptions, run_demo
        from .errors import fail, load_learner_config, load_settings

        from ..connectors.generator_bias import parse_bias

        load_settings(data_dir=data_dir)  # a bad setting is one line, before the data dir is touched
        load_learner_config()
        try:
            parse_bias(bias)
        except ValueError as exc:
            fail(str(exc))
        if start is not None:
            from datetime import datetime

            try:
                aware = datetime.fromisoformat(start).tzinfo is not None
            except ValueError:
                aware = None
            if not aware:
                fail(f"--start {start!r} is not " + ("an ISO 8601 time" if aware is None else "time-zone aware") +
                     "; e.g. --start 2026-05-01T00:00:00+00:00")
        logging.getLogger().setLevel(logging.WARNING)
        console = Console(stderr=True)
        try:
            summary = run_demo(DemoOptions(events=events, seed=seed, data_dir=data_dir, bad_rate=bad_rate,
                                           keep=keep, show_progress=not as_json, bias=bias, start=start),
                               console=console)
        except DemoError as exc:
            fail(f"demo failed: {exc}", code=1)
        if as_json:
            typer.echo(json.dumps(summary, default=str))
        else:
            print_summary(summary)

    @app.command()
    def worker(loglevel: str = typer.Option("info", help="Log level.")):
        """Run a worker against the configured broker and store (PULSEWIRE_* environment).

        Requires PULSEWIRE_PSEUDONYM_KEY (16+ characters): the key that pseudonymises employee
        ids before they reach any topic or table. Generate one with
        python -c 'import secrets; print(secrets.token_hex(32))'."""
        from pulsewire.models.learners.inactivity import ChurnDefinitionError

        from ..topics import BrokerUnreachable
        from ..worker import run_worker
        from .errors import fail, load_settings, store_errors

        try:
            run_worker(load_settings(), loglevel=loglevel)
        except (BrokerUnreachable, ChurnDefinitionError, *store_errors()) as exc:
            fail(exc)

    @app.command()
    def topics():
        """Create every pulsewire topic on the configured broker and set the declared retention on
        existing ones (idempotent); list them."""
        from ..topics import ALL_TOPICS, BrokerUnreachable, TopicConfigRefused, TopicMap, ensure_topics
        from .errors import fail, load_settings

        s = load_settings()
        topic_map = TopicMap.from_settings(s)
        updated: list[str] = []
        try:
            created = set(ensure_topics(s.kafka, topic_map, updated=updated))
        except (BrokerUnreachable, TopicConfigRefused) as exc:
            fail(exc)
        for t in ALL_TOPICS:
            name = topic_map.name(t.name)
            state = "created" if name in created else "updated" if name in updated else "exists"
            retention = topic_map.retention_ms(t)
            typer.echo(f"{state:8} {name:18} partitions={topic_map.partitions(t)} "
                       f"retention={'compacted' if t.compacted else _days(retention)} key={t.key}")

    @app.command()
    def summary(
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="A demo's data directory."),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Print what the store holds (events per source and kind, dead letters, sentiment).
        Reads only: the store is not migrated or changed."""
        from ..store import open_from_settings
        from ..summary import store_summary
        from .errors import fail, load_settings, store_errors, store_failure

        s = load_settings(data_dir=data_dir) if data_dir else load_settings()
        if data_dir:
            if not data_dir.is_dir():
                fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used")
            s.store_url = f"chdb://{(data_dir / 'clickhouse').resolve()}"
        try:
            with open_from_settings(s, read_only=True) as store:
                result = store_summary(store)
        except store_errors() as exc:
            fail(store_failure(s.store_url, exc))
        if as_json:
            typer.echo(json.dumps(result, default=str))
        else:
            print_summary(result)


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title="Stored events by source and kind")
    for col in ("source", "kind", "events", "scored", "mean sentiment"):
        t.add_column(col, justify="right" if col != "source" and col != "kind" else "left")
    for r in summary["by_source_kind"]:
        ms = "-" if r["mean_sentiment"] is None else f"{r['mean_sentiment']:+.3f}"
        t.add_row(r["source"], r["kind"], str(r["events"]), str(r["scored"]), ms)
    console.print(t)
    s = Table(title="Mean sentiment by source")
    s.add_column("source")
    s.add_column("events", justify="right")
    s.add_column("mean sentiment", justify="right")
    for r in summary["by_source"]:
        s.add_row(r["source"], str(r["events"]), "-" if r["mean_sentiment"] is None else f"{r['mean_sentiment']:+.3f}")
    console.print(s)
    if summary.get("activity_by_source_type"):
        a = Table(title=f"Activity events (raw rows kept: {summary['activity_raw_rows']})")
        for col in ("source", "type", "events"):
            a.add_column(col, justify="right" if col == "events" else "left")
        for r in summary["activity_by_source_type"]:
            a.add_row(r["source"], r["type"], str(r["events"]))
        console.print(a)
    d = Table(title=f"Dead letters: {summary['dead_letters']}")
    d.add_column("reason")
    d.add_column("count", justify="right")
    for reason, n in summary["dead_letters_by_reason"].items():
        d.add_row(reason, str(n))
    console.print(d)
    lines = [f"stored events: {summary['stored_events']} (unique ids {summary['unique_event_ids']})",
             f"activity events: {summary['activity_events']} (raw rows kept {summary['activity_raw_rows']}, "
             f"unique ids {summary['activity_unique_ids']}; not in the stored events)",
             f"sentiment labels: {summary['sentiment_labels']}", f"model: {', '.join(summary['model_versions'])}"]
    if "events_per_s" in summary:
        lines += [f"events sent: {summary['events_sent']}  pipeline: {summary['pipeline_s']} s  "
                  f"throughput: {summary['events_per_s']} events/s  wall: {summary['wall_s']} s",
                  f"peak RSS: worker {summary.get('worker_peak_rss_mb')} MB, broker "
                  f"{summary.get('broker_peak_rss_mb')} MB, demo {summary.get('demo_peak_rss_mb')} MB",
                  f"data: {summary['data_dir']}"]
    for line in lines:
        console.print(line)


def _days(ms: int | None) -> str:
    """A retention in days as the settings write it: ``7d``, ``0.5d``."""
    if ms is None:
        return "forever"
    return f"{ms / 86_400_000:g}d"
