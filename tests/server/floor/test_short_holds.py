"""After a short pick with the rest in stock nowhere: an order that may not ship in part is
held (backordered, its tote on hold, not packed) until the rest comes; one that may ships now."""

from __future__ import annotations

from floorkit import action, connect, last_state, place, scan, states

from server.board import board
from server.core.schemas import ReceiptIn
from server.inventory import stock
from shared.protocol import DEVICE_NAMESPACE as NS

PEN = "0012345678905"


def short_the_pens(app, socketio, store, tokens, allow_partial: bool | None = None) -> str:
    """An order of 3 pens; the bin holds 2 and no other bin has any: picked 2, short 1."""
    oid = place(store, "shop-1", [("SKU-B", 3)])
    if allow_partial is not None:
        with store.write():
            store.execute(
                "UPDATE orders SET allow_partial = ? WHERE id = ?", (int(allow_partial), oid)
            )
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "t")
    scan(picker, "LE-01-01", "l")
    assert action(picker, "short", "s", found=2)["ok"]
    assert "SO-" in last_state(picker)["message"] or oid in last_state(picker)["message"]
    for i in range(2):
        r = scan(picker, PEN, f"p{i}")
    assert r["code"] == "list_done", r
    picker.disconnect(NS)
    return oid


def test_an_order_that_ships_complete_only_is_held_not_packed(floor):
    app, socketio, store, tokens = floor
    oid = short_the_pens(app, socketio, store, tokens)
    assert store.one("SELECT status, waiting FROM orders WHERE id = ?", (oid,)) == {
        "status": "backordered",
        "waiting": 1,
    }
    assert board.snapshot(store)["counts"]["backordered"] == 1  # the board's tile

    packer = connect(app, socketio, tokens["packer"])
    got = states(packer)[-1]["state"]
    assert got["screen"] == "pack_start" and "TOTE-1" not in got["expect"]["barcodes"]
    r = scan(packer, "TOTE-1", "k1")
    assert not r["ok"] and r["code"] == "order_on_hold", r
    assert oid in r["message"] and "hold" in r["message"].lower() and "1" in r["message"]
    assert r["state"]["screen"] == "pack_start"
    assert store.one("SELECT COUNT(*) AS n FROM packages")["n"] == 0

    # The rest arrives: the order is served, the new unit picked into its own tote.
    receipt = {"warehouse": "WH-EAST", "lines": [{"location": "E-02-01", "sku": "SKU-B", "qty": 5}]}
    stock.receive(store, ReceiptIn.model_validate(receipt))
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 0
    picker = connect(app, socketio, tokens["picker"])
    state = last_state(picker)["state"]
    assert state["screen"] == "pick_tote", state
    for i, code in enumerate(["TOTE-2", "LE-02-01", PEN]):
        r = scan(picker, code, f"r{i}")
        assert r["ok"], r
    assert r["code"] == "list_done"
    # Now the held tote packs, and so does the rest.
    for tote, units in (("TOTE-1", 2), ("TOTE-2", 1)):
        assert scan(packer, tote, f"{tote}-k")["ok"]
        for i in range(units):
            r = scan(packer, PEN, f"{tote}-v{i}")
        assert r["state"]["screen"] == "pack_label"
        r = scan(packer, r["state"]["expect"]["barcodes"][0], f"{tote}-label")
        assert r["ok"] and r["code"] == "label_ok"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"


def test_an_order_that_may_ship_in_part_packs_what_was_picked(floor):
    app, socketio, store, tokens = floor
    oid = short_the_pens(app, socketio, store, tokens, allow_partial=True)
    row = store.one("SELECT status, waiting FROM orders WHERE id = ?", (oid,))
    assert row["waiting"] == 1 and row["status"] != "backordered"
    packer = connect(app, socketio, tokens["packer"])
    assert scan(packer, "TOTE-1", "k1")["ok"]
