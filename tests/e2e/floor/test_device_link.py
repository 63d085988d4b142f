"""The /device link on the real server: tokens, oversized and garbled messages."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio
from floorkit import place

from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


@pytest.fixture
def live(floor_store, floor_tokens, floor_settings, server_proc):
    place(floor_store, "shop-1", [("SKU-B", 1)])
    key = auth.create_api_key(floor_store, "t")
    base = server_proc(floor_settings.data_dir)
    return base, {"Authorization": f"Bearer {key}"}, floor_tokens


def connect(base: str, token: str) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(
        base, namespaces=[NS], auth={"token": token, "last_seen_seq": 0}, transports=["websocket"]
    )
    return client


def test_wrong_token_is_refused_with_a_reason(live):
    base, _, _ = live
    client = socketio.Client(reconnection=False)
    reasons = []
    client.on("connect_error", reasons.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            base, namespaces=[NS], auth={"token": "sfd_wrong-token"}, transports=["websocket"]
        )
    assert reasons and "unknown device token" in str(reasons[0])


def test_oversized_message_is_refused_and_changes_nothing(live):
    base, headers, tokens = live
    client = connect(base, tokens["picker"])
    stats = requests.get(f"{base}/api/stats", headers=headers, timeout=5).json()
    client.emit("scan", {"id": "big", "barcode": "A" * 200_000}, namespace=NS)
    deadline = time.monotonic() + 10
    while client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.connected  # the transport drops a link that sends more than it may
    assert requests.get(f"{base}/api/stats", headers=headers, timeout=5).json() == stats
    # The server is unharmed: the same device connects again and scans.
    again = connect(base, tokens["picker"])
    reply = again.call("scan", {"id": "ok-1", "barcode": "TOTE-5"}, namespace=NS, timeout=5)
    assert reply["ok"] and reply["code"] == "tote_ok"
    garbled = again.call("scan", {"id": "g-1", "barcode": 42}, namespace=NS, timeout=5)
    assert garbled["ok"] is False and garbled["error"]["code"] == "bad_message"
    again.disconnect()


def test_a_device_may_answer_its_first_events_from_their_handlers(live):
    """Replayed events and the first screen come after the namespace CONNECT, not before it."""
    base, _, tokens = live
    client = socketio.Client(reconnection=False)
    answered, failures = [], []

    def on_state(data: dict) -> None:
        try:  # python-socketio refuses to emit on a namespace it does not hold yet
            client.emit("seen", {"id": f"n{data['seq']}", "seq": data["seq"]}, namespace=NS)
            answered.append((data["seq"], data["state"]["screen"]))
        except Exception as exc:
            failures.append(repr(exc))

    client.on("state", on_state, namespace=NS)
    client.connect(
        base, namespaces=[NS], auth={"token": tokens["picker"], "last_seen_seq": 0},
        transports=["websocket"],
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while not answered and not failures and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    assert failures == []
    assert answered[0] == (1, "pick_tote")  # the first screen already holds the list handed out


def send_raw(client: socketio.Client, data_json: str, timeout: float = 5.0) -> list | None:
    """Send one /device event packet exactly as written (after `2/device,<ack id>`), as any
    Socket.IO client could; the ack's arguments, or None when none came."""
    answered = threading.Event()
    got: list = []
    ack_id = client._generate_ack_id(NS, lambda *args: (got.extend(args), answered.set()))
    client.eio.send(f"2{NS},{ack_id}{data_json}")
    return got if answered.wait(timeout) else None


NOT_ONE_EVENT = {
    "no message": '["scan"]',
    "two messages": '["scan",{"id":"x-1","barcode":"TOTE-5"},{"id":"x-2"}]',
    "seen without its message": '["seen"]',
    "no data at all": "",
    "no event name": "[]",
    "an object": '{"event":"scan"}',
    "a string": '"scan"',
    "a name that is not a string": '[42,{"id":"x-3","barcode":"TOTE-5"}]',
}


def test_a_packet_that_is_not_one_event_with_one_message_gets_an_error_ack(live):
    """docs/protocol.md, Error acks: every event the server cannot take is answered, never met
    with silence, and changes nothing; the link goes on."""
    base, headers, tokens = live
    client = connect(base, tokens["picker"])
    stats = requests.get(f"{base}/api/stats", headers=headers, timeout=5).json()
    for what, data_json in NOT_ONE_EVENT.items():
        got = send_raw(client, data_json)
        assert got is not None, f"{what}: no acknowledgement at all"
        (reply,) = got
        assert reply["ok"] is False and reply["error"]["code"] == "bad_message", (what, reply)
        assert reply["error"]["message"] and "state" not in reply, (what, reply)
        assert client.connected, what
    assert requests.get(f"{base}/api/stats", headers=headers, timeout=5).json() == stats
    scanned = client.call("scan", {"id": "ok-1", "barcode": "TOTE-5"}, namespace=NS, timeout=5)
    assert scanned["ok"] and scanned["code"] == "tote_ok"
    client.disconnect()


def test_an_event_before_a_successful_connect_gets_not_connected(live):
    """docs/protocol.md: a message before a successful connect gets the error ack
    `not_connected` (python-socketio itself dropped an event on a namespace the link had
    not joined: no answer at all), and changes nothing."""
    base, headers, tokens = live
    stats = requests.get(f"{base}/api/stats", headers=headers, timeout=5).json()
    client = socketio.Client(reconnection=False)
    client.connect(base, namespaces=["/"], transports=["websocket"])  # never joins /device
    got = send_raw(client, '["scan",{"id":"nc-1","barcode":"TOTE-5"}]')
    assert got == [
        {
            "id": "nc-1",
            "ok": False,
            "error": {"code": "not_connected", "message": "connect with a device token first"},
        }
    ], got
    client.eio.send(f'0{NS},{{"token":"sfd_wrong-token"}}')  # a connect the server refuses
    time.sleep(0.5)
    got = send_raw(client, '["action",{"id":"nc-2","action":"help"}]')
    assert got and got[0]["error"]["code"] == "not_connected", got
    assert requests.get(f"{base}/api/stats", headers=headers, timeout=5).json() == stats
    client.disconnect()
