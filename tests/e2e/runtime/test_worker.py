"""The worker process, all real: planning, leases, start and restart beside the server.

The server and the worker run as their own processes on one SQLite file; a packer's
Socket.IO client scans all along. The worker is SIGKILLed between computing a cart
and writing it (the `worker.plan_pause_seconds` hook): nothing half-planned stays, the
next worker plans the cart, and the scans never stop. `scanfloor-server` starts its
worker, starts it again after a SIGKILL, and takes it down with itself. A list given
back by the worker's lease sweep reaches an idle picker through the change log (no Redis).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import socketio
from dbkit import read_all
from floorkit import order_body, place
from prockit import children, runs

from server.capture import orders
from server.core.schemas import CatalogueIn, OrderIn
from server.inventory import catalogue
from server.people import auth
from server.runtime import cluster
from shared.protocol import DEVICE_NAMESPACE as NS

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[3]
NO_WORKER = {"SCANFLOOR_WORKER__WITH_SERVER": "false"}


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def start_worker(data_dir: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server.runtime.worker", "--data-dir", str(data_dir)],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def floor_rows(db: str | Path) -> dict:
    """What planning touches: every list, its totes and its steps (`db`: the SQLite file or
    the database URL)."""

    def rows(query: str) -> list[tuple]:
        return [tuple(r.values()) for r in read_all(db, query)]

    return {
        "lists": rows("SELECT id, status, planned, route_m FROM pick_lists ORDER BY id"),
        "totes": rows(
            "SELECT pick_list_id, order_id, position FROM pick_list_totes ORDER BY order_id"
        ),
        "steps": rows("SELECT id, pick_list_id, seq, order_id, qty FROM pick_steps ORDER BY id"),
    }


def assert_whole(db: str | Path, orders: list[str], units: int = 1) -> None:
    """Every order in exactly one list with all its units; each list's steps in one walk."""
    rows = floor_rows(db)
    lists = {r[0] for r in rows["lists"]}
    assert sorted(o for _, o, _ in rows["totes"]) == sorted(orders)
    assert {lid for lid, _, _ in rows["totes"]} == lists  # no list without an order
    for lid in lists:
        positions = sorted(p for l_, _, p in rows["totes"] if l_ == lid)
        assert positions == list(range(1, len(positions) + 1))
        seqs = sorted(s for _, l_, s, _, _ in rows["steps"] if l_ == lid)
        assert seqs == list(range(1, len(seqs) + 1)), (lid, seqs)
        in_list = {o for l_, o, _ in rows["totes"] if l_ == lid}
        assert {o for _, l_, _, o, _ in rows["steps"] if l_ == lid} == in_list
    assert sum(q for *_, q in rows["steps"]) == units * len(orders)  # none lost, none doubled


class Scanner(threading.Thread):
    """A packer that scans all along and notes when each ack came."""

    def __init__(self, base: str, token: str):
        super().__init__(daemon=True)
        self.client = socketio.Client(reconnection=False)
        self.client.connect(
            base, namespaces=[NS], auth={"token": token, "last_seen_seq": 0},
            transports=["websocket"],
        )  # fmt: skip
        self.acks: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                reply = self.client.call(
                    "scan", {"id": f"s{n}", "barcode": "NOT-A-TOTE"}, namespace=NS, timeout=5
                )
                assert reply["id"] == f"s{n}", reply
                self.acks.append(time.monotonic())
            except Exception as exc:  # noted, the test fails on it
                self.errors.append(repr(exc))
            time.sleep(0.02)

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        self.client.disconnect()

    def longest_gap(self) -> float:
        return max(b - a for a, b in zip(self.acks, self.acks[1:], strict=False))


@pytest.fixture
def site(floor_store, floor_tokens, floor_settings, tmp_path):
    """Eight one-unit orders in WH-EAST, each its own list; a picker whose cart takes six."""
    orders = [place(floor_store, f"w-{i}", [("SKU-B", 1)]) for i in range(8)]
    return floor_settings.data_dir, floor_tokens, orders


