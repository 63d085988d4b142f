"""A synchronous PostgreSQL standby takes over a dead primary: nothing acknowledged is lost.

All real: two PostgreSQL clusters of the machine's own binaries on free loopback ports
(scripts/standby.py: a primary with `synchronous_standby_names`, a standby made by
`pg_basebackup -R`, streaming and synchronous), a scanfloor server whose database URL
names both hosts with `target_session_attrs=read-write`, the real device process with a
serial scanner on a pty, and beside it a bare Socket.IO picker scanning without a pause.
The primary's processes are all SIGKILLed mid-pick, the standby is promoted with
`pg_ctl promote`, and the server's store connects again to the new primary on its own.
Every scan either device had an answer for is on the promoted standby, once; the handheld
is answered by the server again within 10 s of the kill (measured).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
import socketio
from floorkit import place, small_catalogue
from handheld import Handheld

from scripts import standby
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store
from shared.protocol import DEVICE_NAMESPACE

WHY_NOT = standby.unavailable()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgresql,
    pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or ""),
]
BACK_WITHIN = 10.0  # seconds from the kill until the handheld is answered by the server again


@pytest.fixture
def pair(tmp_path):
    """A primary and its synchronous standby, stopped and removed after the test."""
    # As root the clusters run as `postgres`, who cannot enter pytest's root-only tmp_path:
    # they get a folder of their own under /tmp instead.
    root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="scanfloor-standby-")) if root else tmp_path / "pg"
    made = standby.PgPair(base)
    try:
        yield made.start()
    finally:
        made.stop(mode="immediate")  # thrown away: no checkpoint to wait for
        for node in (made.primary, made.standby):
            node.kill()  # whatever is left (nothing, when the stops went well)
        if root:
            shutil.rmtree(base, ignore_errors=True)


class Scanner:
    """A bare Socket.IO picker scanning one new id after another from a thread; keeps the ids
    the server answered and when (wall clock)."""

    def __init__(self, base: str, token: str):
        self.answered: list[tuple[float, str]] = []
        self.sent = 0
        self._stop = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.connect(
            base,
            namespaces=[DEVICE_NAMESPACE],
            auth={"token": token, "last_seen_seq": 0},
            transports=["websocket"],
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sent += 1
            msg_id = f"bare-{self.sent}"
            try:
                reply = self.client.call(
                    "scan",
                    {"id": msg_id, "barcode": "9501101530003"},
                    namespace=DEVICE_NAMESPACE,
                    timeout=1,
                )
            except socketio.exceptions.TimeoutError:
                continue  # not answered: it may or may not have been applied
            if isinstance(reply, dict) and reply.get("id") == msg_id:
                self.answered.append((time.time(), msg_id))
            self._stop.wait(0.02)

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self.thread.join(10)
            self.client.disconnect()


def _on(node: standby.Node, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(node.url(), autocommit=True, connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def _scans(node: standby.Node, device: str) -> list[str]:
    """The server's audit of one device's scans (message ids) on that cluster, in order."""
    return [
        r[0]
        for r in _on(
            node,
            "SELECT s.msg_id FROM scans s JOIN devices d ON d.id = s.device_id "
            "WHERE d.name = %s ORDER BY s.id",
            (device,),
        )
    ]


def test_a_promoted_standby_has_every_acknowledged_scan(pair, server_proc, tmp_path):
    url = pair.url()
    store = open_store(url)
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    place(store, "shop-1", [("SKU-A", 3), ("SKU-B", 3)])
    hand_token = auth.create_device(store, "picker-e1", "picker", "WH-EAST")
    bare_token = auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    headers = {"Authorization": f"Bearer {auth.create_api_key(store, 't')}"}
    store.close()
    base = server_proc(
        tmp_path / "data",
        env={
            "SCANFLOOR_DATABASE_URL": url,
            "SCANFLOOR_WORKER__WITH_SERVER": "false",
            "SCANFLOOR_CONFIG": str(tmp_path / "no-config.toml"),
        },
    )
    home = tmp_path / "device"
    home.mkdir()
    hand = Handheld(home, "picker-e1", base, hand_token).start()
    bare = None
    try:
        hand.wait_for(lambda x: "SCAN AN EMPTY TOTE" in x.instruction, 30, what="tote")
        r = requests.get(f"{base}/api/pick-lists", headers=headers, timeout=5)
        (pl,) = r.json()["pick_lists"]
        r = requests.get(f"{base}/api/pick-lists/{pl['id']}", headers=headers, timeout=5)
        pens, mugs = r.json()["steps"]
        hand.scan("TOTE-0042")
        hand.scan(pens["location_barcode"])
        assert hand.scan("0012345678905").link == "online"
        bare = Scanner(base, bare_token)
        deadline = time.monotonic() + 10
        while len(bare.answered) < 20:
            assert time.monotonic() < deadline, "the bare picker got no answers"
            time.sleep(0.02)
        assert pair.replication()[0][1:3] == ("streaming", "sync"), pair.replication()

        # The primary dies mid-scan: every one of its processes SIGKILLed at once.
        killed = time.time()
        pair.primary.kill()
        assert not pair.primary.processes()
        hand.scan("0012345678905")  # judged on the device (offline verdict), sent again later
        promote_took = pair.standby.promote()
        hand.scan("0012345678905")
        hand.scan(mugs["location_barcode"])
        for _ in range(3):
            last = hand.scan("4006381333931")
        assert "LIST DONE" in last.instruction, last.text

        def caught_up() -> bool:
            journal = hand.journal()
            return len(journal) == 9 and all(j["acked_at"] for j in journal)

        deadline = time.monotonic() + 30
        while not caught_up():
            waiting = [j["barcode"] for j in hand.journal() if not j["acked_at"]]
            assert time.monotonic() < deadline, f"never acknowledged: {waiting}"
            time.sleep(0.05)
        bare.stop()
        journal = hand.journal()
        back = min(j["acked_at"] for j in journal if j["at"] >= killed) - killed
        # The longest wait between two answers to the bare picker, which never pauses.
        times = [at for at, _ in bare.answered]
        bare_gap = max(b - a for a, b in itertools.pairwise(times))
        caught = max(j["acked_at"] for j in journal) - killed
        print(
            f"promote took {promote_took:.2f} s; after the kill the handheld was answered again "
            f"in {back:.2f} s (all 9 scans acknowledged in {caught:.2f} s); a bare picker "
            f"scanning without a pause waited at most {bare_gap:.2f} s for an answer "
            f"({len(bare.answered)} answered)"
        )

        # Every acknowledged scan is on the promoted standby, once and in order: those
        # acknowledged before the kill came to it by synchronous replication.
        # (The old primary's port is closed: `pair.standby` is the only database now.)
        assert [j["msg_id"] for j in journal] == _scans(pair.standby, "picker-e1")
        bare_audit = _scans(pair.standby, "picker-e2")
        on_standby = set(bare_audit)
        lost = [m for _, m in bare.answered if m not in on_standby]
        assert not lost, f"{len(lost)} acknowledged scans lost: {lost[:5]}"
        assert len(bare_audit) == len(on_standby), "a bare scan applied twice"
        assert sum(at < killed for at, _ in bare.answered) >= 20
        (status,) = _on(pair.standby, "SELECT status FROM pick_lists WHERE id = %s", (pl["id"],))
        assert status == ("picked",)
        assert back <= BACK_WITHIN, f"the handheld was answered again only {back:.1f} s after"
    finally:
        if bare is not None:
            bare.stop()
        hand.stop()
    assert "Traceback" not in hand.log.read_text(), hand.log.read_text()[-3000:]
