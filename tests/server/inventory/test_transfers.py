"""A transfer on the floor: planned from WH-EAST to WH-WEST, allocated in the sender only,
shipped as an order, counted in transit (no allocation can take it), received at the other
dock on an in-process handheld by the package's label, with over and short recorded."""

from __future__ import annotations

from floorkit import action, connect, last_state, logged_in, place, scan
from trackkit import ship_order

from server.inventory import transfer_dock, transfers
from server.people import auth

PEN = "0012345678905"  # SKU-B: 10 in E-01-01, none in WH-WEST
TEA = "9501101530003"  # SKU-C: not on the transfer


def _free(store, sku: str) -> int:
    return store.one("SELECT SUM(on_hand - reserved) AS n FROM stock WHERE sku = ?", (sku,))["n"]


def test_a_transfer_ships_waits_in_transit_and_is_received_by_scan(floor):
    app, socketio, store, _ = floor
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    # SKU-A is in both warehouses and WH-WEST is nearer the ship-to: the pin still wins.
    made, created = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-A", 1), ("SKU-B", 2)], "t")
    assert created and (made["transfer"], made["status"]) == ("TR-000001", "planned")
    whs = store.all(
        "SELECT DISTINCT warehouse FROM shipments WHERE order_id = ?", (made["order_id"],)
    )
    assert whs == [{"warehouse": "WH-EAST"}]

    dock = connect(app, socketio, west)
    assert action(dock, "transfer", "t1")["ok"]
    assert last_state(dock)["state"]["screen"] == "transfer_open"
    assert scan(dock, "SF-NOPE", "t2")["code"] == "transfer_unknown"
    assert scan(dock, "TR-000001", "t3")["code"] == "transfer_not_shipped"

    free_pens = _free(store, "SKU-B")
    (tracking,) = ship_order(store, made["order_id"])
    assert transfers.in_transit_units(store) == {"SKU-A": 1, "SKU-B": 2}
    assert transfers.get(store, "TR-000001")["status"] == "in_transit"
    panel = logged_in(app).get("/board/api/transfers").get_json()  # the board's panel
    assert [(t["transfer"], t["status"], t["in_transit"]) for t in panel["transfers"]] == [
        ("TR-000001", "in_transit", 3)
    ]
    assert panel["in_transit"][1] == {
        "sku": "SKU-B", "from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "units": 2
    }  # fmt: skip
    # In transit is in no bin: an order for one pen more than the bins have free waits.
    oid = place(
        store, "W1", [("SKU-B", free_pens + 1)], lat=34.0, lon=-118.0, allow_split=True,
        allow_partial=False,
    )  # fmt: skip
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] > 0

    r = scan(dock, tracking, "t4")  # the package's label
    assert r["code"] == "transfer_open" and r["state"]["progress"] == {"done": 0, "total": 3}
    assert scan(dock, TEA, "t5")["code"] == "transfer_not_on_transfer"
    r = scan(dock, PEN, "t6")
    assert r["code"] == "transfer_item_ok" and r["state"]["screen"] == "transfer_bin"
    assert scan(dock, PEN, "t6")["duplicate"]  # the journal's repeat: one unit
    assert transfers.in_transit_units(store) == {"SKU-A": 1, "SKU-B": 1}
    assert action(dock, "transfer_done", "t7")["error"]["code"] == "transfer_unit_open"
    assert scan(dock, "LE-01-01", "t8")["code"] == "transfer_unknown_bin"  # the sender's bin
    bin_ = r["state"]["expect"]["barcodes"][0]
    assert scan(dock, bin_, "t9")["code"] == "transfer_put_away"
    # On hand at WH-WEST: the waiting order took the pen at once.
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 0
    assert scan(dock, PEN, "t10")["code"] == "transfer_item_ok"
    assert scan(dock, bin_, "t11")["code"] == "transfer_put_away"
    assert scan(dock, PEN, "t12")["code"] == "transfer_over"  # a third pen: set aside
    assert action(dock, "transfer_done", "t13")["ok"]  # the mug never arrived
    assert not last_state(dock)["state"]["screen"].startswith("transfer")

    got = transfers.get(store, "TR-000001")
    assert (got["status"], got["received_by"], got["in_transit"]) == ("received", "picker-w1", 0)
    assert [
        (x["sku"], x["shipped"], x["received"], x["over"], x["short"]) for x in got["lines"]
    ] == [
        ("SKU-A", 1, 0, 0, 1),
        ("SKU-B", 2, 2, 1, 0),
    ]
    assert transfers.in_transit_units(store) == {}
    audit = [r["action"] for r in store.all("SELECT action FROM audit_log ORDER BY id")]
    assert audit == ["transfer_plan", "transfer_receive"]


def test_a_silent_receiver_gives_the_transfer_back(floor):
    app, socketio, store, _ = floor
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    made, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "t")
    ship_order(store, made["order_id"])
    dock = connect(app, socketio, west)
    action(dock, "transfer", "s1")
    assert scan(dock, "TR-000001", "s2")["code"] == "transfer_open"
    dock.disconnect("/device")
    assert transfer_dock.release_silent(store, 0.0) == 1
    held = store.one("SELECT device_id FROM transfers")["device_id"]
    assert held is None
