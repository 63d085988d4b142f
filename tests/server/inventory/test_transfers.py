"""A transfer on the floor: planned from WH-EAST to WH-WEST, allocated in the sender only,
shipped as an order, counted in transit (no allocation can take it), received at the other
dock on an in-process handheld by the package's label, with over and short recorded."""

from __future__ import annotations

import json

from dbkit import rows
from floorkit import (
    action,
    board_web,
    connect,
    emit,
    last_state,
    logged_in,
    place,
    received,
    scan,
)
from trackkit import ship_order

from server.core.schemas import CatalogueIn
from server.inventory import catalogue, transfer_dock, transfers
from server.inventory import stock as stock_use
from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

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


# ---------------------------------------------------------------- lots, over, short, cancel
TEA_GTIN = "09501101530003"  # SKU-C as a GTIN-14


def tea(lot: str, expires: str | None = None) -> str:
    """Green tea's GS1-128 barcode with its lot (and expiry, YYMMDD), as a lot label reads."""
    return f"]C101{TEA_GTIN}" + (f"17{expires}" if expires else "") + f"10{lot}"


def _floor_picks_packs_and_ships(floor, order_id: str, tote: str) -> str:
    """The transfer's order picked, packed, labelled, closed out and handed over on WH-EAST's
    in-process handhelds, through the device protocol as every order; returns its tracking."""
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    state = scan(picker, tote, "p0")["state"]
    i = 0
    while state["screen"] in ("pick_location", "pick_item", "pick_put"):
        i += 1
        step = state.get("step") or {}
        code = state["expect"]["barcodes"][0]
        if state["screen"] == "pick_item" and step.get("lot"):
            code = tea(step["lot"])  # a lot step takes the unit's GS1 barcode
        r = scan(picker, code, f"p{i}")
        assert r["ok"], r
        state = r["state"]
    assert state["screen"] in ("idle", "pick_done"), state
    picker.disconnect(NS)
    packer = connect(app, socketio, tokens["packer"])
    state = scan(packer, tote, "k0")["state"]
    i = 0
    while state["screen"] == "pack_verify":
        i += 1
        state = scan(packer, state["expect"]["barcodes"][0], f"k{i}")["state"]
    assert state["screen"] == "pack_label", state
    job = received(packer, "print")[-1]
    assert emit(packer, "print_result", {"id": "pr", "job_id": job["job_id"], "ok": True})["ok"]
    tracking = state["expect"]["barcodes"][0]
    assert scan(packer, tracking, "k-label")["ok"]
    key = auth.create_api_key(store, "dock")
    got = app.test_client().post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    )
    assert got.status_code == 201, got.get_json()
    assert action(packer, "dock", "d0")["ok"]
    assert scan(packer, "CARRIER-LOCAL", "d1")["ok"]
    assert scan(packer, tracking, "d2")["code"] == "dock_loaded"
    assert action(packer, "dock_done", "d3")["ok"]
    packer.disconnect(NS)
    assert store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"] == "shipped"
    return tracking


def _tea_lots(store) -> None:
    lots = [("E-02-01", "SOON", "2030-01-01"), ("E-01-02", "LATE", "2031-01-01")]
    stock = [
        {"warehouse": "WH-EAST", "location": loc, "sku": "SKU-C", "on_hand": 2, "lot": lot,
         "expires": exp}
        for loc, lot, exp in lots
    ]  # fmt: skip
    catalogue.load(store, CatalogueIn.model_validate_json(json.dumps({"stock": stock})))


def _tea_account(store):
    (account,) = stock_use.accounts(store, "SKU-C")
    return account


