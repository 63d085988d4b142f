"""Many handhelds signing in at once on the real server: their connects share commits, and
once the storm settles what it made is frozen out of the collector's sight."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import urllib.request

import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families

from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
DEVICES = 50  # loopwatch.SETTLE_CONNECTS: a storm worth freezing


def commits(base: str) -> float:
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "scanfloor_sqlite_commit_seconds_count":
                return s.value
    raise AssertionError("no commit count in /metrics")


def test_a_sign_in_storm_shares_commits_and_every_device_is_online(
    floor_store, floor_settings, server_proc
):
    made = auth.create_devices(floor_store, auth.fleet_names("storm", DEVICES), "picker", "WH-EAST")
    base = server_proc(floor_settings.data_dir, env={"SCANFLOOR_GC__SETTLE_SECONDS": "0.5"})
    before = commits(base)
    clients = [socketio.Client(reconnection=False) for _ in made]
    screens: list[dict] = []
    for c in clients:
        c.on("state", screens.append, namespace=NS)
    go = threading.Barrier(len(made))

    def sign_in(client: socketio.Client, token: str) -> None:
        go.wait()
        client.connect(
            base,
            namespaces=[NS],
            auth={"token": token, "last_seen_seq": 0},
            transports=["websocket"],
            wait_timeout=30,
        )

    threads = [
        threading.Thread(target=sign_in, args=(c, t))
        for c, (_n, t) in zip(clients, made, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert all(c.connected for c in clients)
        # Each connect writes once (the device online, its first screen); together they
        # went through the group commit, not one fsync on the loop apiece.
        assert commits(base) - before < DEVICES
        with sqlite3.connect(floor_settings.data_dir / "scanfloor.db") as db:
            online = db.execute(
                "SELECT COUNT(*) FROM devices WHERE name LIKE 'storm%' AND connected = 1"
            ).fetchone()[0]
        assert online == DEVICES  # committed before each connect was answered
        # No sign-in for 0.5 s after 50: the serving process froze what the storm made.
        deadline = time.monotonic() + 10
        while "sign-ins settled" not in server_proc.log(base) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"gc.freeze ({DEVICES} sign-ins settled)" in server_proc.log(base)
    finally:
        for c in clients:
            c.disconnect()


def _sign_in(
    base: str, token: str, timeout: float = 30, transports: tuple[str, ...] = ("websocket",)
) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(
        base,
        namespaces=[NS],
        auth={"token": token, "last_seen_seq": 0},
        transports=list(transports),
        wait_timeout=timeout,
    )
    return client


@pytest.mark.parametrize("form", ["scanfloor-server", "gunicorn"])
def test_new_links_wait_for_a_handshake_place_and_a_sign_in_gives_its_place_up(
    floor_store, floor_settings, request, form
):
    """`[http] handshakes`: at most so many connections in their handshake at once. A place is
    taken on accept and given up once the request is read (plain HTTP), or at the namespace's
    sign-in or refusal (a WebSocket), or when the connection ends. The same under gunicorn
    with scanfloor's worker class (server/runtime/gunicorn_worker.py)."""
    import requests

    made = auth.create_devices(floor_store, auth.fleet_names("gate", 6), "picker", "WH-EAST")
    serve = request.getfixturevalue(
        "server_proc" if form == "scanfloor-server" else "gunicorn_server"
    )
    base = serve(floor_settings.data_dir, env={"SCANFLOOR_HTTP__HANDSHAKES": "2"})
    port = int(base.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]  # both places
    signed: list[socketio.Client] = []
    waiting = threading.Thread(target=lambda: signed.append(_sign_in(base, made[0][1])))
    try:
        waiting.start()
        waiting.join(1.5)
        assert not signed, "a link signed in while every handshake place was held"
        idle.pop().close()  # a place comes free: the waiting link takes it
        waiting.join(20)
        assert signed and signed[0].connected
        # One place left (the other idle connection holds one). Each sign-in gives its place
        # up: five more one after the other, none waiting for a held place to time out (10 s).
        started = time.monotonic()
        for _name, token in made[1:]:
            signed.append(_sign_in(base, token))
        assert time.monotonic() - started < 8, "a signed-in link kept its handshake place"
        # A refused sign-in gives its place up too, and so does a plain request once read,
        # though its connection stays open (keep-alive).
        with pytest.raises(socketio.exceptions.ConnectionError):
            _sign_in(base, "not-a-token", timeout=5)
        session = requests.Session()
        assert session.get(base + "/metrics", timeout=10).status_code == 200
        assert session.get(base + "/metrics", timeout=10).status_code == 200
        again = _sign_in(base, made[0][1], timeout=10)  # the device's newer link
        signed.append(again)
        assert again.connected
        session.close()
    finally:
        for s in idle:
            s.close()
        for c in signed:
            c.disconnect()


def test_the_upgrade_of_a_polling_session_gives_its_handshake_place_up_at_once(
    floor_store, floor_settings, server_proc
):
    """A browser's board signs in over polling and then upgrades to a WebSocket: that upgrade
    opens no session, so it must not hold a place until HANDSHAKE_SECONDS (10 s) pass."""
    made = auth.create_devices(floor_store, auth.fleet_names("upg", 4), "picker", "WH-EAST")
    base = server_proc(floor_settings.data_dir, env={"SCANFLOOR_HTTP__HANDSHAKES": "2"})
    port = int(base.rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", port))  # holds one of the two places
    signed: list[socketio.Client] = []
    try:
        polled = _sign_in(base, made[0][1], transports=("polling", "websocket"))
        signed.append(polled)
        deadline = time.monotonic() + 10
        while polled.transport() != "websocket":
            assert time.monotonic() < deadline, "the polling session did not upgrade"
            time.sleep(0.05)
        started = time.monotonic()
        for _name, token in made[1:]:
            signed.append(_sign_in(base, token))
        assert time.monotonic() - started < 8, "the upgrade kept its handshake place"
    finally:
        idle.close()
        for c in signed:
            c.disconnect()
