"""``pulsewire board``: the Grafana boards as one self-contained HTML page, from the embedded store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer


def _when(value: Optional[str], flag: str) -> Optional[datetime]:
    """An ISO 8601 time (UTC unless it says otherwise), or one error line naming the flag.

    >>> _when("2026-11-01T10:00", "--from").isoformat()
    '2026-11-01T10:00:00+00:00'
    """
    if not value:
        return None
    from .errors import fail

    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{flag} {value!r} is not an ISO 8601 time (UTC), e.g. 2026-11-01 or 2026-11-01T09:30")
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def register(app: typer.Typer) -> None:
    @app.command()
    def board(
        data_dir: Optional[Path] = typer.Option(None, "--data-dir",
                                                help="A data directory left by 'pulsewire demo' (store in DIR/clickhouse)."),
        output: Path = typer.Option(Path("pulsewire-board.html"), "--output", "-o", help="The HTML file to write."),
        store_url: Optional[str] = typer.Option(None, "--store-url",
                                                help="Read this store instead (chdb:///abs/path or http://host:8123)."),
        start: Optional[str] = typer.Option(None, "--from", help="Start of the time range (ISO 8601, UTC). "
                                            "Default: each dashboard's own range before its newest data."),
        end: Optional[str] = typer.Option(None, "--to", help="End of the time range (ISO 8601, UTC). "
                                          "Default: the newest data each dashboard shows."),
        as_json: bool = typer.Option(False, "--json", help="Print rows and query time per panel as JSON."),
    ):
        """Render the Customer pulse, Workforce pulse, Pipeline health and Model oversight boards into one HTML
        page (charts drawn as SVG, no network needed to view it)."""
        from pulsewire.dashboards.board import write_board

        from ..store import open_store, redact_url
        from .errors import fail, load_settings, store_errors, store_failure

        since, until = _when(start, "--from"), _when(end, "--to")
        if since and until and since >= until:
            fail(f"--from {start} is not before --to {end}")
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        if data_dir and not store_url and not data_dir.is_dir():
            fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used, or --store-url")
        url = store_url or (f"chdb://{(data_dir / 'clickhouse').resolve()}" if data_dir else settings.store_url)
        try:
            with open_store(url, user=settings.store_user, password=settings.store_password.get_secret_value(),
                            read_only=True, ca_file=settings.store_ca_file) as store:
                result = write_board(store, output, source=redact_url(url), start=since, end=until,
                                     min_group=settings.min_group_size,
                                     min_comment_group=settings.min_comment_group_size)
        except store_errors() as exc:
            fail(store_failure(url, exc))
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror}")
        if as_json:
            typer.echo(json.dumps(result, default=str))
            return
        failed = []
        for uid, b in result.items():
            empty = [t for t, p in b["panels"].items() if p["error"] or not p["rows"]]
            failed += [f"{uid} / {t}" for t in empty]
            slowest = max(p["ms"] for p in b["panels"].values())
            typer.echo(f"{uid}: {len(b['panels'])} panels, {b['range'][0][:16]} .. {b['range'][1][:16]}, "
                       f"slowest query {slowest:.0f} ms")
        typer.echo(f"wrote {output.resolve()}")
        if failed:
            typer.echo("panels without data: " + "; ".join(failed), err=True)
