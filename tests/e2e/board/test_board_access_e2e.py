"""Who opens the board, against the real server process: Chromium logs in; a wrong password
and a missing CSRF token are refused; a picker's log-in, a device token and a foreign origin
open neither the board nor its socket; revoking a device cuts its link."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import socketio
import websocket
from floorkit import BOARD_PASSWORD, cookie_header, http_login, place

from server.people import users
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
REPO_CLI = [str(Path(sys.executable).with_name("scanfloor"))]


@pytest.fixture
def live(floor_store, floor_tokens, floor_settings, server_proc):
    place(floor_store, "shop-1", [("SKU-B", 1)])
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    users.add(floor_store, "pia", "picker", BOARD_PASSWORD)
    base = server_proc(floor_settings.data_dir)
    return base, floor_tokens, floor_settings


def _board(
    base: str, headers: dict[str, str] | None = None, auth=None
) -> tuple[socketio.Client, list]:
    """Open /board over a real WebSocket; returns the client and what it was sent."""
    got: list = []
    client = socketio.Client(reconnection=False)
    client.on("snapshot", got.append, namespace=BOARD_NAMESPACE)
    client.connect(
        base,
        namespaces=[BOARD_NAMESPACE],
        transports=["websocket"],
        headers=headers or {},
        auth=auth,
        wait_timeout=5,
    )
    return client, got


def _refused(base: str, **kw) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        client, got = _board(base, **kw)
        client.disconnect()
        assert not got


def test_a_supervisors_session_opens_the_socket_only_from_its_own_origin(live):
    base, _, _ = live
    cookie = cookie_header(http_login(base, "sam"))
    client, got = _board(base, headers={"Cookie": cookie})
    try:
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got and "devices" in got[0]
    finally:
        client.disconnect()
    # The same session cookie from a page on another site: the WebSocket handshake is
    # refused before any data.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            origin="http://evil.example",
            header=[f"Cookie: {cookie}"],
            timeout=5,
        )
    assert refused.value.status_code == 400
    # The same handshake from the server's own origin is let in.
    ws = websocket.create_connection(
        base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
        origin=base,
        header=[f"Cookie: {cookie}"],
        timeout=5,
    )
    assert ws.recv().startswith("0{")  # Engine.IO's open packet
    ws.close()
    # Polling too (Engine.IO's first request carries the Origin).
    resp = requests.get(
        f"{base}/socket.io/?EIO=4&transport=polling",
        headers={"Cookie": cookie, "Origin": "http://evil.example"},
        timeout=5,
    )
    assert resp.status_code == 400 and "snapshot" not in resp.text


def test_no_session_a_pickers_session_or_a_device_token_open_nothing(live):
    base, tokens, _ = live
    _refused(base)
    _refused(base, auth={"token": tokens["picker"]})
    picker = http_login(base, "pia")
    _refused(base, headers={"Cookie": cookie_header(picker)})
    page = picker.get(f"{base}/board", timeout=5)
    assert page.status_code == 403 and "no board access" in page.text
    key_only = requests.get(f"{base}/board", allow_redirects=False, timeout=5)
    assert key_only.status_code == 302 and key_only.headers["Location"].startswith("/login")


def test_devices_still_connect_with_or_without_an_origin(live):
    base, tokens, _ = live
    for transports in (["websocket"], ["polling"]):
        device = socketio.Client(reconnection=False)
        device.connect(
            base,
            namespaces=[DEVICE_NAMESPACE],
            auth={"token": tokens["packer"], "last_seen_seq": 0},
            transports=transports,
            wait_timeout=5,
        )
        assert device.connected
        device.disconnect()


def test_revoking_a_device_cuts_its_link_at_once(live):
    base, tokens, settings = live
    device = socketio.Client(reconnection=False)
    device.connect(
        base,
        namespaces=[DEVICE_NAMESPACE],
        auth={"token": tokens["picker"], "last_seen_seq": 0},
        transports=["websocket"],
        wait_timeout=5,
    )
    assert device.connected
    out = subprocess.run(
        [*REPO_CLI, "device", "revoke", "picker-e1", "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"SCANFLOOR_CONFIG": "/nonexistent.toml", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "pick list back in the queue" in out.stdout
    deadline = time.monotonic() + 5
    while device.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not device.connected
    reasons: list = []
    again = socketio.Client(reconnection=False)
    again.on("connect_error", reasons.append, namespace=DEVICE_NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(
            base,
            namespaces=[DEVICE_NAMESPACE],
            auth={"token": tokens["picker"]},
            transports=["websocket"],
            wait_timeout=5,
        )
    assert reasons and "revoked" in str(reasons[0])
