"""Many handhelds signing in at once on the real server: their connects share commits, and
once the storm settles what it made is frozen out of the collector's sight."""

from __future__ import annotations

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
