"""The production form under gunicorn with scanfloor's worker class: its server is set up as
`scanfloor-server`'s, so new links wait for a handshake place there too."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import socketio

from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

pytestmark = pytest.mark.e2e


def _sign_in(base: str, token: str) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(
        base,
        namespaces=[NS],
        auth={"token": token, "last_seen_seq": 0},
        transports=["websocket"],
        wait_timeout=30,
    )
    return client


def test_under_gunicorn_new_links_wait_for_a_handshake_place(
    floor_store, floor_settings, gunicorn_server
):
    made = auth.create_devices(floor_store, auth.fleet_names("gun", 3), "picker", "WH-EAST")
    base = gunicorn_server(floor_settings.data_dir, env={"SCANFLOOR_HTTP__HANDSHAKES": "2"})
    port = int(base.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]  # both places
    signed: list[socketio.Client] = []
    waiting = threading.Thread(target=lambda: signed.append(_sign_in(base, made[0][1])))
    try:
        waiting.start()
        waiting.join(1.5)
        assert not signed, "a link signed in under gunicorn while every place was held"
        idle.pop().close()  # a place comes free: the waiting link takes it
        waiting.join(20)
        assert signed and signed[0].connected
        # Each sign-in gives its place up: two more at once through the one place left.
        started = time.monotonic()
        for _name, token in made[1:]:
            signed.append(_sign_in(base, token))
        assert time.monotonic() - started < 8, "a signed-in link kept its handshake place"
    finally:
        for s in idle:
            s.close()
        for c in signed:
            c.disconnect()
