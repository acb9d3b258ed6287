"""``pulsewire export``: everything the store holds about one person, as JSON, each look-up recorded
(see docs/privacy.md, "Oversight data", and docs/oversight.md, "Transparency")."""

from __future__ import annotations

import getpass
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

EXIT_NOT_FOUND = 3  # nothing about this id under this key (as `pulsewire forget`)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (a container without a passwd entry)
        return ""


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        employee: Optional[str] = typer.Option(None, "--employee", metavar="ID",
                                               help="The employee's id as the HR system knows it (pseudonymised here)."),
        customer: Optional[str] = typer.Option(None, "--customer", metavar="ID",
                                               help="The customer's id as the CRM knows it."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir",
                                                help="A data directory left by 'pulsewire demo' (store in DIR/clickhouse)."),
        store_url: Optional[str] = typer.Option(None, "--store-url",
                                                help="This store instead (chdb:///abs/path or http(s)://host:8123)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o",
                                              help="Write the JSON here (file mode 0600) instead of to stdout."),
        requested_by: str = typer.Option("", "--requested-by", "--by", metavar="ROLE",
                                         help="The role asking (hr-admin, dpo): recorded in the access audit, never a name."),
    ):
        """Everything held about one person, as JSON: events (with their text while it is kept), scores and
        their reasons, predictions, risk, alerts and their outcomes, an employee's consent history, erasures
        and earlier look-ups; other people in it only as "(another person)", without their texts. Every run is recorded in the store (table data_access_audit: when, the role and login that
        ran it, the rows returned; the person only as a keyed hash). Exit 3 when nothing is held about the id."""
        from ..erasure import check_id, check_role, subject_of
        from ..privacy import KeyRing
        from ..store import open_store
        from ..transparency.export import ACCESS_TABLE, export_person
        from .errors import fail, load_settings, store_errors, store_failure

        if bool(employee) == bool(customer):
            fail("name exactly one person: --employee ID or --customer ID")
        try:
            check_id("--employee", employee) if employee else check_id("--customer", customer)
            if requested_by:
                check_role(requested_by)
        except ValueError as exc:
            fail(str(exc).replace("--by takes", "--requested-by takes"))
        if data_dir and not store_url and not data_dir.is_dir():
            fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used, or --store-url")
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else ""
        if not key and data_dir and (data_dir / "pseudonym.key").is_file():
            from ..demo import demo_key
            key = demo_key(data_dir)  # the demo's own key, read as 'pulsewire demo' and 'evaluate' read it
        if len(key) < 16:
            fail("PULSEWIRE_PSEUDONYM_KEY is not set (or shorter than 16 characters): export needs the "
                 "worker's key to find the person's pseudonym and to record the look-up (for a demo, "
                 "--data-dir DIR reads DIR/pseudonym.key)")
        subject = subject_of(KeyRing(key.encode()), employee=employee, customer=customer)
        url = store_url or (f"chdb://{(data_dir / 'clickhouse').resolve()}" if data_dir else settings.store_url)
        # The file is made before the store is read (a look-up is never recorded for an export that could
        # not be written) as a new 0600 file beside the target, renamed over it only when complete: an
        # existing file's mode (0644) never carries over to the personal data, and a failed export leaves
        # an existing file as it was.
        out = part = None
        if output is not None:
            if output.is_dir():
                fail(f"cannot write {output}: it is a directory")
            try:
                fd, part = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
                out = os.fdopen(fd, "w")
            except OSError as exc:
                fail(f"cannot write {output}: {exc.strerror}")
        try:
            try:
                with open_store(url, user=settings.store_user, password=settings.store_password.get_secret_value(),
                                ca_file=settings.store_ca_file, must_exist=True) as store:
                    doc, audit = export_person(store, subject, employee or customer, requested_by=requested_by,
                                               os_user=_os_user())
            except store_errors() as exc:
                fail(store_failure(url, exc))
            if not audit["found"]:
                fail(f"no data found for this {subject.entity_type} id under this key: check the id (nothing "
                     f"exported; the look-up is recorded as {audit['access_id']})", code=EXIT_NOT_FOUND)
            text = json.dumps(doc, indent=2, ensure_ascii=False)
            if out is None:
                typer.echo(text)
                return
            out.write(text + "\n")
            out.close()
            try:
                os.replace(part, output)
            except OSError as exc:
                fail(f"cannot write {output}: {exc.strerror}")
            part = None
        finally:
            if out is not None:
                out.close()
            if part is not None:
                Path(part).unlink(missing_ok=True)
        counts = ", ".join(f"{t} {n}" for t, n in audit["rows_returned"].items() if n)
        earlier = doc["counts"].get(ACCESS_TABLE, 0)
        typer.echo(f"wrote {output}: {audit['rows_total']} rows ({counts}), {earlier} earlier look-ups; "
                   f"this one recorded as {audit['access_id']}")