def test_lots_leave_with_their_expiry_arrive_under_it_and_over_units_are_settled(floor):
    app, socketio, store, _ = floor
    _tea_lots(store)
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    made, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-C", 3)], "t")
    before = _tea_account(store)
    assert before.holds()
    tracking = _floor_picks_packs_and_ships(floor, made["order_id"], "TOTE-9")

    got = transfers.get(store, made["transfer"])
    (line,) = got["lines"]
    sent = {x["lot"]: (x["shipped"], x["expires"]) for x in line["lots"]}
    assert sent == {"SOON": (2, "2030-01-01"), "LATE": (1, "2031-01-01")}  # earliest first
    # In transit once: not in the sender's bins or totes, not shipped to a customer.
    moving = _tea_account(store)
    assert (moving.in_transit, moving.shipped, moving.in_totes) == (3, 0, 0)
    assert moving.holds() and moving.in_bins == before.in_bins - 3

    dock = connect(app, socketio, west)
    action(dock, "transfer", "r0")
    assert scan(dock, tracking, "r1")["code"] == "transfer_open"
    assert scan(dock, TEA, "r2")["code"] == "transfer_lot_required"  # a plain EAN
    wrong = scan(dock, tea("SOON", "300202"), "r3")  # the lot sent expires 2030-01-01
    assert wrong["code"] == "transfer_wrong_expiry" and "2030-01-01" in wrong["message"]
    for i, code in enumerate([tea("SOON", "300101"), tea("SOON"), tea("LATE")]):
        r = scan(dock, code, f"r{4 + 2 * i}")
        assert r["code"] == "transfer_item_ok", r
        assert scan(dock, "LW-01-01", f"r{5 + 2 * i}")["code"] == "transfer_put_away"
    assert scan(dock, tea("LATE"), "r10")["code"] == "transfer_over"  # one more than sent
    assert scan(dock, tea("NEVER"), "r11")["code"] == "transfer_over"  # a lot never sent
    assert action(dock, "transfer_done", "r12")["ok"]

    held = store.all(
        "SELECT s.lot, s.expires, s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'W-01-01' AND s.sku = 'SKU-C' ORDER BY s.lot"
    )
    assert held == [
        {"lot": "LATE", "expires": "2031-01-01", "on_hand": 1},
        {"lot": "SOON", "expires": "2030-01-01", "on_hand": 2},
    ]
    got = transfers.get(store, made["transfer"])
    lots = {x["lot"]: (x["received"], x["over"], x["set_aside"]) for x in got["lines"][0]["lots"]}
    assert lots == {"LATE": (1, 1, 1), "NEVER": (0, 1, 1), "SOON": (2, 0, 0)}
    assert _tea_account(store).holds()  # set-aside units are in no stock yet

    # The supervisor settles them: bad asks are refused in words and change nothing.
    sup = logged_in(app)
    key = auth.create_api_key(store, "sup")
    post = app.test_client().post
    tables = ("transfer_lots", "stock", "stock_moves", "audit_log")
    snap = {t: rows(store, t) for t in tables}
    url = f"/api/transfers/{made['transfer']}/over"
    # A 422 lists its problem with the field it concerns, as every 422 does (rest.md).
    for body, status, words, field in [
        ({"sku": "SKU-C", "lot": "LATE", "decision": "accept"}, 422, "accept needs the bin", "bin"),
        ({"sku": "SKU-C", "lot": "LATE", "decision": "accept", "bin": "E-01-01"}, 422,
         "E-01-01 is not a bin of WH-WEST", "bin"),
        ({"sku": "SKU-C", "lot": "LATE", "decision": "reject", "bin": "W-01-01"}, 422,
         "leave the bin out", "bin"),
        ({"sku": "SKU-C", "lot": "SOON", "decision": "reject"}, 409,
         "SKU-C lot SOON on TR-000001: no unit of it is set aside", None),
        ({"sku": "SKU-A", "decision": "reject"}, 409, "nothing to settle", None),
        ({"sku": "SKU-C", "lot": "LATE", "decision": "keep"}, 422, "'accept' or 'reject'",
         "decision"),
    ]:  # fmt: skip
        r = post(url, json=body, headers={"X-API-Key": key})
        said = r.get_json()
        text = said["message"] + " ".join(p["message"] for p in said.get("problems", []))
        assert (r.status_code, words in text) == (status, True), (body, said)
        fields = [p["field"] for p in said["problems"]]
        assert fields == ([field] if field else []), (body, said)
        assert all(words in p["message"] for p in said["problems"]), (body, said)
    missing = post("/api/transfers/TR-999999/over", json={"sku": "SKU-C", "decision": "reject"},
                   headers={"X-API-Key": key})  # fmt: skip
    assert missing.status_code == 404 and missing.get_json()["message"] == "no transfer TR-999999"
    assert {t: rows(store, t) for t in tables} == snap

    r = post(url, json={"sku": "SKU-C", "lot": "LATE", "decision": "accept", "bin": "W-01-01"},
             headers={"X-API-Key": key})  # fmt: skip
    assert r.status_code == 200, r.get_json()
    r = post(url, json={"sku": "SKU-C", "lot": "NEVER", "decision": "reject", "note": "not ours"},
             headers={"X-API-Key": key})  # fmt: skip
    lots = {x["lot"]: (x["accepted"], x["rejected"], x["set_aside"])
            for x in r.get_json()["lines"][0]["lots"]}  # fmt: skip
    assert lots == {"LATE": (1, 0, 0), "NEVER": (0, 1, 0), "SOON": (0, 0, 0)}
    again = post(url, json={"sku": "SKU-C", "lot": "NEVER", "decision": "accept", "bin": "W-01-01"},
                 headers={"X-API-Key": key})  # fmt: skip
    assert again.status_code == 409 and "nothing to settle" in again.get_json()["message"]
    late = store.one(
        "SELECT s.expires, s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'W-01-01' AND s.sku = 'SKU-C' AND s.lot = 'LATE'"
    )
    assert late == {"expires": "2031-01-01", "on_hand": 2}
    after = _tea_account(store)
    assert after.holds() and after.found == before.found + 1  # the accepted unit was found
    actions = [r["action"] for r in store.all("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["transfer_over_accept", "transfer_over_reject"]
    assert sup.get("/board/api/transfers").status_code == 200


def test_some_set_aside_units_are_settled_and_the_rest_kept_or_rejected(floor):
    """Four pens set aside: one accepted now, the others left; then one more accepted and the
    rest rejected in the same step. Every unit stays accounted for after each."""
    app, socketio, store, _ = floor
    made, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "t")
    ship_order(store, made["order_id"])
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    dock = connect(app, socketio, west)
    action(dock, "transfer", "s0")
    scan(dock, made["transfer"], "s1")
    scan(dock, PEN, "s2")
    assert scan(dock, "LW-01-01", "s3")["code"] == "transfer_put_away"
    for i in range(4):
        assert scan(dock, PEN, f"s{4 + i}")["code"] == "transfer_over"
    (start,) = stock_use.accounts(store, "SKU-B")
    assert start.holds()

    key = auth.create_api_key(store, "sup")
    post = app.test_client().post
    url = f"/api/transfers/{made['transfer']}/over"
    tables = ("transfer_lots", "stock", "stock_moves", "audit_log")
    snap = {t: rows(store, t) for t in tables}
    accept = {"sku": "SKU-B", "decision": "accept", "bin": "W-01-01"}
    for body, status, words, field in [
        ({**accept, "units": 5}, 422, "SKU-B on TR-000001: 5 units asked, 4 are set aside",
         "units"),
        ({**accept, "units": 0}, 422, "greater than or equal to 1", "units"),
        ({**accept, "units": -2}, 422, "greater than or equal to 1", "units"),
        ({**accept, "units": 2, "bin": "NOPE"}, 422, "NOPE is not a bin of WH-WEST", "bin"),
        ({**accept, "rest": "later"}, 422, "'keep' or 'reject'", "rest"),
        ({"sku": "SKU-B", "decision": "reject", "units": 1, "rest": "reject"}, 422,
         "the rest of a rejection stays set aside", "rest"),
    ]:  # fmt: skip
        r = post(url, json=body, headers={"X-API-Key": key})
        said = r.get_json()
        text = said["message"] + " ".join(p["message"] for p in said.get("problems", []))
        assert (r.status_code, words in text) == (status, True), (body, said)
        assert [p["field"] for p in said["problems"]] == [field], (body, said)
    assert {t: rows(store, t) for t in tables} == snap

    def lot():
        (line,) = transfers.get(store, made["transfer"])["lines"]
        (x,) = line["lots"]
        return x["over"], x["accepted"], x["rejected"], x["set_aside"]

    one = post(url, json={**accept, "units": 1}, headers={"X-API-Key": key})
    assert one.status_code == 200, one.get_json()
    assert one.get_json()["settled"] == {"accepted": 1, "rejected": 0, "set_aside": 3}
    assert lot() == (4, 1, 0, 3)
    (now,) = stock_use.accounts(store, "SKU-B")
    assert now.holds() and now.found == start.found + 1
    # The board's panel still offers the three left.
    assert [x["units"] for x in transfers.set_aside(store)] == [3]

    rest = post(url, json={**accept, "units": 1, "rest": "reject", "note": "two were broken"},
                headers={"X-API-Key": key})  # fmt: skip
    assert rest.get_json()["settled"] == {"accepted": 1, "rejected": 2, "set_aside": 0}
    assert lot() == (4, 2, 2, 0)
    (end,) = stock_use.accounts(store, "SKU-B")
    assert end.holds() and end.found == start.found + 2
    held = store.one(
        "SELECT s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'W-01-01' AND s.sku = 'SKU-B'"
    )
    assert held["on_hand"] == 3  # the one received and two accepted
    audit = store.all("SELECT action, detail FROM audit_log WHERE action LIKE 'transfer_over_%' "
                      "ORDER BY id")  # fmt: skip
    assert [(a["action"], json.loads(a["detail"])) for a in audit] == [
        ("transfer_over_accept", {"sku": "SKU-B", "units": 1, "set_aside": 3, "bin": "W-01-01"}),
        ("transfer_over_accept", {"sku": "SKU-B", "units": 1, "set_aside": 0, "bin": "W-01-01",
                                  "note": "two were broken"}),
        ("transfer_over_reject", {"sku": "SKU-B", "units": 2, "set_aside": 0,
                                  "note": "two were broken"}),
    ]  # fmt: skip
    done = post(url, json={"sku": "SKU-B", "decision": "reject", "units": 1},
                headers={"X-API-Key": key})  # fmt: skip
    assert done.status_code == 409 and "nothing to settle" in done.get_json()["message"]


def test_a_transfer_closed_short_keeps_every_unit_accounted_for(floor):
    app, socketio, store, _ = floor
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    made, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 3)], "t")
    ship_order(store, made["order_id"])
    dock = connect(app, socketio, west)
    action(dock, "transfer", "s0")
    scan(dock, made["transfer"], "s1")
    assert scan(dock, PEN, "s2")["code"] == "transfer_item_ok"
    assert scan(dock, "LW-01-01", "s3")["code"] == "transfer_put_away"
    assert action(dock, "transfer_done", "s4")["ok"]
    (pens,) = stock_use.accounts(store, "SKU-B")
    assert (pens.in_transit, pens.transit_lost, pens.scrapped) == (0, 2, 2)
    assert pens.holds(), pens


