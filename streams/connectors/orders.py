"""Shop order exports as ``activity`` events: the files connector's ``mapping = "orders"`` presets.

One event per order, also when the export has one line per line item (Shopify and WooCommerce
repeat the order on each of its lines, one after another): ``group_lines`` hands ``map_order`` the
consecutive lines of one order, whose quantities are summed and whose total is taken once.

* ``order_placed`` (``<source>:order:<order id>``) with the order's total as ``amount``;
* a cancelled, voided or failed order is ``order_cancelled`` (``...:cancelled``), a fully refunded one
  ``order_refunded`` (``...:refunded``), both without an amount: they are not purchases. An export
  taken after the change adds that event; the ``order_placed`` already stored stays.
* A negative total on an order that is not refunded or cancelled is a dead letter (``invalid_value``):
  it would count as a purchase.
* An order without a customer id (a guest checkout; WooCommerce writes ``0``) or whose customer id is
  an e-mail address is a dead letter: an address is never used as a customer id.
"""

from __future__ import annotations

from typing import Iterator

from ..sdk import ConnectorError, Raw, Reason, Reject, compact, parse_time, to_float

#: Preset -> role -> the export's column. ``None``: the export has no such column (map it in [columns]).
PRESETS: dict[str, dict[str, str | None]] = {
    "orders": {"order_id": "order_id", "customer_id": "customer_id", "ordered_at": "ordered_at", "amount": "amount",
               "currency": "currency", "quantity": "quantity", "product": "product", "status": "status",
               "cancelled_at": None},
    "shopify_orders": {"order_id": "Name", "customer_id": None, "ordered_at": "Created at", "amount": "Total",
                       "currency": "Currency", "quantity": "Lineitem quantity", "product": "Lineitem name",
                       "status": "Financial Status", "cancelled_at": "Cancelled at"},
    "woocommerce_orders": {"order_id": "Order ID", "customer_id": "Customer ID", "ordered_at": "Order Date",
                           "amount": "Order Total", "currency": "Order Currency", "quantity": "Quantity",
                           "product": "Item Name", "status": "Order Status", "cancelled_at": None},
}
ROLES = tuple(PRESETS["orders"])
#: Columns the header must have: without them an order cannot be identified, attributed, dated or valued.
REQUIRED_ROLES = ("order_id", "customer_id", "ordered_at", "amount", "currency")
CANCELLED = frozenset({"cancelled", "canceled", "voided", "failed"})
REFUNDED = frozenset({"refunded"})
NOT_ORDERS = frozenset({"checkout-draft", "draft", "trash"})  # WooCommerce: never placed
#: Contact columns of the presets' exports: personal data, never mapped, declared so dead letters are redacted.
CONTACT_COLUMNS = ("Email", "Phone", "Billing Name", "Billing Phone", "Billing Address1", "Billing Address2",
                   "Shipping Name", "Shipping Phone", "Shipping Address1", "Shipping Address2", "Billing Email",
                   "Billing First Name", "Billing Last Name", "Customer Email", "Customer Note", "Notes")
ID_MAX_CHARS = 128


def roles(preset: str, columns: dict[str, str]) -> dict[str, str | None]:
    """The preset's columns, with those named in ``[columns]`` instead; refuses unknown roles and a
    preset whose export has no customer id that the config does not name.

    >>> roles("woocommerce_orders", {"customer_id": "Customer User"})["customer_id"]
    'Customer User'
    >>> roles("shopify_orders", {})
    Traceback (most recent call last):
    ...
    pulsewire.streams.sdk.connector.ConnectorError: mapping 'shopify_orders': the export has no customer id column (and e-mail addresses are not used as ids); add your shop's customer id to the export and name its column in [columns] customer_id = "..."
    """
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise ConnectorError(f"mapping {preset!r}: unknown [columns] {', '.join(unknown)}; "
                             f"an order's columns are {', '.join(ROLES)}")
    out = {**PRESETS[preset], **columns}
    if not out["customer_id"]:
        raise ConnectorError(f"mapping {preset!r}: the export has no customer id column (and e-mail addresses are "
                             "not used as ids); add your shop's customer id to the export and name its column in "
                             '[columns] customer_id = "..."')
    return out


def required_columns(cols: dict[str, str | None]) -> list[str]:
    return [cols[r] for r in REQUIRED_ROLES if cols[r]]


def group_lines(raws: Iterator[Raw | None], column: str) -> Iterator[Raw | None]:
    """Consecutive lines with the same order id as one record (a list of rows) whose cursor is its last
    line's: a restart never resumes inside an order. A line that could not be read passes through at
    once but does not move the cursor while an order is open (read again after a crash: the same dead letter).
    """
    pending: list[Raw] = []
    key = None

    def emit() -> Raw:
        texts = [r.raw for r in pending if isinstance(r.raw, str)]
        out = Raw([r.payload for r in pending], cursor=pending[-1].cursor,
                  raw="".join(texts) if len(texts) == len(pending) else None)
        pending.clear()
        return out

    for raw in raws:
        if raw is None:
            if pending:
                yield emit()
            yield None
            continue
        if raw.reject or not isinstance(raw.payload, dict):
            if pending:
                raw.cursor = None
            yield raw
            continue
        this = str(raw.payload.get(column) or "").strip()
        if pending and (this != key or not this):
            yield emit()
        pending.append(raw)
        key = this
    if pending:
        yield emit()


