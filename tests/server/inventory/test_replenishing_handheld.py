"""Replenishment on the handheld, in process: a short pick that reserve refills waits for the
move, the move is scanned (exactly once), the held pick is released and picked; a face below
its min after a pick gets a move behind the pick lists, given back when the link stays down."""

from __future__ import annotations

from floorkit import (
    action,
    board_web,
    connect,
    emit,
    expire_leases,
    last_state,
    place,
    plan,
    scan,
    settle,
)

from server.core.schemas import CatalogueIn
from server.inventory import catalogue, replenishment
from shared.protocol import DeviceState

SKU_B = "0012345678905"  # Red pen, 10 on hand in the face E-01-01


def _reserve(store, on_hand: int = 30) -> None:
    """Reserve bin R-01 (label LR-01) of WH-EAST holding `on_hand` red pens."""
    catalogue.load(
        store,
        CatalogueIn.model_validate(
            {
                "locations": [
                    {
                        "warehouse": "WH-EAST",
                        "code": "R-01",
                        "barcode": "LR-01",
                        "aisle": 9,
                        "role": "reserve",
                    }  # fmt: skip
                ],
                "stock": [
                    {"warehouse": "WH-EAST", "location": "R-01", "sku": "SKU-B", "on_hand": on_hand}
                ],
            }
        ),
    )


def _bin(store, location: str, sku: str = "SKU-B") -> dict:
    return store.one(
        "SELECT s.on_hand, s.reserved FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ?",
        (location, sku),
    )


def _invariants(store) -> None:
    """The stock invariants of tests/server/inventory/test_allocation_stateful.py."""
    for r in store.all(
        """SELECT s.on_hand, s.reserved,
                  (SELECT COALESCE(SUM(r.qty - r.picked - r.released), 0) FROM reservations r
                   WHERE r.location_id = s.location_id AND r.sku = s.sku AND r.lot = s.lot) AS held
           FROM stock s"""
    ):
        assert 0 <= r["reserved"] <= r["on_hand"] and r["reserved"] == r["held"], r


