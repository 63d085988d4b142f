"""Shopify orders in: POST /webhooks/shopify/<channel>, signed, applied once, refusals kept."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from dbkit import rows
from shopkit import SHOPIFY_SECRET, shopify_headers, shopify_order, shopify_sign

from server.board import board
from server.cli.main import main
from server.floor import work
from server.people import auth

CHANNEL = "shop-us"
HOOK = f"/webhooks/shopify/{CHANNEL}"
SHOP_ID = "5806289289485"  # the fixture's order id
TABLES = ["orders", "order_lines", "order_events", "reservations", "inbound_webhooks"]


@pytest.fixture
def shop(json_post, catalogue):
    """The small floor with channel shop-us taking Shopify webhooks (secret set over REST)."""
    resp = json_post(f"/api/channels/{CHANNEL}", {"shopify_secret": SHOPIFY_SECRET}, "PUT")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "code": CHANNEL,
        "allow_split": True,
        "allow_partial": False,
        "shopify": True,
    }


@pytest.fixture
def send(client):
    """POST a Shopify webhook as Shopify does: the raw body and its headers."""

    def post(payload, topic="orders/create", webhook_id="wh-1", headers=None, channel=CHANNEL):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = headers if headers is not None else shopify_headers(body, topic, webhook_id)
        return client.post(f"/webhooks/shopify/{channel}", data=body, headers=sent)

    return post


@pytest.fixture
def table_rows(store):
    def take() -> dict[str, list]:
        return {t: rows(store, t) for t in TABLES}

    return take


def order_of(client, headers, ref=SHOP_ID, channel=CHANNEL) -> dict:
    resp = client.get(f"/api/orders/{ref}?channel={channel}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def events(order: dict) -> list[str]:
    return [e["event"] for e in order["timeline"]]


def test_a_signed_order_reaches_the_floor(shop, send, client, headers, store):
    resp = send(shopify_order())
    assert resp.status_code == 200, resp.get_json()
    answer = resp.get_json()
    assert answer["status"] == "accepted" and answer["result"] == "created"
    order = order_of(client, headers)
    assert answer["order"] == order["id"] and order["id"].startswith("SO-")
    assert order["order_id"] == SHOP_ID and order["shop_number"] == "#1043"
    assert order["channel"] == CHANNEL
    # Only what needs shipping is floor work: the gift card and the PDF are left out, and said so.
    assert [(li["sku"], li["qty"]) for li in order["lines"]] == [("SKU-A", 2), ("SKU-B", 1)]
    left_out = next(e for e in order["timeline"] if e["event"] == "shop_lines_left_out")
    assert [(x["title"], x["why"]) for x in left_out["detail"]["line_items"]] == [
        ("Gift card", "gift card"),
        ("Tea brewing guide (PDF)", "does not require shipping"),
    ]
    note = next(e for e in order["timeline"] if e["event"] == "shop_note")
    assert note["detail"]["note"] == "Please leave the parcel with the concierge."
    assert order["ship_to"] == {
        "name": "Grace Hopper",
        "line1": "1 Navy Yard Plaza",
        "line2": "Building 4",
        "city": "Philadelphia",
        "postcode": "19112",
        "country": "US",
        "phone": "+1 215 555 0143",
        "lat": 39.8906,
        "lon": -75.1745,
    }
    assert order["status"] == "allocated" and order["warehouse"] == "WH-EAST"
    # The board shows the number people see beside our id.
    refs = [r for pl in board.snapshot(store)["pick_lists"] for r in pl["order_refs"]]
    shown = [{k: r[k] for k in ("id", "shop_id", "shop_number", "channel")} for r in refs]
    assert shown == [
        {"id": order["id"], "shop_id": SHOP_ID, "shop_number": "#1043", "channel": CHANNEL}
    ]
    listed = client.get("/api/orders", headers=headers).get_json()["orders"]
    assert listed[0]["shop_number"] == "#1043"
    kept = client.get("/api/inbound-webhooks", headers=headers).get_json()["webhooks"]
    assert [(w["topic"], w["status"], w["order_id"], w["body"]) for w in kept] == [
        ("orders/create", "accepted", order["id"], None)
    ]


def test_a_name_without_full_name_uses_first_and_last(shop, send, client, headers):
    payload = shopify_order()
    address = payload["shipping_address"]
    del address["name"], address["latitude"], address["longitude"]
    assert send(payload).status_code == 200
    ship_to = order_of(client, headers)["ship_to"]
    assert ship_to["name"] == "Grace Hopper" and ship_to["lat"] is None


@pytest.mark.parametrize(
    "case", ["no signature", "wrong secret", "other body", "channel without secret", "no channel"]
)
def test_a_missing_or_wrong_signature_is_401_and_writes_nothing(
    case, shop, send, table_rows, json_post
):
    json_post("/api/channels/plain", {"allow_partial": True}, "PUT")
    body = json.dumps(shopify_order()).encode()
    headers = shopify_headers(body)
    channel = CHANNEL
    if case == "no signature":
        del headers["X-Shopify-Hmac-Sha256"]
    elif case == "wrong secret":
        headers["X-Shopify-Hmac-Sha256"] = shopify_sign(body, "shpss_not_the_secret")
    elif case == "other body":
        headers["X-Shopify-Hmac-Sha256"] = shopify_sign(
            body.replace(b'"quantity": 2', b'"quantity": 1')
        )
    elif case == "channel without secret":
        channel = "plain"
    else:
        channel = "nobody"
    before = table_rows()
    resp = send(body, headers=headers, channel=channel)
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    assert table_rows() == before


def test_the_same_webhook_or_order_again_changes_nothing(shop, send, table_rows, rows):
    first = send(shopify_order(), webhook_id="wh-1")
    before = table_rows()
    again = send(shopify_order(), webhook_id="wh-1")
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    after = table_rows()
    assert after["orders"] == before["orders"] and after["order_events"] == before["order_events"]
    assert [w["times"] for w in after["inbound_webhooks"]] == [2]
    # The same order in another webhook (a resend from the shop's side): still one order.
    other = send(shopify_order(), webhook_id="wh-2")
    assert other.get_json()["result"] == "repeated" and not other.get_json()["duplicate"]
    assert rows("orders") == 1 and rows("order_lines") == 2 and rows("reservations") == 2


def test_a_body_that_cannot_be_taken_is_422_with_every_problem_and_kept(
    shop, send, client, headers, rows, json_post
):
    payload = shopify_order()
    items = payload["line_items"]
    items[0]["sku"] = "SKU-NEW"
    items[1]["sku"] = None
    items[1]["quantity"] = 20_000
    payload["shipping_address"]["country_code"] = "United States"
    payload["shipping_address"]["zip"] = None
    resp = send(payload, webhook_id="wh-bad")
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_shopify_order"
    problems = {p["field"]: p["message"] for p in body["problems"]}
    assert set(problems) == {
        "line_items[0].sku",
        "line_items[1].sku",
        "line_items[1].quantity",
        "shipping_address.country_code",
        "shipping_address.zip",
    }
    assert problems["line_items[0].sku"] == "unknown SKU SKU-NEW"
    assert rows("orders") == 0 and rows("order_events") == 0
    kept = client.get("/api/inbound-webhooks?status=rejected", headers=headers).get_json()
    [hook] = kept["webhooks"]
    assert hook["webhook_id"] == "wh-bad" and hook["topic"] == "orders/create"
    assert json.loads(hook["body"]) == payload
    assert {p["field"] for p in hook["problems"]} == set(problems)


def test_a_rejected_webhook_sent_again_after_the_fix_is_taken(
    shop, send, client, headers, json_post
):
    payload = shopify_order()
    payload["line_items"][0]["sku"] = "SKU-NEW"
    assert send(payload, webhook_id="wh-9").status_code == 422
    json_post("/api/products", {"sku": "SKU-NEW", "name": "New mug"})
    resp = send(payload, webhook_id="wh-9")  # Shopify retries what was not answered 2xx
    assert resp.status_code == 200 and resp.get_json()["result"] == "created"
    [hook] = client.get("/api/inbound-webhooks", headers=headers).get_json()["webhooks"]
    assert (hook["status"], hook["times"], hook["body"], hook["problems"]) == (
        "accepted", 2, None, [],
    )  # fmt: skip


def test_malformed_json_and_wrong_shape_are_kept_too(shop, send, client, headers):
    assert send(b'{"id": 1, "line_items": [', webhook_id="wh-cut").status_code == 422
    resp = send({"id": "x", "line_items": [{"sku": "SKU-A"}]}, webhook_id="wh-shape")
    assert resp.status_code == 422
    fields = {p["field"] for p in resp.get_json()["problems"]}
    assert {"id", "name", "line_items[0].quantity", "line_items[0].requires_shipping"} <= fields
    kept = client.get("/api/inbound-webhooks?status=rejected", headers=headers).get_json()
    assert [w["webhook_id"] for w in kept["webhooks"]] == ["wh-shape", "wh-cut"]


def test_other_topics_and_orders_with_nothing_to_ship_are_ignored(shop, send, rows):
    resp = send(shopify_order(), topic="orders/paid", webhook_id="wh-paid")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    digital = shopify_order()
    digital["line_items"] = digital["line_items"][2:]  # the gift card and the PDF
    resp = send(digital, webhook_id="wh-digital")
    assert resp.get_json()["status"] == "ignored"
    assert "nothing to ship" in resp.get_json()["result"]
    assert rows("orders") == 0 and rows("inbound_webhooks") == 2


NEW_ADDRESS = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "name": "Grace Hopper",
    "address1": "200 Chestnut Street",
    "address2": "",
    "city": "Philadelphia",
    "zip": "19106",
    "country_code": "US",
    "latitude": 39.9489,
    "longitude": -75.1466,
}


def test_an_updated_address_is_taken_before_picking_starts(shop, send, client, headers):
    send(shopify_order(), webhook_id="wh-1")
    resp = send(shopify_order(shipping_address=NEW_ADDRESS), "orders/updated", "wh-2")
    assert resp.status_code == 200 and resp.get_json()["result"] == "ship_to_changed"
    order = order_of(client, headers)
    assert order["ship_to"]["line1"] == "200 Chestnut Street" and order["ship_to"]["lat"] == 39.9489
    changed = next(e for e in order["timeline"] if e["event"] == "ship_to_changed")
    assert changed["detail"]["was"]["line1"] == "1 Navy Yard Plaza"
    # The same address again (Shopify sends orders/updated for much else): nothing noted.
    again = send(shopify_order(shipping_address=NEW_ADDRESS), "orders/updated", "wh-3")
    assert again.get_json()["result"] == "unchanged"
    assert events(order_of(client, headers)) == events(order)


def test_an_updated_address_after_picking_started_is_noted_not_taken(
    shop, send, client, headers, store
):
    send(shopify_order(), webhook_id="wh-1")
    auth.create_device(store, "picker-1", "picker", "WH-EAST")
    device = store.one("SELECT id FROM devices WHERE name = 'picker-1'")
    with store.write():
        assert work.assign_next(store, device["id"], "WH-EAST") is not None
    assert order_of(client, headers)["status"] == "picking"
    resp = send(shopify_order(shipping_address=NEW_ADDRESS), "orders/updated", "wh-2")
    assert resp.status_code == 200 and resp.get_json()["result"].startswith("noted")
    order = order_of(client, headers)
    assert order["ship_to"]["line1"] == "1 Navy Yard Plaza" and order["status"] == "picking"
    noted = order["timeline"][-1]
    assert noted["event"] == "ship_to_change_refused"
    assert noted["detail"]["ship_to"]["line1"] == "200 Chestnut Street"


def test_an_update_for_an_order_not_seen_yet_creates_it(shop, send, client, headers):
    resp = send(shopify_order(), "orders/updated", "wh-u")  # Shopify does not promise order
    assert resp.get_json()["result"] == "created"
    assert send(shopify_order(), "orders/create", "wh-c").get_json()["result"] == "repeated"
    assert order_of(client, headers)["shop_number"] == "#1043"


def test_cancelled_in_the_shop_cancels_the_order(shop, send, client, headers, store):
    send(shopify_order(), webhook_id="wh-1")
    cancelled = shopify_order(cancel_reason="customer", cancelled_at="2024-05-14T11:00:00-04:00")
    resp = send(cancelled, "orders/cancelled", "wh-2")
    assert resp.status_code == 200 and resp.get_json()["result"] == "cancelled"
    order = order_of(client, headers)
    assert order["status"] == "cancelled"
    assert order["timeline"][-1]["detail"]["reason"] == "cancelled in the shop (customer)"
    assert store.one("SELECT SUM(reserved) AS n FROM stock")["n"] == 0
    again = send(cancelled, "orders/cancelled", "wh-3")
    assert again.get_json()["result"] == "already cancelled"


def test_a_cancel_before_the_order_keeps_it_off_the_floor(shop, send, rows):
    cancelled = shopify_order(cancel_reason="fraud", cancelled_at="2024-05-14T11:00:00-04:00")
    assert send(cancelled, "orders/cancelled", "wh-x").get_json()["status"] == "accepted"
    late = send(shopify_order(), "orders/create", "wh-y")
    assert late.status_code == 200 and late.get_json()["status"] == "ignored"
    assert rows("orders") == 0


def test_the_channel_secret_is_write_only(shop, client, headers, json_post, store):
    listed = client.get("/api/channels", headers=headers)
    assert SHOPIFY_SECRET not in listed.get_data(as_text=True)
    assert {c["code"]: c["shopify"] for c in listed.get_json()["channels"]} == {CHANNEL: True}
    # Left out, the secret stays; empty, it goes.
    kept = json_post(f"/api/channels/{CHANNEL}", {"allow_partial": True}, "PUT").get_json()
    assert kept["shopify"] is True and kept["allow_partial"] is True
    secret = store.one("SELECT shopify_secret FROM channels WHERE code = ?", (CHANNEL,))
    assert secret["shopify_secret"] == SHOPIFY_SECRET
    gone = json_post(f"/api/channels/{CHANNEL}", {"shopify_secret": ""}, "PUT").get_json()
    assert gone["shopify"] is False
    # A code no channel can have in a path (the {code} pattern of the document): no such resource.
    assert json_post("/api/channels/bad code", {}, "PUT").status_code == 404


def test_cli_channel_set_takes_the_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    assert runner.invoke(main, ["init", *data]).exit_code == 0
    out = runner.invoke(main, ["channel", "set", CHANNEL, "--shopify-secret", "-", *data],
                        input=SHOPIFY_SECRET + "\n")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert SHOPIFY_SECRET not in out.output and "Shopify secret set" in out.output
    out = runner.invoke(main, ["channel", "set", CHANNEL, "--no-allow-split", *data])
    assert "split no" in out.output and "Shopify secret set" in out.output
    out = runner.invoke(main, ["channel", "set", CHANNEL, "--no-shopify-secret", *data])
    assert "Shopify secret not set" in out.output


# ---------------------------------------------------------------- shop ids are per channel
def test_a_shop_id_two_channels_use_needs_the_channel(json_post, client, headers, catalogue):
    from floorkit import order_body

    web = json_post("/api/orders", order_body("X1", [("SKU-B", 1)])).get_json()
    market = json_post("/api/orders", {**order_body("X1", [("SKU-B", 1)]), "channel": "market"})
    market = market.get_json()
    ambiguous = client.get("/api/orders/X1", headers=headers)
    assert ambiguous.status_code == 409
    assert "market, web" in ambiguous.get_json()["message"]
    assert "channel" in ambiguous.get_json()["message"]
    assert (
        client.get("/api/orders/X1?channel=market", headers=headers).get_json()["id"]
        == market["id"]
    )
    assert client.get(f"/api/orders/{web['id']}", headers=headers).get_json()["id"] == web["id"]
    assert client.get("/api/orders/X1?channel=other", headers=headers).status_code == 404

    refused = json_post("/api/orders/X1/cancel", {})
    assert refused.status_code == 409
    statuses = {
        o["id"]: o["status"]
        for o in client.get("/api/orders", headers=headers).get_json()["orders"]
    }
    assert set(statuses.values()) == {"allocated"}

    done = json_post("/api/orders/X1/cancel?channel=web", {})
    assert done.status_code == 200 and done.get_json()["id"] == web["id"]
    statuses = {
        o["id"]: o["status"]
        for o in client.get("/api/orders", headers=headers).get_json()["orders"]
    }
    assert statuses == {web["id"]: "cancelled", market["id"]: "allocated"}


@pytest.mark.parametrize("depth", [33, 5_000])
def test_a_body_nested_too_deep_is_400_and_writes_nothing(shop, send, table_rows, depth):
    """The depth limit of REST and the carrier route: 32 arrays or objects, signed or not."""
    before = table_rows()
    order = shopify_order()
    bomb = "[" * depth + "]" * depth
    body = json.dumps(order)[:-1].encode() + b', "note_attributes": ' + bomb.encode() + b"}"
    resp = send(body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == "malformed_json"
    assert "deeper than 32" in resp.get_json()["message"]
    assert table_rows() == before


def test_an_updated_address_near_another_warehouse_is_allocated_again(shop, send, client, headers):
    """docs/shops.md: `orders/updated` takes customer service's path: a new nearest warehouse
    allocates the order again from the new address."""
    send(shopify_order(), webhook_id="wh-1")
    assert order_of(client, headers)["warehouse"] == "WH-EAST"
    los_angeles = {**shopify_order()["shipping_address"], "address1": "1 Grand Avenue",
                   "city": "Los Angeles", "zip": "90012", "latitude": 34.05, "longitude": -118.25}  # fmt: skip
    resp = send(shopify_order(shipping_address=los_angeles), "orders/updated", "wh-2")
    assert resp.status_code == 200 and resp.get_json()["result"] == "ship_to_changed"
    order = order_of(client, headers)
    moved = next(e for e in order["timeline"] if e["event"] == "reallocated")
    assert (moved["detail"]["was_nearest"], moved["detail"]["nearest"]) == ("WH-EAST", "WH-WEST")
    # What it held went back and it was allocated again (WH-WEST lacks SKU-B: WH-EAST again).
    assert [s["status"] for s in order["shipments"]] == ["cancelled", "allocated"]


def test_an_update_for_a_cancelled_order_is_ignored(shop, send, client, headers):
    send(shopify_order(), webhook_id="wh-1")
    send(shopify_order(cancel_reason="customer"), "orders/cancelled", "wh-2")
    resp = send(shopify_order(shipping_address=NEW_ADDRESS), "orders/updated", "wh-3")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    assert order_of(client, headers)["ship_to"]["line1"] == "1 Navy Yard Plaza"


def test_a_body_not_sent_as_json_is_415_before_the_signature_and_kept_nowhere(
    shop, send, table_rows
):
    before = table_rows()
    body = json.dumps(shopify_order()).encode()
    sent = {**shopify_headers(body, "orders/create", "wh-1"), "Content-Type": "text/plain"}
    assert send(body, headers=sent).status_code == 415
    unsigned = {"Content-Type": "text/plain", "X-Shopify-Topic": "orders/create"}
    assert send(body, headers=unsigned).status_code == 415
    assert table_rows() == before
