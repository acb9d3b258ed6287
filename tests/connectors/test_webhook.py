import json
import time
import urllib.error
import urllib.request

import pytest

from pulsewire.schemas.dead_letter import DeadLetter

from pulsewire.streams.connectors.webhook import Webhook, sign
from pulsewire.streams.sdk import ConnectorError
from pulsewire.streams.testing import check_conformance, running

ZENDESK_COMMENT = {
    "account_id": 22129848, "id": "cbe4028c-7239-495d-b020-f22348516046", "subject": "zen:ticket:5158",
    "time": "2026-11-02T09:14:03.212Z", "type": "zen:event-type:ticket.comment_added",
    "zendesk_event_version": "2022-11-06",
    "detail": {"id": "5158", "requester_id": "8447388090494", "assignee_id": "8447388090201", "status": "OPEN",
               "priority": "HIGH", "subject": "Invoices missing", "via": {"channel": "web_form"},
               "created_at": "2026-11-01T18:00:00Z", "updated_at": "2026-11-02T09:14:03Z"},
    "event": {"comment": {"id": "9001", "body": "Still no invoice for October. Third time I ask!", "is_public": True,
                          "author": {"id": "8447388090494", "is_staff": False, "name": "Jo Customer"}}},
}
ZENDESK_STATUS = {**ZENDESK_COMMENT, "id": "7f6c1d0e-0000-4000-8000-000000000001",
                  "type": "zen:event-type:ticket.status_changed", "event": {"current": "SOLVED", "previous": "OPEN"}}
SLACK_MESSAGE = {
    "token": "XXYYZZ", "team_id": "T061EG9R6", "api_app_id": "A0PNCHHK2", "type": "event_callback",
    "event_id": "Ev08MFMKH6", "event_time": 1793610000, "authorizations": [{"team_id": "T061EG9R6", "is_bot": False}],
    "event": {"type": "message", "channel": "C024BE91L", "user": "U2147483697", "channel_type": "channel",
              "text": "Honestly the on-call rota this month is brutal.", "ts": "1793610000.000200",
              "client_msg_id": "c1a2b3"},
}
INTERCOM_REPLY = {
    "type": "notification_event", "app_id": "ecahpwf5", "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
    "topic": "conversation.user.replied", "delivery_attempts": 1,
    "created_at": int(time.time()) - 60,  # signed: a delivery older than max_delivery_age_s is refused
    "data": {"type": "notification_event_data", "item": {
        "type": "conversation", "id": "147", "created_at": 1793600000,
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "5310d8e7598c9a0b24000002"}]},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [
            {"type": "conversation_part", "id": "4412", "part_type": "comment", "created_at": 1793610499,
             "body": "<p>Thanks, that fixed it &amp; the sync works again!</p>",
             "author": {"type": "user", "id": "5310d8e7598c9a0b24000002"}}]}}},
}
FRESHDESK = {"freshdesk_webhook": {
    "ticket_id": 8812, "ticket_subject": "Can't log in", "ticket_description": "Password reset mail never arrives.",
    "ticket_status": "Open", "ticket_priority": "Urgent", "ticket_source": "Email",
    "ticket_requester_id": 47001234, "ticket_requester_email": "owner@bakery.example", "triggered_event": "{ticket_action:created}",
    "ticket_updated_at": "2026-11-02T10:00:00Z"}}
ROUTES = [{"provider": "zendesk", "secret_env": "ZD_SECRET"}, {"provider": "slack", "secret_env": "SLACK_SECRET"},
          {"provider": "intercom", "secret_env": "IC_SECRET"}, {"provider": "freshdesk", "secret_env": "FD_TOKEN"}]
SECRETS = {"zendesk": "zd-s3cret", "slack": "8f742231b10e8888abcd99yyyzzz85a5", "intercom": "ic-secret", "freshdesk": "t0k"}


@pytest.fixture
def hook(monkeypatch):
    for env, p in (("ZD_SECRET", "zendesk"), ("SLACK_SECRET", "slack"), ("IC_SECRET", "intercom"), ("FD_TOKEN", "freshdesk")):
        monkeypatch.setenv(env, SECRETS[p])
    with running(Webhook({"port": 0, "routes": ROUTES, "max_body_bytes": 4096})) as r:
        yield r


