"""The files connector's orders presets: one ``activity`` event per order from shop exports."""

from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.streams.connectors.files import Files
from pulsewire.streams.sdk import ConnectorError
from pulsewire.streams.testing import check_conformance, run_connector

# dated relative to today: the suite runs with the clock 400 days ahead too
DAY = datetime.now(timezone.utc).date() - timedelta(days=20)
T1, T2, T3 = (f"{DAY + timedelta(days=i)} {8 + i:02d}:12:44 +0200" for i in range(3))

SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Created at,"
                  "Lineitem quantity,Lineitem name,Lineitem price,Billing Name,Cancelled at,Customer ID,Id\n")
SHOPIFY = SHOPIFY_HEADER + (
    f"#1001,jo@bakery.example,paid,{T1},EUR,55.00,4.90,0.00,59.90,{T1},2,Sourdough loaf,20.00,Jo Baker,,c-17,5501\n"
    f"#1001,jo@bakery.example,,,,,,,,,1,Rye loaf,15.00,,,c-17,5501\n"
    f"#1002,ana@cafe.example,refunded,{T2},EUR,12.00,0.00,0.00,12.00,{T2},3,Croissant,4.00,Ana Cafe,,c-42,5502\n"
    f"#1003,bo@deli.example,voided,,USD,8.00,0.00,0.00,8.00,{T2},1,Baguette,8.00,Bo Deli,{T3},c-08,5503\n"
    f"#1004,jo@bakery.example,pending,,EUR,30.00,0.00,0.00,30.00,{T3},3,Rye loaf,10.00,Jo Baker,,c-17,5504\n"
    f"#1004,jo@bakery.example,,,,,,,,,3,Rye loaf,10.00,,,c-17,5504\n"
)
GENERIC = "order_id,customer_id,ordered_at,amount,currency,quantity,product\n" + (
    f"A-1,cust-1,{DAY}T10:00:00Z,19.50,EUR,1,Tea\n"
    f"A-2,cust-2,{DAY}T11:00:00+01:00,\"7,25\",gbp,4,Scone\n"
)


