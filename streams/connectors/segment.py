"""Segment-spec calls (``track``, ``identify``) as ``activity`` events: the webhook's ``segment`` route.

Pure mapping; the webhook verifies the ``X-Signature`` (hex HMAC-SHA1 of the body) first.

* ``track`` -> one activity, ``type`` = the event name normalised (``Order Completed`` ->
  ``order_completed``); purchases carry ``properties.total`` (else ``revenue``) with ``currency``
  as ``amount``; ``Order Refunded`` carries it negated.
* ``identify`` -> one ``identify`` activity (the person was seen); traits are personal data and are
  copied only when the route lists them in ``keep_traits``.
* ``page``, ``screen``, ``group``, ``alias``: skipped.
* A call without ``userId`` (only ``anonymousId``), or whose ``userId`` is an e-mail address, is
  refused: pulsewire scores known customers, and an address is never used as a customer id.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

from pulsewire.schemas.events import PURCHASE_TYPES, normalise_activity_type

from ..sdk import Reason, Reject, compact, parse_time

MAPPED_TYPES = ("track", "identify")
SKIPPED_TYPES = ("page", "screen", "group", "alias")
REFUND_TYPES = frozenset({"order_refunded"})
#: Property keys already mapped to a field of the event, or that name a person: never attributes.
NOT_ATTRIBUTES = frozenset({"total", "revenue", "currency", "quantity", "products", "product_id", "sku",
                            "session_id", "ip", "user_id", "userid", "anonymous_id", "anonymousid"})
#: A key holding one of these names contact data or a secret (``customer_email``, ``full_name``, ``phone2``).
PERSONAL_KEY_PARTS = ("mail", "name", "phone", "address", "birth", "password", "token", "ssn")
MONEY = frozenset({"total", "revenue", "currency"})  # outside a purchase: attributes, never an amount
MAX_ATTRIBUTES, MAX_KEY_CHARS, MAX_VALUE_CHARS, ID_MAX_CHARS = 20, 64, 256, 128
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _number(value, field: str) -> float | None:
    """A finite JSON number, or a numeric string (Segment sources send both); else Reject.

    >>> _number("19.90", "total"), _number(3, "quantity"), _number(None, "total")
    (19.9, 3.0, None)
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Reject(Reason.WRONG_TYPE, f"properties.{field} is not a number")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise Reject(Reason.WRONG_TYPE, f"properties.{field} is not a number") from None
    if not math.isfinite(f):
        raise Reject(Reason.NON_FINITE_NUMBER, f"properties.{field} is not a finite number")
    return f


def scalar_attributes(obj, keep=None, skip=frozenset()) -> dict[str, str]:
    """Scalar values of ``obj`` as strings, bounded (20 keys, 64-character keys, 256-character values);
    nested values, keys that name contact data and anything that looks like an e-mail address are left out.

    >>> scalar_attributes({"plan": "pro", "seats": 3, "ok": True, "tags": ["a"], "email": "a@b.example",
    ...                    "note": "mail me at a@b.example", "full_name": "Jo Baker", "billing_phone": "0123"})
    {'ok': 'true', 'plan': 'pro', 'seats': '3'}
    >>> scalar_attributes({"plan": "pro", "company": "Acme"}, keep=["company"])
    {'company': 'Acme'}
    """
    if not isinstance(obj, dict):
        return {}
    out: dict[str, str] = {}
    for key in sorted(k for k in obj if isinstance(k, str)):
        value = obj[key]
        if keep is not None and key not in keep:
            continue
        low = key.lower()
        if low in skip or any(part in low for part in PERSONAL_KEY_PARTS) or len(key) > MAX_KEY_CHARS:
            continue
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)) and math.isfinite(value):
            text = str(value)
        elif isinstance(value, str) and value.strip():
            text = value.strip()[:MAX_VALUE_CHARS]
        else:
            continue
        if _EMAIL.search(text):
            continue
        out[key] = text
        if len(out) >= MAX_ATTRIBUTES:
            break
    return out


def customer_of(call: dict) -> str:
    """The call's ``userId`` as a customer id; refuses anonymous calls and e-mail addresses.

    >>> customer_of({"userId": 4711})
    '4711'
    >>> try:
    ...     customer_of({"anonymousId": "a-1"})
    ... except Reject as exc:
    ...     print(exc.reason.value, "|", exc.detail)
    missing_field | userId missing (anonymousId only): anonymous calls are not accepted; pulsewire scores known customers
    """
    user = call.get("userId")
    user = "" if user is None or isinstance(user, (bool, dict, list)) else str(user).strip()
    if not user:
        raise Reject(Reason.MISSING_FIELD, "userId missing (anonymousId only): anonymous calls are not accepted; "
                                           "pulsewire scores known customers")
    if "@" in user:
        raise Reject(Reason.MISSING_FIELD, "userId is an e-mail address; e-mail addresses are not used as ids")
    if len(user) > ID_MAX_CHARS:
        raise Reject(Reason.INVALID_SOURCE_ID, f"userId is {len(user)} characters; the limit is {ID_MAX_CHARS}")
    return user