@pytest.mark.e2e_postgresql
def test_worker_killed_mid_plan_leaves_nothing_half_planned_and_scans_go_on(
    site, floor_settings, server_proc, tmp_path
):
    data, tokens, orders = site
    db = floor_settings.database
    base = server_proc(data, env=NO_WORKER)
    scanner = Scanner(base, tokens["packer"])
    scanner.start()
    log = tmp_path / "worker-a.log"
    before = floor_rows(db)
    assert all(planned is None for _, _, planned, _ in before["lists"])
    worker = start_worker(data, log, {"SCANFLOOR_WORKER__PLAN_PAUSE_SECONDS": "60"})
    try:
        wait_until(lambda: "computed; writing in" in log.read_text(), 30, "cart computed")
        time.sleep(0.3)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed_at = time.monotonic()
    # Computed but never written: the floor is as it was, every order whole.
    assert floor_rows(db) == before
    assert_whole(db, orders)

    # The next worker picks up: the cart is planned, written whole.
    again = start_worker(data, tmp_path / "worker-b.log")
    try:
        planned = wait_until(
            lambda: [r for r in floor_rows(db)["lists"] if r[2] is not None], 30, "planned cart"
        )
    finally:
        again.terminate()
        again.wait(10)
    assert len(planned) == 1
    lists = floor_rows(db)["lists"]
    assert len(lists) < len(before["lists"])  # lists merged into the cart
    assert_whole(db, orders)

    # The packer's scans were answered all along, through the kill and the restart.
    time.sleep(0.5)
    scanner.finish()
    assert scanner.errors == []
    assert any(t > killed_at for t in scanner.acks)
    assert len(scanner.acks) > 20 and scanner.longest_gap() < 1.5, scanner.longest_gap()


def test_workers_killed_at_random_while_planning_leave_every_cart_whole(
    floor_store, floor_settings, tmp_path
):
    """Many carts to plan, the worker SIGKILLed at random moments again and again: after
    every kill each order is in exactly one list with all its units, and in the end the
    carts are all planned."""
    rng = random.Random(14)
    extra = [
        {"warehouse": "WH-EAST", "location": loc, "sku": sku, "on_hand": 400}
        for loc, sku in (("E-01-02", "SKU-C"), ("E-02-01", "SKU-A"), ("E-01-01", "SKU-B"))
    ]
    catalogue.load(floor_store, CatalogueIn.model_validate({"stock": extra}))
    skus = ["SKU-A", "SKU-B", "SKU-C"]
    orders = [
        place(floor_store, f"r-{i}", [(skus[i % 3], 1), (skus[(i + 1) % 3], 1)]) for i in range(90)
    ]
    names = [f"cart-{i}" for i in range(40)]
    auth.create_devices(floor_store, names, "picker", "WH-EAST", cart_totes=4)
    data, db = floor_settings.data_dir, floor_settings.database
    # A short pause between compute and write spreads the planning over time, so the
    # kills land in reads, computing, pauses and writes alike.
    env = {"SCANFLOOR_WORKER__PLAN_PAUSE_SECONDS": "0.02"}
    kills = 0
    for round_ in range(4):
        log = tmp_path / f"worker-{round_}.log"
        worker = start_worker(data, log, env)
        try:
            wait_until(lambda log=log: "worker running" in log.read_text(), 30, "worker started")
            time.sleep(rng.uniform(0.0, 0.4))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
        finally:
            if worker.poll() is None:
                worker.kill()
        assert_whole(db, orders, units=2)
    last = start_worker(data, tmp_path / "worker-last.log")
    try:
        # 40 pickers with 4-tote carts keep 10 carts planned (a quarter of the pickers).
        wait_until(
            lambda: len([r for r in floor_rows(db)["lists"] if r[2] is not None]) >= 10,
            60,
            "every cart planned",
        )
    finally:
        last.terminate()
        last.wait(10)
    assert kills == 4
    assert_whole(db, orders, units=2)
    carts = [r for r in floor_rows(db)["lists"] if r[2] is not None]
    assert len(carts) == 10


def test_the_server_starts_its_worker_restarts_it_and_takes_it_down(site, server_proc):
    data, _, _ = site
    db = data / "scanfloor.db"
    base = server_proc(data)
    server = server_proc.procs[base]
    first = wait_until(lambda: children(server.pid), 20, "worker beside the server")
    assert len(first) == 1
    # It plans: the worker, not the server, merged the fresh lists into a cart.
    wait_until(lambda: [r for r in floor_rows(db)["lists"] if r[2] is not None], 30, "planned cart")
    os.kill(first[0], signal.SIGKILL)
    second = wait_until(
        lambda: [p for p in children(server.pid) if p != first[0]], 20, "a worker started again"
    )
    assert len(second) == 1 and len(children(server.pid)) == 1
    # Killed hard, the server takes its worker with it (the kernel's parent-death signal).
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    wait_until(lambda: not runs(second[0]), 10, "worker gone with its server")


