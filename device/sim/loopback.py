"""A TCP listener on loopback for simulated floor kit, with an accept thread.

The listener can be closed and opened again on the same port while the thread
keeps running, so a simulator can play a device switched off and on (or an
access point gone and back) without the client's config changing. Subclasses
say what to do with each accepted connection.
"""

from __future__ import annotations

import abc
import contextlib
import select
import socket
import threading
import time
from typing import Self


class LoopbackServer(abc.ABC):
    """Listen on ``host:port`` (port 0 picks a free one) and hand each connection to ``_accepted``."""

    thread_name = "loopback"
    backlog = 16
    tick = 0.1  # how often blocked threads look at the stop flag

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> Self:
        """Bind, listen and accept in a background thread."""
        self._listen()
        self._running.set()
        self._thread = threading.Thread(
            target=self._accept_loop, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and wait for the accept thread."""
        self._running.clear()
        self._unlisten()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True from start() until stop()."""
        return self._running.is_set()

    # -- listening -----------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(self.backlog)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: close() alone leaves the socket listening until
            # the accept thread's select() lets go of it, and a connect in that
            # window would be accepted then reset instead of refused.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept_loop(self) -> None:
        while self._running.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(self.tick)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], self.tick)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):
                continue  # listener closed under us by _unlisten() or stop()
            self._accepted(conn)

    @abc.abstractmethod
    def _accepted(self, conn: socket.socket) -> None:
        """Serve one accepted connection; runs on the accept thread."""
