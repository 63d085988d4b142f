"""Several server processes behind nginx, joined by Redis: `scanfloor serve-cluster`, all real.

Two server processes, real nginx in front, a private redis-server on a free
port. A handheld (the real device process, serial scanner on a pty) reaches the
site through nginx and lands on one process, A; the board and bare Socket.IO
pickers connect straight to A's and B's ports so each path is known. Then: a
scan on A shows on a board on B; `scanfloor allocate` and a REST order posted
to B wake idle pickers on A without a reconnect; A is killed with SIGKILL and
the handheld carries on through nginx on another process within 10 s, nothing its
journal holds as acknowledged lost and nothing doubled in the database, while the
links A held are cleared. That test runs on SQLite and on PostgreSQL (`serve-cluster
--database URL`: every process, the worker and the start-up migration on it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio
from dbkit import read_all
from floorkit import BOARD_PASSWORD, cookie_header, http_login, order_body, place
from handheld import Handheld, server_scans
from prockit import children, runs

from scripts.demo.procs import free_port
from server.capture import orders
from server.core.schemas import OrderIn
from server.people import auth, users
from server.runtime import cluster
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[3]
SCANFLOOR = Path(sys.executable).parent / "scanfloor"
PICKERS = ("picker-a", "picker-w", "picker-r", "picker-n")


def _skip_without_binaries() -> None:
    for name, candidates in (
        ("nginx", cluster.NGINX_CANDIDATES),
        ("redis-server", cluster.REDIS_CANDIDATES),
    ):
        if cluster.find_binary(candidates) is None:
            pytest.skip(f"{name} is not installed (apt-get install -y {name})")


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.02)


class Picker:
    """A bare Socket.IO picker on one process's port; keeps every `state` it is sent."""

    def __init__(self, base: str, token: str):
        self.states: list[dict] = []
        self.connects = 0
        self.client = socketio.Client(reconnection=False)
        self.client.on("state", self.states.append, namespace=DEVICE_NAMESPACE)
        self.client.on("connect", self._connected, namespace=DEVICE_NAMESPACE)
        self.client.connect(
            base,
            namespaces=[DEVICE_NAMESPACE],
            auth={"token": token, "last_seen_seq": 0},
            transports=["websocket"],
        )
        wait_until(lambda: self.states, 10, "first state")

    def _connected(self) -> None:
        self.connects += 1

    def scan(self, barcode: str, msg_id: str) -> dict:
        return self.client.call(
            "scan", {"id": msg_id, "barcode": barcode}, namespace=DEVICE_NAMESPACE, timeout=10
        )

    def screen(self) -> str:
        return self.states[-1]["state"]["screen"]


class Board:
    """A board on one process's port, logged in as a supervisor; keeps (time, event, payload)
    of what it is sent."""

    def __init__(self, base: str, transports: tuple[str, ...] = ("websocket",)):
        # Sessions are signed with the site's secret key: a log-in on one process opens all.
        cookie = cookie_header(http_login(base, "sup"))
        self.got: list[tuple[float, str, dict]] = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for event in ("snapshot", "delta"):
            self.client.on(event, self._keep(event), namespace=BOARD_NAMESPACE)
        self.client.connect(
            base,
            namespaces=[BOARD_NAMESPACE],
            transports=list(transports),
            headers={"Cookie": cookie},
        )

    def _keep(self, event: str):
        def keep(payload: dict) -> None:
            with self.lock:
                self.got.append((time.monotonic(), event, payload))

        return keep

    def device_seen(self, name: str, after: float, scans: int) -> tuple[float, str] | None:
        """When (and in which event) the board first showed the device with `scans` scans."""
        with self.lock:
            for at, event, payload in self.got:
                rows = [d for d in payload.get("devices", ()) if d["name"] == name]
                if at >= after and rows and rows[0]["scans"] >= scans:
                    return at, event
        return None

    def no_snapshot_for(self, seconds: float) -> bool:
        """No whole snapshot for `seconds` (deltas go on: a keep-alive at least every 1.5 s)."""
        with self.lock:
            snapshots = [at for at, event, _ in self.got if event == "snapshot"]
            return bool(snapshots) and time.monotonic() - snapshots[-1] >= seconds


