"""``pulsewire outcome``: say what came of an alert; ``pulsewire outcome-webhook``: let a CRM or HR tool say it
over HTTP (see docs/oversight.md, "Alert outcomes")."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

EXIT_UNKNOWN_ALERT = 3  # the store holds no alert with this id


def _alert_known(settings, alert_id: str) -> tuple[bool | None, str]:
    """(True | False, "") when the store answered; (None, why) when it cannot be asked from here (the
    embedded store is held by the running worker, or there is no store yet)."""
    from ..store import StoreInUse, open_from_settings
    from .errors import store_errors

    try:
        with open_from_settings(settings, read_only=True) as store:
            rows = store.query_dicts("SELECT count() AS n FROM alerts_audit WHERE alert_id = {a:String}",
                                     {"a": alert_id})
            return bool(rows[0]["n"]), ""
    except StoreInUse:
        return None, "the store is in use by the running worker"
    except store_errors() as exc:
        from .errors import first_line

        return None, first_line(exc)


def register(app: typer.Typer) -> None:
    from pulsewire.schemas.outcome import NOTE_MAX_CHARS, OUTCOMES, ROLES

    @app.command()
    def outcome(
        alert_id: str = typer.Argument(..., metavar="ALERT_ID", help="The alert's id (the CloudEvent's `id`)."),
        result: Optional[str] = typer.Option(None, "--outcome", metavar="|".join(OUTCOMES),
                                             help="What came of the alert."),
        role: Optional[str] = typer.Option(None, "--role", metavar="ROLE",
                                           help=f"Who judged it, as a role ({', '.join(ROLES)}); never a name."),
        note: Optional[str] = typer.Option(None, "--note", help=f"Optional free text, at most {NOTE_MAX_CHARS} "
                                           "characters (personal data: kept with the outcome, never on a dashboard)."),
        when: Optional[str] = typer.Option(None, "--when", help="When it was judged (ISO 8601; default: now, UTC)."),
        outcome_id: Optional[str] = typer.Option(
            None, "--id", help="The outcome's id (default: derived from the alert, outcome, role and time: sending "
            "the same again is stored once)."),
        check: bool = typer.Option(True, "--check/--no-check", help="Refuse an alert id the store does not hold "
                                   "(where the store can be read from here)."),
        as_json: bool = typer.Option(False, "--json", help="Print the outcome as sent, as one JSON object."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="A data directory left by 'pulsewire demo': "
                                                "check the alert id in its store (DIR/clickhouse)."),
    ):
        """Record what came of an alert: acted, not_useful, wrong or already_known, and who (a role) judged it.
        The outcome goes to Kafka (alerts.outcomes); the running worker joins it to the alert and stores it,
        and the Model oversight board counts it. Alert ids: the `id` of the alert's CloudEvent, or
        `pulsewire export`, or `SELECT alert_id, alert_type, created_at FROM alerts_audit` in the store."""
        from pydantic import ValidationError

        from pulsewire.schemas.outcome import AlertOutcome, derive_outcome_id, kafka_record

        from ..topics import BY_NAME, BrokerUnreachable, TopicMap, ensure_topics, kafka_failure
        from .board import _when
        from .errors import fail, load_settings

        if not result:
            fail(f"--outcome is required: one of {', '.join(OUTCOMES)}")
        if not role:
            fail(f"--role is required: one of {', '.join(ROLES)} (a role, never a name)")
        at = _when(when, "--when") or datetime.now(timezone.utc)
        try:
            o = AlertOutcome(outcome_id=outcome_id or derive_outcome_id(alert_id, result, role, at), alert_id=alert_id,
                             outcome=result, role=role, note=note or None, when=at)
        except ValidationError as exc:
            e = exc.errors()[0]
            where = {"outcome": "--outcome", "role": "--role", "note": "--note", "alert_id": "ALERT_ID",
                     "outcome_id": "--id"}.get(str(e["loc"][0]) if e["loc"] else "", "outcome")
            fail(f"{where}: {e['msg'].removeprefix('Value error, ')}")
        if data_dir and not data_dir.is_dir():
            fail(f"no data directory {data_dir}: pass the --data-dir a 'pulsewire demo' used")
        s = load_settings(data_dir=data_dir) if data_dir else load_settings()
        if check:
            known, why = _alert_known(s, alert_id)
            if known is False:
                fail(f"no alert {alert_id} in the store (alerts_audit): check the id, or pass --no-check to send it "
                     "anyway (the worker then dead-letters it as unknown_alert)", code=EXIT_UNKNOWN_ALERT)
            if known is None:
                typer.echo(f"note: alert id not checked here ({why}); the worker dead-letters an unknown one "
                           "(unknown_alert)", err=True)
        topic_map = TopicMap.from_settings(s)
        try:
            ensure_topics(s.kafka, topic_map, [BY_NAME["alerts.outcomes"]], timeout_s=15.0)
        except BrokerUnreachable as exc:
            fail(exc)
        from ..outcome_webhook import kafka_sender

        key, value = kafka_record(o)
        try:
            send = kafka_sender(s.kafka, topic_map.name("alerts.outcomes"), client_id="pulsewire-outcome")
            try:
                send(key, value)
            finally:
                send.close()
        except Exception as exc:  # the broker went away between the topic check and now
            fail(f"cannot reach Kafka at {s.bootstrap_servers}: {kafka_failure(exc)}")
        if as_json:
            typer.echo(json.dumps(json.loads(value)))
        else:
            typer.echo(f"sent outcome {o.outcome_id} for alert {alert_id}: {o.outcome} ({o.role})")

    @app.command("outcome-webhook")
    def outcome_webhook(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8089, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
        max_skew_s: int = typer.Option(300, "--max-skew", min=10, help="Refuse requests signed longer ago (s)."),
    ):
        """Serve POST /outcomes: a CRM or HR tool sends signed alert outcomes (HMAC-SHA256 with the secret in
        PULSEWIRE_OUTCOME_WEBHOOK_SECRET) and they go to alerts.outcomes."""
        import signal
        import threading

        from ..outcome_webhook import PATH, OutcomeWebhook, WebhookConfigError, check_secret, kafka_sender
        from ..topics import BY_NAME, BrokerUnreachable, TopicMap, ensure_topics, kafka_failure
        from .errors import fail, load_settings

        s = load_settings()
        try:
            check_secret(s.outcome_webhook_secret.get_secret_value() if s.outcome_webhook_secret else None)
        except WebhookConfigError as exc:
            fail(exc)
        topic_map = TopicMap.from_settings(s)
        try:
            ensure_topics(s.kafka, topic_map, [BY_NAME["alerts.outcomes"]], timeout_s=15.0)
            send = kafka_sender(s.kafka, topic_map.name("alerts.outcomes"))
        except BrokerUnreachable as exc:
            fail(exc)
        except Exception as exc:
            fail(f"cannot reach Kafka at {s.bootstrap_servers}: {kafka_failure(exc)}")
        secret = s.outcome_webhook_secret.get_secret_value() if s.outcome_webhook_secret else ""
        try:
            hook = OutcomeWebhook(secret, send, host=host, port=port, max_skew_s=max_skew_s)
            bound = hook.start()
        except (WebhookConfigError, OSError) as exc:
            send.close()
            fail(exc)
        typer.echo(f"outcome webhook listening on http://{host}:{bound}{PATH}")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        hook.stop()
        send.close()