def post(r, provider, body, headers=None, signed=True):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    for _ in range(100):  # the server starts in setup(), on the runner's thread
        if r.connector.port:
            break
        time.sleep(0.02)
    h = {"Content-Type": "application/json", **(sign(provider, SECRETS[provider], data) if signed else {}),
         **(headers or {})}
    req = urllib.request.Request(f"http://127.0.0.1:{r.connector.port}/{provider}", data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_each_provider_produces_a_canonical_event(hook):
    assert post(hook, "zendesk", ZENDESK_COMMENT) == (200, {"status": "produced"})
    assert post(hook, "slack", SLACK_MESSAGE)[0] == 200
    assert post(hook, "intercom", INTERCOM_REPLY)[0] == 200
    assert post(hook, "freshdesk", FRESHDESK)[0] == 200
    zd, sl, ic, fd = hook.wait_for(4)
    assert (zd.kind, zd.type, zd.customer_id, zd.ticket_id, zd.priority) == ("ticket", "comment", "8447388090494",
                                                                              "5158", "high")
    assert zd.event_id == "zendesk:cbe4028c-7239-495d-b020-f22348516046" and zd.channel == "web_form"
    assert (sl.kind, sl.author_role, sl.employee_id, sl.channel) == ("chat", "employee", "U2147483697", "slack:C024BE91L")
    assert ic.text == "Thanks, that fixed it & the sync works again!" and ic.customer_id == "5310d8e7598c9a0b24000002"
    assert (fd.type, fd.priority, fd.customer_id) == ("created", "urgent", "47001234")


def test_bad_signature_and_stale_timestamp_get_401_and_nothing_produced(hook):
    assert post(hook, "zendesk", ZENDESK_COMMENT, headers=sign("zendesk", "wrong", b"{}"))[0] == 401
    old = str(int(time.time()) - 600)
    body = json.dumps(SLACK_MESSAGE).encode()
    code, resp = post(hook, "slack", body, headers=sign("slack", SECRETS["slack"], body, ts=old))
    assert code == 401 and "old" in resp["error"]
    assert post(hook, "intercom", INTERCOM_REPLY, signed=False)[0] == 401
    time.sleep(0.1)
    assert hook.sink.messages == []


def test_replayed_delivery_is_idempotent(hook):
    assert post(hook, "zendesk", ZENDESK_COMMENT)[1] == {"status": "produced"}
    assert post(hook, "zendesk", ZENDESK_COMMENT) == (200, {"status": "duplicate"})
    retry = post(hook, "slack", SLACK_MESSAGE, headers={"X-Slack-Retry-Num": "1"})
    assert retry[0] == 200 and post(hook, "slack", SLACK_MESSAGE)[1] == {"status": "duplicate"}
    time.sleep(0.1)
    assert len(hook.sink.events) == 2


def test_too_large_and_malformed(hook):
    big = json.dumps({**ZENDESK_COMMENT, "pad": "x" * 5000}).encode()
    assert post(hook, "zendesk", big)[0] == 413
    code, resp = post(hook, "zendesk", b'{"id": "abc", "detail": {')
    assert code == 400 and resp["status"] == "dead_lettered"
    assert post(hook, "zendesk", {**ZENDESK_COMMENT, "id": "x-2", "detail": {"id": "1"}})[0] == 400  # no requester
    dls = hook.wait_for(2, dead=True)
    assert [d.reason.value for d in dls] == ["malformed_json", "mapping_failed"]
    assert dls[0].payload == '{"id": "abc", "detail": {' and dls[0].where == "connector:webhook"
    assert not hook.sink.events


def test_slack_url_verification_and_ignored_events(hook):
    assert post(hook, "slack", {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}) == (
        200, {"challenge": "3eZbrw1aBm2rZgRNFdxV"})
    edit = {**SLACK_MESSAGE, "event_id": "Ev2", "event": {**SLACK_MESSAGE["event"], "subtype": "message_changed"}}
    assert post(hook, "slack", edit) == (200, {"status": "skipped"})
    assert post(hook, "zendesk", ZENDESK_STATUS)[0] == 200
    assert [e.status for e in hook.wait_for(1)] == ["solved"]


@pytest.mark.parametrize("provider", ["zendesk", "freshdesk", "slack", "intercom"])
def test_every_route_needs_a_secret_fail_closed(monkeypatch, provider):
    with pytest.raises(ConnectorError, match=f"route /{provider}: every route needs a secret; set secret_env"):
        Webhook({"routes": [{"provider": provider}]})
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ConnectorError, match="NOPE is not set"):
        Webhook({"routes": [{"provider": provider, "secret_env": "NOPE"}], "port": 0}).setup()
    monkeypatch.setenv("NOPE", "")
    with pytest.raises(ConnectorError, match="NOPE is not set"):
        Webhook({"routes": [{"provider": provider, "secret_env": "NOPE"}], "port": 0}).setup()


