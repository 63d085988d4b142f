"""Receiving by scan: a handheld books goods into bins and waiting orders get them."""

from __future__ import annotations

from floorkit import action, connect, last_state, place, scan


def test_received_goods_go_to_the_orders_waiting_for_them(floor):
    app, socketio, store, tokens = floor
    place(store, "west-tea", [("SKU-C", 3)], lat=34.0, lon=-118.0)  # all the green tea there is
    waiting = place(store, "east-tea", [("SKU-C", 2)])
    assert (
        store.one("SELECT status FROM orders WHERE id = ?", (waiting,))["status"] == "backordered"
    )
    packer = connect(app, socketio, tokens["packer"])
    assert action(packer, "receive", "r1")["ok"]
    assert last_state(packer)["state"]["screen"] == "receive_location"
    r = scan(packer, "9501101530003", "r2")
    assert not r["ok"] and r["code"] == "receive_bin_first"
    r = scan(packer, "LE-01-02", "r3")
    assert r["ok"] and r["state"]["screen"] == "receive_item"
    assert scan(packer, "NOPE-123", "r4")["code"] == "receive_unknown"
    # A GS1-128 case label: GTIN, lot, expiry and a count of 2 in one scan.
    r = scan(packer, "]C10109501101530003" + "10LOT7\x1d" + "17301231" + "302", "r5")
    assert r["ok"] and r["code"] == "received_item", r
    r = scan(packer, "9501101530003", "r6")
    assert r["state"]["progress"]["done"] == 3
    before = store.one("SELECT COUNT(*) AS n FROM stock_moves")["n"]
    assert action(packer, "receive_done", "r7")["ok"]
    assert action(packer, "receive_done", "r7")["ok"]  # the same message again books nothing
    assert store.one("SELECT COUNT(*) AS n FROM stock_moves")["n"] > before
    rows = store.all(
        "SELECT s.lot, s.expires, s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'E-01-02' AND s.sku = 'SKU-C' ORDER BY s.lot"
    )
    assert [(r["lot"], r["expires"], r["on_hand"]) for r in rows] == [
        ("", None, 1),
        ("LOT7", "2030-12-31", 2),
    ]
    assert store.one("SELECT status FROM orders WHERE id = ?", (waiting,))["status"] == "allocated"
    assert last_state(packer)["state"]["screen"] == "pack_start"


def test_a_long_message_id_still_books_the_receipt(floor):
    app, socketio, store, tokens = floor
    packer = connect(app, socketio, tokens["packer"])
    assert action(packer, "receive", "r1")["ok"]
    scan(packer, "LE-01-02", "r2")
    scan(packer, "4006381333931", "r3")
    assert action(packer, "receive_done", "d" * 64)["ok"]
    on_hand = store.one(
        "SELECT SUM(s.on_hand) AS n FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'E-01-02' AND s.sku = 'SKU-A'"
    )["n"]
    assert on_hand == 1


def test_a_count_past_a_receipt_line_is_refused_at_the_scan(floor):
    """A GS1 count (30) of 99,999,999 used to pass the scan and crash CMD-DONE: no ack, ever."""
    app, socketio, store, tokens = floor
    packer = connect(app, socketio, tokens["packer"])
    assert action(packer, "receive", "r1")["ok"]
    scan(packer, "LE-01-02", "r2")
    r = scan(packer, "]C10109501101530003" + "3099999999", "r3")
    assert not r["ok"] and r["code"] == "receive_too_many", r
    assert "1000000" in r["message"].replace(",", "")
    r = scan(packer, "]C10109501101530003" + "30999999", "r4")
    assert r["ok"] and r["code"] == "received_item"
    r = scan(packer, "]C10109501101530003" + "301", "r5")
    assert r["ok"] and r["state"]["progress"]["done"] == 1_000_000
    assert scan(packer, "9501101530003", "r6")["code"] == "receive_too_many"
    before = store.one("SELECT COUNT(*) AS n FROM stock_moves")["n"]
    assert action(packer, "receive_done", "r7") == {"id": "r7", "ok": True, "error": None}
    assert store.one("SELECT COUNT(*) AS n FROM stock_moves")["n"] == before + 1


def test_a_gs1_lot_no_stock_lot_can_hold_is_refused_at_the_scan(floor):
    """GS1 lots may hold "+" or "%"; one such used to pass the scan and crash CMD-DONE: no ack."""
    app, socketio, store, tokens = floor
    packer = connect(app, socketio, tokens["packer"])
    assert action(packer, "receive", "r1")["ok"]
    scan(packer, "LE-01-02", "r2")
    r = scan(packer, "(01)09501101530003(10)A+B%1", "r3")
    assert not r["ok"] and r["code"] == "receive_bad_lot" and "A+B%1" in r["message"], r
    r = scan(packer, "(01)09501101530003(10)A/B-1.2_3", "r4")
    assert r["ok"] and r["code"] == "received_item", r
    assert action(packer, "receive_done", "r5") == {"id": "r5", "ok": True, "error": None}
    lots = store.all("SELECT lot FROM stock WHERE sku = 'SKU-C' AND lot != ''")
    assert lots == [{"lot": "A/B-1.2_3"}]


def test_a_receipt_the_bin_cannot_take_is_refused_and_kept(floor):
    app, socketio, store, tokens = floor
    loc = store.one("SELECT id FROM locations WHERE code = 'E-01-02'")["id"]
    store.execute(
        "INSERT INTO stock (location_id, sku, on_hand) VALUES (?, 'SKU-C', ?)", (loc, 10**9 - 1)
    )
    packer = connect(app, socketio, tokens["packer"])
    assert action(packer, "receive", "r1")["ok"]
    scan(packer, "LE-01-02", "r2")
    assert scan(packer, "]C10109501101530003" + "302", "r3")["ok"]
    r = action(packer, "receive_done", "r4")
    assert r["ok"] is False and r["error"]["code"] == "receipt_refused", r
    assert "E-01-02" in r["error"]["message"]
    assert action(packer, "receive_done", "r4") == r  # the same answer again
    kept = store.one("SELECT receiving FROM devices WHERE name = 'packer-e1'")["receiving"]
    assert kept and '"qty": 2' in kept  # what was scanned is kept
    on_hand = "SELECT on_hand FROM stock WHERE location_id = ? AND sku = 'SKU-C'"
    assert store.one(on_hand, (loc,))["on_hand"] == 10**9 - 1
