"""The /device namespace in process: connect, resume, scan, repeat, refuse, pack, print."""

from __future__ import annotations

from floorkit import action, big, connect, drawn, emit, place, received, scan, settle, states, words

from server.floor import screens, views
from server.floor.domain import picking
from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS


def test_wrong_token_is_refused(floor):
    app, socketio, _, _ = floor
    client = socketio.test_client(app, namespace=NS, auth={"token": "sfd_not-a-real-token"})
    assert not client.is_connected(NS)
    client = socketio.test_client(app, namespace=NS, auth={"nope": 1})
    assert not client.is_connected(NS)


def test_pick_a_list_step_by_step(floor):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-A", 2), ("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    got = states(picker)
    assert got[-1]["state"]["screen"] == "pick_tote"
    assert [e["seq"] for e in got] == sorted(e["seq"] for e in got)

    r = scan(picker, "NOT-A-TOTE", "m1")
    assert not r["ok"] and r["code"] == "not_a_tote" and r["state"]["screen"] == "pick_tote"
    r = scan(picker, "TOTE-7", "m2")
    assert r["ok"] and r["state"]["screen"] == "pick_location"
    # Walking order: aisle 1 before aisle 2.
    assert r["state"]["step"]["location"] == "E-01-01"
    r = scan(picker, "LE-02-02", "m3")
    assert not r["ok"] and r["code"] == "wrong_location" and r["state"]["screen"] == "pick_location"
    r = scan(picker, "LE-01-01", "m4")
    assert r["ok"] and r["state"]["screen"] == "pick_item"
    r = scan(picker, "4006381333931", "m5")  # the mug, but this step wants the pen
    assert not r["ok"] and r["code"] == "wrong_item"
    r = scan(picker, "0012345678905", "m6")
    assert r["ok"] and r["state"]["step"]["location"] == "E-02-02"
    # A repeated message id is the same scan: same answer, counted once.
    again = scan(picker, "0012345678905", "m6")
    assert again["duplicate"] and again["code"] == r["code"] and again["state"] == r["state"]
    assert store.one("SELECT SUM(picked) AS n FROM pick_steps")["n"] == 1
    scan(picker, "LE-02-02", "m7")
    # GS1 element string with the GTIN-14 of the mug counts as the mug.
    r = scan(picker, "]C1010400638133393 1".replace(" ", ""), "m8")
    assert r["ok"], r
    r = scan(picker, "4006381333931", "m9")
    assert r["ok"] and r["code"] == "list_done"
    assert r["state"]["screen"] == "idle"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "picked"
    assert store.one("SELECT COUNT(*) AS n FROM scans")["n"] == 9


def test_garbled_messages_get_clear_errors_and_change_nothing(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 1)])
    picker = connect(app, socketio, tokens["picker"])
    before = store.one("SELECT COUNT(*) AS n FROM scans")["n"]
    for bad in [
        "just a string",
        {"id": "x"},
        {"id": "x", "barcode": ""},
        {"id": "x" * 65, "barcode": "A"},
        {"id": "x", "barcode": "A", "extra": 1},
        {"id": "bad id!", "barcode": "A"},
        {"id": "x", "barcode": "A\nB"},
    ]:
        r = emit(picker, "scan", bad)
        assert r["ok"] is False and r["error"]["code"] == "bad_message", bad
    r = emit(picker, "print_result", {"id": "p1", "job_id": 99, "ok": True})
    assert r["ok"] is False and r["error"]["code"] == "unknown_job"
    assert store.one("SELECT COUNT(*) AS n FROM scans")["n"] == before


