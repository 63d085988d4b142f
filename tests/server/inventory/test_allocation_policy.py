"""Allocation through the API: splits, partials, channel policies, safety stock, capacity, lots."""

from __future__ import annotations

import pytest
from floorkit import order_body

from server.core.schemas import OrderOut
from server.floor import views
from server.people import auth
from server.shipping import packages
from server.store.migrations import MIGRATIONS

NEAR_EAST = {"lat": 40.0, "lon": -75.0}  # Philadelphia
NEAR_WEST = {"lat": 34.0, "lon": -118.0}  # Los Angeles


@pytest.fixture
def order(json_post, catalogue):
    """POST an order and return the body, checked against OrderOut."""

    def send(name: str, lines, status: int = 201, **extra):
        near = extra.pop("near", NEAR_EAST)
        resp = json_post("/api/orders", {**order_body(name, lines, **near), **extra})
        assert resp.status_code == status, resp.get_json()
        OrderOut.model_validate(resp.get_json())
        return resp.get_json()

    return send


def lists_of(store, order_id: str) -> list[dict]:
    return store.all(
        "SELECT DISTINCT p.id, p.warehouse FROM pick_lists p JOIN pick_steps ps ON ps.pick_list_id = p.id "
        "WHERE ps.order_id = ? ORDER BY p.id",
        (order_id,),
    )


def test_an_order_no_warehouse_has_whole_ships_in_two(order, store):
    # SKU-B is only in the east, SKU-C only in the west.
    got = order("split-1", [("SKU-B", 1), ("SKU-C", 1)])
    assert got["status"] == "allocated" and got["backordered"] == 0
    assert [(s["warehouse"], s["units"]) for s in got["shipments"]] == [
        ("WH-EAST", 1),
        ("WH-WEST", 1),
    ]
    assert got["warehouse"] == "WH-EAST"  # the first (nearest) shipment
    assert [pl["warehouse"] for pl in lists_of(store, got["id"])] == ["WH-EAST", "WH-WEST"]
    detail = got["timeline"][-1]["detail"]
    assert [s["warehouse"] for s in detail["shipments"]] == ["WH-EAST", "WH-WEST"]


def test_a_channel_that_forbids_splits_waits_and_an_order_may_override_it(
    order, json_post, client, headers
):
    put = json_post(
        "/api/channels", {"channels": [{"code": "strict", "allow_split": False}]}, method="PUT"
    )
    assert put.status_code == 200, put.get_json()
    listed = client.get("/api/channels", headers=headers).get_json()
    assert listed["channels"] == [
        {"code": "strict", "allow_split": False, "allow_partial": False, "shopify": False}
    ]
    assert listed["default"] == {"code": "*", "allow_split": True, "allow_partial": False}

    lines = [("SKU-B", 1), ("SKU-C", 1)]
    assert order("strict-1", lines, channel="strict")["status"] == "backordered"
    again = order("strict-2", lines, channel="strict", allow_split=True)
    assert again["status"] == "allocated" and len(again["shipments"]) == 2


def test_partial_only_when_allowed_and_the_rest_follows_when_stock_arrives(
    order, json_post, client, headers
):
    lines = [("SKU-A", 1), ("SKU-Z", 2)]
    assert order("whole", lines)["status"] == "backordered"
    got = order("part", lines, allow_partial=True)
    assert got["status"] == "partially_allocated" and got["backordered"] == 2
    assert [(s["warehouse"], s["units"]) for s in got["shipments"]] == [("WH-EAST", 1)]

    receipt = {"warehouse": "WH-WEST", "lines": [{"location": "W-01-01", "sku": "SKU-Z", "qty": 4}]}
    resp = json_post("/api/stock/receipts", receipt)
    assert resp.status_code == 201, resp.get_json()
    # Both waited for SKU-Z, in arrival order: `whole` ships complete from the west, `part` its rest.
    part = client.get(f"/api/orders/{got['id']}", headers=headers).get_json()
    assert part["status"] == "allocated" and part["backordered"] == 0
    assert [s["warehouse"] for s in part["shipments"]] == ["WH-EAST", "WH-WEST"]
    statuses = [e["status"] for e in part["timeline"]]
    assert statuses == ["received", "partially_allocated", "allocated"]


def test_safety_stock_from_the_warehouse_body_keeps_units_back(order, json_post, catalogue):
    east = dict(catalogue["warehouses"][0], safety_stock=[{"sku": "SKU-A", "qty": 4}])
    assert json_post("/api/warehouses", east).status_code == 200
    # East has 5 SKU-A, 4 of them held back: one order of 2 goes west.
    assert order_goes(order, "safe-1", [("SKU-A", 1)]) == ["WH-EAST"]
    assert order_goes(order, "safe-2", [("SKU-A", 2)]) == ["WH-WEST"]


def test_safety_stock_from_a_stock_body(order, json_post, store):
    body = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": 10}
    assert json_post("/api/stock", {**body, "safety_stock": 10}, method="PUT").status_code == 200
    assert store.one("SELECT qty FROM safety_stock WHERE sku = 'SKU-B'")["qty"] == 10
    assert order("pen", [("SKU-B", 1)])["status"] == "backordered"
    assert json_post("/api/stock", {**body, "safety_stock": 0}, method="PUT").status_code == 200
    assert store.one("SELECT qty FROM safety_stock WHERE sku = 'SKU-B'") is None


