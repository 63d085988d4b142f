"""What a scan costs the server: its statements, and its reply serialised once.

Every statement on the scan path costs the serving loop CPU (issue 14 point 4): this
counts what one scan of an item runs (the device row, its list's head and version and
what its message id got before read in one), so a statement added to the path is noticed; and the JSON stored for a repeat
is the JSON sent.
"""

from __future__ import annotations

import json
import re

import pytest
from floorkit import connect, place, plan, scan, states
from socketio import packet

from server.inventory import shipments
from server.realtime.wire import DevicePacket, Encoded
from shared.protocol import DEVICE_NAMESPACE as NS


@pytest.mark.sqlite_only("counts statements with SQLite's statement trace")
def test_an_item_scan_reads_the_device_once_and_writes_its_counters_once(floor):
    app, socketio, store, tokens = floor
    place(store, "o1", [("SKU-B", 2)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    state = states(picker)[-1]["state"]
    state = scan(picker, "TOTE-1", "s1")["state"]
    state = scan(picker, state["expect"]["barcodes"][0], "s2")["state"]  # the bin
    assert state["screen"] == "pick_item"
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        reply = scan(picker, state["expect"]["barcodes"][0], "s3")
    finally:
        store.conn.set_trace_callback(None)
    assert reply["ok"] and reply["code"] == "item_ok", reply
    statements = [re.sub(r"\s+", " ", s).strip() for s in seen]
    on_devices = [s for s in statements if re.search(r"\bFROM devices\b|^UPDATE devices", s)]
    assert len([s for s in on_devices if s.startswith("SELECT")]) == 1, on_devices
    assert len([s for s in on_devices if s.startswith("UPDATE")]) == 1, on_devices
    assert not [
        s
        for s in statements
        if s.startswith("SELECT c.") or "FROM pick_lists WHERE device_id" in s[:60]
    ]
    # What the message id got before comes with the device row; the step's reservation is
    # read in the UPDATE that counts the unit picked (RETURNING); the list's version (for
    # the kept screen) comes back from the counters' UPDATE.
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1, reads  # the device row
    assert not [s for s in reads if "FROM device_messages" in s or "FROM face_limits f JOIN" in s]
    on_reservations = [s for s in statements if "reservations" in s]
    assert len(on_reservations) == 1 and " RETURNING " in on_reservations[0], on_reservations
    # (SQLite's trace shows an UPDATE once more per trigger it fires: two for pick_steps'
    # version trigger, one for stock's bound.) Before issue 14 point 4 the same scan ran 20:
    # the device row, its list head, its count task and its event seq were four reads, and
    # its counters two writes. Replenishment (issue 16) added one: after a pick, the face's
    # min and max (one primary-key read; now only for a bin with limits for the item, which
    # the reservation's read says). Then 18; then 14: the message id's reply, the step's
    # reservation id and the list's version are no reads of their own; since, 13: the
    # reservation is read by the UPDATE that counts the unit picked.
    assert len(statements) <= 13, statements  # BEGIN and COMMIT included


def test_the_reply_sent_is_the_reply_stored_serialised_once(floor):
    app, socketio, store, tokens = floor
    place(store, "o1", [("SKU-B", 1)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    reply = scan(picker, "TOTE-1", "s1")
    stored = store.one("SELECT reply FROM device_messages WHERE msg_id = 's1' AND event = 'scan'")[
        "reply"
    ]
    assert json.loads(stored) == reply and reply["code"] == "tote_ok"
    # The packet carries the stored text itself, beside arguments serialised as usual.
    sent = DevicePacket(packet.ACK, namespace=NS, id=7, data=[Encoded(stored, {}), {"b": 2}])
    assert sent.encode() == f'3{NS},7[{stored},{{"b":2}}]'
    # A repeat answers the same reply, marked as a repeat.
    again = scan(picker, "TOTE-1", "s1")
    assert again == {**reply, "duplicate": True}


def test_an_item_scan_takes_its_unit_once_and_never_more_than_is_left(floor):
    """The reservation is read and counted in one statement: the unit leaves its bin once,
    a stock move says so, and a take beyond what the reservation has left writes nothing."""
    app, socketio, store, tokens = floor
    oid = place(store, "o1", [("SKU-B", 2)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    state = scan(picker, "TOTE-1", "s1")["state"]
    state = scan(picker, state["expect"]["barcodes"][0], "s2")["state"]  # the bin
    step_id = state["step"]["step_id"]
    bin_of = "SELECT on_hand, reserved FROM stock WHERE sku = 'SKU-B' AND location_id = ?"
    r = store.one("SELECT * FROM reservations WHERE order_id = ?", (oid,))
    assert store.one(bin_of, (r["location_id"],)) == {"on_hand": 10, "reserved": 2}

    reply = scan(picker, state["expect"]["barcodes"][0], "s3")
    assert reply["ok"] and reply["code"] == "item_ok", reply
    assert store.one(bin_of, (r["location_id"],)) == {"on_hand": 9, "reserved": 1}
    assert store.one("SELECT picked, released FROM reservations WHERE id = ?", (r["id"],)) == {
        "picked": 1,
        "released": 0,
    }
    moves = store.all(
        "SELECT kind, location_id, sku, lot, qty, ref FROM stock_moves WHERE kind = 'pick'"
    )
    assert moves == [
        {
            "kind": "pick",
            "location_id": r["location_id"],
            "sku": "SKU-B",
            "lot": "",
            "qty": -1,
            "ref": oid,
        }
    ]
    # A repeat of the scan takes nothing more.
    assert scan(picker, state["expect"]["barcodes"][0], "s3")["duplicate"] is True
    assert store.one(bin_of, (r["location_id"],)) == {"on_hand": 9, "reserved": 1}

    # One unit is left on the reservation: two are refused, and nothing is written.
    before = store.all("SELECT * FROM stock_moves ORDER BY id")
    for qty in (2, 0):
        with pytest.raises(shipments.ShipmentError, match="has not"), store.write():
            shipments.take_for_step(store, step_id, qty)
    assert store.one(bin_of, (r["location_id"],)) == {"on_hand": 9, "reserved": 1}
    assert store.one("SELECT picked FROM reservations WHERE id = ?", (r["id"],))["picked"] == 1
    assert store.all("SELECT * FROM stock_moves ORDER BY id") == before
    # Released units are no units to pick: the last one given back, the step takes none.
    with store.write():
        store.execute(
            "UPDATE stock SET reserved = reserved - 1 WHERE location_id = ? AND sku = 'SKU-B'",
            (r["location_id"],),
        )
        store.execute("UPDATE reservations SET released = 1 WHERE id = ?", (r["id"],))
    with pytest.raises(shipments.ShipmentError, match="has not 1 units left"), store.write():
        shipments.take_for_step(store, step_id, 1)
    assert store.one(bin_of, (r["location_id"],)) == {"on_hand": 9, "reserved": 0}
    assert store.one("SELECT picked FROM reservations WHERE id = ?", (r["id"],))["picked"] == 1


@pytest.mark.sqlite_only("counts statements with SQLite's statement trace")
def test_a_verified_unit_reads_the_bench_twice_and_shows_what_a_fresh_read_would(floor):
    """A pack station's scan read its bench three times (to judge, to see whether a label is
    due, to draw the reply's screen); the second read, after the scan's writes, draws it."""
    from server.floor import screens

    app, socketio, store, tokens = floor
    place(store, "o1", [("SKU-B", 3)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-3", "LE-01-01", *["0012345678905"] * 3]):
        assert scan(picker, code, f"p{i}")["ok"], code
    packer = connect(app, socketio, tokens["packer"])
    did = store.one("SELECT id FROM devices WHERE role = 'packer' AND connected = 1")["id"]

    def fresh() -> dict:
        return screens.current_state(store, did).model_dump(mode="json")

    reply = scan(packer, "TOTE-3", "k0")
    assert reply["ok"] and reply["state"] == fresh() and reply["state"]["screen"] == "pack_verify"
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        reply = scan(packer, "0012345678905", "k1")
    finally:
        store.conn.set_trace_callback(None)
    assert reply["ok"] and reply["state"] == fresh(), reply
    assert reply["state"]["progress"] == {"done": 1, "total": 3}
    benches = [s for s in seen if s.startswith("SELECT pack_list_id, pack_order_id FROM devices")]
    assert len(benches) == 2, benches
    reply = scan(packer, "0012345678905", "k2")
    assert reply["ok"] and reply["state"] == fresh()
    reply = scan(packer, "0012345678905", "k3")  # the last unit: the label is made
    assert reply["ok"] and reply["state"] == fresh() and reply["state"]["screen"] == "pack_label"