def test_reconnect_resumes_and_replays_missed_events(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    first = states(picker)
    scan(picker, "TOTE-1", "a1")
    scan(picker, "LE-01-01", "a2")
    picker.disconnect(NS)
    # A restarted device that saw nothing gets every stored event again, then its current step.
    again = connect(app, socketio, tokens["picker"], last_seen_seq=0)
    got = states(again)
    assert got[0]["seq"] == first[0]["seq"]
    assert got[-1]["state"]["screen"] == "pick_item"
    # One that reports what it saw gets only newer events.
    again.disconnect(NS)
    last = got[-1]["seq"]
    third = connect(app, socketio, tokens["picker"], last_seen_seq=last)
    assert all(e["seq"] > last for e in states(third))


def test_pack_verify_label_confirm(floor):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-3", "LE-01-01", "0012345678905", "0012345678905"]):
        assert scan(picker, code, f"p{i}")["ok"]
    packer = connect(app, socketio, tokens["packer"])
    assert states(packer)[-1]["state"]["screen"] == "pack_start"
    r = scan(packer, "TOTE-999", "k0")
    assert not r["ok"]
    r = scan(packer, "TOTE-3", "k1")
    assert r["ok"] and r["state"]["screen"] == "pack_verify"
    r = scan(packer, "4006381333931", "k2")
    assert not r["ok"] and r["code"] == "item_not_in_order"
    assert scan(packer, "0012345678905", "k3")["ok"]
    r = scan(packer, "0012345678905", "k4")
    assert r["ok"] and r["state"]["screen"] == "pack_label"
    tracking = r["state"]["expect"]["barcodes"][0]
    prints = received(packer, "print")
    assert len(prints) == 1 and tracking in prints[0]["zpl"]
    pkg = store.one("SELECT sscc, tracking FROM packages WHERE order_id = ?", (oid,))
    assert pkg["tracking"] == tracking and len(pkg["sscc"]) == 18
    ack = emit(packer, "print_result", {"id": "pr1", "job_id": prints[0]["job_id"], "ok": True})
    assert ack["ok"]
    assert not scan(packer, "SF000000000", "k5")["ok"]
    r = scan(packer, tracking, "k6")
    assert r["ok"] and r["state"]["screen"] == "pack_start"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    assert store.one("SELECT status FROM print_jobs")["status"] == "printed"


def test_unknown_event_gets_an_error(floor):
    app, socketio, _, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    r = emit(picker, "launch_missiles", {"id": "z"})
    assert r["ok"] is False and r["error"]["code"] == "unknown_event"


def test_a_device_ahead_of_the_server_still_gets_new_events(floor):
    """After a server database restore the device's last seen seq may be above ours."""
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"], last_seen_seq=500)
    got = states(picker)
    assert got and all(e["seq"] > 500 for e in got)
    place(store, "shop-9", [("SKU-B", 1)])
    app.extensions["scanfloor.hub"].offer_work("WH-EAST")
    assert states(picker)[-1]["seq"] > got[-1]["seq"]


def test_reprint_from_the_bench_and_from_rest(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-3", "LE-01-01", "0012345678905"]):
        assert scan(picker, code, f"p{i}")["ok"]
    packer = connect(app, socketio, tokens["packer"])
    r = action(packer, "reprint", "rp0")
    assert r["error"]["code"] == "nothing_to_reprint"  # no label on the bench yet
    scan(packer, "TOTE-3", "k1")
    scan(packer, "0012345678905", "k2")
    first = received(packer, "print")
    assert len(first) == 1
    r = action(packer, "reprint", "rp1")
    assert r["ok"]
    again = received(packer, "print")
    assert (
        len(again) == 1
        and again[0]["zpl"] == first[0]["zpl"]
        and again[0]["job_id"] != first[0]["job_id"]
    )
    key = auth.create_api_key(store, "sup")
    client = app.test_client()
    got = client.post(
        f"/api/packages/{first[0]['package_id']}/reprint", json={}, headers={"X-API-Key": key}
    )
    assert got.status_code == 200 and got.get_json()["device"] == "packer-e1"
    assert len(received(packer, "print")) == 1
    assert (
        client.post("/api/packages/999/reprint", json={}, headers={"X-API-Key": key}).status_code
        == 404
    )
    assert store.one("SELECT COUNT(*) AS n FROM print_jobs")["n"] == 3


def test_the_newest_connection_with_a_token_wins_and_the_older_is_told_why(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    first = connect(app, socketio, tokens["picker"])
    assert states(first)[-1]["state"]["screen"] == "pick_tote"
    assert scan(first, "TOTE-1", "a1")["ok"]

    second = connect(app, socketio, tokens["picker"])
    # The older link is told why, then closed: it gets nothing more and can send nothing.
    got, first.queue = first.queue, []  # what it got before it was closed
    assert [e["name"] for e in got] == ["replaced"], got
    assert "another connection" in got[0]["args"][0]["message"]
    assert not first.is_connected(NS)
    assert states(second)[-1]["state"]["screen"] == "pick_location"
    assert store.one("SELECT connected FROM devices WHERE name = 'picker-e1'")["connected"] == 1
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'scanfloor_devices_connected{role="picker"} 1.0' in metrics.splitlines()
    assert scan(second, "LE-01-01", "a2")["ok"]
    assert first.queue == []
    # Only the newest scans into the cart.
    assert store.one("SELECT COUNT(*) AS n FROM scans")["n"] == 2
    second.disconnect(NS)
    assert store.one("SELECT connected FROM devices WHERE name = 'picker-e1'")["connected"] == 0


def test_a_barcode_of_nothing_says_what_it_is_not(floor):
    app, socketio, store, _ = floor.app, floor.socketio, floor.store, floor.tokens
    place(store, "shop-1", [("SKU-A", 1)])
    picker = connect(app, socketio, floor.tokens["picker"])
    assert scan(picker, "TOTE-1", "1")["ok"]
    r = scan(picker, "garbage123", "2")
    assert (r["ok"], r["code"]) == (False, "unknown_barcode")
    assert r["message"] == "garbage123 is not a location, item or tote. Go to E-02-02"
    seen = drawn(r["state"], r["ok"], r["message"], r["code"])
    assert big("UNKNOWN") in seen and "Wrong location" not in seen
    assert "garbage123 is not a location, item or tote" in words(seen)
    # An item at the bin's place: named, and told to scan the bin's label.
    r = scan(picker, "9501101530003", "3")
    assert r["code"] == "wrong_location"
    assert r["message"] == (
        "9501101530003 is Green tea (an item), not a bin label. Scan the label of bin E-02-02"
    )
    r = scan(picker, "LE-01-01", "4")  # another bin of the warehouse
    assert r["message"] == "Wrong bin: LE-01-01 is another location. Go to E-02-02"
    assert big("WRONG BIN") in drawn(r["state"], r["ok"], r["message"], r["code"])
    # Nothing changed: the picker still goes to the bin.
    assert r["state"]["screen"] == "pick_location" and scan(picker, "LE-02-02", "5")["ok"]
    # At the bin: garbage, a bin label and another product each say what they are.
    r = scan(picker, "garbage123", "6")
    assert r["message"] == "garbage123 is not a location, item or tote. Pick Blue mug"
    r = scan(picker, "LE-01-01", "7")
    assert (r["code"], r["message"]) == (
        "wrong_item",
        "LE-01-01 is a bin label, not an item. Pick Blue mug",
    )
    r = scan(picker, "9501101530003", "8")  # Green tea: in the catalogue, not on this list
    assert r["message"] == "Wrong item: Green tea (9501101530003). Pick Blue mug"
    seen = drawn(r["state"], r["ok"], r["message"], r["code"])
    assert big("WRONG ITEM") in seen and "Green tea" in seen and "Blue mug" in seen
    assert scan(picker, "4006381333931", "9")["code"] == "list_done"


# ------------------------------------------------------------ shift start
def _namespace(socketio):
    return socketio.server.namespace_handlers[NS]


def _links_match(ns) -> None:
    """The per-device index is exactly the inverse of the sid -> device map."""
    inverse: dict[int, set[str]] = {}
    for sid, did in ns.devices.items():
        inverse.setdefault(did, set()).add(sid)
    assert ns.links == inverse


def test_links_stay_keyed_by_device_through_takeovers(floor):
    app, socketio, store, tokens = floor
    ns = _namespace(socketio)
    picker_id = store.one("SELECT id FROM devices WHERE role = 'picker'")["id"]
    packer = connect(app, socketio, tokens["packer"])
    links = [connect(app, socketio, tokens["picker"]) for _ in range(3)]
    settle()
    # Each newer link took over: only the last is held, the packer's untouched.
    assert [c.is_connected(NS) for c in links] == [False, False, True]
    assert packer.is_connected(NS)
    assert len(ns.links[picker_id]) == 1
    _links_match(ns)
    assert store.one("SELECT connected FROM devices WHERE id = ?", (picker_id,))["connected"] == 1
    links[-1].disconnect(NS)
    settle()
    assert picker_id not in ns.links and picker_id not in ns.hub.sent
    _links_match(ns)
    assert store.one("SELECT connected FROM devices WHERE id = ?", (picker_id,))["connected"] == 0
    # A revoke's cut finds the link through the index too.
    picker = connect(app, socketio, tokens["picker"])
    store.execute("UPDATE devices SET revoked = 1 WHERE id = ?", (picker_id,))
    ns.cut_stale_links([picker_id])
    settle()
    assert not picker.is_connected(NS) and packer.is_connected(NS)
    _links_match(ns)


def test_first_screen_is_kept_and_a_changed_list_is_drawn_again(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 1), ("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    did = store.one("SELECT id FROM devices WHERE role = 'picker'")["id"]
    head = views.assigned_head(store, did)
    assert head is not None, "the picker got its list on connect"
    first = states(picker)[-1]["state"]
    kept = views.cached_screen(store, did, head)
    fresh = picking.screen(views.load(store, head["id"], head))
    assert kept is not None and kept == fresh and first == fresh.model_dump(mode="json")
    assert scan(picker, "TOTE-1", "m1")["state"] == screens.current_state(store, did).model_dump(
        mode="json"
    )
    seen = max([0, *(e["seq"] for e in states(picker))])
    picker.disconnect(NS)
    settle()
    # Changed while it was away (a supervisor walked it to the bin): the reconnect's screen
    # is read again, not the kept one.
    step = store.one(
        "SELECT id FROM pick_steps WHERE pick_list_id = ? ORDER BY seq LIMIT 1", (head["id"],)
    )
    store.execute("UPDATE pick_steps SET at_location = 1 WHERE id = ?", (step["id"],))
    again = connect(app, socketio, tokens["picker"], last_seen_seq=seen)
    shown = states(again)[-1]["state"]
    assert shown["screen"] == "pick_item"
    assert shown == picking.screen(views.load(store, head["id"])).model_dump(mode="json")
