"""Fixtures for driver tests: real pseudo-terminals and a real TCP printer on loopback."""

from __future__ import annotations

import os
import pty
import socket
import threading
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from device.sim.zpl_printer import ZplPrinterSim


@dataclass
class Pty:
    """One pseudo-terminal: the test plays the hardware on ``master``."""

    master: int
    slave: int
    name: str
    closed: bool = field(default=False)

    def write(self, data: bytes) -> None:
        """Send bytes as the device would."""
        os.write(self.master, data)

    def unplug(self) -> None:
        """Close both ends: the driver's next read fails like a pulled USB cable."""
        if not self.closed:
            os.close(self.master)
            os.close(self.slave)
            self.closed = True


@pytest.fixture
def make_pty() -> Iterator[Callable[[], Pty]]:
    """Factory for raw-mode pseudo-terminals, all closed at teardown."""
    made: list[Pty] = []

    def make() -> Pty:
        master, slave = pty.openpty()
        # Raw from the start: bytes written before the driver opens the port
        # must not be cooked (CR turned into LF, echoed back).
        tty.setraw(slave)
        made.append(Pty(master, slave, os.ttyname(slave)))
        return made[-1]

    yield make
    for p in made:
        p.unplug()


@pytest.fixture
def zpl_printer(tmp_path: Path) -> Iterator[ZplPrinterSim]:
    """A running simulated Zebra printer on a free loopback port, saving labels to tmp."""
    with ZplPrinterSim(port=0, out_dir=tmp_path / "labels") as sim:
        yield sim


@pytest.fixture
def loopback_server() -> Iterator[Callable[[Callable[[socket.socket], None]], tuple[str, int]]]:
    """Start TCP servers on loopback: `loopback_server(handle)` calls `handle(conn)` in a
    thread of its own for each connection (the connection is closed after) and returns the
    listening address; every server stops at the end of the test."""
    stops: list[tuple[threading.Event, socket.socket]] = []

    def start(handle: Callable[[socket.socket], None]) -> tuple[str, int]:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.1)
        stop = threading.Event()

        def serve(conn: socket.socket) -> None:
            with conn:
                handle(conn)

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return  # closed at teardown
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        stops.append((stop, listener))
        return listener.getsockname()

    yield start
    for stop, listener in stops:
        stop.set()
        listener.close()
