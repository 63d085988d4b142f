"""The customer's public tracking page: /track/<token>, no login, no internal ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mailkit import move, order_with_parcel

from server.capture import orders


def token_of(store, oid: str) -> str:
    return store.one("SELECT track_token FROM orders WHERE id = ?", (oid,))["track_token"]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_page_shows_shop_number_status_parcel_and_timeline_without_login(
    store, catalogue, client, headers
):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "out_for_delivery")
    order = client.get(f"/api/orders/{oid}", headers=headers).get_json()
    token = token_of(store, oid)
    assert order["tracking_url"] == f"/track/{token}"  # no public_base_url set: relative
    resp = client.get(order["tracking_url"])  # no API key, no session
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    html = resp.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "http" not in html.replace("http-equiv", "")  # nothing loaded from elsewhere
    text = text_of(html)
    assert "Our shop" in text and "Order #1043" in text
    assert "Parcel 1: SCANFLOOR LOCAL · Standard tracking number SF0000012345" in text
    steps = re.findall(r"<li><span>([^<]+)</span>", html)
    assert steps == [  # newest on top
        "Out for delivery",
        "Shipped",
        "Being prepared",
        "Order received",
    ]
    # Philadelphia (placed by its postcode): its zone, named; the standard service's 3 days.
    assert "Times are New York time" in text and re.search(r"\d\d:\d\d E[SD]T", text)
    # Shipped today (New York's day), standard service: 3 calendar days in transit.
    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=3)
    assert f"Estimated delivery: {day:%a} {day.day} {day:%b %Y}" in text
    assert "1 × Blue mug" in text
    assert re.search(r'id="status">Out for delivery<', html)
    # Nothing of ours: no order id, warehouse, bin or SKU.
    for internal in (oid, "WH-EAST", "E-02-02", "SKU-A", "PL-"):
        assert internal not in html


def test_an_exception_reads_as_its_reason(store, catalogue, client):
    oid = order_with_parcel(store, shop_number=None, shop_id="shop-77")
    move(store, oid, "shipped")
    move(store, oid, "exception", reason="delayed")
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert "Order shop-77" in text_of(html)  # no shop number: the shop's id
    assert re.search(r'id="status">Your parcel is delayed<', html)


def test_the_page_escapes_what_the_shop_sent(store, catalogue, client):
    oid = order_with_parcel(store, shop_number="<b>#1</b>")
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert "<b>#1</b>" not in html and "&lt;b&gt;#1&lt;/b&gt;" in html


def test_an_unknown_or_guessed_token_is_a_404_page(store, catalogue, client):
    oid = order_with_parcel(store)
    token = token_of(store, oid)
    assert len(token) >= 22  # 128 random bits, URL-safe base64
    for wrong in ("nope", token[:-1], token.upper() if token.upper() != token else "x" + token):
        resp = client.get(f"/track/{wrong}")
        assert resp.status_code == 404 and "Order not found" in resp.get_data(as_text=True)
        assert "#1043" not in resp.get_data(as_text=True)


def test_every_order_has_its_own_token(store, catalogue):
    a = order_with_parcel(store, shop_id="a-1", tracking="SF1")
    b = order_with_parcel(store, shop_id="b-1", tracking="SF2")
    assert token_of(store, a) != token_of(store, b)


def test_an_exception_and_a_return_are_clear_states(store, catalogue, client):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "exception", reason="damaged")
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert 'class="card state exception"' in html
    assert re.search(r'id="status">Your parcel was damaged in transit<', html)
    assert re.search(r'<li class="done current">Shipped</li>', html)  # where it stopped
    move(store, oid, "returned")
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert 'class="card state returned"' in html and "Estimated delivery" not in html
    assert "Going to" not in html


def test_an_address_not_placed_reads_in_utc_named_so(store, catalogue, client):
    oid = order_with_parcel(store)
    with store.write():
        store.execute("UPDATE orders SET lat = NULL, lon = NULL WHERE id = ?", (oid,))
    move(store, oid, "shipped")
    text = text_of(client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True))
    assert "Times are UTC" in text and re.search(r"\d\d:\d\d UTC", text)


def test_the_estimate_counts_from_the_day_it_shipped_when_a_scan_came_first(
    store, catalogue, client
):
    # The carrier scanned the parcel before the truck was handed over: the order goes from
    # packed straight to in_transit when it ships, with no `shipped` status on its timeline.
    oid = order_with_parcel(store)
    move(store, oid, "packed")
    with store.write():
        orders.record(store, oid, "in_transit", "shipped")
        left = datetime.now(UTC) - timedelta(days=2)
        store.execute(
            "UPDATE order_events SET at = ? WHERE order_id = ? AND event = 'shipped'",
            (left.isoformat(timespec="microseconds"), oid),
        )
    text = text_of(client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True))
    # Standard service, 3 calendar days from the day it left (New York's day), not from today.
    day = left.astimezone(ZoneInfo("America/New_York")).date() + timedelta(days=3)
    assert f"Estimated delivery: {day:%a} {day.day} {day:%b %Y}" in text


def test_a_hub_scan_reported_after_the_delivery_does_not_move_where_it_was_left(
    store, catalogue, client
):
    # A carrier's late `in_transit` event is kept on the timeline (status still delivered),
    # but the page says when and where the carrier left the parcel, not where the hub was.
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(
        store, oid, "delivered", at="2026-12-03T19:02:00+00:00",
        place={"text": "Left at the front door", "city": "Philadelphia"},
    )  # fmt: skip
    with store.write():  # as server/shipping/tracking.py records it
        orders.record(
            store, oid, "delivered", "in_transit", at="2026-12-03T09:00:00+00:00",
            place={"text": "sorting hub for WH-EAST"},
        )  # fmt: skip
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert re.search(
        r'id="delivered">Delivered Thu 3 Dec 2026, 14:02 EST: Left at the front door, '
        r"Philadelphia<",
        html,
    ), text_of(html)
    assert "WH-EAST" not in html and "sorting hub" not in html


def test_an_exception_keeps_its_reason_when_another_parcel_moves(store, catalogue, client):
    # Two parcels: one delayed, the other scanned in transit afterwards. The order stays in
    # exception (server/shipping/domain/tracking.py); the page still says why.
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "exception", reason="delayed")
    with store.write():  # as server/shipping/tracking.py records the other parcel's event
        orders.record(store, oid, "exception", "in_transit", place={"text": "hub"})
    html = client.get(f"/track/{token_of(store, oid)}").get_data(as_text=True)
    assert re.search(r'id="status">Your parcel is delayed<', html), text_of(html)
    assert "There is a problem with the delivery" not in html


def test_a_scan_before_the_hand_over_still_tells_the_shop_and_customer_it_shipped(store, catalogue):
    """docs/customers.md: the customer hears at four milestones, `shipped` the first; a
    parcel the carrier scanned before the truck was handed over goes from packed to
    in_transit, and `shipped` is recorded, mailed and sent to the shop first."""
    oid = order_with_parcel(store)
    move(store, oid, "packed")
    with store.write():  # the hand-over, after the carrier's first scan
        orders.record(store, oid, "in_transit", "shipped")
    steps = store.all("SELECT status FROM order_events WHERE order_id = ? ORDER BY id", (oid,))
    assert [s["status"] for s in steps][-2:] == ["shipped", "in_transit"]
    mails = store.all("SELECT kind FROM customer_mails WHERE order_id = ? ORDER BY id", (oid,))
    assert [m["kind"] for m in mails] == ["shipped"]
    with store.write():  # a later event of the same parcel: nothing shipped twice
        orders.record(store, oid, "out_for_delivery", "out_for_delivery")
    mails = store.all("SELECT kind FROM customer_mails WHERE order_id = ? ORDER BY id", (oid,))
    assert [m["kind"] for m in mails] == ["shipped", "out_for_delivery"]
    shipped = store.all(
        "SELECT 1 FROM order_events WHERE order_id = ? AND status = 'shipped'", (oid,)
    )
    assert len(shipped) == 1