def test_a_short_pick_reserve_refills_waits_for_the_move_then_is_picked(floor):
    app, socketio, store, tokens = floor
    _reserve(store)
    replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 2, 12, "test")
    oid = place(store, "pens", [("SKU-B", 4)])
    # Reserve is never allocated to orders: the four are promised at the face.
    assert _bin(store, "R-01")["reserved"] == 0 and _bin(store, "E-01-01")["reserved"] == 4
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    assert scan(picker, "TOTE-1", "p1")["ok"]
    assert scan(picker, "LE-01-01", "p2")["ok"]
    assert scan(picker, SKU_B, "p3")["ok"]
    # The other three are not there; no other face holds pens, reserve R-01 does.
    assert action(picker, "short", "p4", found=0, reason="missing")["ok"]
    settle()
    move = replenishment.tasks(store, "open")[0]
    assert (move["reserve"], move["face"], move["qty"], move["urgent"]) == (
        "R-01",
        "E-01-01",
        12,
        1,
    )
    assert replenishment.get(store, move["id"])["held_orders"] == [oid]
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 3
    assert store.one("SELECT outcome FROM short_picks")["outcome"] == "replenishing"
    # Held, not sent elsewhere: the other warehouse has no pens, and none were promised again.
    assert store.one(
        "SELECT COUNT(*) AS n FROM reservations WHERE order_id = ? AND qty > picked + released",
        (oid,),
    ) == {"n": 0}

    # The list is done; the urgent move comes before anything else.
    shown = last_state(picker)["state"]
    assert shown["screen"] == "replen_reserve", shown
    assert "Picks wait" in shown["instruction"] and shown["expect"]["barcodes"] == ["LR-01"]
    assert scan(picker, "LE-01-01", "m1")["code"] == "replen_reserve_first"
    assert scan(picker, "LE-01-02", "m2")["code"] == "replen_wrong_bin"
    r = scan(picker, "LR-01", "m3")
    assert r["ok"] and r["state"]["screen"] == "replen_item"
    assert r["state"]["expect"] == {"kind": "item", "barcodes": [SKU_B]}  # what to scan: the pen
    assert scan(picker, "9501101530003", "m4")["code"] == "replen_wrong_item"  # green tea
    assert scan(picker, "NOPE-1", "m5")["code"] == "replen_unknown"
    r = scan(picker, "]C10100012345678905" + "3010", "m6")  # a GS1 case label: 10 pens
    assert r["code"] == "replen_item_ok" and r["state"]["progress"] == {"done": 10, "total": 12}
    assert scan(picker, SKU_B, "m7")["state"]["progress"]["done"] == 11
    again = scan(picker, SKU_B, "m7")  # the same message: taken once
    assert again["duplicate"] and again["state"]["progress"]["done"] == 11
    assert scan(picker, "]C10100012345678905" + "305", "m8")["code"] == "replen_too_many"
    r = scan(picker, SKU_B, "m9")
    assert r["state"]["screen"] == "replen_face" and r["state"]["expect"]["barcodes"] == [
        "LE-01-01"
    ]
    assert scan(picker, SKU_B, "m10")["code"] == "replen_all_carried"
    assert scan(picker, "LE-01-02", "m11")["code"] == "replen_wrong_face"
    assert _bin(store, "R-01")["on_hand"] == 30  # nothing moved before the face is scanned
    # The board's panel of moves shows it open, urgent, held by this handheld, at the face.
    (shown,) = board_web(app).get("/board/api/replenishment-moves").json["moves"]
    assert (shown["id"], shown["urgent"], shown["device"]) == (move["id"], 1, "picker-e1")
    assert (shown["stage"], shown["carried"], shown["qty"]) == ("face", 12, 12)

    done = scan(picker, "LE-01-01", "m12")
    assert done["ok"] and done["code"] == "replen_done", done
    replay = scan(picker, "LE-01-01", "m12")  # the face scanned twice: stock moves once
    assert replay["duplicate"] and replay["code"] == "replen_done"
    assert _bin(store, "R-01") == {"on_hand": 18, "reserved": 0}
    # The held order is allocated at the refilled face, and this picker picks it next.
    assert _bin(store, "E-01-01") == {"on_hand": 12, "reserved": 3}
    moves = store.all("SELECT qty, ref FROM stock_moves WHERE kind = 'replenish' ORDER BY qty")
    assert [m["qty"] for m in moves] == [-12, 12] and {m["ref"] for m in moves} == {
        f"replen:{move['id']}"
    }
    audit = store.all("SELECT action FROM audit_log WHERE target = ?", (f"replen:{move['id']}",))
    assert [a["action"] for a in audit] == ["replen_made", "replen_done"]
    assert replenishment.get(store, move["id"])["held_orders"] == []
    _invariants(store)

    assert done["state"]["screen"] == "pick_tote", done["state"]
    assert scan(picker, "TOTE-2", "q1")["ok"]
    assert scan(picker, "LE-01-01", "q2")["ok"]
    for i in range(3):
        r = scan(picker, SKU_B, f"q{3 + i}")
    assert r["code"] == "list_done", r
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 0
    assert _bin(store, "E-01-01") == {"on_hand": 9, "reserved": 0}
    _invariants(store)
    picker.disconnect(namespace="/device")