def test_a_transfer_is_cancelled_before_it_ships_and_refused_in_words_after(floor):
    app, socketio, store, tokens = floor
    key = auth.create_api_key(store, "sup")
    post = app.test_client().post
    made, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 2), ("SKU-A", 1)], "t")
    free = _free(store, "SKU-B")
    # One pen already in the tote: picked units go back by put-away, the rest is released.
    picker = connect(app, socketio, tokens["picker"])
    state = scan(picker, "TOTE-5", "c0")["state"]
    i = 0
    while state["screen"] != "pick_item" or state["step"]["sku"] != "SKU-B":
        i += 1
        state = scan(picker, state["expect"]["barcodes"][0], f"c{i}")["state"]
    assert scan(picker, PEN, "c-pen")["ok"]
    picker.disconnect(NS)

    for ref, body, status, words in [
        ("TR-999999", {}, 404, "no transfer TR-999999"),
        (made["transfer"], {"reason": "x" * 201}, 422, "reason"),
        (made["transfer"], {"why": "x"}, 422, "why"),
    ]:
        r = post(f"/api/transfers/{ref}/cancel", json=body, headers={"X-API-Key": key})
        said = r.get_json()
        text = said["message"] + " ".join(p["field"] for p in said.get("problems", []))
        assert (r.status_code, words in text) == (status, True), said
    assert transfers.get(store, made["transfer"])["status"] == "planned"

    r = post(f"/api/transfers/{made['transfer']}/cancel", json={"reason": "not needed"},
             headers={"X-API-Key": key})  # fmt: skip
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert (done["status"], done["released"], len(done["putaway_tasks"])) == ("cancelled", 2, 1)
    assert done["in_transit"] == 0 and transfers.in_transit_units(store) == {}
    assert store.one(
        "SELECT SUM(qty - picked - released) AS n FROM reservations WHERE order_id = ?",
        (made["order_id"],),
    ) == {"n": 0}
    task = store.one("SELECT sku, qty, warehouse FROM putaway_tasks WHERE id = ?",
                     (done["putaway_tasks"][0],))  # fmt: skip
    assert task == {"sku": "SKU-B", "qty": 1, "warehouse": "WH-EAST"}
    assert _free(store, "SKU-B") == free + 1  # the reserved pen back; the picked one in a tote
    again = post(f"/api/transfers/{made['transfer']}/cancel", json={}, headers={"X-API-Key": key})
    assert again.status_code == 200 and again.get_json()["already"] is True
    assert [t["transfer"] for t in transfers.listed(store, "cancelled")] == [made["transfer"]]
    audit = [r["action"] for r in store.all("SELECT action FROM audit_log ORDER BY id")]
    assert audit.count("transfer_cancel") == 1
    # A cancelled transfer's number at the other dock is refused in words.
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    dock = connect(app, socketio, west)
    action(dock, "transfer", "w0")
    assert scan(dock, made["transfer"], "w1")["code"] == "transfer_cancelled"

    # Once shipped: refused in words, nothing changed.
    shipped, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "t")
    ship_order(store, shipped["order_id"])
    tables = ("orders", "reservations", "putaway_tasks", "transfers", "audit_log")
    snap = {t: rows(store, t) for t in tables}
    r = post(f"/api/transfers/{shipped['transfer']}/cancel", json={}, headers={"X-API-Key": key})
    assert r.status_code == 409
    assert r.get_json()["message"] == (
        f"{shipped['transfer']} has left WH-EAST: its units are on their way to WH-WEST. Receive "
        "it there (what never arrives is recorded short), then plan a transfer back if they must "
        "return"
    )
    assert {t: rows(store, t) for t in tables} == snap


