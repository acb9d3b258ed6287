"""The webhook's Segment route: signed ``track`` / ``identify`` calls as ``activity`` events."""

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.schemas.dead_letter import DeadLetter
from pulsewire.streams.connectors.webhook import Webhook, sign, verify
from pulsewire.streams.sdk import Raw, to_messages
from pulsewire.streams.testing import check_conformance, running

from .test_webhook import raw_post

SECRET = "seg-shared-s3cret"
ROUTES = [{"provider": "segment", "secret_env": "PULSEWIRE_SEGMENT_WEBHOOK_SECRET", "keep_traits": ["plan"]}]
WHEN = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

ORDER = {
    "type": "track", "event": "Order Completed", "userId": "cust-4711", "anonymousId": "507f191e810c19729de860ea",
    "messageId": "ajs-next-1f2e3d4c5b6a", "timestamp": WHEN,
    "context": {"ip": "203.0.113.7", "userAgent": "Mozilla/5.0", "sessionId": "sess-88"},
    "properties": {"order_id": "50314b8e9bcf000000000000", "total": 27.5, "revenue": 25.0, "currency": "eur",
                   "coupon": "hasbros", "email": "jo@bakery.example", "shipping": {"method": "post"},
                   "products": [{"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32", "quantity": 1},
                                {"product_id": "505bd76785ebb509fc183733", "sku": "46493-32", "quantity": 2}]},
}
FEATURE = {"type": "track", "event": "Report Exported", "userId": 981, "messageId": "m-feature-1", "timestamp": WHEN,
           "properties": {"format": "pdf", "pages": 12}}
IDENTIFY = {"type": "identify", "userId": "cust-4711", "messageId": "m-identify-1", "timestamp": WHEN,
            "traits": {"email": "jo@bakery.example", "name": "Jo Baker", "plan": "pro"}}


@pytest.fixture
def hook(monkeypatch):
    monkeypatch.setenv("PULSEWIRE_SEGMENT_WEBHOOK_SECRET", SECRET)
    with running(Webhook({"port": 0, "routes": ROUTES, "max_body_bytes": 8192})) as r:
        yield r