def test_a_route_without_a_secret_is_one_line_from_the_cli(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "hook.toml").write_text('[[routes]]\nprovider = "freshdesk"\n')
    res = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "connect", "webhook", "--config", "hook.toml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, env=os.environ)
    assert res.returncode != 0 and res.stderr.strip().count("\n") == 0, res.stderr
    assert res.stderr.startswith("error: route /freshdesk: every route needs a secret")


@pytest.mark.parametrize("requester", [{}, {"ticket_requester_id": ""}, {"ticket_requester_id": "owner@bakery.example"}])
def test_a_freshdesk_requester_known_only_by_e_mail_is_a_dead_letter_not_a_customer_id(requester):
    from pulsewire.streams.sdk import Raw, to_messages

    body = {"freshdesk_webhook": {**{k: v for k, v in FRESHDESK["freshdesk_webhook"].items()
                                     if k != "ticket_requester_id"}, **requester}}
    hook = Webhook({"port": 0, "routes": ROUTES})
    msgs, outcome = to_messages(hook, Raw({"route": "/freshdesk", "received_at": "2026-11-02T10:00:01+00:00",
                                           "body_sha256": "ab" * 32, "body": body}))
    assert outcome == "dead_lettered" and len(msgs) == 1
    dl = DeadLetter.model_validate_json(msgs[0].value)
    assert dl.reason.value == "missing_field"
    assert dl.detail == "requester id missing; e-mail addresses are not used as ids"


def test_conformance():
    make = lambda: Webhook({"port": 0, "routes": ROUTES})
    payload = lambda route, body: {"route": route, "received_at": "2026-11-02T10:00:01+00:00",
                                   "body_sha256": "ab" * 32, "body": body}
    report = check_conformance(make, samples=[payload("/zendesk", ZENDESK_COMMENT), payload("/slack", SLACK_MESSAGE),
                                              payload("/intercom", INTERCOM_REPLY), payload("/freshdesk", FRESHDESK)],
                               bad=[payload("/slack", {"type": "event_callback", "event": {"type": "message", "user": "U1"}}),
                                    payload("/zendesk", {"type": "zen:event-type:ticket.created"})])
    assert report["events"] == 4 and report["cursor"] == "not used"


def raw_post(r, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """Send exactly these header bytes (urllib refuses non-Latin-1 and duplicate headers); the status code."""
    import socket

    for _ in range(100):
        if r.connector.port:
            break
        time.sleep(0.02)
    head = b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    if not any(k.lower() == b"content-length" for k, _ in headers):
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    with socket.create_connection(("127.0.0.1", r.connector.port), timeout=10) as s:
        s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + head + b"\r\n" + body)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def signed(provider: str, body: bytes, **kw) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in sign(provider, SECRETS[provider], body, **kw).items()]