def event_id_of(call: dict, source: str) -> str:
    """``segment:<messageId>`` (Segment keeps it across retries), else a hash of the whole call."""
    mid = call.get("messageId")
    mid = str(mid).strip() if isinstance(mid, (str, int)) and not isinstance(mid, bool) else ""
    if mid and len(f"segment:{mid}") <= ID_MAX_CHARS:
        return f"segment:{mid}"
    natural = mid or json.dumps(call, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256("\x1f".join((source, natural)).encode()).hexdigest()
    return f"segment:{digest[:40]}"


def time_of(call: dict) -> str:
    ts = call.get("timestamp")
    if ts is None or ts == "":
        raise Reject(Reason.MISSING_FIELD, "timestamp missing")
    try:
        return parse_time(ts)
    except Reject as exc:
        if exc.reason == Reason.NAIVE_TIMESTAMP:
            raise Reject(Reason.NAIVE_TIMESTAMP, "timestamp has no timezone; Segment sends ISO 8601 with one "
                                                 "(e.g. 2026-11-02T10:00:00.000Z)") from None
        raise


def _session(call: dict, props: dict) -> str | None:
    ctx = call.get("context") if isinstance(call.get("context"), dict) else {}
    for value in (ctx.get("sessionId"), ctx.get("session_id"), props.get("session_id")):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:ID_MAX_CHARS]
    return None


def _products(props: dict) -> list[dict]:
    products = props.get("products")
    return [p for p in products if isinstance(p, dict)] if isinstance(products, list) else []


def _product_of(item: dict) -> str | None:
    for key in ("product_id", "sku", "name"):
        value = item.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:ID_MAX_CHARS]
    return None


def map_track(call: dict, source: str) -> dict:
    name = call.get("event")
    kind = normalise_activity_type(name) if isinstance(name, str) else ""
    if not kind:
        raise Reject(Reason.MISSING_FIELD, "track call without an event name")
    props = call.get("properties") if isinstance(call.get("properties"), dict) else {}
    products = _products(props)
    quantity = _number(props.get("quantity"), "quantity")
    if quantity is None and products:
        quantity = sum(_number(p.get("quantity"), "products[].quantity") or 0 for p in products) or None
    amount = currency = None
    if kind in PURCHASE_TYPES or kind in REFUND_TYPES:
        amount = _number(props.get("total"), "total")
        if amount is None:
            amount = _number(props.get("revenue"), "revenue")
        if amount is not None:
            currency = str(props.get("currency") or "").strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise Reject(Reason.MISSING_FIELD, "an order's total needs properties.currency (ISO 4217, e.g. 'EUR')")
            amount = -abs(amount) if kind in REFUND_TYPES else amount
    product = _product_of(props) or (_product_of(products[0]) if len(products) == 1 else None)
    return compact({"kind": "activity", "type": kind, "source": source, "event_id": event_id_of(call, source),
                    "occurred_at": time_of(call), "customer_id": customer_of(call), "quantity": quantity,
                    "amount": amount, "currency": currency, "product": product, "session_id": _session(call, props),
                    "attributes": scalar_attributes(props, skip=NOT_ATTRIBUTES if amount is not None
                                                    else NOT_ATTRIBUTES - MONEY) or None})


def map_identify(call: dict, source: str, keep_traits: list[str]) -> dict:
    traits = call.get("traits") if isinstance(call.get("traits"), dict) else {}
    attrs = scalar_attributes(traits, keep=keep_traits) if keep_traits else {}
    return compact({"kind": "activity", "type": "identify", "source": source, "event_id": event_id_of(call, source),
                    "occurred_at": time_of(call), "customer_id": customer_of(call),
                    "session_id": _session(call, {}), "attributes": attrs or None})


def map_segment(call: dict, source: str, keep_traits: list[str] = ()) -> dict | None:
    """One Segment call to an activity event, None for a call type pulsewire does not map.

    >>> ev = map_segment({"type": "track", "event": "Order Completed", "userId": "c-1", "messageId": "m-1",
    ...     "timestamp": "2026-11-02T10:00:00Z", "properties": {"total": 42.5, "currency": "eur"}}, "segment")
    >>> ev["type"], ev["amount"], ev["currency"], ev["event_id"]
    ('order_completed', 42.5, 'EUR', 'segment:m-1')
    """
    kind = call.get("type")
    if kind == "track":
        return map_track(call, source)
    if kind == "identify":
        return map_identify(call, source, list(keep_traits))
    if kind in SKIPPED_TYPES:
        return None
    raise Reject(Reason.INVALID_VALUE, f"not a Segment call type: {str(kind)[:40]!r} "
                                       f"(expected {', '.join(MAPPED_TYPES + SKIPPED_TYPES)})")