def connector(path, **kw):
    return Files({"path": str(path), "source": "shop", **kw})


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_shopify_export_gives_one_event_per_order_with_its_quantity_summed_and_one_total(tmp_path):
    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    sink = run_connector(connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"}))
    assert not sink.dead_letters
    got = {e.event_id: e for e in sink.events}
    assert list(got) == ["shop:order:#1001", "shop:order:#1002:refunded", "shop:order:#1003:cancelled",
                         "shop:order:#1004"]
    first = got["shop:order:#1001"]
    assert (first.kind, first.type, first.customer_id, first.amount, first.currency, first.quantity) == (
        "activity", "order_placed", "c-17", 59.90, "EUR", 3.0)
    assert first.product is None and first.attributes == {"line_items": "2"} and first.is_purchase
    assert first.occurred_at == datetime.fromisoformat(T1)
    same_product = got["shop:order:#1004"]  # two lines of one product: the product is kept, quantities summed
    assert (same_product.quantity, same_product.product, same_product.amount) == (6.0, "Rye loaf", 30.0)
    refunded, voided = got["shop:order:#1002:refunded"], got["shop:order:#1003:cancelled"]
    assert (refunded.type, refunded.amount, refunded.is_purchase) == ("order_refunded", None, False)
    assert (voided.type, voided.amount, voided.occurred_at) == ("order_cancelled", None, datetime.fromisoformat(T3))
    assert [m.topic for m in sink.messages if m.topic.startswith("events.")] == ["events.activity"] * 4


def test_a_generic_export_and_its_decimal_commas_and_currency_case(tmp_path):
    sink = run_connector(connector(write(tmp_path, "orders.csv", GENERIC), mapping="orders"))
    assert [(e.event_id, e.customer_id, e.amount, e.currency, e.quantity, e.product) for e in sink.events] == [
        ("shop:order:A-1", "cust-1", 19.5, "EUR", 1.0, "Tea"), ("shop:order:A-2", "cust-2", 7.25, "GBP", 4.0, "Scone")]


def test_a_second_import_of_the_same_file_gives_the_same_event_ids(tmp_path):
    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    make = lambda: connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"})
    first, second = run_connector(make()).events, run_connector(make()).events
    assert [e.model_dump() for e in first] == [e.model_dump() for e in second]


def test_woocommerce_needs_a_zone_for_its_local_times_and_refuses_guest_orders(tmp_path):
    text = ("Order ID,Order Date,Order Status,Customer ID,Order Currency,Order Total,Item Name,Quantity\n"
            f"301,{DAY} 09:00:00,wc-completed,88,EUR,42.00,Mug,2\n"
            f"302,{DAY} 10:00:00,processing,0,EUR,10.00,Mug,1\n"
            f"303,{DAY} 11:00:00,checkout-draft,88,EUR,10.00,Mug,1\n")
    p = write(tmp_path, "woo.csv", text)
    naive = run_connector(connector(p, mapping="woocommerce_orders"))
    assert [d.reason.value for d in naive.dead_letters] == ["naive_timestamp", "missing_field"]
    sink = run_connector(connector(p, mapping="woocommerce_orders", assume_tz="Europe/Berlin"))
    (ev,) = sink.events
    assert (ev.event_id, ev.customer_id, ev.amount, ev.quantity, ev.occurred_at.utcoffset()) == (
        "shop:order:301", "88", 42.0, 2.0, timedelta(hours=1))
    (guest,) = sink.dead_letters
    assert guest.reason.value == "missing_field" and "no customer id" in guest.detail
    # the draft (never placed) gave neither an event nor a dead letter


def test_malformed_rows_become_dead_letters_with_reasons_and_the_file_goes_on(tmp_path):
    text = GENERIC + (
        f"A-3,,{DAY}T10:00:00Z,5.00,EUR,1,Tea\n"                      # no customer
        f"A-4,jo@bakery.example,{DAY}T10:00:00Z,5.00,EUR,1,Tea\n"     # an address as the id
        f"A-5,cust-5,{DAY}T10:00:00Z,five,EUR,1,Tea\n"                # not a number
        f"A-6,cust-6,{DAY}T10:00:00Z,5.00,,1,Tea\n"                   # a total without a currency
        f",cust-7,{DAY}T10:00:00Z,5.00,EUR,1,Tea\n"                   # no order id
        f"A-8,cust-8\n"                                                # too few fields
        f"A-9,cust-9,{DAY}T10:00:00Z,5.00,EUR,1,Tea\n"
        f"A-9,cust-9,{DAY}T10:00:00Z,6.00,EUR,1,Tea\n"                # its lines disagree on the total
        f"A-10,cust-10,{DAY}T10:00:00Z,5.00,EUR,1,Tea\n"
        f"A-11,cust-11,{DAY}T10:00:00Z,-5.00,EUR,1,Tea\n")            # a negative total, not a refund
    sink = run_connector(connector(write(tmp_path, "orders.csv", text), mapping="orders"))
    assert [e.event_id for e in sink.events] == ["shop:order:A-1", "shop:order:A-2", "shop:order:A-10"]
    reasons = [(d.reason.value, d.detail) for d in sink.dead_letters]
    # a line that cannot be read goes out at once; an order once its last line has been read
    assert [r for r, _ in reasons] == ["missing_field", "missing_field", "wrong_type", "missing_field",
                                       "missing_field", "invalid_source_id", "invalid_value", "invalid_value"]
    assert "has 2 fields" in reasons[4][1]
    assert "order A-11 has a negative total" in reasons[7][1]
    assert "e-mail addresses are not used as ids" in reasons[1][1]
    assert "disagree on amount" in reasons[6][1]


def test_the_shopify_preset_needs_a_customer_id_column_named(tmp_path):
    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    with pytest.raises(ConnectorError, match="no customer id column .*e-mail addresses are not used as ids"):
        connector(p, mapping="shopify_orders")
    with pytest.raises(ConnectorError, match="missing column.*'Customer Number'"):
        run_connector(connector(p, mapping="shopify_orders", columns={"customer_id": "Customer Number"}))
    with pytest.raises(ConnectorError, match="unknown \\[columns\\] email"):
        connector(p, mapping="orders", columns={"email": "Email"})


def test_an_order_is_resumed_whole_after_a_stop_between_its_lines(tmp_path):
    """The cursor of an order is its last line's: a run stopped after the first order resumes at the second."""
    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    make = lambda: connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"})
    first = run_connector(make(), limit=1)
    assert [e.event_id for e in first.events] == ["shop:order:#1001"]
    rest = run_connector(make(), cursor=first.cursors["files"])
    assert [e.event_id for e in rest.events][0] == "shop:order:#1002:refunded" and len(rest.events) == 3


def test_conformance(tmp_path):
    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    line = dict(zip(SHOPIFY_HEADER.strip().split(","), SHOPIFY.splitlines()[1].split(",")))
    report = check_conformance(
        lambda: connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"}),
        bad=[[{**line, "Customer ID": ""}], [{**line, "Customer ID": "jo@bakery.example"}], [{**line, "Total": "x"}]])
    assert report["cursor"] == "round-trips" and report["bad_dead_lettered"] == 3 and report["events"] == 4


@pytest.mark.integration
def test_an_order_export_imported_twice_on_a_real_broker_gives_the_same_ids(broker, namespace, tmp_path):
    import json

    from pulsewire.streams.sdk import runtime
    from pulsewire.streams.topics import TopicMap

    from .conftest import read_topics

    p = write(tmp_path, "orders_export.csv", SHOPIFY)
    topics = TopicMap(prefix=namespace, group=f"{namespace}group")
    for instance in ("import-1", "import-2"):  # two instances: two cursors, the whole file twice
        stats = runtime.run(connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"},
                                      instance=instance), broker, topics=topics)
        assert (stats.events, stats.dead_letters) == (4, 0)
    records = sorted((json.loads(r.value) for r in read_topics(broker, [topics.name("events.activity")])),
                     key=lambda r: r["event_id"])  # partitioned by customer: compare as sets of records
    assert [r["event_id"] for r in records] == [i for i in ["shop:order:#1001", "shop:order:#1002:refunded",
                                                            "shop:order:#1003:cancelled", "shop:order:#1004"]
                                                for _ in range(2)]
    assert records[0::2] == records[1::2]


