"""Stock receipts, counts and cancels: backorders served most urgent first, nothing promised twice."""

from __future__ import annotations

import pytest
from floorkit import order_body

from server.inventory import shipments

NO_STOCK = "SKU-Z"  # in the `catalogue` fixture, stocked nowhere
NEAR_EAST = {"lat": 40.0, "lon": -75.0}


@pytest.fixture
def place(json_post, catalogue):
    def send(name: str, lines, **extra) -> dict:
        resp = json_post("/api/orders", {**order_body(name, lines, **NEAR_EAST), **extra})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return send


@pytest.fixture
def read(client, headers):
    def get(path: str) -> dict:
        resp = client.get(path, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    return get


def receipt(qty: int, sku: str = NO_STOCK, loc: str = "E-01-02", **extra) -> dict:
    return {"warehouse": "WH-EAST", "lines": [{"location": loc, "sku": sku, "qty": qty}], **extra}


def status(read, order: dict) -> str:
    return read(f"/api/orders/{order['id']}")["status"]


def test_a_receipt_serves_backorders_most_urgent_first(place, json_post, read):
    early = place("early", [(NO_STOCK, 1)])
    urgent = place("urgent", [(NO_STOCK, 1)], priority=9)
    promised = place("promised", [(NO_STOCK, 1)], promised_by="2030-01-01T00:00:00Z")
    assert {status(read, o) for o in (early, urgent, promised)} == {"backordered"}

    resp = json_post("/api/stock/receipts", receipt(2, receipt_id="ASN-1"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["allocation"] == {"allocated": 2, "backordered": 1}
    assert body["stock"][0]["on_hand"] == 2 and body["stock"][0]["reserved"] == 2
    # Priority first, then a promised date before none; plain arrival order comes last.
    assert (status(read, urgent), status(read, promised), status(read, early)) == (
        "allocated",
        "allocated",
        "backordered",
    )


def test_a_repeated_receipt_is_booked_once(place, json_post, read, store):
    first = json_post("/api/stock/receipts", receipt(3, receipt_id="ASN-7"))
    again = json_post("/api/stock/receipts", receipt(3, receipt_id="ASN-7"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["repeated"] is True
    assert store.one("SELECT on_hand FROM stock WHERE sku = ?", (NO_STOCK,))["on_hand"] == 3
    other = json_post("/api/stock/receipts", receipt(4, receipt_id="ASN-7"))
    assert other.status_code == 409
    moves = store.all("SELECT kind, qty, ref FROM stock_moves WHERE sku = ?", (NO_STOCK,))
    assert moves == [{"kind": "receipt", "qty": 3, "ref": "ASN-7"}]


def test_a_receipt_naming_unknown_things_changes_nothing(json_post, catalogue, snapshot):
    before = snapshot()
    bad = {
        "warehouse": "WH-EAST",
        "lines": [
            {"location": "NOPE", "sku": NO_STOCK, "qty": 1},
            {"location": "E-01-01", "sku": "X", "qty": 1},
        ],
    }
    resp = json_post("/api/stock/receipts", bad)
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_receipt"
    assert {p["field"] for p in resp.get_json()["problems"]} == {
        "lines[0].location",
        "lines[1].sku",
    }
    assert snapshot() == before


def test_a_count_short_of_what_is_reserved_moves_the_order_elsewhere(place, json_post, read, store):
    near = place("mug", [("SKU-A", 2)])  # 5 in E-02-02
    assert [s["warehouse"] for s in near["shipments"]] == ["WH-EAST"]
    count = {
        "warehouse": "WH-EAST",
        "location": "E-02-02",
        "sku": "SKU-A",
        "on_hand": 0,
        "reason": "empty",
    }
    resp = json_post("/api/stock/corrections", count)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["released"] == 2
    assert resp.get_json()["stock"]["on_hand"] == 0 and resp.get_json()["stock"]["reserved"] == 0
    after = read(f"/api/orders/{near['id']}")
    assert after["status"] == "allocated"
    assert [(s["warehouse"], s["status"]) for s in after["shipments"]] == [
        ("WH-EAST", "cancelled"),
        ("WH-WEST", "allocated"),
    ]
    assert after["warehouse"] == "WH-WEST"
    assert "stock_released" in [e["event"] for e in after["timeline"]]
    # The emptied list is gone; the new one is in the west.
    lists = store.all("SELECT warehouse FROM pick_lists")
    assert lists == [{"warehouse": "WH-WEST"}]
    assert store.one("SELECT qty FROM stock_moves WHERE kind = 'correction'")["qty"] == -5


def test_cancel_before_picking_gives_everything_back(place, json_post, read, store):
    got = place("gone", [("SKU-A", 2), ("SKU-B", 1)])
    resp = json_post(f"/api/orders/{got['id']}/cancel", {"reason": "customer changed mind"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "cancelled"
    assert store.one("SELECT SUM(reserved) AS n FROM stock")["n"] == 0
    assert store.one("SELECT COUNT(*) AS n FROM pick_lists")["n"] == 0
    assert [s["status"] for s in resp.get_json()["shipments"]] == ["cancelled"]
    assert read("/api/putaway-tasks") == {"tasks": []}
    # Again is harmless; an unknown order is 404.
    assert json_post(f"/api/orders/{got['id']}/cancel", {}).status_code == 200
    assert json_post("/api/orders/SO-999999/cancel", {}).status_code == 404


def test_cancel_after_picking_makes_a_putaway_task(place, json_post, read, store):
    got = place("half", [("SKU-A", 2)])
    pl = store.one("SELECT pick_list_id AS id FROM pick_steps WHERE order_id = ?", (got["id"],))
    with store.write():  # the floor picked one of two into a tote
        store.execute(
            "UPDATE pick_lists SET status = 'assigned', tote = 'TOTE-0001' WHERE id = ?",
            (pl["id"],),
        )
        store.execute(
            "UPDATE pick_steps SET picked = 1, put = 1 WHERE pick_list_id = ?", (pl["id"],)
        )
    resp = json_post(f"/api/orders/{got['id']}/cancel", {})
    assert resp.status_code == 200
    stock = store.one(
        "SELECT on_hand, reserved FROM stock WHERE sku = 'SKU-A' AND location_id = "
        "(SELECT id FROM locations WHERE code = 'E-02-02')"
    )
    assert stock == {"on_hand": 4, "reserved": 0}  # one unit is in the tote now
    (task,) = read("/api/putaway-tasks?status=open")["tasks"]
    assert (task["sku"], task["qty"], task["tote"], task["location"]) == (
        "SKU-A",
        1,
        "TOTE-0001",
        "E-02-02",
    )
    assert (
        store.one("SELECT status FROM pick_lists WHERE id = ?", (pl["id"],))["status"] == "packed"
    )

    waiting = place("later", [("SKU-A", 6)], allow_split=False)
    assert waiting["status"] == "backordered"
    done = json_post(f"/api/putaway-tasks/{task['id']}/done", {"location": "E-01-01"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "done" and done.get_json()["put_location"] == "E-01-01"
    assert read(f"/api/orders/{waiting['id']}")["status"] == "backordered"  # 5 in the east, 2 west
    assert store.one("SELECT SUM(on_hand) AS n FROM stock WHERE sku = 'SKU-A'")["n"] == 7
    assert json_post("/api/putaway-tasks/999/done", {}).status_code == 404


def test_a_shipped_order_cannot_be_cancelled(place, json_post, store):
    got = place("out", [("SKU-B", 1)])
    with store.write():
        r = store.one("SELECT id FROM reservations WHERE order_id = ?", (got["id"],))
        shipments.take(store, r["id"], 1)
    sid = got["shipments"][0]["id"]
    assert shipments.ship(store, sid) == "shipped"
    resp = json_post(f"/api/orders/{got['id']}/cancel", {})
    assert resp.status_code == 409 and "shipped" in resp.get_json()["message"]


def test_cancelled_stock_goes_to_the_order_that_waits(place, json_post, read):
    first = place("all-b", [("SKU-B", 10)])
    second = place("more-b", [("SKU-B", 3)])
    assert (first["status"], second["status"]) == ("allocated", "backordered")
    assert json_post(f"/api/orders/{first['id']}/cancel", {}).status_code == 200
    assert status(read, second) == "allocated"