def test_the_server_stops_its_worker_on_sigterm(site, server_proc):
    data, _, _ = site
    base = server_proc(data)
    server = server_proc.procs[base]
    (worker,) = wait_until(lambda: children(server.pid), 20, "worker beside the server")
    server.terminate()
    server.wait(15)
    # Stopped by the server before it went, not left to run alone.
    wait_until(lambda: not runs(worker), 5, "worker stopped with its server")


@pytest.mark.parametrize("bus", ["change log", "redis"])
def test_a_list_given_back_by_the_worker_reaches_an_idle_picker(
    site, floor_store, server_proc, tmp_path, bus
):
    """Alone, the server reads the worker's news from floor_signals; with Redis it hears it
    on the bus (and does not read the change log at all)."""
    data, tokens, _ = site
    env = {"SCANFLOOR_DEVICE__LEASE_SECONDS": "1"}
    with contextlib.ExitStack() as stack:
        if bus == "redis":
            if cluster.find_binary(cluster.REDIS_CANDIDATES) is None:
                pytest.skip("redis-server is not installed")
            env["SCANFLOOR_REDIS_URL"] = stack.enter_context(
                cluster.private_redis(tmp_path / "redis")
            )
        _list_given_back(data, tokens, floor_store, server_proc(data, env=env))


def _list_given_back(data, tokens, floor_store, base: str) -> None:
    first = socketio.Client(reconnection=False)
    first.connect(
        base, namespaces=[NS], auth={"token": tokens["picker"], "last_seen_seq": 0},
        transports=["websocket"],
    )  # fmt: skip
    held = wait_until(
        lambda: floor_store.one(
            "SELECT p.id FROM pick_lists p JOIN devices d ON d.id = p.device_id "
            "WHERE p.status = 'assigned' AND d.name = 'picker-e1'"
        ),
        10,
        "a list for the first picker",
    )["id"]
    # Every other list out of the way: only the one given back can reach picker-e2.
    floor_store.execute("UPDATE pick_lists SET status = 'picked' WHERE status = 'open'")
    token = auth.create_device(floor_store, "picker-e2", "picker", "WH-EAST")
    states: list[dict] = []
    second = socketio.Client(reconnection=False)
    second.on("state", lambda data: states.append(data), namespace=NS)
    second.connect(
        base, namespaces=[NS], auth={"token": token, "last_seen_seq": 0}, transports=["websocket"]
    )
    try:
        wait_until(lambda: states, 10, "the idle screen")
        assert states[-1]["state"]["screen"] == "idle"
        first.disconnect()  # silent from now on: its lease runs out in a second
        # The worker's sweep gives the list back; the server hears of it from the change
        # log and hands it to the idle picker, who did nothing to ask.
        wait_until(lambda: states[-1]["state"]["screen"] != "idle", 20, "the released list pushed")
        row = floor_store.one("SELECT status, device_id FROM pick_lists WHERE id = ?", (held,))
        second_id = floor_store.one("SELECT id FROM devices WHERE name = 'picker-e2'")["id"]
        assert row == {"status": "assigned", "device_id": second_id}
        assert floor_store.one("SELECT COUNT(*) AS n FROM floor_signals")["n"] >= 2
    finally:
        second.disconnect()


def test_scanfloor_allocate_wakes_a_lone_server_through_the_change_log(
    floor_store, floor_settings, floor_tokens, server_proc
):
    """No Redis: the admin CLI's new work reaches an idle picker at once, not at its next
    connect (the CLI writes a "work" row; the server reads the change log)."""
    data = floor_settings.data_dir
    oid, _ = orders.capture(
        floor_store, OrderIn.model_validate(order_body("cli-1", [("SKU-B", 1)]))
    )
    base = server_proc(data, env=NO_WORKER)
    states: list[dict] = []
    picker = socketio.Client(reconnection=False)
    picker.on("state", lambda data: states.append(data), namespace=NS)
    picker.connect(
        base, namespaces=[NS], auth={"token": floor_tokens["picker"], "last_seen_seq": 0},
        transports=["websocket"],
    )  # fmt: skip
    try:
        wait_until(lambda: states, 10, "the idle screen")
        assert states[-1]["state"]["screen"] == "idle"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "scanfloor"), "allocate", "--data-dir", str(data)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
            env={**os.environ, "SCANFLOOR_CONFIG": str(data / "none.toml")},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_until(lambda: states[-1]["state"]["screen"] != "idle", 5, "the new list pushed")
        assert floor_store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == (
            "picking"
        )
    finally:
        picker.disconnect()
