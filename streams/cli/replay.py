"""``pulsewire replay FILE``: a file of canonical events into the configured broker, in event-time order."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Optional

import typer

from .errors import one_line_usage_errors


def register(app: typer.Typer) -> None:
    @app.command(cls=one_line_usage_errors())
    def replay(
        file: Path = typer.Argument(..., help="Canonical events, one JSON object per line (.jsonl, or gzipped)."),
        speed: Optional[float] = typer.Option(None, "--speed", help=(
            "Event time runs this many times as fast as wall time (3600: an hour a second); quiet gaps are cut "
            "to --max-gap. Does not wait for the worker.")),
        as_fast_as_possible: bool = typer.Option(False, "--as-fast-as-possible", help=(
            "As fast as the worker group consumes (the default): never more than --max-lag events ahead of it, "
            "so no kind of event runs ahead of the others.")),
        max_gap: float = typer.Option(60.0, "--max-gap", min=0.0, help="With --speed: the longest pause, seconds."),
        max_lag: int = typer.Option(250, "--max-lag", min=1, help="Without --speed: the most events the worker "
                                    "group may lag behind on events.* before the replay waits."),
        stall_timeout: float = typer.Option(120.0, "--stall-timeout", min=1.0, help=(
            "Without --speed: stop with an error when the worker group consumes nothing for this long (seconds).")),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ):
        """Replay a file of canonical events into events.<kind> on the configured broker, sorted by occurred_at.

        The whole file is read first: memory holds about its uncompressed size plus ~300 bytes per event.

        A line that is not a JSON object with a known kind and an aware occurred_at goes to events.dlq.

        Events keep their event_id: replaying a file again changes nothing downstream.

        A backfill of history before go-live: start the workers with PULSEWIRE_LEARN_ALERTS_FROM set to the
        go-live time (e.g. 2026-12-01T00:00:00Z), so the history trains the learners but sends no alert; a
        subject still at risk then alerts on their next score after it."""
        from ..replay import ReplayError, read_event_file
        from ..replay import replay as run_replay
        from ..topics import CONNECTOR_TOPICS, BrokerUnreachable, TopicMap, ensure_topics
        from .errors import EXIT_FAILED, fail, load_settings

        if speed is not None and as_fast_as_possible:
            fail("--speed and --as-fast-as-possible exclude each other: give one")
        if speed is not None and not speed > 0:
            fail(f"--speed {speed:g}: must be greater than 0 (1: real time, 3600: an hour a second)")
        settings = load_settings()
        try:
            events = read_event_file(file)
        except ReplayError as exc:
            fail(str(exc))
        logging.getLogger().setLevel(logging.WARNING)
        topics = TopicMap.from_settings(settings)
        try:
            ensure_topics(settings.kafka, topics, specs=CONNECTOR_TOPICS, timeout_s=5)
        except BrokerUnreachable as exc:
            fail(str(exc))
        last = [time.monotonic()]

        def progress(n: int, total: int) -> None:
            if not as_json and time.monotonic() - last[0] > 15:
                last[0] = time.monotonic()
                typer.echo(f"  produced {n}/{total}", err=True)

        try:
            report = run_replay(events, settings.kafka, topics, speed=speed, max_gap_s=max_gap, max_lag=max_lag,
                                stall_timeout_s=stall_timeout, progress=progress)
        except ReplayError as exc:
            fail(str(exc), code=EXIT_FAILED)
        except KeyboardInterrupt:
            fail("interrupted; replaying the file again is safe (events keep their ids)", code=130)
        if as_json:
            typer.echo(json.dumps(report.as_dict()))
        else:
            for line in report.lines():
                typer.echo(line)
        if not events.events:
            fail(f"{file}: no line could be replayed (all {len(events.bad)} are dead letters)", code=EXIT_FAILED)
