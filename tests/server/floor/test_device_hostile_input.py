"""Hostile device messages (issue 10): every one gets a clear error ack and changes nothing."""

from __future__ import annotations

import pytest
from floorkit import action, connect, emit, place, scan, states
from socketio.packet import CONNECT_ERROR

from shared.protocol import DEVICE_NAMESPACE as NS

HUGE = 2**64


def counts(store) -> dict[str, int]:
    """Rows a device message could add or change."""
    tables = ("scans", "device_actions", "device_messages", "device_events", "short_picks")
    out = {t: store.one(f"SELECT COUNT(*) AS n FROM {t}")["n"] for t in tables}
    out |= store.one("SELECT out_seq, seen_seq, scan_seq FROM devices WHERE name = 'picker-e1'")
    return out


def refused(reply: dict, code: str, msg_id: str | None = None) -> dict:
    assert reply is not None, "no acknowledgement at all"
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    if msg_id is not None:
        assert reply["id"] == msg_id
    return reply


# ---------------------------------------------------------------- 6. one id, two events
@pytest.mark.parametrize("first", ["scan", "action"])
def test_a_message_id_reused_for_another_event_gets_id_reused(floor, first):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    send = {
        "scan": lambda: scan(picker, "TOTE-1", "m-1"),
        "action": lambda: action(picker, "help", "m-1"),
    }
    original = send[first]()
    assert original["ok"], original
    before = counts(store)
    second = "action" if first == "scan" else "scan"
    reply = refused(send[second](), "id_reused", "m-1")
    assert first in reply["error"]["message"]
    assert counts(store) == before
    # The first message, sent again, still gets its own answer.
    again = send[first]()
    assert again["ok"] and again.get("duplicate", True)
    assert counts(store) == before


# ---------------------------------------------------------------- 7. integers past 2^53
@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("scan", {"id": "h-1", "barcode": "TOTE-1", "seq": HUGE}),
        ("scan", {"id": "h-2", "barcode": "TOTE-1", "offline": True, "pick_list_id": HUGE}),
        ("scan", {"id": "h-3", "barcode": "TOTE-1", "seq": 2**53}),
        ("print_result", {"id": "h-4", "job_id": HUGE, "ok": True}),
        ("seen", {"id": "h-5", "seq": HUGE}),
        ("action", {"id": "h-6", "action": "help", "step_id": HUGE}),
        ("action", {"id": "h-7", "action": "help", "pick_list_id": HUGE}),
        ("action", {"id": "h-8", "action": "short", "found": HUGE}),
        ("action", {"id": "h-9", "action": "help", "seq": -1}),
    ],
)
def test_integers_out_of_range_get_an_error_ack(floor, event, payload):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    before = counts(store)
    reply = refused(emit(picker, event, payload), "bad_message", payload["id"])
    assert reply["error"]["message"].split(":")[0] in payload
    assert counts(store) == before
    assert scan(picker, "TOTE-1", "after")["ok"]  # the link still works


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("event", ["scan", "action"])
def test_a_clock_that_is_not_a_number_gets_an_error_ack(floor, event, value):
    """Python's JSON encoder writes NaN and Infinity; they used to be taken, the clock lost."""
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    before = counts(store)
    payload = {"id": "nan-1", "at": value}
    payload |= {"barcode": "TOTE-1"} if event == "scan" else {"action": "help"}
    reply = refused(emit(picker, event, payload), "bad_message", "nan-1")
    assert reply["error"]["message"].startswith("at:")
    assert counts(store) == before


def test_a_huge_last_seen_seq_refuses_the_connect(floor):
    app, socketio, store, tokens = floor
    auth = {"token": tokens["picker"], "last_seen_seq": HUGE}
    client = socketio.test_client(app, namespace=NS, auth=auth)
    assert not client.is_connected(NS)
    assert store.one("SELECT out_seq FROM devices WHERE name = 'picker-e1'")["out_seq"] == 0


