"""``pulsewire connectors list`` and ``pulsewire connect NAME --config FILE``."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path

import typer

EXIT_CONFIG, EXIT_FAILED = 2, 1


def load_config_file(path: Path) -> dict:
    """TOML, JSON or YAML (by suffix) -> dict."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            return tomllib.loads(text.decode())
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            import yaml  # optional: only when a YAML config is used

            return yaml.safe_load(text) or {}
    except Exception as exc:
        raise ValueError(f"{path} is not valid {suffix[1:].upper()}: {exc}") from None
    raise ValueError(f"{path}: use a .toml, .json or .yaml config file")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Connectors: what is installed.", no_args_is_help=True)

    @sub.command("list")
    def list_(as_json: bool = typer.Option(False, "--json", help="One JSON object per connector.")):
        """Show every installed connector (entry points in the 'pulsewire.connectors' group)."""
        from ..sdk.connector import ConnectorError
        from ..sdk.registry import available, load

        try:
            eps = available()
        except ConnectorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_CONFIG)
        for name, ep in eps.items():
            dist = ep.dist.name if getattr(ep, "dist", None) else "?"
            try:
                doc = ((load(name).__doc__ or "").strip().splitlines() or [""])[0]
            except ConnectorError as exc:
                doc = f"(cannot load: {exc})"
            if as_json:
                typer.echo(json.dumps({"name": name, "package": dist, "target": ep.value, "doc": doc}))
            else:
                typer.echo(f"{name:14} {dist:30} {ep.value:55} {doc}")

    app.add_typer(sub, name="connectors")

    @app.command()
    def connect(
        name: str = typer.Argument(..., help="A name from `pulsewire connectors list`."),
        config: Path = typer.Option(..., "--config", "-c", help="The connector's config (.toml, .json, .yaml)."),
        batch_size: int = typer.Option(1000, min=1, help="Records per produced batch (bounds memory)."),
    ):
        """Run one connector against the configured broker (PULSEWIRE_BROKER_URL) until its source ends."""
        from pydantic import ValidationError

        from ..sdk.connector import ConnectorError
        from ..sdk.registry import load
        from ..sdk.runtime import run
        from ..settings import Settings
        from ..topics import TopicMap

        log = logging.getLogger("pulsewire.connect")
        try:
            cls = load(name)
            connector = cls(load_config_file(config))
            settings = Settings()
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
            typer.echo(f"error: invalid config for {name!r} in {config}: {problems}", err=True)
            raise typer.Exit(EXIT_CONFIG)
        except (ConnectorError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_CONFIG)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("connector %s (%s) -> %s", connector.instance, name, settings.kafka)
        try:
            stats = run(connector, settings.kafka, topics=TopicMap.from_settings(settings), stop=stop,
                        batch_size=batch_size)
        except ConnectorError as exc:
            typer.echo(f"error: connector {connector.instance!r} stopped: {exc}", err=True)
            raise typer.Exit(EXIT_FAILED)
        typer.echo(json.dumps({"connector": connector.instance, "records": stats.raws, "events": stats.events,
                               "dead_letters": stats.dead_letters, "skipped": stats.skipped,
                               "seconds": round(stats.elapsed_s, 2)}))
