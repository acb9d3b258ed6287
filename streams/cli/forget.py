"""``pulsewire forget``: erase one person's data on request (see docs/privacy.md, "Erasure on request")."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Optional

import typer

EXIT_NOT_FOUND = 3  # the worker found no data for the id under this key, and no earlier erasure of it


def register(app: typer.Typer) -> None:
    @app.command()
    def forget(
        employee: Optional[str] = typer.Option(None, "--employee", metavar="ID",
                                               help="The employee's id as the HR system knows it (pseudonymised here)."),
        customer: Optional[str] = typer.Option(None, "--customer", metavar="ID",
                                               help="The customer's id as the CRM knows it."),
        by: Optional[str] = typer.Option(None, "--by", metavar="ROLE",
                                         help="The role asking (hr-admin, dpo): recorded in the audit, never a name."),
        timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds to wait for the worker's receipt."),
        as_json: bool = typer.Option(False, "--json", help="Print the receipt as one JSON object."),
    ):
        """Erase one person: their rows in every ClickHouse table, their feature state and pending labels
        in the worker, their answers in the metric state. A running worker carries it out and records it
        (table erasures: who, when, what; the person only as a keyed hash). Running it again removes
        nothing more and says so."""
        from ..erasure import REQUEST_TOPIC, check_id, check_role, key_check, request_message, subject_of
        from ..privacy import KeyRing
        from ..topics import BY_NAME, BrokerUnreachable, TopicMap, ensure_topics
        from .errors import EXIT_FAILED, EXIT_USAGE, fail, load_settings

        if bool(employee) == bool(customer):
            fail("name exactly one person: --employee ID or --customer ID")
        if not by:
            fail("--by ROLE is required: the role asking for the erasure (e.g. hr-admin, dpo), kept in the audit")
        try:
            check_role(by)
            check_id("--employee", employee) if employee else check_id("--customer", customer)
        except ValueError as exc:
            fail(str(exc))
        s = load_settings()
        key = s.pseudonym_key.get_secret_value() if s.pseudonym_key else ""
        if len(key) < 16:
            fail("PULSEWIRE_PSEUDONYM_KEY is not set (or shorter than 16 characters): forget needs the "
                 "worker's key to find the person's pseudonym and to record the erasure")
        keys = KeyRing(key.encode())
        subject = subject_of(keys, employee=employee, customer=customer)
        topic_map = TopicMap.from_settings(s)
        specs = [BY_NAME[REQUEST_TOPIC], BY_NAME["privacy.erasure.receipts"]]
        try:
            ensure_topics(s.kafka, topic_map, specs, timeout_s=min(timeout, 15.0))
        except BrokerUnreachable as exc:
            fail(exc)
        request_id = uuid.uuid4().hex
        try:
            receipt = _request_and_wait(s.kafka, topic_map, request_id,
                                        request_message(request_id, subject, by, datetime.now(timezone.utc),
                                                        key_check(keys)),
                                        subject.entity_id.encode(), timeout)
        except Exception as exc:  # the broker went away between the topic check and now
            fail(f"cannot reach Kafka at {s.bootstrap_servers}: {type(exc).__name__}: {exc}")
        if receipt is None:
            fail(f"no worker answered within {timeout:.0f} s (is 'pulsewire worker' running on "
                 f"{s.bootstrap_servers}, group {topic_map.group}?). The request {request_id} stays on "
                 f"{topic_map.name(REQUEST_TOPIC)} and a worker carries it out when it starts; run forget "
                 f"again then to see the result", code=EXIT_FAILED)
        from ..erasure import describe, not_found

        if as_json:
            typer.echo(json.dumps(receipt))
        if receipt.get("refused"):
            fail(f"the worker refused the request: it runs with another PULSEWIRE_PSEUDONYM_KEY than this "
                 f"command (request {request_id}); nothing was erased or recorded: run forget with the "
                 f"worker's key", code=EXIT_USAGE)
        if not_found(receipt):
            fail(describe(receipt), code=EXIT_NOT_FOUND)
        if not as_json:
            typer.echo(describe(receipt))


def _request_and_wait(kafka, topic_map, request_id: str, message: bytes, key: bytes,
                      timeout_s: float) -> dict | None:
    """Send the request, then wait for its receipt (read from the end as it was before sending)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from ..erasure import RECEIPT_TOPIC, REQUEST_TOPIC

    tp = TopicPartition(topic_map.name(RECEIPT_TOPIC), 0)
    consumer = KafkaConsumer(**kafka.kafka_python_kwargs(group_id=None, enable_auto_commit=False,
                                                         client_id="pulsewire-forget"))
    try:
        consumer.assign([tp])
        consumer.seek_to_end(tp)
        consumer.position(tp)
        producer = KafkaProducer(**kafka.kafka_python_kwargs(acks="all", client_id="pulsewire-forget"))
        try:
            producer.send(topic_map.name(REQUEST_TOPIC), key=key, value=message).get(timeout=30)
        finally:
            producer.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for rec in records:
                    if rec.key == request_id.encode():
                        return json.loads(rec.value)
        return None
    finally:
        consumer.close()
