"""Delivery of stored device events, and live board refreshes."""

from __future__ import annotations

import logging

import gevent
from flask_socketio import SocketIO

from server.services import board, leases, outbox, work
from server.services.scanning import Effects
from server.store import Store
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

log = logging.getLogger("scanfloor.realtime")
BOARD_MIN_INTERVAL = 0.25  # seconds between board snapshots under load


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


class Hub:
    """Knows which device events went out on this process, and pushes the rest."""

    def __init__(self, store: Store, socketio: SocketIO):
        self.store = store
        self.socketio = socketio
        self.sent: dict[int, int] = {}  # device id -> highest seq emitted on its current link
        self._board_pending = False

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

    def apply(self, effects: Effects) -> None:
        """Act on what a use case set in motion, after its commit."""
        for device_id in effects.devices:
            self.deliver(device_id)
        for warehouse in sorted(effects.offer_work):
            self.offer_work(warehouse)
        if effects.board:
            self.board_changed()

    def offer_work(self, warehouse: str | None = None) -> None:
        """Hand open lists to idle pickers and tell them."""
        for device_id in work.offer_work(self.store, warehouse):
            self.deliver(device_id)
        self.board_changed()

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

    def board_changed(self) -> None:
        """Refresh the board soon; bursts of changes make one snapshot."""
        if self._board_pending:
            return
        self._board_pending = True
        gevent.spawn_later(BOARD_MIN_INTERVAL, self._send_board)

    def _send_board(self) -> None:
        self._board_pending = False
        try:
            self.socketio.emit("snapshot", board.snapshot(self.store), namespace=BOARD_NAMESPACE)
        except Exception:  # the board is a view: a failure here must not hurt the floor
            log.exception("board snapshot failed")
