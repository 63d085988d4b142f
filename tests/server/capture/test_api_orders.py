"""POST /api/orders and reading orders back: capture, idempotency, refusals, allocation, auth."""

from __future__ import annotations

import json

import pytest
from floorkit import order_body

from server.core.schemas import OrderOut

NO_STOCK_SKU = "SKU-Z"  # in the `catalogue` fixture, stocked nowhere
NEAR_WEST = {"lat": 34.0, "lon": -118.0}  # Los Angeles
NEAR_EAST = {"lat": 40.0, "lon": -75.0}  # Philadelphia


def problems_of(resp) -> dict[str, str]:
    return {p["field"]: p["message"] for p in resp.get_json()["problems"]}


@pytest.fixture
def refused(snapshot, catalogue):
    """Asserts a request was refused with the status and error, and wrote nothing."""

    def check(send, status: int, error: str):
        before = snapshot()
        resp = send()
        assert resp.status_code == status, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["error"] == error and body["message"]
        assert snapshot() == before
        return resp

    return check


def test_order_is_created_allocated_and_read_back(json_post, client, headers, catalogue, rows):
    resp = json_post("/api/orders", order_body("shop-1", [("SKU-A", 2), ("SKU-B", 1)]))
    assert resp.status_code == 201, resp.get_json()
    order = OrderOut.model_validate(resp.get_json())
    assert order.id.startswith("SO-") and order.order_id == "shop-1"
    assert order.status == "allocated" and order.warehouse == "WH-EAST"
    assert [e.status for e in order.timeline] == ["received", "allocated"]
    assert rows("pick_lists") == 1

    by_ours = client.get(f"/api/orders/{order.id}", headers=headers).get_json()
    by_shop = client.get("/api/orders/shop-1", headers=headers).get_json()
    assert by_ours == by_shop == resp.get_json()
    listed = client.get("/api/orders?status=allocated", headers=headers).get_json()["orders"]
    assert [o["id"] for o in listed] == [order.id]
    assert client.get("/api/orders?status=shipped", headers=headers).get_json() == {"orders": []}


