"""A loopback TCP proxy that plays the warehouse Wi-Fi between a device and the server.

Tests and the demo put it between a device and the server and switch its mode:

- ``pass``: bytes flow both ways, as on a good link.
- ``cut``: every open connection is closed and new ones are refused (the access
  point went away and the device knows it at once).
- ``blackhole``: connections stay open and new ones are accepted, but every
  byte is swallowed and nothing is closed (a dead zone: no FIN, no RST, the
  device only learns from silence).

A connection that lived through a black hole has lost bytes mid-stream, so it
is closed when the link comes back instead of carrying on with a torn stream.

Apart from the mode, ``set_delay(seconds)`` makes the link slow: every byte is
passed on that much later, both ways and in order (a far access point, a
crowded channel), so a round trip takes twice the delay.

Run one by hand: ``python -m device.sim.netproxy --listen 9800 --to 127.0.0.1:8800``.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import select
import socket
import threading
import time
from typing import Literal

from .loopback import LoopbackServer

Mode = Literal["pass", "cut", "blackhole"]
_CHUNK = 65536


class _Link:
    """One client connection and, outside a black hole, its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None):
        self.client = client
        self.upstream = upstream
        self.poisoned = upstream is None  # saw the black hole: its stream is torn
        self.closed = False
        self.late: queue.SimpleQueue | None = None  # (due, socket, bytes) on a slow link

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


class NetProxy(LoopbackServer):
    """Forward ``127.0.0.1:port`` to ``upstream``; ``mode`` decides what the link does."""

    thread_name = "netproxy"
    backlog = 64
    tick = 0.05  # how often a pump looks at the mode

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.upstream = upstream
        self.swallowed = 0  # bytes dropped in black holes
        self.accepted = 0
        self.outages = 0  # cuts and black holes started
        self._mode: Mode = "pass"
        self.delay = 0.0  # seconds every byte takes to cross, each way
        self._links: set[_Link] = set()
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------
    def stop(self) -> None:
        """Stop listening and close every connection."""
        super().stop()
        self._close_links(lambda link: True)

    @property
    def url(self) -> str:
        """The base URL a device config would use to reach the server through the proxy."""
        return f"http://{self.host}:{self.port}"

    # -- modes ---------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        """Switch the link: pass, cut or blackhole."""
        if mode == self._mode:
            return
        old, self._mode = self._mode, mode
        if mode != "pass":
            self.outages += 1
        if mode == "cut":
            self._unlisten()
            self._close_links(lambda link: True)
        elif mode == "blackhole":
            with self._lock:
                for link in self._links:
                    link.poisoned = True
        else:  # pass again
            self._close_links(lambda link: link.poisoned)
        if old == "cut" and mode != "cut":
            self._listen()  # same port again: the device's config still points here

    def cut(self) -> None:
        """Close every connection and refuse new ones."""
        self.set_mode("cut")

    def blackhole(self) -> None:
        """Keep connections open but swallow every byte, both ways."""
        self.set_mode("blackhole")

    def restore(self) -> None:
        """Let bytes through again."""
        self.set_mode("pass")

    def set_delay(self, seconds: float) -> None:
        """Make every byte take `seconds` to cross, each way (0: as fast as loopback)."""
        self.delay = max(0.0, seconds)

    def connections(self) -> int:
        """Open client connections right now."""
        with self._lock:
            return sum(1 for link in self._links if not link.closed)

    # -- networking ----------------------------------------------------------
    def _close_links(self, which) -> None:
        with self._lock:
            doomed = [link for link in self._links if which(link)]
            self._links.difference_update(doomed)
        for link in doomed:
            link.close()

    def _accepted(self, client: socket.socket) -> None:
        self.accepted += 1
        upstream = None
        if self._mode == "pass":
            try:
                upstream = socket.create_connection(self.upstream, timeout=3)
            except OSError:
                client.close()  # server down: the device sees a refused link
                return
        link = _Link(client, upstream)
        with self._lock:
            self._links.add(link)
        threading.Thread(target=self._pump, args=(link,), daemon=True).start()

    def _pump(self, link: _Link) -> None:
        ends = [s for s in (link.client, link.upstream) if s is not None]
        try:
            while self.running and not link.closed:
                ready, _, _ = select.select(ends, [], [], self.tick)
                for sock in ready:
                    data = sock.recv(_CHUNK)
                    if self._mode == "blackhole" or link.poisoned:
                        self.swallowed += len(data)
                        if not data:
                            ends.remove(sock)  # an end hung up: keep the other one silent
                        continue
                    if not data:
                        return
                    other = link.upstream if sock is link.client else link.client
                    if other is None:
                        return
                    self._forward(link, other, data)
                if not ends:
                    return
        except (OSError, ValueError):
            pass
        finally:
            if self._mode != "blackhole":
                with self._lock:
                    self._links.discard(link)
                link.close()

    def _forward(self, link: _Link, other: socket.socket, data: bytes) -> None:
        if link.late is None and self.delay <= 0:
            other.sendall(data)
            return
        if link.late is None:  # once slow, always through the queue: bytes keep their order
            link.late = queue.SimpleQueue()
            threading.Thread(target=self._deliver_late, args=(link,), daemon=True).start()
        link.late.put((time.monotonic() + self.delay, other, data))

    def _deliver_late(self, link: _Link) -> None:
        while self.running and not link.closed:
            try:
                due, sock, data = link.late.get(timeout=self.tick)
            except queue.Empty:
                continue
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                sock.sendall(data)
            except OSError:
                link.close()
                return


def main(argv: list[str] | None = None) -> None:
    """Run a proxy by hand; type pass, cut or blackhole and Enter to switch."""
    parser = argparse.ArgumentParser(description="Loopback TCP proxy with link faults.")
    parser.add_argument("--listen", type=int, default=0, help="port to listen on (0: any)")
    parser.add_argument("--to", required=True, help="upstream host:port")
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    with NetProxy((host or "127.0.0.1", int(port)), port=args.listen) as proxy:
        print(f"proxy {proxy.url} -> {args.to}; modes: pass, cut, blackhole", flush=True)
        with contextlib.suppress(KeyboardInterrupt, EOFError):
            while True:
                mode = input().strip()
                if mode in ("pass", "cut", "blackhole"):
                    proxy.set_mode(mode)  # type: ignore[arg-type]
                    print(f"mode {mode}", flush=True)


if __name__ == "__main__":
    main()
