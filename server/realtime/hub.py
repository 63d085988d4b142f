"""What the server does after a change commits: deliver device events, hand out work, tell boards.

Nothing here costs in proportion to the floor on a scan or a connect: a device's
events go to that device, a finished list takes the next planned cart (carts are
planned by the worker process, server/runtime/background.py), and boards get only
the rows a change touched (and nothing at all is built while no board is connected).

What the worker changes that devices or boards must hear (lists given back when a
lease runs out) reaches the hub as bus messages: over Redis when one is configured,
else from the worker's change log in the database (server/runtime/signals.py), read
a few times a second by `watch_signals`.

With several processes (a Redis URL configured) the hub has a bus
(server/realtime/bus.py): a device whose link is on another process is woken
through it, and board changes go to the processes with boards open, each
building its own boards' delta. Emits here always go to this process's own
sockets (`ignore_queue`): the bus has already brought the work to the process
holding the link or the board.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.lock
from flask_socketio import SocketIO

from server.board import board
from server.core import clock
from server.floor import outbox, work
from server.floor.scanning import Effects
from server.realtime.wire import Encoded, encoded, encoded_in_parts
from server.runtime import processes, signals
from server.store import Store, open_store
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

if TYPE_CHECKING:
    from server.realtime.bus import Bus

log = logging.getLogger("scanfloor.realtime")
SIGNALS_PERIOD = 0.25  # seconds between reads of the worker's change log (no Redis)
BOARD_MIN_INTERVAL = 0.25  # seconds between board updates under load
BOARD_BUSY_INTERVAL = 1.0  # ... while the loop is late (the sign-in storm): scans come first
BOARD_BUSY_LATE = 0.03  # a board update that woke this late ...
BOARD_DELTA_ROWS = 500  # lists, and devices, in one board update at most
BOARD_BUSY_SHARE = 0.5  # ... while the serving thread spent this share of the time on the CPU
BOARD_COUNTS_INTERVAL = 2.0  # order counts (a GROUP BY over every order) at most this often
BOARD_TOTALS_INTERVAL = 1.0  # column totals (a GROUP BY over the open lists) at most this often
BOARD_SNAPSHOT_INTERVAL = 2.0  # whole-board snapshots after a change, at most this often
BOARD_KEEPALIVE = 1.5  # with a board open and nothing changed, a keep-alive at least this often
BOARD_BREATH = 0.001  # seconds a board build sleeps between its parts (the loop polls then)
BOARD_QUIET_REFRESH = 10.0  # ... and the totals and counts (time moves them too) this often


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


class Hub:
    """Knows which device events went out on this process, and pushes the rest."""

    def __init__(
        self, store: Store, socketio: SocketIO, instance: str = "", bus: Bus | None = None
    ):
        self.store = store
        self.socketio = socketio
        self.instance = instance  # this process in server_processes and devices.link_owner
        self.bus = bus  # several processes: how to reach the others
        self.sent: dict[int, int] = {}  # device id -> highest seq emitted on its current link
        self.boards = 0  # board sockets connected to this process
        self._board_pending = False
        self._board_due = 0.0  # when the pending board update was meant to run
        self._board_interval = BOARD_MIN_INTERVAL
        self._board_cpu_mark = (
            0.0,
            0.0,
        )  # (loop time, serving thread's CPU time) at the last update
        self._board_full = False
        self._board_lists: set[int] = set()
        self._board_devices: set[int] = set()
        self._counts_at = 0.0
        self._totals_at = 0.0
        self._totals_owed = False  # a delta went out without totals: one with them follows
        self._counts_owed = False  # ... without the counters and queue: one with them follows
        self._snapshot_at = 0.0
        self._board_sent_at = 0.0  # when the last board update or keep-alive went out (loop time)
        self._board_built_at = 0.0  # when the last snapshot or delta was built (loop time)
        self._board_ticker: gevent.Greenlet | None = None
        self.background: list[gevent.Greenlet] = []  # the watch loops started beside it
        # A board's first view, built once and shared by every board that connects before the
        # next update goes out (then it would miss that update's changes).
        self._first_view: Encoded | None = None
        # One board build at a time, each sent before the next starts: a build lets the loop
        # run between its parts, and a board must not get an older view after a newer one.
        self._board_lock = gevent.lock.Semaphore()
        self._board_store: Store | None = None  # the boards' own SQLite connection
        self._board_updates = 0  # board updates started (snapshots and deltas)
        self._signals_seen = 0  # the last row of floor_signals handled (no Redis)
        # Cuts this process's device links whose token was revoked or replaced (set by
        # server/realtime: the /device namespace); returns the warehouses whose lists went back.
        self.cut_links: Callable[[Iterable[int] | None], set[str]] = lambda ids=None: set()

    # ------------------------------------------------------------ devices
    def connected(self, device_id: int, last_seen_seq: int) -> None:
        self.sent[device_id] = last_seen_seq

    def disconnected(self, device_id: int) -> None:
        self.sent.pop(device_id, None)

    def deliver(self, device_id: int) -> int:
        """Emit the device's stored events it has not been sent on this link."""
        after = self.sent.get(device_id)
        if after is None:
            # Not connected here: the process holding its link sends them, else the device
            # gets them on (re)connect.
            if self.bus is not None:
                self.bus.deliver(device_id)
            return 0
        events = outbox.unseen(self.store, device_id, after)
        for seq, event, payload in events:
            self.socketio.emit(
                event,
                payload,
                namespace=DEVICE_NAMESPACE,
                to=device_room(device_id),
                ignore_queue=True,
            )
            self.sent[device_id] = max(self.sent.get(device_id, 0), seq)
        return len(events)

    def apply(self, effects: Effects, device_id: int | None = None) -> None:
        """Act on what a use case set in motion, after its commit (`device_id`: who acted)."""
        for did in effects.devices:
            self.deliver(did)
        for warehouse in sorted(effects.offer_work):
            self.offer_work(warehouse)
        acted = () if device_id is None else (device_id,)
        self.board_changed(
            lists=effects.lists, devices=(*acted, *effects.devices), full=effects.board
        )

    # ------------------------------------------------------------ work
    def offer_work(self, warehouse: str | None = None) -> None:
        """New work arrived: hand lists to idle pickers (all warehouses if None); the worker
        process plans carts from what is left."""
        warehouses = [warehouse] if warehouse else self._warehouses()
        for wh in warehouses:
            for device_id in work.offer_work(self.store, wh):
                self.deliver(device_id)
        self.board_changed(full=True)

    def _warehouses(self) -> list[str]:
        return [r["code"] for r in self.store.all("SELECT code FROM warehouses ORDER BY code")]

    # ------------------------------------------------------------ processes
    def watch_processes(self) -> None:
        """Beat for this process and clear the links of processes gone (a background greenlet)."""
        while True:
            gevent.sleep(processes.HEARTBEAT_SECONDS)
            try:
                processes.beat(self.store, self.instance, list(self.sent))
                cleared = processes.reap(self.store, self.instance)
            except Exception:  # keep beating: one bad pass must not end it
                log.exception("process heartbeat failed")
                continue
            if cleared:
                log.info("cleared %d device link(s) of a server process gone", len(cleared))
                self.board_changed(devices=cleared)

    # ------------------------------------------------------------ the worker's news
    def start_signals(self) -> None:
        """Read the worker's change log from now on (one process, no Redis)."""
        self._signals_seen = signals.last_id(self.store)

    def catch_up(self) -> int:
        """Act on what the worker wrote in its change log since the last look; returns how many."""
        news = signals.after(self.store, self._signals_seen)
        for row_id, msg in news:
            self._signals_seen = row_id
            self.on_bus(msg)
        return len(news)

    def watch_signals(self, period: float = SIGNALS_PERIOD) -> None:
        """Look at the worker's change log for ever, a few times a second (a background
        greenlet; one indexed read of a table a few rows long)."""
        while True:
            gevent.sleep(period)
            try:
                self.catch_up()
            except Exception:  # keep watching
                log.exception("reading the worker's news failed")

    def on_bus(self, msg: dict[str, Any]) -> None:
        """A message from another process (or the admin CLI); runs in the bus's listener."""
        kind = msg.get("k")
        if kind == "deliver":
            here = [d for d in msg.get("d", ()) if d in self.sent]
            if here:
                gevent.spawn(self._deliver_here, here)
        elif kind == "work":
            gevent.spawn(self._work_arrived, msg.get("id") or "", msg.get("w"))
        elif kind == "board":
            if self.boards:
                self._board_touch(msg.get("l", ()), msg.get("d", ()), bool(msg.get("f")))
        elif kind == "resync":  # the bus was down: wake-ups may have been lost
            gevent.spawn(self._resync)
        elif kind == "cut":
            gevent.spawn(self.cut_now, msg.get("d") or ())

    # ------------------------------------------------------------ revoked and rotated tokens
    def cut_now(self, device_ids: Iterable[int] | None = None) -> None:
        """Cut the links held here whose token was revoked or replaced; their lists (put back
        in the queue by the revoke) go to other pickers."""
        for warehouse in sorted(self.cut_links(device_ids)):
            self.offer_work(warehouse)

    def watch_tokens(self, period: float = 1.0) -> None:
        """Check the links held here for revoked or replaced tokens for ever (a background
        greenlet): with no Redis the admin CLI cannot wake this process, so it looks."""
        while True:
            gevent.sleep(period)
            try:
                self.cut_now()
            except Exception:  # keep watching
                log.exception("token check failed")

    def _deliver_here(self, device_ids: list[int]) -> None:
        for device_id in device_ids:
            try:
                self.deliver(device_id)
            except Exception:  # the next wake-up or reconnect delivers it
                log.exception("delivering to device %s failed", device_id)

    def _work_arrived(self, msg_id: str, warehouses: list[str] | None) -> None:
        if msg_id and self.bus is not None and not self.bus.claim(msg_id):
            return  # another process hands this work out
        if warehouses is None:
            self.offer_work()
        for warehouse in warehouses or ():
            self.offer_work(warehouse)

    def _resync(self) -> None:
        for device_id in list(self.sent):
            self.deliver(device_id)
        self.offer_work()

    # ------------------------------------------------------------ board
    def board_joined(self) -> None:
        self.boards += 1
        if self._board_ticker is None or self._board_ticker.dead:
            self._board_ticker = gevent.spawn(self._tick_boards)
        if self.bus is not None:
            self.bus.boards_here(self.boards)
            if self.boards == 1:
                # Changes made elsewhere before the others heard of this board: one fresh
                # snapshot once they have.
                gevent.spawn_later(1.0, self.board_changed, full=True)

    def board_left(self) -> None:
        self.boards = max(0, self.boards - 1)
        if self.bus is not None:
            self.bus.boards_here(self.boards)

    def stop_board_updates(self) -> None:
        """Stop the boards' regular updates (the app is going away: tests, a shutdown)."""
        if self._board_ticker is not None:
            self._board_ticker.kill(block=False)
            self._board_ticker = None

    def stop(self) -> None:
        """Stop everything the hub runs in the background: the boards' updates, the watch
        loops and the bus (an app going away within a process that lives on: tests)."""
        self.stop_board_updates()
        if self._board_store is not None:
            self._board_store.close()
            self._board_store = None
        gevent.killall(self.background, block=False)
        self.background.clear()
        if self.bus is not None:
            self.bus.close()

    def _board_reads(self) -> tuple[Store, Callable[[], None]]:
        """Where boards read, and what they do between the parts of a build.

        On SQLite, a connection of the boards' own, and the loop runs between the parts: a
        first view at 1,500 handhelds and 60,000 open orders reads for ~30 ms, and in one
        piece it held every device link of the process for that long. A WAL reader on its own
        connection holds nothing the group commit or the other reads wait for. On PostgreSQL
        the reads wait for the server (the loop runs then) on the store's one connection,
        which other greenlets must not wait for between the parts: one piece, as before.
        """
        if self.store.dialect != "sqlite":
            return self.store, lambda: None
        if self._board_store is None:
            self._board_store = open_store(self.store.url, migrate=False)
        return self._board_store, _breathe

    def board_first_view(self) -> Encoded:
        """The snapshot a connecting board gets, serialised: built at most once per board
        update for every board that connects meanwhile (a storm of boards costs one build)."""
        with self._board_lock:
            return self._first_view_held()

    def _first_view_held(self) -> Encoded:
        if self._first_view is not None:
            return self._first_view
        update = self._board_updates
        reads, breathe = self._board_reads()
        view = encoded_in_parts(board.snapshot(reads, breathe), breathe)
        if self._keep_first_view(update, view):
            self._board_built_at = gevent.get_hub().loop.now()
        return view

    def _keep_first_view(self, update: int, view: Encoded) -> bool:
        """Keep a snapshot built since board update number `update` began for the next boards
        that connect, if no update started while it was read: one that did is waiting for the
        lock, and a board given this view from the cache after that update went out would miss
        its changes."""
        if update != self._board_updates:
            return False
        self._first_view = view
        return True

    def send_first_view(self, sid: str) -> None:
        """Send a board that just connected its first view (before any newer update)."""
        with self._board_lock:
            self.socketio.emit(
                "snapshot",
                self._first_view_held(),
                namespace=BOARD_NAMESPACE,
                to=sid,
                ignore_queue=True,  # the board is on this process
            )

    def _tick_boards(self) -> None:
        """While a board is open and nothing changes: a keep-alive (a `delta` holding only the
        time, built from nothing) at least every BOARD_KEEPALIVE, so a board knows its link is
        alive; every BOARD_QUIET_REFRESH a delta with the column totals and counts, for what
        time alone moves (late orders) and what another process did without a word (a cart
        the worker planned). A change is sent by `board_changed` within BOARD_MIN_INTERVAL."""
        while self.boards:
            gevent.sleep(BOARD_MIN_INTERVAL)
            if not self.boards or self._board_pending:
                continue
            at = gevent.get_hub().loop.now()
            if (
                at - self._board_built_at >= BOARD_QUIET_REFRESH
                or (self._totals_owed and at - self._totals_at >= BOARD_TOTALS_INTERVAL)
                or (self._counts_owed and at - self._counts_at >= BOARD_COUNTS_INTERVAL)
            ):
                self._board_touch((), (), False)
            elif at - self._board_sent_at >= BOARD_KEEPALIVE:
                self._board_sent_at = at
                alive = {"at": clock.now()}
                self.socketio.emit("delta", alive, namespace=BOARD_NAMESPACE, ignore_queue=True)

    def board_changed(
        self, lists: Iterable[int] = (), devices: Iterable[int] = (), full: bool = False
    ) -> None:
        """Tell boards soon what changed; bursts of changes make one update. Free with no board open."""
        if self.bus is not None and self.bus.boards_elsewhere:
            lists, devices = tuple(lists), tuple(devices)
            self.bus.board_touched(lists, devices, full)
        if self.boards:
            self._board_touch(lists, devices, full)

    def _board_touch(self, lists: Iterable[int], devices: Iterable[int], full: bool) -> None:
        self._board_lists.update(lists)
        self._board_devices.update(devices)
        self._board_full = self._board_full or full
        if self._board_pending:
            return
        self._board_pending = True
        self._board_due = gevent.get_hub().loop.now() + self._board_interval
        gevent.spawn_later(self._board_interval, self._send_board)

    def _send_board(self) -> None:
        now = gevent.get_hub().loop.now()
        # A loop so busy that this update woke late (the sign-in storm, a burst of scans) gives
        # the scans the time: the next update waits BOARD_BUSY_INTERVAL (still within the 2 s
        # a board may wait). Late alone is not busy: on a shared machine the process may just
        # not have had a core, and a board that waited then would show a scan over a second
        # late for nothing; so the serving thread must also have spent half the time since
        # the last update on the CPU. A quiet loop sends a change within BOARD_MIN_INTERVAL.
        cpu = time.thread_time()
        since, cpu_since = self._board_cpu_mark
        self._board_cpu_mark = (now, cpu)
        late = now - self._board_due > BOARD_BUSY_LATE
        busy = late and cpu - cpu_since >= BOARD_BUSY_SHARE * max(now - since, 1e-3)
        self._board_interval = BOARD_BUSY_INTERVAL if busy else BOARD_MIN_INTERVAL
        if self._board_full and now < self._snapshot_at + BOARD_SNAPSHOT_INTERVAL:
            # A snapshot went out moments ago: gather changes until the next one may go.
            self._board_due = self._snapshot_at + BOARD_SNAPSHOT_INTERVAL
            gevent.spawn_later(self._board_due - now, self._send_board)
            return
        full = self._board_full
        # At most BOARD_DELTA_ROWS lists and devices an update: the sign-in storm touches every
        # device at once, and one delta with 1,500 rows held the loop; the rest follow next.
        if full:  # a snapshot holds every row
            lists, devices, self._board_lists, self._board_devices = set(), set(), set(), set()
        else:
            lists, self._board_lists = _split(self._board_lists, BOARD_DELTA_ROWS)
            devices, self._board_devices = _split(self._board_devices, BOARD_DELTA_ROWS)
        self._board_pending, self._board_full = False, False
        if self._board_lists or self._board_devices:
            self._board_touch((), (), False)  # the rows left go in the next update
        self._board_sent_at = self._board_built_at = now
        self._first_view = None  # a board connecting from now on must see these changes
        self._board_updates += 1
        with self._board_lock:
            self._build_board(now, full, lists, devices)

    def _build_board(self, now: float, full: bool, lists: set[int], devices: set[int]) -> None:
        reads, breathe = self._board_reads()
        update = self._board_updates
        try:
            if full:
                self._snapshot_at = self._counts_at = self._totals_at = now
                self._totals_owed = self._counts_owed = False
                snap = encoded_in_parts(board.snapshot(reads, breathe), breathe)
                self.socketio.emit("snapshot", snap, namespace=BOARD_NAMESPACE, ignore_queue=True)
                self._keep_first_view(update, snap)
                return
            with_counts = now - self._counts_at >= BOARD_COUNTS_INTERVAL
            if with_counts:
                self._counts_at = now
            # The column totals read every open list's status: under load at most once a
            # second, and a delta that went without them is followed by one with them.
            with_totals = with_counts or now - self._totals_at >= BOARD_TOTALS_INTERVAL
            if with_totals:
                self._totals_at = now
            self._totals_owed = not with_totals
            # The queue too: a supervisor's decision (a count approved, a help resolved) must
            # not wait for the 10 s quiet refresh when it fell within 2 s of the last counters.
            self._counts_owed = not with_counts
            delta = board.delta(reads, lists, devices, with_counts, with_totals, breathe)
            self.socketio.emit(
                "delta", encoded(delta), namespace=BOARD_NAMESPACE, ignore_queue=True
            )
        except Exception:  # the board is a view: a failure here must not hurt the floor
            log.exception("board update failed")


def _breathe() -> None:
    """Let the loop poll: a scan that arrived meanwhile is read and answered before the board's
    next part. (`gevent.sleep(0)` runs only the greenlets already woken, not the poll.)"""
    gevent.sleep(BOARD_BREATH)


def _split(ids: set[int], most: int) -> tuple[set[int], set[int]]:
    """(up to `most` of the ids, the lowest first; the rest)."""
    if len(ids) <= most:
        return ids, set()
    ordered = sorted(ids)
    return set(ordered[:most]), set(ordered[most:])