def test_a_negative_total_is_a_dead_letter_unless_the_order_is_refunded(tmp_path):
    text = "order_id,customer_id,ordered_at,amount,currency,quantity,product,status\n" + (
        f"o3,c2,{DAY}T10:00:00Z,-5,USD,1,Tea,completed\n"
        f"o4,c2,{DAY}T10:00:00Z,-5,USD,1,Tea,refunded\n")
    sink = run_connector(connector(write(tmp_path, "orders.csv", text), mapping="orders"))
    assert [(e.event_id, e.amount) for e in sink.events] == [("shop:order:o4:refunded", None)]
    assert [(d.reason.value, d.detail.split(";")[0]) for d in sink.dead_letters] == [
        ("invalid_value", "order o3 has a negative total ('amount')")]


def test_a_dead_letter_names_the_order_on_the_dlq_and_is_stored_without_it(tmp_path):
    """As docs/connectors.md says: the detail names the order for every preset; the dead_letters row
    of an order export (a personal source) has every value of three characters or more replaced."""
    from pulsewire.streams.rows import dead_letter_row
    from pulsewire.streams.privacy import KeyRing

    text = SHOPIFY_HEADER + f"#1005,jo@bakery.example,paid,{T1},EUR,5,0,0,5.00,{T1},1,Tea,5.00,Jo Baker,,,5505\n"
    p = write(tmp_path, "orders_export.csv", text)
    (dl,) = run_connector(connector(p, mapping="shopify_orders", columns={"customer_id": "Customer ID"})).dead_letters
    assert dl.detail.startswith("order #1005 has no customer id")
    row = dead_letter_row(dl, KeyRing(b"k" * 32))
    assert row["detail"].startswith("order [value] has no customer id") and "jo@bakery" not in str(row)
