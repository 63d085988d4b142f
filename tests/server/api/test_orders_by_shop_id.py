"""A shop's order id that several channels use: every REST route that takes an order by id
takes the channel the way its 409 says, and changes nothing without it."""

from __future__ import annotations

import json

import pytest
from floorkit import address, place


def _two_shops_one_id(store) -> tuple[str, str]:
    """Order `1001` of channel web and order `1001` of channel shop-us: (web's, shop-us')."""
    return (
        place(store, "1001", [("SKU-A", 1)], channel="web"),
        place(store, "1001", [("SKU-A", 1)], channel="shop-us"),
    )


def _ship_to(store, oid: str) -> str:
    return json.loads(store.one("SELECT ship_to FROM orders WHERE id = ?", (oid,))["ship_to"])[
        "name"
    ]


def test_the_address_of_a_shared_shop_id_changes_with_the_channel_named(
    client, headers, store, catalogue
):
    web, shop = _two_shops_one_id(store)
    moved = {"ship_to": address("Ada Byron-King")}

    r = client.post("/api/orders/1001/address", json=moved, headers=headers)
    assert r.status_code == 409, r.get_data(as_text=True)
    assert "?channel=" in r.get_json()["message"]
    assert _ship_to(store, web) == _ship_to(store, shop) == "Grace Hopper"

    r = client.post("/api/orders/1001/address?channel=shop-us", json=moved, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["order"] == shop
    assert (_ship_to(store, web), _ship_to(store, shop)) == ("Grace Hopper", "Ada Byron-King")

    # A channel without that order is no order; our id with its own channel is that order.
    r = client.post("/api/orders/1001/address?channel=nope", json=moved, headers=headers)
    assert r.status_code == 404, r.get_data(as_text=True)
    r = client.post(f"/api/orders/{web}/address?channel=web", json=moved, headers=headers)
    assert r.status_code == 200 and r.get_json()["order"] == web


@pytest.mark.sqlite_only("the OpenAPI document: no store SQL")
def test_the_address_route_documents_the_channel(client):
    doc = client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/orders/{order_id}/address"]["post"]
    assert {p["name"]: p["in"] for p in op["parameters"]} == {
        "order_id": "path",
        "channel": "query",
    }


def test_a_return_of_a_shared_shop_id_is_told_to_name_the_channel_in_its_body(
    client, headers, store, catalogue
):
    _two_shops_one_id(store)
    r = client.post(
        "/api/returns", json={"order_id": "1001", "lines": [{"sku": "SKU-A", "qty": 1}]},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 409, r.get_data(as_text=True)
    message = r.get_json()["message"]
    assert "?channel=" not in message and "`channel`" in message, message


@pytest.mark.sqlite_only("the OpenAPI document: no store SQL")
def test_the_returns_list_says_its_order_id_is_ours(client):
    """GET /api/returns?order_id= filters by our id only (a shop's id finds nothing): the
    document says so, as returns.md does."""
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p for p in doc["paths"]["/api/returns"]["get"]["parameters"]}
    assert "SO-000001" in params["order_id"].get("description", "")