def test_a_face_below_its_min_after_a_pick_gets_a_move_given_back_when_the_link_stays_down(floor):
    app, socketio, store, tokens = floor
    _reserve(store)
    replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 8, 10, "test")
    assert replenishment.tasks(store) == []  # 10 held: at its min or more
    place(store, "pens", [("SKU-B", 3)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "p1")
    scan(picker, "LE-01-01", "p2")
    scan(picker, SKU_B, "p3")
    scan(picker, SKU_B, "p4")
    assert replenishment.tasks(store) == []  # 8 left: not below the min yet
    r = scan(picker, SKU_B, "p5")
    assert r["code"] == "list_done"
    move = replenishment.tasks(store)[0]
    assert (move["qty"], move["urgent"], move["reason"]) == (3, 0, "below min 8")
    # No pick list waits: the picker tops the face up.
    assert (
        r["state"]["screen"] == "replen_reserve" and "Picks wait" not in r["state"]["instruction"]
    )
    assert scan(picker, "LR-01", "m1")["ok"]
    assert scan(picker, SKU_B, "m2")["ok"]
    picker.disconnect(namespace="/device")
    assert expire_leases(floor, 0) == 0  # no pick list went back; the move did
    back = replenishment.get(store, move["id"])
    assert (back["device"], back["stage"], back["carried"], back["status"]) == (
        None, "reserve", 0, "open"
    )  # fmt: skip
    assert _bin(store, "R-01")["on_hand"] == 30 and _bin(store, "E-01-01")["on_hand"] == 7

    # Another picker takes it from the start and finishes it: the face is back at its max.
    other = connect(app, socketio, tokens["picker"])
    assert last_state(other)["state"]["screen"] == "replen_reserve"
    scan(other, "LR-01", "n1")
    scan(other, "]C10100012345678905" + "303", "n2")
    assert scan(other, "LE-01-01", "n3")["code"] == "replen_done"
    assert _bin(store, "E-01-01")["on_hand"] == 10 and _bin(store, "R-01")["on_hand"] == 27
    _invariants(store)
    other.disconnect(namespace="/device")


# Offline codes: the device knows only the move's bins and item; the server names the rest.
UNLISTED = {"replen_not_reserve", "replen_not_item", "replen_not_face"}


def test_an_offline_handheld_judges_a_move_as_the_server_does_scan_by_scan(floor):
    """The device's judge (device/offline.py) on the server's own screens: the same verdicts,
    sentences and next screens; where the device cannot know what a barcode is, the same
    refusal in its own words; the face ends the move on the device, the server's next work wins."""
    from device import offline

    app, socketio, store, tokens = floor
    _reserve(store)
    replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 12, 15, "test")  # 10 held
    picker = connect(app, socketio, tokens["picker"])
    state = DeviceState.model_validate(last_state(picker)["state"])
    assert state.screen == "replen_reserve" and state.move is not None
    assert (state.move.reserve_barcode, state.move.face_barcode, state.move.qty) == (
        "LR-01", "LE-01-01", 5,
    )  # fmt: skip
    walk = [
        "LE-01-01",  # the face first
        "LE-01-02",  # another bin: the server says so; offline, "not R-01's label"
        "LR-01",
        "9501101530003",  # green tea: another item
        "LR-01",  # the reserve again: still taking items
        "]C10100012345678905" + "303",  # a GS1 count: 3 pens
        "]C10100012345678905" + "305",  # 5 more than the 2 left
        SKU_B,
        "NOPE-1",
        SKU_B,  # all 5: to the face
        SKU_B,  # all carried already
        "LE-01-02",  # not the face
        "LE-01-01",  # the face: the stock moves (on the server)
    ]
    for i, barcode in enumerate(walk):
        local = offline.judge(state, barcode)
        reply = scan(picker, barcode, f"w{i}")
        assert local.ok == reply["ok"], (barcode, local, reply)
        if local.code in UNLISTED:
            assert reply["code"] in {"replen_wrong_bin", "replen_wrong_item", "replen_unknown",
                                     "replen_wrong_face"}, reply  # fmt: skip
            assert local.state == state
            continue
        assert (local.code, local.message) == (reply["code"], reply["message"]), barcode
        if reply["code"] == "replen_done":
            assert local.state.screen == "idle" and reply["state"]["screen"] == "idle"
        else:
            assert local.state == DeviceState.model_validate(reply["state"]), barcode
        state = local.state
    assert _bin(store, "E-01-01")["on_hand"] == 15 and _bin(store, "R-01")["on_hand"] == 25
    picker.disconnect(namespace="/device")