def order_goes(order, name, lines) -> list[str]:
    return [s["warehouse"] for s in order(name, lines)["shipments"]]


def test_daily_capacity_sends_orders_on_and_a_cancel_gives_the_slot_back(
    order, json_post, catalogue, store
):
    east = dict(catalogue["warehouses"][0], daily_capacity=1)
    assert json_post("/api/warehouses", east).status_code == 200
    first = order("cap-1", [("SKU-A", 1)])
    assert order_goes(order, "cap-2", [("SKU-A", 1)]) == ["WH-WEST"]
    assert (
        store.one("SELECT SUM(orders) AS n FROM warehouse_days WHERE warehouse = 'WH-EAST'")["n"]
        == 1
    )
    assert json_post(f"/api/orders/{first['id']}/cancel", {}).status_code == 200
    assert order_goes(order, "cap-3", [("SKU-A", 1)]) == ["WH-EAST"]


def test_earliest_expiry_lot_is_reserved_first(order, json_post, store):
    for lot, expires, loc in [("LATE", "2031-05-01", "E-01-02"), ("SOON", "2030-05-01", "E-02-01")]:
        body = {"warehouse": "WH-EAST", "location": loc, "sku": "SKU-C", "on_hand": 4}
        resp = json_post("/api/stock", {**body, "lot": lot, "expires": expires}, method="PUT")
        assert resp.status_code == 200 and resp.get_json()["stock"]["lot"] == lot
    got = order("tea", [("SKU-C", 5)])
    lots = store.all(
        "SELECT lot, qty FROM reservations WHERE order_id = ? ORDER BY lot", (got["id"],)
    )
    assert lots == [{"lot": "LATE", "qty": 1}, {"lot": "SOON", "qty": 4}]


def test_a_split_order_gets_one_package_per_shipment(order, store):
    got = order("boxes", [("SKU-B", 1), ("SKU-C", 1)])
    east = auth.create_device(store, "packer-e", "packer", "WH-EAST")  # noqa: F841
    device = store.one("SELECT id FROM devices WHERE name = 'packer-e'")["id"]
    made = []
    for pl in lists_of(store, got["id"]):
        with store.write():
            store.execute(
                "UPDATE pick_steps SET picked = qty, put = qty, verified = qty WHERE pick_list_id = ?",
                (pl["id"],),
            )
            made.append(packages.create(store, views.load(store, pl["id"]), device))
    rows = store.all(
        "SELECT p.id, p.shipment_id, s.warehouse FROM packages p JOIN shipments s ON s.id = p.shipment_id "
        "WHERE p.order_id = ? ORDER BY p.id",
        (got["id"],),
    )
    assert [r["warehouse"] for r in rows] == ["WH-EAST", "WH-WEST"]
    assert len({r["shipment_id"] for r in rows}) == 2
    with store.write():
        packages.confirm(store, made[0])
    assert store.one("SELECT status FROM orders WHERE id = ?", (got["id"],))["status"] != "packed"
    with store.write():
        packages.confirm(store, made[1])
    assert store.one("SELECT status FROM orders WHERE id = ?", (got["id"],))["status"] == "packed"


def test_migration_gives_existing_orders_a_shipment(tmp_path):
    from server.store import open_store

    store = open_store(tmp_path / "old.db", migrate=False)
    with store.write():
        MIGRATIONS.apply(store.db, stop_before="0002_allocation")
        store.execute(
            "INSERT INTO warehouses (code, name, address, lat, lon) VALUES ('W', 'W', '{}', 1, 1)"
        )
        store.execute("INSERT INTO locations (warehouse, code, barcode) VALUES ('W', 'L1', 'L1')")
        store.execute("INSERT INTO products (sku, name) VALUES ('S', 'S')")
        store.execute(
            "INSERT INTO stock (location_id, sku, on_hand, reserved) VALUES (1, 'S', 5, 2)"
        )
        store.execute(
            "INSERT INTO orders (id, channel, external_id, body_hash, status, ship_to, warehouse, "
            "created_at, updated_at) VALUES ('SO-1', 'web', 'x', 'h', 'allocated', '{}', 'W', "
            "'2025-01-01T00:00:00', '2025-01-01T00:00:00')"
        )
        store.execute("INSERT INTO order_lines VALUES ('SO-1', 1, 'S', 2)")
        store.execute(
            "INSERT INTO reservations (order_id, line_no, location_id, sku, qty) VALUES ('SO-1', 1, 1, 'S', 2)"
        )
    assert "0002_allocation" in store.migrate()
    assert store.one("SELECT on_hand, reserved, lot FROM stock") == {
        "on_hand": 5,
        "reserved": 2,
        "lot": "",
    }
    ship = store.one("SELECT id, warehouse, status FROM shipments")
    assert ship["warehouse"] == "W" and ship["status"] == "allocated"
    assert store.one("SELECT shipment_id FROM reservations")["shipment_id"] == ship["id"]
    store.close()