def test_malformed_headers_and_bodies_get_400_or_401_never_500(hook):
    ok = json.dumps(SLACK_MESSAGE).encode()
    deep = b"[" * 1900 + b"]" * 1900  # under max_body_bytes, over what json.loads can follow
    ct = [(b"Content-Type", b"application/json")]
    ts = str(int(time.time())).encode()
    cases = {
        # Slack: timestamps that are digits to str.isdigit() but not to int(), or not at all
        "superscript timestamp": (401, "/slack", ct + [(b"X-Slack-Request-Timestamp", "²".encode()),
                                                       (b"X-Slack-Signature", b"v0=00")], ok),
        "arabic-indic timestamp": (401, "/slack", ct + [(b"X-Slack-Request-Timestamp", "١٧٩".encode()),
                                                        (b"X-Slack-Signature", b"v0=00")], ok),
        "huge timestamp": (401, "/slack", ct + [(b"X-Slack-Request-Timestamp", b"9" * 400),
                                                (b"X-Slack-Signature", b"v0=00")], ok),
        "zendesk year 9999": (401, "/zendesk", ct + [(b"X-Zendesk-Webhook-Signature-Timestamp", b"9999-12-31T23:59:59"),
                                                     (b"X-Zendesk-Webhook-Signature", b"AA==")], ok),
        "non-ASCII signature": (401, "/slack", ct + [(b"X-Slack-Request-Timestamp", ts),
                                                     (b"X-Slack-Signature", "v0=é€😀".encode())], ok),
        "non-UTF-8 signature": (401, "/intercom", ct + [(b"X-Hub-Signature", b"sha1=\xff\xfe\x80")], ok),
        "non-ASCII token": (401, "/freshdesk", ct + [(b"X-Pulsewire-Token", "t0k€".encode())], ok),
        "missing headers": (401, "/zendesk", ct, ok),
        "unicode in every header": (401, "/zendesk", [(b"Content-Type", "application/jsön".encode()),
                                                      (b"X-Zendesk-Webhook-Signature-Timestamp", "２０２６".encode()),
                                                      (b"X-Zendesk-Webhook-Signature", "ß".encode()),
                                                      (b"User-Agent", "😀".encode())], ok),
        "duplicate signature headers": (401, "/intercom", ct + signed("intercom", ok) + [(b"X-Hub-Signature", b"sha1=00")], ok),
        "duplicate token headers": (401, "/freshdesk", ct + signed("freshdesk", ok) + signed("freshdesk", ok), ok),
        "deep JSON": (400, "/intercom", ct + signed("intercom", deep), deep),
        "empty body": (400, "/intercom", ct + signed("intercom", b""), b""),
        "not UTF-8": (400, "/intercom", ct + signed("intercom", b"\xff\xfe{}"), b"\xff\xfe{}"),
        "NaN": (400, "/intercom", ct + signed("intercom", b'{"id": NaN}'), b'{"id": NaN}'),
        "a list": (400, "/intercom", ct + signed("intercom", b"[1]"), b"[1]"),
        "wrong content type": (400, "/intercom", [(b"Content-Type", b"text/plain")] + signed("intercom", b"x"), b"x"),
        "url_verification with an object challenge": (200, "/slack", ct + signed("slack", b'{"type": "url_verification", '
                                                      b'"challenge": {"a": 1}}'), b'{"type": "url_verification", "challenge": {"a": 1}}'),
        "huge body": (413, "/intercom", ct + signed("intercom", b"{" + b" " * 10_000 + b"}"), b"{" + b" " * 10_000 + b"}"),
    }
    got = {name: raw_post(hook, path, headers, body) for name, (_, path, headers, body) in cases.items()}
    assert got == {name: case[0] for name, case in cases.items()}
    assert not hook.sink.events
    reasons = sorted(d.reason.value for d in hook.wait_for(6, dead=True))
    assert reasons == sorted(["nesting_too_deep", "malformed_json", "malformed_json", "non_finite_number",
                              "not_an_object", "malformed_json"])
    assert post(hook, "slack", SLACK_MESSAGE)[0] == 200  # and the server still answers


@pytest.mark.parametrize("encoding", [b"gzip", b"zstd", b"deflate", b"br"])
def test_a_body_that_is_not_in_its_content_encoding_gets_400_never_500(hook, encoding):
    headers = [(b"Content-Type", b"application/json"), (b"Content-Encoding", encoding)]
    assert raw_post(hook, "/zendesk", headers, b"this is not compressed") == 400
    assert post(hook, "slack", SLACK_MESSAGE)[0] == 200  # and the server still answers