def test_offline_scans_of_a_move_given_back_meanwhile_count_for_nothing(floor):
    """The server's answer wins on replay: scans judged offline on a move the device no longer
    holds are refused (`replen_changed`), changing nothing; the same move handed back to the
    same device keeps its id, so its replayed scans redo it from the start."""
    app, socketio, store, tokens = floor
    _reserve(store)
    replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 12, 15, "test")
    picker = connect(app, socketio, tokens["picker"])
    move = DeviceState.model_validate(last_state(picker)["state"]).move
    assert scan(picker, "LR-01", "m1")["ok"]

    def offline_scan(barcode, msg_id, move_id):
        return emit(picker, "scan", {"id": msg_id, "barcode": barcode, "offline": True,
                                     "local": {"ok": True, "code": "replen_item_ok"},
                                     "move_id": move_id})  # fmt: skip

    before = (_bin(store, "R-01"), replenishment.get(store, move.task_id)["carried"])
    refused = offline_scan(SKU_B, "o1", move.task_id + 1)
    assert (refused["ok"], refused["code"]) == (False, "replen_changed")
    assert (
        refused["message"]
        == f"Move {move.task_id + 1} is no longer yours: this scan does not count"
    )
    assert refused["state"]["screen"] == "replen_item"
    assert (_bin(store, "R-01"), replenishment.get(store, move.task_id)["carried"]) == before
    kept = store.one("SELECT ok, code, offline, local_code FROM scans WHERE msg_id = 'o1'")
    assert kept == {"ok": 0, "code": "replen_changed", "offline": 1, "local_code": "replen_item_ok"}
    # Its own move: judged by the server as any scan.
    taken = offline_scan(SKU_B, "o2", move.task_id)
    assert taken["code"] == "replen_item_ok" and taken["state"]["progress"]["done"] == 1
    # Given back (the link stayed down past the lease) and handed to this device again.
    picker.disconnect(namespace="/device")
    expire_leases(floor, 0)
    picker = connect(app, socketio, tokens["picker"])
    again = DeviceState.model_validate(last_state(picker)["state"])
    assert (again.screen, again.move.task_id, again.move.carried) == (
        "replen_reserve", move.task_id, 0,
    )  # fmt: skip
    assert offline_scan("LR-01", "o3", move.task_id)["code"] == "replen_reserve_ok"
    picker.disconnect(namespace="/device")


def test_every_wrong_turn_of_a_move_answers_its_documented_code_and_changes_nothing(floor):
    app, socketio, store, tokens = floor
    _reserve(store)
    replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 8, 10, "test")
    place(store, "pens", [("SKU-B", 3)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-1", "LE-01-01", SKU_B, SKU_B, SKU_B]):
        scan(picker, code, f"p{i}")
    tea, other_bin = "9501101530003", "LE-02-01"

    def codes(screen: str, scans: list[str], key: str) -> list[str]:
        out = []
        for i, code in enumerate(scans):
            r = scan(picker, code, f"{key}{i}")
            assert r["state"]["screen"] == screen, r  # nothing changed
            out.append(r["code"])
        return out

    assert codes("replen_reserve", ["LE-01-01", SKU_B, tea, other_bin, "NOPE"], "r") == [
        "replen_reserve_first", "replen_reserve_first", "replen_reserve_first",
        "replen_wrong_bin", "replen_unknown",
    ]  # fmt: skip
    assert scan(picker, "LR-01", "a1")["code"] == "replen_reserve_ok"
    assert codes("replen_item", ["LE-01-01", tea, other_bin, "NOPE", "LR-01"], "i") == [
        "replen_item_first", "replen_wrong_item", "replen_wrong_bin", "replen_unknown",
        "replen_reserve_ok",
    ]  # fmt: skip
    assert scan(picker, "]C10100012345678905" + "304", "a2")["code"] == "replen_too_many"
    assert scan(picker, "]C10100012345678905" + "303", "a3")["code"] == "replen_item_ok"
    assert codes("replen_face", [SKU_B, "LR-01", tea, other_bin, "NOPE"], "f") == [
        "replen_all_carried", "replen_all_carried", "replen_wrong_item", "replen_wrong_face",
        "replen_unknown",
    ]  # fmt: skip
    assert _bin(store, "R-01")["on_hand"] == 30 and _bin(store, "E-01-01")["on_hand"] == 7
    assert scan(picker, "LE-01-01", "a4")["code"] == "replen_done"
    assert scan(picker, "LE-01-01", "a4")["duplicate"]  # the journal's repeat: moved once
    assert _bin(store, "R-01")["on_hand"] == 27 and _bin(store, "E-01-01")["on_hand"] == 10