def _order_value(lines: list[dict], column: str | None, order: str, role: str) -> str | None:
    """The order-level value: on the first line (Shopify) or repeated on every line, never two different ones."""
    if not column:
        return None
    values = list(dict.fromkeys(str(v).strip() for line in lines if (v := line.get(column)) not in (None, "")))
    values = [v for v in values if v]
    if len(values) > 1:
        raise Reject(Reason.INVALID_VALUE, f"the lines of order {order} disagree on {role} (column {column!r})")
    return values[0] if values else None


def map_order(lines: list[dict], cols: dict[str, str | None], source: str, assume_tz: str | None) -> dict | None:
    """The lines of one order to one activity event (None for a draft that was never placed).

    >>> cols = roles("orders", {})
    >>> line = {"order_id": "1001", "customer_id": "c-7", "ordered_at": "2026-10-03T09:12:44Z", "amount": "59.90",
    ...         "currency": "eur", "quantity": "2", "product": "Sourdough", "status": "paid"}
    >>> ev = map_order([line, {**line, "quantity": "1", "product": "Rye"}], cols, "shop", None)
    >>> ev["type"], ev["event_id"], ev["amount"], ev["currency"], ev["quantity"], "product" in ev
    ('order_placed', 'shop:order:1001', 59.9, 'EUR', 3.0, False)
    >>> map_order([{**line, "status": "refunded"}], cols, "shop", None)["event_id"]
    'shop:order:1001:refunded'
    """
    order = str(lines[0].get(cols["order_id"]) or "").strip()
    if not order:
        raise Reject(Reason.INVALID_SOURCE_ID, f"the order id in column {cols['order_id']!r} is empty or absent")
    value = lambda role: _order_value(lines, cols[role], order, role)
    status = (value("status") or "").lower().removeprefix("wc-").replace(" ", "_")
    if status in NOT_ORDERS:
        return None
    cancelled_at = value("cancelled_at")
    kind = ("order_cancelled" if status in CANCELLED or cancelled_at else
            "order_refunded" if status in REFUNDED else "order_placed")
    event_id = f"{source}:order:{order}" + {"order_placed": "", "order_cancelled": ":cancelled",
                                           "order_refunded": ":refunded"}[kind]
    if len(event_id) > ID_MAX_CHARS:
        raise Reject(Reason.INVALID_SOURCE_ID, f"the order id makes an event_id of {len(event_id)} characters; "
                                               f"the limit is {ID_MAX_CHARS}")
    customer = value("customer_id") or ""
    if not customer or customer == "0":
        raise Reject(Reason.MISSING_FIELD, f"order {order} has no customer id (a guest checkout?)")
    if "@" in customer:
        raise Reject(Reason.MISSING_FIELD, "the customer id is an e-mail address; e-mail addresses are not used as ids")
    ordered_at = value("ordered_at")
    if not ordered_at:
        raise Reject(Reason.MISSING_FIELD, f"order {order} has no time in column {cols['ordered_at']!r}")
    amount = to_float(value("amount"))
    currency = (value("currency") or "").upper() or None
    if amount is not None and currency is None:
        raise Reject(Reason.MISSING_FIELD, f"order {order} has a total but no currency (column {cols['currency']!r})")
    if amount is not None and amount < 0 and kind == "order_placed":  # a refund arrives as a refunded status
        raise Reject(Reason.INVALID_VALUE, f"order {order} has a negative total ({cols['amount']!r}); an order's "
                                           "total is what was paid, a refund is an order with a refunded status")
    quantities = [q for line in lines if (q := to_float(line.get(cols["quantity"]) if cols["quantity"] else None))
                  is not None]
    products = list(dict.fromkeys(p for line in lines if (p := str(line.get(cols["product"]) or "").strip())))
    moved = kind == "order_placed"  # a cancelled or refunded order is not a purchase
    return compact({
        "kind": "activity", "type": kind, "source": source, "event_id": event_id,
        "occurred_at": parse_time(cancelled_at if kind == "order_cancelled" and cancelled_at else ordered_at,
                                  assume_tz),
        "customer_id": customer[:ID_MAX_CHARS], "amount": amount if moved else None,
        "currency": currency if moved and amount is not None else None,
        "quantity": sum(quantities) if quantities else None,
        "product": products[0][:ID_MAX_CHARS] if len(products) == 1 else None,
        "attributes": {"line_items": str(len(lines))} if len(lines) > 1 else None,
    })
