"""Cycle counts on the handheld, in process: blind, exactly once, recounted by another picker."""

from __future__ import annotations

import json

from floorkit import action, connect, last_state, place, plan, scan, settle, states

from server.inventory import counts
from server.people import auth

SKU_B = "0012345678905"  # Red pen, 10 on hand in E-01-01


def _ask(store, location="E-01-01"):
    task, _ = counts.create(store, "WH-EAST", location, "test")
    return task["id"]


def _on_hand(store, location, sku, lot=""):
    row = store.one(
        "SELECT s.on_hand, s.expires FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ? AND s.lot = ?",
        (location, sku, lot),
    )
    return row


def test_an_idle_picker_counts_a_bin_blind_and_another_recounts(floor):
    app, socketio, store, tokens = floor
    task_id = _ask(store)
    picker = connect(app, socketio, tokens["picker"])
    first = last_state(picker)["state"]
    assert first["screen"] == "count_location" and "E-01-01" in first["instruction"]
    assert first["expect"] == {"kind": "location", "barcodes": ["LE-01-01"]}
    assert scan(picker, SKU_B, "c1")["code"] == "count_wrong_bin"
    assert scan(picker, "LE-01-02", "c2")["code"] == "count_wrong_bin"
    r = scan(picker, "LE-01-01", "c3")
    assert r["ok"] and r["state"]["screen"] == "count_item"
    assert scan(picker, SKU_B, "c4")["code"] == "counted_item"
    r = scan(picker, SKU_B, "c5")
    assert r["state"]["progress"] == {"done": 2, "total": 2}
    # Item + quantity: a count card sets the last scan's quantity.
    assert action(picker, "short", "c6", found=5, reason="missing")["ok"]
    assert scan(picker, "NOPE-1", "c7")["code"] == "count_unknown"
    # Blind: nothing the handheld was sent holds the 10 the system expects.
    sent = json.dumps([s["state"] for s in states(picker)]) + json.dumps(r)
    assert '"10"' not in sent and " 10 " not in sent and "expected" not in sent
    ack = action(picker, "count_done", "c8")
    assert ack == {"id": "c8", "ok": True, "error": None}
    assert action(picker, "count_done", "c8") == ack  # the same message: applied once
    task = counts.get(store, task_id)
    assert (task["stage"], task["first_worker"]) == ("recount", "picker-e1")
    assert task["lines"][0]["counted"] == 6
    assert last_state(picker)["state"]["screen"] == "idle"  # its own recount is not offered
    assert _on_hand(store, "E-01-01", "SKU-B")["on_hand"] == 10

    token2 = auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    other = connect(app, socketio, token2)
    shown = last_state(other)["state"]
    assert shown["screen"] == "count_location" and "Recount" in shown["instruction"]
    scan(other, "LE-01-01", "o1")
    # A GS1 case label: the pen's GTIN, lot LOT9, expiry, 6 units.
    r = scan(other, "]C10100012345678905" + "10LOT9\x1d" + "17301231" + "306", "o2")
    assert r["ok"], r
    assert action(other, "count_done", "o3")["ok"]
    task = counts.get(store, task_id)
    assert (task["stage"], task["second_worker"]) == ("approval", "picker-e2")
    assert counts.decide(store, task_id, True, "sup")["outcome"] == "approved"
    assert _on_hand(store, "E-01-01", "SKU-B")["on_hand"] == 0
    assert _on_hand(store, "E-01-01", "SKU-B", "LOT9")["on_hand"] == 6
    picker.disconnect(namespace="/device")
    other.disconnect(namespace="/device")


def test_a_pick_list_comes_before_a_count_and_a_short_pick_makes_one(floor):
    app, socketio, store, tokens = floor
    place(store, "pens", [("SKU-B", 2)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    assert last_state(picker)["state"]["screen"] == "pick_tote"
    _ask(store, "E-02-01")  # a count asked while the picker works: it waits for the list
    assert scan(picker, "TOTE-1", "p1")["ok"]
    assert scan(picker, "LE-01-01", "p2")["ok"]
    assert scan(picker, SKU_B, "p3")["state"]["screen"] == "pick_item"
    # The second pen is not there: a short pick of the last unit ends the list.
    assert action(picker, "short", "p4", found=0, reason="missing")["ok"]
    short_task = store.one("SELECT source, sku, stage FROM count_tasks WHERE source = 'short_pick'")
    assert short_task == {"source": "short_pick", "sku": "SKU-B", "stage": "count"}
    settle()
    # The list is done: the picker counts next, the oldest task first.
    after = last_state(picker)["state"]
    assert after["screen"] == "count_location", after
    assert "E-02-01" in after["instruction"]
    picker.disconnect(namespace="/device")


def test_a_picker_logging_out_gives_its_count_back(floor):
    app, socketio, store, tokens = floor
    task_id = _ask(store)
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "LE-01-01", "l1")
    scan(picker, SKU_B, "l2")
    assert action(picker, "logout", "l3")["ok"]
    row = store.one("SELECT device_id, at_location FROM count_tasks WHERE id = ?", (task_id,))
    assert row == {"device_id": None, "at_location": 0}
    assert store.one("SELECT COUNT(*) AS n FROM count_scans")["n"] == 0
    assert action(picker, "count_done", "l4")["error"]["code"] == "not_counting"
    picker.disconnect(namespace="/device")


def test_pick_work_takes_a_count_not_started_but_not_one_at_the_bin(floor):
    app, socketio, store, tokens = floor
    first = _ask(store)
    picker = connect(app, socketio, tokens["picker"])
    assert last_state(picker)["state"]["screen"] == "count_location"
    place(store, "mugs", [("SKU-A", 1)])
    plan(store)
    floor.hub.offer_work("WH-EAST")
    settle()
    assert last_state(picker)["state"]["screen"] == "pick_tote"
    assert counts.get(store, first)["device"] is None  # back in the queue, for the next picker

    token2 = auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    other = connect(app, socketio, token2)
    assert last_state(other)["state"]["screen"] == "count_location"
    scan(other, "LE-01-01", "o1")
    place(store, "mugs-2", [("SKU-A", 1)])
    plan(store)
    floor.hub.offer_work("WH-EAST")  # counting at the bin: not disturbed
    held = store.one(
        "SELECT COUNT(*) AS n FROM pick_lists p JOIN devices d ON d.id = p.device_id "
        "WHERE d.name = 'picker-e2' AND p.status = 'assigned'"
    )
    assert held["n"] == 0
    assert counts.get(store, first)["device"] == "picker-e2"
    picker.disconnect(namespace="/device")
    other.disconnect(namespace="/device")


def test_bin_done_with_nothing_scanned_counts_the_bin_empty(floor):
    app, socketio, store, tokens = floor
    task_id = _ask(store, "E-01-02")  # an empty bin
    picker = connect(app, socketio, tokens["picker"])
    assert action(picker, "count_done", "e1")["error"]["code"] == "count_bin_first"
    assert scan(picker, "LE-01-02", "e2")["code"] == "count_bin_ok"
    assert action(picker, "count_done", "e3") == {"id": "e3", "ok": True, "error": None}
    task = counts.get(store, task_id)
    assert (task["status"], task["outcome"], task["lines"]) == ("done", "matched", [])
    # not_counting: the device holds no count at all.
    assert action(picker, "count_done", "e4")["error"]["code"] == "not_counting"