def post(r, body, secret=SECRET, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = [(b"Content-Type", b"application/json")] + [(k.encode(), v.encode()) for k, v in
                                                     (sign("segment", secret, data) if secret else {}).items()]
    return raw_post(r, "/segment", h + (headers or []), data)


def dead_letter_of(body) -> DeadLetter:
    hook = Webhook({"port": 0, "routes": ROUTES})
    msgs, outcome = to_messages(hook, Raw({"route": "/segment", "received_at": WHEN, "body_sha256": "ab" * 32,
                                           "body": body}))
    assert outcome == "dead_lettered", msgs
    return DeadLetter.model_validate_json(msgs[0].value)


def test_signature_is_segment_x_signature_hex_hmac_sha1_of_the_body():
    # the value Segment's documentation describes: hex HMAC-SHA1 of the raw body under the shared secret
    import hashlib
    import hmac

    body = b'{"type":"track"}'
    assert sign("segment", SECRET, body) == {"X-Signature": hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()}
    assert verify("segment", SECRET, sign("segment", SECRET, body), body, time.time(), 300) is None
    assert verify("segment", SECRET, sign("segment", "other", body), body, time.time(), 300) == "bad signature"
    assert verify("segment", SECRET, {}, body, time.time(), 300) == "bad signature"


def test_a_signed_track_call_is_one_activity_event_on_events_activity(hook):
    assert post(hook, ORDER) == 200
    assert post(hook, FEATURE) == 200
    (order, feature) = hook.wait_for(2)
    assert [m.topic for m in hook.sink.messages if m.topic.startswith("events.")] == ["events.activity"] * 2
    assert (order.kind, order.type, order.customer_id, order.event_id) == (
        "activity", "order_completed", "cust-4711", "segment:ajs-next-1f2e3d4c5b6a")
    assert (order.amount, order.currency, order.quantity, order.session_id) == (27.5, "EUR", 3.0, "sess-88")
    assert order.is_purchase and order.product is None  # two products: no single product
    assert order.occurred_at == datetime.fromisoformat(WHEN)
    # scalar properties only, never contact data, never what the event already carries
    assert order.attributes == {"coupon": "hasbros", "order_id": "50314b8e9bcf000000000000"}
    assert (feature.type, feature.customer_id, feature.amount, feature.attributes) == (
        "report_exported", "981", None, {"format": "pdf", "pages": "12"})


def test_identify_is_one_activity_and_keeps_only_the_declared_traits(hook):
    assert post(hook, IDENTIFY) == 200
    (ev,) = hook.wait_for(1)
    assert (ev.type, ev.customer_id, ev.event_id) == ("identify", "cust-4711", "segment:m-identify-1")
    assert ev.attributes == {"plan": "pro"}  # not the e-mail address, not the name
    bare = Webhook({"port": 0, "routes": [{**ROUTES[0], "keep_traits": []}]}).map(
        {"route": "/segment", "received_at": WHEN, "body_sha256": "ab" * 32, "body": IDENTIFY})
    assert "attributes" not in bare


def test_a_wrong_or_missing_signature_gets_401_and_nothing_is_produced(hook):
    assert post(hook, ORDER, secret="not-the-secret") == 401
    assert post(hook, ORDER, secret=None) == 401
    data = json.dumps(ORDER).encode()
    tampered = json.dumps({**ORDER, "userId": "someone-else"}).encode()
    headers = [(b"Content-Type", b"application/json"), (b"X-Signature", sign("segment", SECRET, data)["X-Signature"].encode())]
    assert raw_post(hook, "/segment", headers, tampered) == 401
    time.sleep(0.1)
    assert hook.sink.messages == []


def test_a_retried_delivery_is_answered_duplicate(hook):
    assert post(hook, ORDER) == 200
    assert post(hook, ORDER) == 200
    time.sleep(0.1)
    assert len(hook.sink.events) == 1


UNUSABLE = [
    ({**ORDER, "userId": None}, "missing_field", "userId missing (anonymousId only)"),
    ({k: v for k, v in ORDER.items() if k != "userId"}, "missing_field", "userId missing (anonymousId only)"),
    ({**ORDER, "userId": "jo@bakery.example"}, "missing_field", "e-mail addresses are not used as ids"),
    ({**ORDER, "timestamp": "2026-11-02T10:00:00"}, "naive_timestamp", "timestamp has no timezone"),
    ({k: v for k, v in ORDER.items() if k != "timestamp"}, "missing_field", "timestamp missing"),
    ({**ORDER, "properties": {"total": 10}}, "missing_field", "needs properties.currency"),
    ({**ORDER, "properties": {"total": "ten", "currency": "EUR"}}, "wrong_type", "properties.total is not a number"),
    ({**ORDER, "event": "  "}, "missing_field", "without an event name"),
    ({**ORDER, "type": "purchase"}, "invalid_value", "not a Segment call type"),
    ({**ORDER, "timestamp": (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()},
     "timestamp_out_of_range", "in the future"),
]


@pytest.mark.parametrize("call, reason, detail", UNUSABLE)
def test_unusable_calls_are_dead_letters_with_a_reason(call, reason, detail):
    dl = dead_letter_of(call)
    assert dl.reason.value == reason and detail in dl.detail, dl.detail


def test_an_anonymous_call_is_answered_400_with_its_reason(hook):
    code = post(hook, {**ORDER, "userId": None, "messageId": "m-anon"})
    assert code == 400
    (dl,) = hook.wait_for(1, dead=True)
    assert dl.reason.value == "missing_field" and "anonymous" in dl.detail
    assert not hook.sink.events


def test_each_unusable_call_is_answered_400_with_its_reason_and_a_detail_without_its_values(hook):
    post(hook, FEATURE)  # the server is up
    for i, (call, reason, detail) in enumerate(UNUSABLE):
        code, answer = post_json(hook, {**call, "messageId": f"m-bad-{i}"})
        assert (code, answer["status"], answer["reason"]) == (400, "dead_lettered", reason), answer
        assert detail in answer["error"], answer
        assert "jo@bakery.example" not in json.dumps(answer) and "cust-4711" not in json.dumps(answer)
    code, answer = post_json(hook, {"type": "batch", "batch": [FEATURE, {**ORDER, "userId": "jo@bakery.example"}]})
    assert (code, answer["errors"]) == (400, [{"index": 1, "reason": "missing_field", "error":
                                               "userId is an e-mail address; e-mail addresses are not used as ids"}])
    code, answer = post_json(hook, {**ORDER, "type": "jo@bakery.example", "messageId": "m-bad-type"})
    assert answer["reason"] == "invalid_value" and "jo@bakery.example" not in answer["error"], answer


def test_refunds_are_negative_and_page_calls_are_skipped():
    hook = Webhook({"port": 0, "routes": ROUTES})
    pay = lambda body: {"route": "/segment", "received_at": WHEN, "body_sha256": "ab" * 32, "body": body}
    refund = hook.map(pay({**ORDER, "event": "Order Refunded", "messageId": "m-r"}))
    assert (refund["type"], refund["amount"]) == ("order_refunded", -27.5)
    started = hook.map(pay({**ORDER, "event": "Checkout Started", "messageId": "m-c"}))
    assert "amount" not in started  # only purchases and refunds move money
    assert started["attributes"]["total"] == "27.5" and started["attributes"]["currency"] == "eur"
    assert hook.map(pay({"type": "page", "userId": "c-1", "timestamp": WHEN, "name": "Home"})) is None
    no_id = {k: v for k, v in FEATURE.items() if k != "messageId"}
    assert hook.map(pay(no_id))["event_id"] == hook.map(pay(dict(no_id)))["event_id"]  # stable without messageId


def test_conformance(monkeypatch):
    make = lambda: Webhook({"port": 0, "routes": ROUTES})
    pay = lambda body: {"route": "/segment", "received_at": WHEN, "body_sha256": "ab" * 32, "body": body}
    report = check_conformance(make, samples=[pay(ORDER), pay(FEATURE), pay(IDENTIFY)],
                               bad=[pay({**ORDER, "userId": None}), pay({**ORDER, "userId": "jo@bakery.example"}),
                                    pay({**IDENTIFY, "timestamp": "2026-11-02 10:00"})])
    assert report["events"] == 3 and report["bad_dead_lettered"] == 3


def post_json(r, body):
    """Status and answer of a signed request."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{r.connector.port}/segment", data=data,
                                 headers={"Content-Type": "application/json", **sign("segment", SECRET, data)})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_a_batch_is_mapped_call_by_call_and_answered_with_the_counts(hook):
    post(hook, FEATURE)  # the server is up
    batch = {"type": "batch", "batch": [ORDER, IDENTIFY, {**FEATURE, "messageId": "m-anon", "userId": None},
                                        {"type": "page", "userId": "c-1", "messageId": "m-page", "timestamp": WHEN}]}
    code, answer = post_json(hook, batch)
    assert (code, answer["calls"]) == (400, {"produced": 2, "dead_lettered": 1, "skipped": 1})
    events = hook.wait_for(3)
    assert sorted(e.event_id for e in events) == ["segment:ajs-next-1f2e3d4c5b6a", "segment:m-feature-1",
                                                  "segment:m-identify-1"]
    (dl,) = hook.wait_for(1, dead=True)
    assert dl.reason.value == "missing_field" and "anonymous" in dl.detail
    assert post_json(hook, {"type": "batch", "batch": [ORDER, IDENTIFY]}) == (
        200, {"status": "duplicate", "calls": {"duplicate": 2}})
    assert post_json(hook, {"type": "batch", "batch": []})[0] == 400
    time.sleep(0.1)
    assert len(hook.sink.events) == 3


@pytest.mark.integration
def test_a_signed_track_call_reaches_events_activity_on_a_real_broker(broker, namespace, monkeypatch):
    import threading
    from types import SimpleNamespace

    from pulsewire.streams.sdk import runtime
    from pulsewire.streams.topics import TopicMap

    from .conftest import read_topics

    monkeypatch.setenv("PULSEWIRE_SEGMENT_WEBHOOK_SECRET", SECRET)
    topics = TopicMap(prefix=namespace, group=f"{namespace}group")
    c, stop = Webhook({"port": 0, "routes": ROUTES}), threading.Event()
    t = threading.Thread(target=runtime.run, args=(c, broker), kwargs={"topics": topics, "stop": stop})
    t.start()
    try:
        for _ in range(1500):
            if c.port:
                break
            time.sleep(0.02)
        r = SimpleNamespace(connector=c)
        assert post(r, ORDER) == 200 and post(r, ORDER, secret="wrong") == 401
    finally:
        stop.set()
        t.join(30)
    (record,) = [json.loads(x.value) for x in read_topics(broker, [topics.name("events.activity")])]
    assert (record["type"], record["customer_id"], record["amount"], record["currency"]) == (
        "order_completed", "cust-4711", 27.5, "EUR")
