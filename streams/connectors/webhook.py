"""``webhook``: an HTTP receiver for help-desk tickets (Zendesk, Freshdesk), chat (Slack, Intercom) and
product-analytics calls in the Segment spec (``track``, ``identify``: ``activity`` events, see ``segment.py``).

* Every route needs a secret (fail closed): a route without ``secret_env``, or whose variable is
  unset or empty, stops the connector at start. Signatures are verified where the source signs
  (Zendesk, Slack, Intercom, Segment; Freshdesk: a shared token header); a missing, duplicated, unreadable,
  bad or stale signature gets 401 and nothing is produced. Secrets come from environment
  variables named in the config, never from the config file.
* A request is answered 200 only after its event is produced (``Raw.ack``); a malformed or
  unmappable body (not JSON, too deeply nested, not an object) is dead-lettered, then answered
  400 with the dead letter's reason and its detail without the body's values; over ``max_body_bytes``: 413; queue full or broker slow past ``ack_timeout_s``: 503 (the
  sender retries: same event_id, de-duplicated). Malformed input never gets a 500.
* Replays: a delivery id already accepted is answered 200 ``duplicate`` without producing again.
  The ids are recorded on ``connectors.deliveries`` with the event they delivered, so a restarted
  webhook still refuses them; a signed delivery older than ``max_delivery_age_s`` (Intercom's
  ``created_at``) or outside ``max_clock_skew_s`` (Zendesk, Slack) is refused by its age.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import logging
import math
import os
import queue
import re
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..json_input import JsonRejected, loads_json
from ..sdk import Connector, ConnectorConfig, ConnectorError, Raw, Reason, Reject, compact, parse_time
from ..redaction import scrub
from .segment import map_segment

log = logging.getLogger(__name__)
Provider = Literal["zendesk", "freshdesk", "slack", "intercom", "segment"]


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Provider
    path: str | None = Field(None, description="Default: /<provider>")
    secret_env: str | None = Field(None, description="Env var with the signing secret (Freshdesk: shared token)")
    source: str | None = Field(None, description="The events' `source`; default: the provider")
    author_role: Literal["employee", "customer"] = Field("employee", description="slack: who writes in the channel")
    keep_traits: list[str] = Field(default_factory=list, description="segment: identify traits kept as attributes "
                                   "(personal data: name only what you need; default none)")


class WebhookConfig(ConnectorConfig):
    host: str = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535, description="0: any free port")
    routes: list[Route] = Field(min_length=1)
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    max_clock_skew_s: int = 300
    ack_timeout_s: float = 20.0
    queue_size: int = Field(1000, ge=1)
    replay_window: int = Field(100_000, ge=0, description="How many recent delivery ids are remembered")
    max_delivery_age_s: int = Field(86_400, ge=60, le=7 * 86_400,
                                    description="Intercom: a delivery created longer ago is refused (replay)")


# ---- signatures (pure; `sign` is what tests and local tools use) ----

def sign(provider: str, secret: str, body: bytes, ts: str | None = None) -> dict[str, str]:
    """The headers the provider would send for ``body``."""
    if provider == "zendesk":
        ts = ts or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        mac = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()
        return {"X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
                "X-Zendesk-Webhook-Signature-Timestamp": ts}
    if provider == "slack":
        ts = ts or str(int(time.time()))
        mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        return {"X-Slack-Signature": f"v0={mac}", "X-Slack-Request-Timestamp": ts}
    if provider == "intercom":
        return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}
    if provider == "segment":  # Segment's webhook destinations: hex HMAC-SHA1 of the body, no timestamp
        return {"X-Signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}
    if provider == "pulsewire":  # pulsewire's own routes (alert outcomes): HMAC-SHA256 over "<ts>." + body
        ts = ts or str(int(time.time()))
        mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return {"X-Pulsewire-Signature": f"sha256={mac}", "X-Pulsewire-Timestamp": ts}
    return {"X-Pulsewire-Token": secret}


SIGNATURE_HEADERS = {
    "zendesk": ("x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"),
    "slack": ("x-slack-signature", "x-slack-request-timestamp"),
    "intercom": ("x-hub-signature",),
    "segment": ("x-signature",),
    "freshdesk": ("x-pulsewire-token",),
    "pulsewire": ("x-pulsewire-signature", "x-pulsewire-timestamp"),
}


def verify(provider: str, secret: str, headers, body: bytes, now: float, skew_s: int) -> str | None:
    """None when the request is authentic, else why not (never raises on what a sender controls).

    >>> verify("slack", "s", {"X-Slack-Signature": "v0=ab", "X-Slack-Request-Timestamp": "\u00b2"}, b"{}", 0, 300)
    'missing or unreadable signature timestamp'
    >>> verify("intercom", "s", [("X-Hub-Signature", "sha1=a"), ("x-hub-signature", "sha1=b")], b"{}", 0, 300)
    'duplicate x-hub-signature header'
    >>> verify("freshdesk", "t0k", {"X-Pulsewire-Token": "t\u00f6k"}, b"{}", 0, 300)
    'bad signature'
    """
    h: dict[str, str] = {}
    for k, v in (headers.items() if hasattr(headers, "items") else headers):
        k = k.lower()
        if k in SIGNATURE_HEADERS[provider]:
            if k in h:  # which one would we check? a sender that sends two is not the provider
                return f"duplicate {k} header"
            h[k] = v if v.isascii() else ""  # signatures and timestamps are ASCII; anything else is no signature
    if provider == "zendesk":
        ts, got = h.get("x-zendesk-webhook-signature-timestamp", ""), h.get("x-zendesk-webhook-signature", "")
        try:
            age = now - datetime.fromisoformat(ts).timestamp()
        except (ValueError, OverflowError, OSError):
            return "missing or unreadable signature timestamp"
        want = sign("zendesk", secret, body, ts)["X-Zendesk-Webhook-Signature"]
    elif provider == "slack":
        ts, got = h.get("x-slack-request-timestamp", ""), h.get("x-slack-signature", "")
        if not re.fullmatch(r"[0-9]{1,12}", ts):
            return "missing or unreadable signature timestamp"
        age, want = now - int(ts), sign("slack", secret, body, ts)["X-Slack-Signature"]
    elif provider == "pulsewire":
        ts, got = h.get("x-pulsewire-timestamp", ""), h.get("x-pulsewire-signature", "")
        if not re.fullmatch(r"[0-9]{1,12}", ts):
            return "missing or unreadable signature timestamp"
        age, want = now - int(ts), sign("pulsewire", secret, body, ts)["X-Pulsewire-Signature"]
    elif provider == "intercom":
        age, got, want = 0, h.get("x-hub-signature", ""), sign("intercom", secret, body)["X-Hub-Signature"]
    elif provider == "segment":
        age, got, want = 0, h.get("x-signature", "").lower(), sign("segment", secret, body)["X-Signature"]
    else:
        age, got, want = 0, h.get("x-pulsewire-token", ""), secret
    if not hmac.compare_digest(got.encode(), want.encode()):
        return "bad signature"
    if abs(age) > skew_s:
        return f"timestamp is {int(age)}s old (limit {skew_s}s): a replayed or delayed request"
    return None


def delivery_age_s(provider: str, obj: dict, now: float) -> float | None:
    """How old a signed delivery says it is (Intercom's ``created_at``, epoch seconds), if it says.

    >>> delivery_age_s("intercom", {"created_at": 1000}, 1600.0), delivery_age_s("intercom", {"created_at": "x"}, 0)
    (600.0, None)
    """
    created = obj.get("created_at") if provider == "intercom" else None
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
        return None
    return now - created


def delivery_id(provider: str, obj: dict, body: bytes) -> str:
    key = {"zendesk": "id", "slack": "event_id", "intercom": "id", "segment": "messageId"}.get(provider)
    found = obj.get(key) if key else None
    return f"{provider}:{found}" if found else f"{provider}:sha256:{hashlib.sha256(body).hexdigest()}"


# ---- mapping (pure) ----

_TAGS = re.compile(r"<[^>]+>")
ZD_TYPES = {"ticket.created": "created", "ticket.comment_added": "comment", "ticket.status_changed": "status_changed"}
ZD_STATUS = {"new": "new", "open": "open", "pending": "pending", "hold": "pending", "solved": "solved", "closed": "closed"}
FD_STATUS = {"open": "open", "pending": "pending", "resolved": "solved", "closed": "closed",
             "waiting on customer": "pending", "waiting on third party": "pending"}
FD_PRIORITY = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}


def _lower(v) -> str | None:
    return str(v).lower() if v not in (None, "") else None


def map_zendesk(body: dict, source: str) -> dict | None:
    kind = ZD_TYPES.get(str(body.get("type", "")).removeprefix("zen:event-type:"))
    if kind is None:
        return None  # an event type we do not track
    d, ev = body["detail"], body.get("event") or {}
    text = None
    if kind == "created":
        text = "\n".join(filter(None, [d.get("subject"), d.get("description")])) or None
    elif kind == "comment":
        comment = ev["comment"]
        if (comment.get("author") or {}).get("is_staff") or comment.get("is_public") is False:
            return None  # agents' replies and internal notes are not customer voice
        text = comment.get("body")
    status = ev.get("current") if kind == "status_changed" else d.get("status")
    return compact({"kind": "ticket", "type": kind, "source": source, "event_id": f"zendesk:{body['id']}",
                    "occurred_at": parse_time(body["time"]), "customer_id": str(d["requester_id"]),
                    "ticket_id": str(d["id"]), "status": ZD_STATUS.get(_lower(status) or ""),
                    "priority": _lower(d.get("priority")), "channel": (d.get("via") or {}).get("channel"),
                    "text": text})


def map_freshdesk(body: dict, source: str, received_at: str, body_hash: str) -> dict:
    t = body["freshdesk_webhook"]
    trig = str(t.get("triggered_event", ""))
    kind = "created" if "ticket_action:created" in trig else "status_changed" if "status" in trig else "comment"
    try:
        at = parse_time(t.get("ticket_updated_at") or received_at, "UTC")
    except Reject:
        at = received_at  # Freshdesk formats placeholders for humans; the arrival time is close enough
    text = t.get("ticket_latest_public_comment") if kind == "comment" else t.get("ticket_description")
    requester = str(t.get("ticket_requester_id") or "").strip()
    if not requester or "@" in requester:  # an address would be stored as the customer's id everywhere
        raise Reject(Reason.MISSING_FIELD, "requester id missing; e-mail addresses are not used as ids")
    return compact({"kind": "ticket", "type": kind, "source": source, "event_id": f"freshdesk:{body_hash[:40]}",
                    "occurred_at": at, "customer_id": requester,
                    "ticket_id": str(t["ticket_id"]), "status": FD_STATUS.get(_lower(t.get("ticket_status")) or ""),
                    "priority": FD_PRIORITY.get(_lower(t.get("ticket_priority")) or ""),
                    "channel": _lower(t.get("ticket_source")), "text": text})


def map_slack(body: dict, source: str, role: str) -> dict | None:
    e = body.get("event") or {}
    if body.get("type") != "event_callback" or e.get("type") != "message" or e.get("subtype") or not e.get("user"):
        return None  # edits, joins, bot posts
    who = "employee_id" if role == "employee" else "customer_id"
    return {"kind": "chat", "type": "message", "source": source, "event_id": f"slack:{body['event_id']}",
            "occurred_at": parse_time(e["ts"]), "conversation_id": f"{e['channel']}:{e.get('thread_ts', e['ts'])}",
            "author_role": role, who: e["user"], "channel": f"slack:{e['channel']}", "text": e.get("text") or "",
            "team_id": body.get("team_id")}


def map_intercom(body: dict, source: str) -> dict | None:
    topic, item = body.get("topic", ""), body["data"]["item"]
    if topic == "conversation.user.created":
        part = dict(item["source"], created_at=item.get("created_at"), id=f"{item['id']}-source")
    elif topic in ("conversation.user.replied", "conversation.admin.replied"):
        part = item["conversation_parts"]["conversation_parts"][-1]
    else:
        return None
    author = part["author"]
    role = "agent" if author["type"] in ("admin", "bot") else "customer"
    if author["type"] == "bot":
        return None
    return {"kind": "chat", "type": "message", "source": source, "event_id": f"intercom:{part['id']}",
            "occurred_at": parse_time(part.get("created_at") or body["created_at"]),
            "conversation_id": str(item["id"]), "author_role": role,
            ("employee_id" if role == "agent" else "customer_id"): str(author["id"]),
            "channel": "intercom", "text": html.unescape(_TAGS.sub(" ", part.get("body") or "")).strip()}


class Webhook(Connector):
    """HTTP webhooks: Zendesk / Freshdesk tickets, Slack / Intercom chat, Segment track / identify; signed."""

    name = "webhook"
    kinds = ("ticket", "chat", "activity")  # help-desk tickets, chat messages, Segment calls
    Config = WebhookConfig
    remembers = True  # delivery ids, so a restarted webhook refuses replays
    personal_fields = ("body",)  # the provider's request: requester, author ids, e-mail addresses, text, traits

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        self.routes = {r.path or f"/{r.provider}": r for r in self.config.routes}
        for path, r in self.routes.items():
            if not r.secret_env:  # fail closed: a route nobody has to authenticate to is an open door
                what = "shared token" if r.provider == "freshdesk" else "signing secret"
                raise ConnectorError(f"route {path}: every route needs a secret; set secret_env to the name of "
                                     f"the environment variable holding the {r.provider} {what}")
        self.port: int | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()

    def restore(self, remembered: dict[str, str]) -> None:
        """Delivery ids earlier runs accepted, oldest first, but those too old to be accepted again anyway."""
        horizon = time.time() - max(self.config.max_delivery_age_s, self.config.max_clock_skew_s)
        for did, at in sorted(remembered.items(), key=lambda kv: kv[1]):
            try:
                if datetime.fromisoformat(at).timestamp() >= horizon:
                    self._remember(did)
            except ValueError:
                self._remember(did)

    def _remember(self, did: str) -> None:
        self._seen[did] = None
        self._seen.move_to_end(did)
        while len(self._seen) > self.config.replay_window:
            self._seen.popitem(last=False)

    # -- pure mapping: payload = {"route", "received_at", "body_sha256", "body"} --
    def map(self, p: dict) -> dict | None:
        r = self.routes[p["route"]]
        src, body = r.source or r.provider, p["body"]
        if r.provider == "zendesk":
            return map_zendesk(body, src)
        if r.provider == "freshdesk":
            return map_freshdesk(body, src, p["received_at"], p["body_sha256"])
        if r.provider == "slack":
            return map_slack(body, src, r.author_role)
        if r.provider == "segment":
            return map_segment(body, src, r.keep_traits)
        return map_intercom(body, src)

    # -- server --
    def setup(self) -> None:
        self._secrets = {}
        for path, r in self.routes.items():
            if r.secret_env:
                if not os.environ.get(r.secret_env, "").strip():  # a blank secret is as good as none
                    raise ConnectorError(f"route {path}: environment variable {r.secret_env} is not set")
                self._secrets[path] = os.environ[r.secret_env]
        self._q: queue.Queue = queue.Queue(maxsize=self.config.queue_size)
        self._inflight: dict[str, asyncio.Future] = {}
        self._ready, self._error = threading.Event(), None
        self._thread = threading.Thread(target=self._serve, name=f"webhook-{self.instance}", daemon=True)
        self._thread.start()
        self._ready.wait(15)
        if self._error or self.port is None:
            raise ConnectorError(f"webhook server could not listen on {self.config.host}:{self.config.port}: "
                                 f"{self._error}")
        log.info("webhook %s listening on http://%s:%s%s", self.instance, self.config.host, self.port,
                 ", ".join(self.routes))

    def _serve(self) -> None:
        from aiohttp import web

        self._loop = loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=self.config.max_body_bytes)
        for path in self.routes:
            app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        try:
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.config.host, self.config.port)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
        except Exception as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def teardown(self) -> None:
        if getattr(self, "_thread", None) and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def poll(self, cursor: str | None) -> Iterator[Raw | None]:
        while True:
            try:
                yield self._q.get(timeout=0.2)
                while True:
                    yield self._q.get_nowait()
            except queue.Empty:
                yield None  # flush now: callers are waiting for their answer

    async def _handle(self, request):
        from aiohttp import web
        from aiohttp.http_exceptions import HttpProcessingError
        from aiohttp.web_protocol import RequestPayloadError

        c, path = self.config, request.path
        route = self.routes[path]
        if (request.content_length or 0) > c.max_body_bytes:
            return web.json_response({"error": f"body over {c.max_body_bytes} bytes"}, status=413)
        try:
            body = await request.read()  # aiohttp answers 413 itself past client_max_size
        except (RequestPayloadError, HttpProcessingError):  # not in its Content-Encoding: the client's error
            return web.json_response({"error": "the body could not be decoded as its Content-Encoding says"},
                                     status=400)
        if path in self._secrets:
            why = verify(route.provider, self._secrets[path], request.headers, body, time.time(), c.max_clock_skew_s)
            if why:
                log.warning("webhook %s: rejected a request (%s)", path, why)
                return web.json_response({"error": why}, status=401)
        try:
            obj = loads_json(body)
            if not isinstance(obj, dict):
                raise JsonRejected(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
        except JsonRejected as exc:
            outcome = await self._submit(None, Raw(None, raw=body, reject=(exc.reason, f"{path}: {exc.detail}")))
            return self._answer(*outcome, error=str(exc))
        except ValueError as exc:  # UnicodeDecodeError included
            outcome = await self._submit(None, Raw(None, raw=body, reject=(Reason.MALFORMED_JSON, f"{path}: {exc}")))
            return self._answer(*outcome, error=f"malformed JSON: {exc}")
        if route.provider == "slack" and obj.get("type") == "url_verification":
            challenge = obj.get("challenge")
            return web.json_response({"challenge": challenge if isinstance(challenge, str) else ""})
        if route.provider == "segment" and obj.get("type") == "batch":
            return await self._segment_batch(path, obj)
        age = delivery_age_s(route.provider, obj, time.time())
        if age is not None and age > c.max_delivery_age_s:
            why = f"delivery is {int(age)}s old (limit {c.max_delivery_age_s}s): a replayed or delayed request"
            log.warning("webhook %s: rejected a request (%s)", path, why)
            return web.json_response({"error": why}, status=401)
        did = delivery_id(route.provider, obj, body)
        if did in self._seen:
            return web.json_response({"status": "duplicate"})
        payload = {"route": path, "received_at": datetime.now(timezone.utc).isoformat(),
                   "body_sha256": hashlib.sha256(body).hexdigest(), "body": obj}
        return self._answer(*await self._submit(did, Raw(payload, raw=body, remember=did)),
                            record=body.decode("utf-8", "replace"))

    async def _segment_batch(self, path: str, obj: dict):
        """Segment's ``{"type": "batch", "batch": [calls]}``: each call on its own (its own delivery id and
        outcome); answered like its worst call (503, else 400 when one was dead-lettered), with the counts."""
        from aiohttp import web

        calls = obj.get("batch")
        if not isinstance(calls, list) or not calls:
            raw = Raw(None, raw=json.dumps(obj), reject=(Reason.MISSING_FIELD, f"{path}: a batch without calls"))
            return self._answer(*await self._submit(None, raw), error="a batch without calls")
        received_at = datetime.now(timezone.utc).isoformat()

        async def one(i: int, call) -> tuple[str, str, tuple | None]:
            text = json.dumps(call, ensure_ascii=False)
            if not isinstance(call, dict):
                return text, *await self._submit(None, Raw(None, raw=text, reject=(
                    Reason.NOT_AN_OBJECT, f"{path}: batch[{i}] is a {type(call).__name__}, not a call")))
            did = delivery_id("segment", call, text.encode())
            if did in self._seen:
                return text, "duplicate", None
            payload = {"route": path, "received_at": received_at,
                       "body_sha256": hashlib.sha256(text.encode()).hexdigest(), "body": call}
            return text, *await self._submit(did, Raw(payload, raw=text, remember=did))

        results = await asyncio.gather(*(one(i, call) for i, call in enumerate(calls)))
        outcomes = [outcome for _, outcome, _ in results]
        counts = {k: outcomes.count(k) for k in dict.fromkeys(outcomes)}
        if "busy" in counts:
            return web.json_response({"error": "busy; retry", "calls": counts}, status=503, headers={"Retry-After": "1"})
        if "dead_lettered" in counts:
            errors = [{"index": i, **why(verdict, text)} for i, (text, outcome, verdict) in enumerate(results)
                      if outcome == "dead_lettered"]
            return web.json_response({"status": "dead_lettered", "calls": counts, "errors": errors}, status=400)
        return web.json_response({"status": "produced" if "produced" in counts else outcomes[0], "calls": counts})

    async def _submit(self, did: str | None, raw: Raw) -> tuple[str, tuple | None]:
        """``(outcome, verdict)``: the runtime's outcome and, for a dead letter, its ``(reason, detail)``."""
        if did in self._inflight:  # the same delivery, twice at once: answer both from one production
            return await asyncio.shield(self._inflight[did])
        fut = self._loop.create_future()
        def ack(outcome: str) -> None:  # called from the runner's thread once the outcome is durable
            try:
                self._loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result((outcome, raw.verdict)))
            except RuntimeError:  # server already stopped: the caller has gone
                pass
        raw.ack = ack
        try:
            self._q.put_nowait(raw)
        except queue.Full:
            return "busy", None
        if did:
            self._inflight[did] = fut
        try:
            outcome = await asyncio.wait_for(asyncio.shield(fut), self.config.ack_timeout_s)
        except asyncio.TimeoutError:
            return "busy", None
        finally:
            self._inflight.pop(did, None)
        if did and self.config.replay_window:
            self._remember(did)
        return outcome

    @staticmethod
    def _answer(outcome: str, verdict: tuple | None, error: str = "", record: str = ""):
        from aiohttp import web

        if outcome == "busy":
            return web.json_response({"error": "busy; retry"}, status=503, headers={"Retry-After": "1"})
        if outcome == "dead_lettered":
            answer = why(verdict, record)
            return web.json_response({"status": "dead_lettered", **answer, "error": error or answer["error"]},
                                     status=400)
        return web.json_response({"status": outcome})


def why(verdict: tuple | None, record: str) -> dict[str, str]:
    """A dead letter's reason and detail as the sender is told them: without any value of its record
    (an answer may be logged by proxies on the way; a detail written by pydantic can quote the input).

    >>> why((Reason.INVALID_VALUE, "not a Segment call type: 'tarck' (expected track, identify)"), '{"type": "tarck"}')
    {'reason': 'invalid_value', 'error': 'not a Segment call type: [value] (expected track, identify)'}
    """
    if verdict is None:
        return {"reason": Reason.MAPPING_FAILED.value, "error": "unmappable payload"}
    reason, detail = verdict
    return {"reason": reason.value, "error": scrub(detail, record) if record else detail}
