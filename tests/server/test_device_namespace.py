"""The /device namespace in process: connect, resume, scan, repeat, refuse, pack, print."""

from __future__ import annotations

import pytest
from floorkit import place

from server.app import create_app
from shared.protocol import DEVICE_NAMESPACE as NS


@pytest.fixture
def floor(floor_settings, floor_store, floor_tokens):
    app, socketio = create_app(floor_settings)
    store = app.extensions["store"]
    return app, socketio, store, floor_tokens


def connect(app, socketio, token: str, last_seen_seq: int = 0):
    client = socketio.test_client(
        app, namespace=NS, auth={"token": token, "last_seen_seq": last_seen_seq}
    )
    assert client.is_connected(NS)
    return client


def states(client) -> list[dict]:
    return [e["args"][0] for e in client.get_received(NS) if e["name"] == "state"]


def scan(client, barcode: str, msg_id: str) -> dict:
    return client.emit("scan", {"id": msg_id, "barcode": barcode}, namespace=NS, callback=True)


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
        r = picker.emit("scan", bad, namespace=NS, callback=True)
        assert r["ok"] is False and r["error"]["code"] == "bad_message", bad
    r = picker.emit(
        "print_result", {"id": "p1", "job_id": 99, "ok": True}, namespace=NS, callback=True
    )
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
    prints = [e["args"][0] for e in packer.get_received(NS) if e["name"] == "print"]
    assert len(prints) == 1 and tracking in prints[0]["zpl"]
    pkg = store.one("SELECT sscc, tracking FROM packages WHERE order_id = ?", (oid,))
    assert pkg["tracking"] == tracking and len(pkg["sscc"]) == 18
    ack = packer.emit(
        "print_result",
        {"id": "pr1", "job_id": prints[0]["job_id"], "ok": True},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"]
    assert not scan(packer, "SF000000000", "k5")["ok"]
    r = scan(packer, tracking, "k6")
    assert r["ok"] and r["state"]["screen"] == "pack_start"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    assert store.one("SELECT status FROM print_jobs")["status"] == "printed"


def test_unknown_event_gets_an_error(floor):
    app, socketio, _, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    r = picker.emit("launch_missiles", {"id": "z"}, namespace=NS, callback=True)
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