@pytest.fixture
def site(floor_store, floor_settings, tmp_path):
    """The cluster on the small floor: a handheld's list placed, four pickers enrolled."""
    _skip_without_binaries()
    place(floor_store, "hand-1", [("SKU-B", 3), ("SKU-A", 2)])
    tokens = {name: auth.create_device(floor_store, name, "picker", "WH-EAST") for name in PICKERS}
    key = auth.create_api_key(floor_store, "t")
    users.add(floor_store, "sup", "supervisor", BOARD_PASSWORD)
    with cluster.private_redis(tmp_path / "redis") as redis_url:
        state_file = tmp_path / "cluster.json"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SCANFLOOR_CONFIG": str(tmp_path / "no-config.toml"),
            "SCANFLOOR_SQLITE_SYNCHRONOUS": "NORMAL",
        }
        port = free_port()
        log = (tmp_path / "cluster.log").open("wb")
        proc = subprocess.Popen(
            [str(SCANFLOOR), "serve-cluster", "--processes", "2", "--port", str(port)]
            + ["--data-dir", str(floor_settings.data_dir), "--redis-url", redis_url]
            + ["--log-dir", str(tmp_path / "logs"), "--state-file", str(state_file)]
            + ["--database", floor_settings.database],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: state_file.exists() or proc.poll() is not None, 60, "cluster")
            assert proc.poll() is None, (tmp_path / "cluster.log").read_text()
            yield {
                "state": json.loads(state_file.read_text()),
                "state_file": state_file,
                "tokens": tokens,
                "headers": {"Authorization": f"Bearer {key}"},
                "redis_url": redis_url,
                "env": env,
                "data_dir": floor_settings.data_dir,
                "db": floor_settings.database,
                "store": floor_store,
                "home": tmp_path,
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    assert proc.returncode == 0, (tmp_path / "cluster.log").read_text()[-3000:]


def _owner(site, name: str) -> str | None:
    (row,) = read_all(site["db"], "SELECT link_owner FROM devices WHERE name = ?", (name,))
    return row["link_owner"]


def _pick_list(base: str, headers: dict, device: str) -> dict:
    lists = requests.get(f"{base}/api/pick-lists", headers=headers, timeout=5).json()
    (pl,) = [p for p in lists["pick_lists"] if p.get("device") == device]
    return requests.get(f"{base}/api/pick-lists/{pl['id']}", headers=headers, timeout=5).json()


@pytest.mark.e2e_postgresql  # the servers then hold no state: the point of PostgreSQL
def test_two_processes_behind_nginx_act_as_one_site(site):
    state, headers, tokens = site["state"], site["headers"], site["tokens"]
    nginx_url = state["url"]

    # A handheld through nginx: the process it lands on is A.
    hand = Handheld(site["home"], "picker-n", nginx_url, tokens["picker-n"]).start()
    try:
        hand.wait_for(lambda x: "SCAN AN EMPTY TOTE" in x.instruction, 30, what="tote")
        owner = _owner(site, "picker-n")
        a_pid = int(owner.split(":")[1])
        (a,) = [p for p in state["processes"] if p["pid"] == a_pid]
        (b,) = [p for p in state["processes"] if p["pid"] != a_pid]

        # A scan on A shows on a board on B within a second.
        board = Board(b["url"])
        wait_until(lambda: board.got, 10, "board snapshot")
        r = requests.post(
            f"{b['url']}/api/orders", json=order_body("board-1", [("SKU-B", 1)]), headers=headers
        )
        assert r.status_code == 201, r.text
        picker_a = Picker(a["url"], tokens["picker-a"])
        # "Connected" comes first, then the list handed out after the connect.
        wait_until(lambda: picker_a.screen() == "pick_tote", 5, "work on connect")
        # Whole-board snapshots (the order, the new board) go out at most every 2 s: once none
        # has come for that long, nothing is pending and the scan comes as a delta.
        wait_until(lambda: board.no_snapshot_for(2.1), 10, "no snapshot pending")
        scanned = time.monotonic()
        reply = picker_a.scan("TOTE-1", "a-1")
        answered = time.monotonic()
        assert reply["ok"] and reply["code"] == "tote_ok", reply
        shown, kind = wait_until(
            lambda: board.device_seen("picker-a", scanned, 1), 5, "scan on board"
        )
        assert kind == "delta"
        print(
            f"a scan on A (answered in {(answered - scanned) * 1000:.0f} ms) reached the board "
            f"on B {(shown - scanned) * 1000:.0f} ms after it was made"
        )
        assert shown - scanned < 1.0

        # A browser's board starts with long-polling, then upgrades: through nginx, every
        # request of its session reaches the process that opened it.
        polled = Board(nginx_url, transports=("polling", "websocket"))
        wait_until(lambda: polled.got, 10, "a snapshot through nginx")
        wait_until(lambda: polled.client.transport() == "websocket", 10, "the upgrade")
        polled.client.disconnect()

        # `scanfloor allocate` wakes an idle picker on A: a pick list, no reconnect.
        picker_w = Picker(a["url"], tokens["picker-w"])
        assert picker_w.screen() == "idle"
        orders.capture(site["store"], OrderIn.model_validate(order_body("cli-1", [("SKU-B", 1)])))
        done = subprocess.run(
            [str(SCANFLOOR), "allocate", "--data-dir", str(site["data_dir"])],
            env={**site["env"], "SCANFLOOR_REDIS_URL": site["redis_url"]},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        wait_until(lambda: picker_w.screen() == "pick_tote", 5, "work after allocate")
        assert picker_w.connects == 1

        # A REST order on B wakes an idle picker on A (B hands it out, A delivers it).
        picker_r = Picker(a["url"], tokens["picker-r"])
        assert picker_r.screen() == "idle"
        r = requests.post(
            f"{b['url']}/api/orders", json=order_body("rest-1", [("SKU-A", 1)]), headers=headers
        )
        assert r.status_code == 201, r.text
        wait_until(lambda: picker_r.screen() == "pick_tote", 5, "work after a REST order on B")
        assert picker_r.connects == 1

        # The handheld picks on A; A is killed; it carries on through nginx elsewhere.
        pl = _pick_list(nginx_url, headers, "picker-n")
        pens, mugs = pl["steps"]
        hand.scan("TOTE-0042")
        hand.scan(pens["location_barcode"])
        hand.scan("0012345678905")
        os.kill(a_pid, signal.SIGKILL)
        killed = time.monotonic()
        for code in ("0012345678905", "0012345678905", mugs["location_barcode"]):
            hand.scan(code)
        hand.scan("4006381333931")
        last = hand.scan("4006381333931")
        assert "LIST DONE" in last.instruction, last.text
        wait_until(lambda: _owner(site, "picker-n") not in (None, owner), 30, "a new link")
        mark = len(hand.lines())
        hand.wait_for(lambda x: x.link == "online", 5, max(0, mark - 1), what="online")
        wait_until(lambda: not hand.screen().waiting and len(hand.journal()) == 8, 30, "caught up")
        wait_until(lambda: all(j["acked_at"] for j in hand.journal()), 30, "every scan acked")
        back = time.monotonic() - killed
        print(f"the handheld caught up {back:.1f} s after A was killed")
        assert back < 10, f"the handheld took {back:.1f} s to carry on on B (bound: 10 s)"
        assert hand.lines()[-1].link == "online"

        # Nothing acknowledged is lost, nothing doubled: every scan the device's journal
        # holds as acknowledged is in the database once, in the journal's order.
        journal = hand.journal()
        acked = [j["msg_id"] for j in journal if j["kind"] == "scan" and j["acked_at"]]
        audit = [r["msg_id"] for r in server_scans(site["db"], "picker-n")]
        assert len(acked) == len(journal) == 8, "a scan was never acknowledged"
        assert audit == acked and len(set(audit)) == 8
        done_list = _pick_list(nginx_url, headers, "picker-n")
        assert done_list["status"] == "picked", done_list
        assert [(s["picked"], s["qty"]) for s in done_list["steps"]] == [(3, 3), (2, 2)]

        # The links A held (its bare pickers do not reconnect) are no longer "connected".
        def cleared() -> bool:
            rows = read_all(
                site["db"],
                "SELECT name, connected FROM devices WHERE name IN (?, ?, ?)",
                ("picker-a", "picker-w", "picker-r"),
            )
            return all(r["connected"] == 0 for r in rows)

        wait_until(cleared, 10, "A's links cleared")
        # serve-cluster started A again on its port.
        wait_until(
            lambda: any(
                p["port"] == a["port"] and p["pid"] not in (None, a_pid)
                for p in json.loads(site["state_file"].read_text())["processes"]
            ),
            20,
            "A started again",
        )
        wait_until(lambda: _answers(a["url"]), 30, "A answering again")
        for client in (board.client, picker_a.client, picker_w.client, picker_r.client):
            client.disconnect()
    finally:
        hand.stop()
    assert "Traceback" not in hand.log.read_text(), hand.log.read_text()[-3000:]


def test_one_worker_runs_for_the_whole_cluster_and_is_started_again(site):
    state = site["state"]
    worker = state["worker_pid"]
    assert worker and runs(worker)
    # The servers start none of their own: the cluster's one worker plans and delivers.
    for p in state["processes"]:
        assert children(p["pid"]) == [], p
    os.kill(worker, signal.SIGKILL)
    again = wait_until(
        lambda: (
            json.loads(site["state_file"].read_text()).get("worker_pid") not in (None, worker)
            and json.loads(site["state_file"].read_text())["worker_pid"]
        ),
        20,
        "the worker started again",
    )
    wait_until(lambda: runs(again), 5, "the new worker running")
    assert all(children(p["pid"]) == [] for p in state["processes"])


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/api/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False
