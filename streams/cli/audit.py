"""``pulsewire audit``: the bias audit of the churn and burnout alerts over a store (docs/oversight.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def audit(
        data_dir: Optional[Path] = typer.Option(None, "--data-dir",
                                                help="A data directory left by 'pulsewire demo' (store in DIR/clickhouse)."),
        store_url: Optional[str] = typer.Option(None, "--store-url",
                                                help="Read this store instead (chdb:///abs/path or http://host:8123)."),
        as_json: bool = typer.Option(False, "--json", help="Print the audit as one JSON object."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write a self-contained HTML report."),
        since: Optional[str] = typer.Option(None, "--since", help="Audit predictions from this time (ISO 8601, UTC)."),
        days: Optional[int] = typer.Option(None, "--days", min=1,
                                           help="Audit the last N days of predictions (before the newest one)."),
        record: bool = typer.Option(False, "--record", help="Also write today's rows into bias_audit_daily "
                                    "(replacing today's; opens the store for writing)."),
    ):
        """Per group (team, tenure, channel, plan, connectors' auditable fields): alert rate, mean risk,
        precision, recall and AUC where labels or outcomes exist, ratios to the best-treated group with
        95% intervals; flags a group when the whole interval of a ratio is below 0.8 (four-fifths rule),
        at a level corrected for the number of ratios the audit tests (Bonferroni).
        Reads only, unless --record."""
        from ..bias_audit import connector_auditable_fields, daily_rows, render_html, run_audit, store_min_group, text_lines
        from ..store import open_store, redact_url
        from .board import _when
        from .errors import fail, load_settings, store_errors, store_failure

        if since and days:
            fail("--since and --days both choose the window: pass one of them")
        start = _when(since, "--since")
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        if data_dir and not store_url and not data_dir.is_dir():
            fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used, or --store-url")
        url = store_url or (f"chdb://{(data_dir / 'clickhouse').resolve()}" if data_dir else settings.store_url)
        try:
            extra = connector_auditable_fields()
        except ValueError as exc:
            fail(str(exc))
        try:
            with open_store(url, user=settings.store_user, password=settings.store_password.get_secret_value(),
                            read_only=not record, ca_file=settings.store_ca_file) as store:
                report = run_audit(store, min_group=store_min_group(store, settings.min_group_size), since=start,
                                   days=days, extra=extra)
                if not any(report["people"].values()):
                    w = report["window"]
                    fail(f"no predictions in this window ({w['from'][:19]} .. {w['to'][:19]} UTC): nothing to audit; "
                         "widen --since/--days, or let the worker score some events first")
                if record:
                    store.insert_rows("bias_audit_daily", daily_rows(report, datetime.now(timezone.utc).date()))
        except store_errors() as exc:
            fail(store_failure(url, exc))
        if output:
            try:
                output.write_text(render_html(report, source=redact_url(url)), encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {output}: {exc.strerror}")
        if as_json:
            typer.echo(json.dumps(report, default=str))
            return
        for line in text_lines(report):
            typer.echo(line)
        if output:
            typer.echo(f"wrote {output.resolve()}")
