"""The outcome webhook: a CRM or HR tool reports what came of an alert over HTTP, signed.

``POST /outcomes`` with an alert outcome as the JSON body (``schemas/json/alert_outcome.v1.schema.json``)
and two headers (the scheme of ``streams/connectors/webhook.py``, provider ``pulsewire``):

* ``X-Pulsewire-Timestamp``: the sending time, Unix seconds;
* ``X-Pulsewire-Signature``: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the shared
  secret (``PULSEWIRE_OUTCOME_WEBHOOK_SECRET``, from the environment only).

Answers, never a 500: 202 once the outcome is on ``alerts.outcomes`` (the worker joins it to its alert;
an unknown alert id becomes a dead letter ``unknown_alert`` there); 401 for a missing, bad or stale
signature (a timestamp more than ``max_skew_s`` away from now: a replayed or delayed request); 400 for a
body that is not JSON, not an object or not a valid outcome (the reason and the fields at fault, never
their values); 413 over the size limit; 503 while Kafka does not take it (the sender retries: the same
``outcome_id`` is stored once). A replay inside the time window carries the same ``outcome_id`` and
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable

from pulsewire.schemas.outcome import kafka_record

from .agents.outcomes import OutcomeRejected, parse_outcome
from .connectors.webhook import verify

log = logging.getLogger(__name__)

SECRET_ENV = "PULSEWIRE_OUTCOME_WEBHOOK_SECRET"
PATH = "/outcomes"
MAX_BODY_BYTES = 16 * 1024  # an outcome is a few hundred bytes; the note is at most 500 characters
MIN_SECRET_CHARS = 16


class WebhookConfigError(ValueError):
    """The webhook cannot start as configured (no secret)."""


def check_secret(secret: str | None) -> str:
    """The shared secret, or why it will not do.

    >>> check_secret("s" * 16) == "s" * 16
    True
    >>> check_secret("short")
    Traceback (most recent call last):
    ...
    pulsewire.streams.outcome_webhook.WebhookConfigError: PULSEWIRE_OUTCOME_WEBHOOK_SECRET is not set or shorter ...
    """
    if not secret or len(secret.strip()) < MIN_SECRET_CHARS:
        raise WebhookConfigError(f"{SECRET_ENV} is not set or shorter than {MIN_SECRET_CHARS} characters: the "
                                 "outcome webhook accepts signed requests only")
    return secret


class OutcomeWebhook:
    """An HTTP server with one route; ``send(key, value)`` puts a record on ``alerts.outcomes`` and returns
    once Kafka has it (it raises when Kafka does not take it)."""

    def __init__(self, secret: str, send: Callable[[bytes, bytes], None], *, host: str = "127.0.0.1",
                 port: int = 8089, max_skew_s: int = 300):
        self.secret, self.send = check_secret(secret), send
        self.host, self.port, self.max_skew_s = host, port, max_skew_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def handle(self, request):
        from aiohttp import web
        from aiohttp.http_exceptions import HttpProcessingError
        from aiohttp.web_protocol import RequestPayloadError

        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response({"error": f"body over {MAX_BODY_BYTES} bytes"}, status=413)
        try:
            body = await request.read()
        except (RequestPayloadError, HttpProcessingError):
            return web.json_response({"error": "the body could not be read"}, status=400)
        why = verify("pulsewire", self.secret, request.headers, body, time.time(), self.max_skew_s)
        if why:
            log.warning("outcome webhook: rejected a request (%s)", why)
            return web.json_response({"error": why}, status=401)
        try:
            outcome = parse_outcome(body)
        except OutcomeRejected as exc:
            return web.json_response({"error": exc.reason.value, "detail": exc.detail}, status=400)
        key, value = kafka_record(outcome)
        try:
            await asyncio.to_thread(self.send, key, value)
        except Exception as exc:  # Kafka away or refusing: the sender retries, the outcome id keeps it idempotent
            log.warning("outcome webhook: could not put outcome %s on Kafka: %s", outcome.outcome_id, exc)
            return web.json_response({"error": "busy; retry"}, status=503, headers={"Retry-After": "5"})
        return web.json_response({"status": "accepted", "outcome_id": outcome.outcome_id,
                                  "alert_id": outcome.alert_id}, status=202)

    async def _any_other(self, request):
        from aiohttp import web

        return web.json_response({"error": f"POST {PATH} only"}, status=404)

    def application(self):
        from aiohttp import web

        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(PATH, self.handle)
        app.router.add_route("*", "/{tail:.*}", self._any_other)
        return app

    # -- in a thread (tests, and the CLI's foreground server) --
    def start(self) -> int:
        """Serve on a background thread; return the port."""
        ready, errors = threading.Event(), []

        def serve():
            from aiohttp import web

            self._loop = loop = asyncio.new_event_loop()
            runner = web.AppRunner(self.application(), access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self.host, self.port)
                loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]
            except Exception as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="outcome-webhook", daemon=True)
        self._thread.start()
        ready.wait(15)
        if errors:
            raise OSError(f"the outcome webhook could not listen on {self.host}:{self.port}: {errors[0]}")
        return self.port

    def stop(self) -> None:
        if self._thread and self._thread.is_alive() and self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def kafka_sender(kafka, topic: str, client_id: str = "pulsewire-outcomes"):
    """A ``send(key, value)`` that produces to ``topic`` and waits for the broker's acknowledgement."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka.kafka_python_kwargs(acks="all", client_id=client_id))

    def send(key: bytes, value: bytes) -> None:
        producer.send(topic, key=key, value=value).get(timeout=30)

    send.close = producer.close  # type: ignore[attr-defined]
    return send
