"""``pulsewire grafana``: sync the boards and alert rules to a Grafana, or export them as files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

grafana_app = typer.Typer(help="Grafana dashboards, data source and alert rules.", no_args_is_help=True)


def _credential():
    token = os.environ.get("GRAFANA_TOKEN") or os.environ.get("PULSEWIRE_GRAFANA_TOKEN")
    if token:
        return token
    user, password = os.environ.get("GRAFANA_USER"), os.environ.get("GRAFANA_PASSWORD")
    if user and password:
        return (user, password)
    return None


@grafana_app.command("sync")
def sync_cmd(
    url: str = typer.Option(..., "--url", help="Grafana base URL, e.g. http://localhost:3000"),
    clickhouse_url: str = typer.Option("https://clickhouse:8443", "--clickhouse-url",
                                       help="ClickHouse HTTP(S) URL as Grafana reaches it."),
    clickhouse_user: str = typer.Option("pulsewire_grafana", "--clickhouse-user", envvar="PULSEWIRE_GRAFANA_STORE_USER",
                                        help="Grafana's read-only store user (the worker creates it on a server)."),
    clickhouse_ca_file: Optional[Path] = typer.Option(None, "--clickhouse-ca-file", envvar="PULSEWIRE_STORE_CA_FILE",
                                                      help="PEM file of the CA that signed ClickHouse's certificate."),
    database: str = typer.Option("default", "--database"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change; write nothing."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create or update the ClickHouse data source, the pulsewire folder, the three dashboards, the
    contact point and the alert rules. Idempotent: a second run reports everything unchanged.

    Credentials come from the environment: GRAFANA_TOKEN (a service-account token; or
    GRAFANA_USER + GRAFANA_PASSWORD), PULSEWIRE_GRAFANA_STORE_PASSWORD (the read-only ClickHouse user's
    password, sent as secure data), PULSEWIRE_ALERT_WEBHOOK_URL (where alerts are sent)."""
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaException

    from pulsewire.dashboards.grafana_sync import SyncOptions, sync

    from ..settings import Settings

    from .errors import fail, first_line

    cred = _credential()
    if cred is None:
        fail("set GRAFANA_TOKEN (a Grafana service-account token with the Editor or Admin role), "
             "or GRAFANA_USER and GRAFANA_PASSWORD")
    s = Settings()
    try:
        ca_pem = clickhouse_ca_file.read_text() if clickhouse_ca_file else ""
    except OSError as exc:
        fail(f"cannot read the CA file {clickhouse_ca_file}: {exc.strerror}")
    opts = SyncOptions(clickhouse_url=clickhouse_url, clickhouse_user=clickhouse_user,
                       clickhouse_password=os.environ.get("PULSEWIRE_GRAFANA_STORE_PASSWORD", ""),
                       clickhouse_ca_pem=ca_pem, database=database,
                       webhook_url=os.environ.get("PULSEWIRE_ALERT_WEBHOOK_URL") or None,
                       min_group=s.min_group_size, min_comment_group=s.min_comment_group_size, dry_run=dry_run)
    api = GrafanaApi.from_url(url.rstrip("/"), credential=cred, timeout=15)
    try:
        changes = sync(api, opts)
    except GrafanaException as exc:
        fail(f"Grafana refused a request: {exc}", 1)
    except OSError as exc:  # the HTTP client's connection errors (niquests.RequestException is one)
        fail(f"cannot reach Grafana at {url}: {first_line(exc)}")
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in changes]))
        return
    for c in changes:
        typer.echo(f"{c.action:9} {c.kind:13} {c.name}" + (f"  ({c.detail})" if c.detail else ""))
    n = sum(c.action in ("created", "updated") for c in changes)
    typer.echo(("would change " if dry_run else "changed ") + f"{n} of {len(changes)}")


@grafana_app.command("export")
def export_cmd(
    root: Path = typer.Option(Path("."), "--root", help="Repository root to write into."),
    check: bool = typer.Option(False, "--check", help="Only check that the files are up to date (exit 1 if not)."),
):
    """Write dashboards/*.json and the alert-rule provisioning file from the code that builds them."""
    from pulsewire.dashboards.build import rendered_files, write_files

    if check:
        stale = [str(rel) for rel, text in rendered_files().items()
                 if not (root / rel).exists() or (root / rel).read_text() != text]
        for rel in stale:
            typer.echo(f"out of date: {rel}")
        raise typer.Exit(1 if stale else 0)
    for rel in write_files(root):
        typer.echo(f"wrote {rel}")


def register(app: typer.Typer) -> None:
    app.add_typer(grafana_app, name="grafana")