def test_unknown_order_is_404(client, headers, catalogue):
    resp = client.get("/api/orders/SO-999999", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_list_refuses_a_bad_query(client, headers):
    resp = client.get("/api/orders?status=lost&limit=0", headers=headers)
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_query"
    assert set(problems_of(resp)) == {"status", "limit"}


def test_repeat_is_idempotent(json_post, catalogue, rows):
    body = order_body("shop-2", [("SKU-A", 1)])
    first = json_post("/api/orders", body)
    again = json_post("/api/orders", json.loads(json.dumps(body, sort_keys=True)))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert rows("orders") == 1 and rows("pick_lists") == 1


def test_same_id_other_channel_is_another_order(json_post, catalogue, rows):
    body = order_body("shop-3", [("SKU-B", 1)])
    assert json_post("/api/orders", body).status_code == 201
    assert json_post("/api/orders", {**body, "channel": "marketplace"}).status_code == 201
    assert rows("orders") == 2


def test_same_id_different_body_is_409(json_post, refused):
    assert json_post("/api/orders", order_body("shop-4", [("SKU-A", 1)])).status_code == 201
    resp = refused(
        lambda: json_post("/api/orders", order_body("shop-4", [("SKU-A", 3)])), 409, "conflict"
    )
    assert "shop-4" in resp.get_json()["message"]


def test_unknown_sku_is_refused(json_post, refused):
    resp = refused(
        lambda: json_post("/api/orders", order_body("x", [("SKU-A", 1), ("NOPE", 1)])),
        422,
        "invalid_order",
    )
    assert problems_of(resp) == {"lines[1].sku": "unknown SKU NOPE"}


@pytest.mark.parametrize("qty", [0, -3])
def test_qty_must_be_positive(json_post, refused, qty):
    resp = refused(
        lambda: json_post("/api/orders", order_body("x", [("SKU-A", qty)])), 422, "invalid_order"
    )
    assert "greater than 0" in problems_of(resp)["lines[0].qty"]


def test_every_problem_is_listed_at_once(json_post, refused):
    body = order_body("x", [("SKU-A", 0), ("NOPE", 1), ("SKU-B", -1)])
    del body["ship_to"]["city"]
    del body["ship_to"]["postcode"]
    body["ship_to"]["country"] = "usa"
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    assert set(problems_of(resp)) == {
        "lines[0].qty",
        "lines[1].sku",
        "lines[2].qty",
        "ship_to.city",
        "ship_to.postcode",
        "ship_to.country",
    }
    assert problems_of(resp)["lines[1].sku"] == "unknown SKU NOPE"


@pytest.mark.parametrize("field", ["name", "line1", "city", "postcode", "country"])
def test_missing_address_field(json_post, refused, field):
    body = order_body("x", [("SKU-A", 1)])
    del body["ship_to"][field]
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    assert problems_of(resp) == {f"ship_to.{field}": "Field required"}


@pytest.mark.parametrize("country", ["us", "USA", "U1", ""])
def test_bad_country(json_post, refused, country):
    body = order_body("x", [("SKU-A", 1)])
    body["ship_to"]["country"] = country
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    assert list(problems_of(resp)) == ["ship_to.country"]


@pytest.mark.parametrize(
    "body", [{"order_id": "x"}, [], "order", {"order_id": "x", "lines": [], "ship_to": {}, "x": 1}]
)
def test_wrong_shapes_are_422(json_post, refused, body):
    refused(lambda: json_post("/api/orders", body), 422, "invalid_order")


@pytest.mark.parametrize("data", [b'{"order_id": "x",', b"not json", b"", b"\xff\xfe{}"])
def test_malformed_json_is_400(client, headers, refused, data):
    resp = refused(
        lambda: client.post(
            "/api/orders", data=data, headers=headers, content_type="application/json"
        ),
        400,
        "malformed_json",
    )
    assert resp.is_json


def test_oversized_body_is_413(app, json_post, refused):
    body = order_body("x", [("SKU-A", 1)])
    body["ship_to"]["line2"] = "x" * app.config["MAX_CONTENT_LENGTH"]
    refused(lambda: json_post("/api/orders", body), 413, "body_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client, headers, refused, content_type):
    data = json.dumps(order_body("x", [("SKU-A", 1)]))
    kwargs = {"content_type": content_type} if content_type else {}
    refused(
        lambda: client.post("/api/orders", data=data, headers=headers, **kwargs),
        415,
        "unsupported_media_type",
    )


@pytest.mark.parametrize(
    "auth_headers",
    [
        {},
        {"Authorization": "Bearer sfk_wrong"},
        {"X-API-Key": "sfk_wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
)
def test_no_or_wrong_key_is_401(client, refused, api_key, auth_headers):
    resp = refused(
        lambda: client.post(
            "/api/orders", json=order_body("x", [("SKU-A", 1)]), headers=auth_headers
        ),
        401,
        "unauthorized",
    )
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/orders/SO-000001", headers=auth_headers).status_code == 401


def test_x_api_key_header_works(client, api_key, catalogue):
    resp = client.post(
        "/api/orders", json=order_body("x", [("SKU-A", 1)]), headers={"X-API-Key": api_key}
    )
    assert resp.status_code == 201


def test_revoked_key_is_401(client, store, api_key, headers):
    with store.write():
        store.execute("UPDATE api_keys SET revoked = 1")
    assert client.get("/api/orders", headers=headers).status_code == 401


def test_order_goes_to_the_nearest_warehouse_with_stock(json_post, catalogue):
    west = json_post("/api/orders", order_body("near-west", [("SKU-A", 1)], **NEAR_WEST))
    east = json_post("/api/orders", order_body("near-east", [("SKU-A", 1)], **NEAR_EAST))
    assert west.get_json()["warehouse"] == "WH-WEST"
    assert east.get_json()["warehouse"] == "WH-EAST"


def test_nearest_warehouse_short_means_the_next_one(json_post, catalogue):
    # SKU-B is stocked only in the east: a west-coast order still ships, from the east.
    resp = json_post("/api/orders", order_body("pen", [("SKU-B", 1)], **NEAR_WEST))
    assert resp.get_json()["status"] == "allocated" and resp.get_json()["warehouse"] == "WH-EAST"


def test_backorder_is_allocated_when_stock_arrives(json_post, client, headers, catalogue):
    resp = json_post("/api/orders", order_body("rare", [(NO_STOCK_SKU, 2)], **NEAR_WEST))
    assert resp.status_code == 201
    order = resp.get_json()
    assert order["status"] == "backordered" and order["warehouse"] is None

    stock = {"warehouse": "WH-EAST", "location": "E-01-02", "sku": NO_STOCK_SKU, "on_hand": 2}
    put = json_post("/api/stock", stock, method="PUT")
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["allocation"] == {"allocated": 1}
    assert put.get_json()["stock"] == {
        **stock,
        "lot": "",
        "expires": None,
        "reserved": 2,
        "free": 0,
    }

    after = client.get(f"/api/orders/{order['id']}", headers=headers).get_json()
    assert after["status"] == "allocated" and after["warehouse"] == "WH-EAST"
    assert [e["status"] for e in after["timeline"]] == ["received", "backordered", "allocated"]
