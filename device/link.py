"""The device's Socket.IO link: a watchdog for silent links, server events in seq order.

python-socketio notices a dead link (bytes swallowed, no FIN: a Wi-Fi dead
zone) only after the server's ping_interval + ping_timeout without a packet;
the watchdog here drops the transport sooner, after `link_timeout` seconds of
silence, exactly as a broken network would, so the client's own reconnect
(forever, with backoff) takes over. It also runs every incoming message in its
own thread, so two events can overtake each other; `InOrder` hands them to the
device one at a time in seq order.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

import engineio
import socketio


class _WatchedEngineIO(engineio.Client):
    """Engine.IO client that remembers when the server last sent anything (pings included)."""

    last_rx: float = 0.0

    def _receive_packet(self, pkt: Any) -> None:
        self.last_rx = time.monotonic()
        super()._receive_packet(pkt)


# websocket-client checks each text message's UTF-8 in pure Python (without the optional
# wsaccel): 26 ms for 100 kB on the bench machine, ~0.5 ms for a 2 kB screen, several times
# that on a Pi, on every message. Its recv() then decodes the text with str.decode, which
# refuses bad UTF-8 all the same, so the check only costs.
WEBSOCKET_OPTIONS = {"skip_utf8_validation": True}


class WatchedClient(socketio.Client):
    """A Socket.IO client that can tell how long the server has been silent."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("websocket_extra_options", dict(WEBSOCKET_OPTIONS))
        super().__init__(*args, **kwargs)

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _WatchedEngineIO

    def heard(self) -> None:
        """Count the handshake as hearing from the server."""
        self.eio.last_rx = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the server last sent a packet."""
        return time.monotonic() - getattr(self.eio, "last_rx", 0.0)

    def server_ping_interval(self) -> float:
        """The ping interval the server asked for in its handshake."""
        return float(getattr(self.eio, "ping_interval", 0.0) or 0.0)

    def drop_transport(self) -> bool:
        """Shut the socket under the link, as a dead network would; the client then reconnects."""
        ws = getattr(self.eio, "ws", None)
        sock = getattr(ws, "sock", None)
        if sock is None:
            return False
        # shutdown() (not close()) wakes the blocked reader at once with EOF,
        # which python-socketio treats as a lost transport and reconnects.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return True


class Watchdog:
    """Drops a connected link that has been silent longer than `timeout` seconds."""

    def __init__(self, client: WatchedClient, timeout: float, is_online: threading.Event):
        self.client = client
        self.timeout = timeout
        self.is_online = is_online
        self.drops = 0

    def effective_timeout(self) -> float:
        # Never shorter than the server's ping interval plus a margin: a healthy
        # link is silent for a whole interval between pings.
        return max(self.timeout, self.client.server_ping_interval() + 1.0)

    def run(self, stop: threading.Event) -> None:
        """Check the link four times a second until stop is set."""
        while not stop.wait(0.25):
            if not self.is_online.is_set():
                continue
            silent = self.client.silent_for() > self.effective_timeout()
            if silent and self.client.drop_transport():
                self.drops += 1
                # Wait for the disconnect to land before looking again.
                deadline = time.monotonic() + 2
                while self.is_online.is_set() and time.monotonic() < deadline:
                    stop.wait(0.05)


class InOrder:
    """A reorder buffer: items put with a seq come out lowest first, waiting briefly for gaps."""

    def __init__(self, hold: float = 0.5):
        self.hold = hold
        self._heap: list[tuple[int, int, Any]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()

    def put(self, seq: int, item: Any) -> None:
        with self._cond:
            heapq.heappush(self._heap, (seq, next(self._count), item))
            self._cond.notify_all()

    def take(self, next_seq: int, wait: float = 0.5) -> tuple[int, Any] | None:
        """The lowest item; if it is beyond next_seq, first wait up to `hold` for the missing ones."""
        with self._cond:
            if not self._heap and not self._cond.wait_for(lambda: self._heap, wait):
                return None
            deadline = time.monotonic() + self.hold
            while self._heap[0][0] > next_seq and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            seq, _, item = heapq.heappop(self._heap)
            return seq, item