# ---------------------------------------------------------------- 9. seen a seq never issued
def test_seen_above_every_seq_issued_is_refused(floor):
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    last = states(picker)[-1]["seq"]
    before = counts(store)
    reply = refused(emit(picker, "seen", {"id": "n-1", "seq": 1_000_000}), "seq_not_issued", "n-1")
    assert str(last) in reply["error"]["message"]
    assert counts(store) == before
    # Numbering goes on from where it was.
    place(store, "shop-2", [("SKU-B", 1)])
    app.extensions["scanfloor.hub"].offer_work("WH-EAST")
    assert states(picker)[-1]["seq"] == last + 1
    # A seq that was issued is fine, and again (a repeat changes nothing).
    for n in ("n-2", "n-3"):
        assert emit(picker, "seen", {"id": n, "seq": last + 1}) == {
            "id": n,
            "ok": True,
            "error": None,
        }


def test_seen_up_to_the_last_seq_issued_forgets_the_events(floor):
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    last = states(picker)[-1]["seq"]
    assert emit(picker, "seen", {"id": "n-1", "seq": last})["ok"]
    row = store.one("SELECT out_seq, seen_seq FROM devices WHERE name = 'picker-e1'")
    assert row == {"out_seq": last, "seen_seq": last}
    assert store.one("SELECT COUNT(*) AS n FROM device_events")["n"] == 0


# ---------------------------------------------------------------- 11. protocol version
@pytest.mark.parametrize("version", [99, 0, 2])
def test_a_protocol_the_server_does_not_speak_refuses_the_connect(floor, version, monkeypatch):
    app, socketio, store, tokens = floor
    client = socketio.test_client(app, namespace=NS, auth={"token": tokens["picker"]})
    client.disconnect(NS)
    packets = []
    send = socketio.server._send_packet  # the test client's: keep a copy of what it is given
    monkeypatch.setattr(
        socketio.server, "_send_packet", lambda sid, pkt: (packets.append(pkt), send(sid, pkt))
    )
    client.connect(NS, auth={"token": tokens["picker"], "protocol": version})
    assert not client.is_connected(NS)
    assert [p.packet_type for p in packets] == [CONNECT_ERROR]  # no state, no replay
    refusals = [p.data for p in packets]
    assert f"protocol {version}" in refusals[0]["message"], refusals
    assert "speaks protocol 1" in refusals[0]["message"], refusals


def test_protocol_1_connects(floor):
    app, socketio, _, tokens = floor
    client = socketio.test_client(
        app, namespace=NS, auth={"token": tokens["picker"], "protocol": 1}
    )
    assert client.is_connected(NS)


# ---------------------------------------------------------------- packets the JSON decoder refuses
def emit_raw(client, data_json: str, ack_id: int = 7) -> dict | None:
    """Send an event packet exactly as written (a real client could), return its ack if any."""
    client.acks = None
    client.socketio.server._handle_eio_message(client.eio_sid, f"2{NS},{ack_id}{data_json}")
    return client.acks["args"][0] if client.acks else None


@pytest.mark.parametrize(
    ("data_json", "why"),
    [
        ('["scan", ' + "[" * 60000 + "]" * 60000 + "]", "nested"),
        ('["scan", {"id": "d-1", "barcode": ' + "[" * 5000 + "]" * 5000 + "}]", "nested"),
        ('["scan", {"id": "d-2", "barcode": "A", "seq": ' + "9" * 120 + "}]", "too large"),
        ('["scan", {"id": "d-3", "barcode": "A"', "not valid JSON"),
    ],
    ids=["nested-60000", "nested-in-a-field", "120-digit-integer", "cut"],
)
def test_a_message_the_json_decoder_refuses_gets_an_error_ack(floor, data_json, why):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    before = counts(store)
    reply = refused(emit_raw(picker, data_json), "bad_message")
    assert why in reply["error"]["message"], reply
    assert counts(store) == before
    assert scan(picker, "TOTE-1", "after")["ok"]  # the link still works