def test_the_board_cancels_a_planned_transfer_and_settles_set_aside_units(floor):
    app, socketio, store, _ = floor
    web = board_web(app)
    planned, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "t")
    gone, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "t")
    ship_order(store, gone["order_id"])
    west = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    dock = connect(app, socketio, west)
    action(dock, "transfer", "b0")
    scan(dock, gone["transfer"], "b1")
    scan(dock, PEN, "b2")
    scan(dock, "LW-01-01", "b3")
    assert scan(dock, PEN, "b4")["code"] == "transfer_over"

    panel = web.get("/board/api/transfers").get_json()
    offered = {t["transfer"]: t["no_cancel"] for t in panel["transfers"]}
    assert offered[planned["transfer"]] is None
    assert offered[gone["transfer"]].startswith(f"{gone['transfer']} has left WH-EAST")
    assert panel["set_aside"] == [
        {"transfer": gone["transfer"], "to_warehouse": "WH-WEST", "sku": "SKU-B", "lot": "",
         "expires": None, "units": 1}
    ]  # fmt: skip

    tables = ("transfer_lots", "stock", "orders", "reservations", "audit_log")
    snap = {t: rows(store, t) for t in tables}
    over = f"/board/api/transfers/{gone['transfer']}/over"
    for path, body, status, words in [
        (f"/board/api/transfers/{gone['transfer']}/cancel", {}, 409, "has left WH-EAST"),
        ("/board/api/transfers/TR-999999/cancel", {}, 404, "no transfer TR-999999"),
        (over, {"sku": "SKU-B", "decision": "accept", "bin": "W-01-01", "qty": 1}, 400,
         "unknown field(s) qty"),
        (over, {"decision": "accept", "bin": "W-01-01"}, 400, "sku is required"),
        (over, {"sku": "SKU-B", "decision": "accept"}, 422, "accept needs the bin"),
        (over, {"sku": "SKU-B", "decision": "accept", "bin": "NOPE"}, 422,
         "NOPE is not a bin of WH-WEST"),
    ]:  # fmt: skip
        r = web.post(path, json=body)
        assert (r.status_code, words in r.get_json()["error"]) == (status, True), r.get_json()
    assert {t: rows(store, t) for t in tables} == snap

    r = web.post(f"/board/api/transfers/{planned['transfer']}/cancel", json={"reason": "later"})
    assert r.get_json() == {"ok": True, "transfer": planned["transfer"], "done": "cancelled",
                            "released": 1}  # fmt: skip
    r = web.post(over, json={"sku": "SKU-B", "decision": "accept", "bin": "W-01-01"})
    assert r.get_json()["done"] == "SKU-B: 1 accepted into W-01-01", r.get_json()
    panel = web.get("/board/api/transfers").get_json()
    assert panel["set_aside"] == [] and [t["transfer"] for t in panel["transfers"]] == [
        gone["transfer"]
    ]
    by = store.all(
        "SELECT actor, action FROM audit_log WHERE action LIKE 'transfer_%' ORDER BY id DESC LIMIT 2"
    )
    assert by == [
        {"actor": "sup", "action": "transfer_over_accept"},
        {"actor": "sup", "action": "transfer_cancel"},
    ]


def test_transfer_done_before_a_package_says_the_mode_was_left(floor):
    """docs/protocol.md, Transfers: CMD-TRANSFER-DONE before a package was scanned just
    leaves transfer mode (`transfer_left`); the screen it sends says so."""
    app, socketio, store, _ = floor
    west = auth.create_device(store, "picker-w9", "picker", "WH-WEST")
    dock = connect(app, socketio, west)
    assert action(dock, "transfer", "l1")["ok"]
    assert action(dock, "transfer_done", "l2")["ok"]
    shown = last_state(dock)
    assert shown["state"]["screen"] != "transfer_open"
    assert shown["message"] == "Transfer mode left: no package was scanned"
    assert action(dock, "transfer_done", "l3")["error"]["code"] == "not_transferring"