@pytest.mark.parametrize("secret", [" ", "\t\n  "])
def test_a_secret_of_only_whitespace_is_refused_like_a_missing_one(monkeypatch, secret):
    monkeypatch.setenv("BLANK", secret)
    with pytest.raises(ConnectorError, match="BLANK is not set"):
        Webhook({"routes": [{"provider": "zendesk", "secret_env": "BLANK"}], "port": 0}).setup()


def test_a_restarted_webhook_refuses_a_replayed_delivery(monkeypatch):
    """Delivery ids are recorded with the event they delivered (topic connectors.deliveries): a new
    process on the same topics gets them back and answers a replay ``duplicate`` without producing."""
    from pulsewire.streams.testing import TestingSink

    for env, p in (("ZD_SECRET", "zendesk"), ("SLACK_SECRET", "slack"), ("IC_SECRET", "intercom"), ("FD_TOKEN", "freshdesk")):
        monkeypatch.setenv(env, SECRETS[p])
    topics = TestingSink()
    with running(Webhook({"port": 0, "routes": ROUTES}), sink=topics) as first:
        assert post(first, "intercom", INTERCOM_REPLY) == (200, {"status": "produced"})
        assert post(first, "freshdesk", FRESHDESK) == (200, {"status": "produced"})
        first.wait_for(2)
    assert sorted(topics.load_remembered("webhook")) == sorted(
        [f"intercom:{INTERCOM_REPLY['id']}", f"freshdesk:sha256:{__import__('hashlib').sha256(json.dumps(FRESHDESK).encode()).hexdigest()}"])
    with running(Webhook({"port": 0, "routes": ROUTES}), sink=topics) as second:
        assert post(second, "intercom", INTERCOM_REPLY) == (200, {"status": "duplicate"})
        assert post(second, "freshdesk", FRESHDESK) == (200, {"status": "duplicate"})
        assert post(second, "slack", SLACK_MESSAGE) == (200, {"status": "produced"})  # a new delivery still goes in
        second.wait_for(3)
    assert len(topics.events) == 3
    # another instance keeps its own ids
    with running(Webhook({"port": 0, "routes": ROUTES, "instance": "other"}), sink=topics) as third:
        assert post(third, "intercom", INTERCOM_REPLY) == (200, {"status": "produced"})


def test_an_intercom_delivery_older_than_the_age_limit_is_refused(hook):
    old = {**INTERCOM_REPLY, "id": "notif_old", "created_at": int(time.time()) - 2 * 86_400}
    code, resp = post(hook, "intercom", old)
    assert code == 401 and "old" in resp["error"]
    time.sleep(0.1)
    assert hook.sink.messages == []


@pytest.mark.integration
def test_a_restarted_webhook_refuses_a_replay_on_a_real_broker(broker, namespace, monkeypatch):
    import threading
    from types import SimpleNamespace

    from pulsewire.streams.sdk import runtime
    from pulsewire.streams.topics import TopicMap

    from .conftest import read_topics

    monkeypatch.setenv("IC_SECRET", SECRETS["intercom"])
    topics = TopicMap(prefix=namespace, group=f"{namespace}group")

    def answer_once(reply: dict) -> tuple:
        c, stop = Webhook({"port": 0, "routes": [ROUTES[2]]}), threading.Event()
        t = threading.Thread(target=runtime.run, args=(c, broker), kwargs={"topics": topics, "stop": stop})
        t.start()
        try:
            for _ in range(1500):  # setup() reads connectors.deliveries first, then listens
                if c.port:
                    break
                time.sleep(0.02)
            return post(SimpleNamespace(connector=c), "intercom", reply)
        finally:
            stop.set()
            t.join(30)

    assert answer_once(INTERCOM_REPLY) == (200, {"status": "produced"})
    assert answer_once(INTERCOM_REPLY) == (200, {"status": "duplicate"})
    chats = [json.loads(r.value) for r in read_topics(broker, [topics.name("events.chat")])]
    assert [c["event_id"] for c in chats] == ["intercom:4412"]
