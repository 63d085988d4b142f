"""What the server does after a change commits: deliver device events, hand out work, plan carts, tell boards.

Nothing here costs in proportion to the floor on a scan or a connect: a device's
events go to that device, a finished list takes the next planned cart, carts are
planned by a background greenlet, and boards get only the rows a change touched
(and nothing at all is built while no board is connected).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import gevent
from flask_socketio import SocketIO
from gevent.event import Event

from server.services import board, leases, outbox, planning, work
from server.services.scanning import Effects
from server.store import Store
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

log = logging.getLogger("scanfloor.realtime")
PLAN_YIELD = 2.0  # after each cart, the planner sleeps this many times as long as it worked
BOARD_MIN_INTERVAL = 0.25  # seconds between board updates under load
BOARD_COUNTS_INTERVAL = 2.0  # order counts (a GROUP BY over every order) at most this often
BOARD_SNAPSHOT_INTERVAL = 2.0  # whole-board snapshots after a change, at most this often


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


class Hub:
    """Knows which device events went out on this process, and pushes the rest."""

    def __init__(self, store: Store, socketio: SocketIO):
        self.store = store
        self.socketio = socketio
        self.sent: dict[int, int] = {}  # device id -> highest seq emitted on its current link
        self.boards = 0  # board sockets connected to this process
        self._board_pending = False
        self._board_full = False
        self._board_lists: set[int] = set()
        self._board_devices: set[int] = set()
        self._counts_at = 0.0
        self._snapshot_at = 0.0
        self._to_plan: set[str] = set()
        self._plan_wake = Event()

    # ------------------------------------------------------------ devices
    def connected(self, device_id: int, last_seen_seq: int) -> None:
        self.sent[device_id] = last_seen_seq

    def disconnected(self, device_id: int) -> None:
        self.sent.pop(device_id, None)

    def deliver(self, device_id: int) -> int:
        """Emit the device's stored events it has not been sent on this link."""
        after = self.sent.get(device_id)
        if after is None:
            return 0  # not connected here: it gets them on (re)connect
        events = outbox.unseen(self.store, device_id, after)
        for seq, event, payload in events:
            self.socketio.emit(
                event, payload, namespace=DEVICE_NAMESPACE, to=device_room(device_id)
            )
            self.sent[device_id] = max(self.sent.get(device_id, 0), seq)
        return len(events)

    def apply(self, effects: Effects, device_id: int | None = None) -> None:
        """Act on what a use case set in motion, after its commit (`device_id`: who acted)."""
        for did in effects.devices:
            self.deliver(did)
        for warehouse in sorted(effects.offer_work):
            self.offer_work(warehouse)
        for warehouse in effects.plan:
            self.plan_soon(warehouse)
        acted = () if device_id is None else (device_id,)
        self.board_changed(
            lists=effects.lists, devices=(*acted, *effects.devices), full=effects.board
        )

    # ------------------------------------------------------------ work
    def offer_work(self, warehouse: str | None = None) -> None:
        """New work arrived: plan carts for it and hand lists to idle pickers (all warehouses if None)."""
        warehouses = [warehouse] if warehouse else self._warehouses()
        for wh in warehouses:
            for device_id in work.offer_work(self.store, wh):
                self.deliver(device_id)
            self.plan_soon(wh)
        self.board_changed(full=True)

    def offer_to(self, device_id: int, warehouse: str) -> None:
        """Hand one idle picker its next list (a connect): never the whole warehouse's pickers."""
        with self.store.write():
            busy = self.store.one(
                "SELECT 1 FROM pick_lists WHERE device_id = ? AND status = 'assigned'", (device_id,)
            )
            given = None if busy else work.offer_to(self.store, device_id, warehouse)
        if given is not None:
            self.deliver(device_id)
            self.plan_soon(warehouse)
            self.board_changed(lists=(given,), devices=(device_id,))

    def _warehouses(self) -> list[str]:
        return [r["code"] for r in self.store.all("SELECT code FROM warehouses ORDER BY code")]

    def plan_soon(self, warehouse: str) -> None:
        """Ask the planner greenlet to top up the warehouse's planned carts."""
        self._to_plan.add(warehouse)
        self._plan_wake.set()

    def plan_soon_everywhere(self) -> None:
        """At start: top up every warehouse's planned carts."""
        for warehouse in self._warehouses():
            self.plan_soon(warehouse)

    def plan_carts(self) -> None:
        """Plan carts for ever, one short write at a time, as warehouses ask (a background greenlet).

        Planning yields twice as long as it worked after every cart, so scans keep at least
        two thirds of the loop even while a whole shift's carts are planned after a connect
        storm (hand-out gives fresh lists alone meanwhile).
        """
        while True:
            self._plan_wake.wait()
            self._plan_wake.clear()
            while self._to_plan:
                warehouse = self._to_plan.pop()
                try:
                    while True:
                        started = time.perf_counter()
                        if not planning.plan_ahead(self.store, warehouse, budget=1):
                            break
                        gevent.sleep(PLAN_YIELD * (time.perf_counter() - started))
                except Exception:  # keep planning; hand-out falls back to fresh lists meanwhile
                    log.exception("planning carts for %s failed", warehouse)

    # ------------------------------------------------------------ leases
    def expire_leases(self, lease_seconds: float) -> int:
        """Give back the lists of pickers silent too long and hand them out again."""
        released = leases.expire(self.store, lease_seconds)
        for warehouse in sorted({w for _, _, w in released}):
            self.offer_work(warehouse)
        return len(released)

    def watch_leases(self, lease_seconds: float) -> None:
        """Check leases for ever, a few times per lease period (a background greenlet)."""
        period = min(30.0, max(0.5, lease_seconds / 5))
        while True:
            gevent.sleep(period)
            try:
                self.expire_leases(lease_seconds)
            except Exception:  # keep watching: one bad pass must not end lease handling
                log.exception("lease check failed")

    # ------------------------------------------------------------ board
    def board_joined(self) -> None:
        self.boards += 1

    def board_left(self) -> None:
        self.boards = max(0, self.boards - 1)

    def board_changed(
        self, lists: Iterable[int] = (), devices: Iterable[int] = (), full: bool = False
    ) -> None:
        """Tell boards soon what changed; bursts of changes make one update. Free with no board open."""
        if not self.boards:
            return
        self._board_lists.update(lists)
        self._board_devices.update(devices)
        self._board_full = self._board_full or full
        if self._board_pending:
            return
        self._board_pending = True
        gevent.spawn_later(BOARD_MIN_INTERVAL, self._send_board)

    def _send_board(self) -> None:
        now = gevent.get_hub().loop.now()
        if self._board_full and now < self._snapshot_at + BOARD_SNAPSHOT_INTERVAL:
            # A snapshot went out moments ago: gather changes until the next one may go.
            gevent.spawn_later(self._snapshot_at + BOARD_SNAPSHOT_INTERVAL - now, self._send_board)
            return
        full, lists, devices = self._board_full, self._board_lists, self._board_devices
        self._board_pending, self._board_full = False, False
        self._board_lists, self._board_devices = set(), set()
        try:
            if full:
                self._snapshot_at = self._counts_at = now
                self.socketio.emit(
                    "snapshot", board.snapshot(self.store), namespace=BOARD_NAMESPACE
                )
                return
            with_counts = now - self._counts_at >= BOARD_COUNTS_INTERVAL
            if with_counts:
                self._counts_at = now
            update = board.delta(self.store, lists, devices, with_counts)
            self.socketio.emit("delta", update, namespace=BOARD_NAMESPACE)
        except Exception:  # the board is a view: a failure here must not hurt the floor
            log.exception("board update failed")
