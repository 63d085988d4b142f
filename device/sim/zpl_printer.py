"""A virtual networked Zebra printer: a real TCP listener on loopback.

It does what the device needs from a printer on port 9100: takes raw ZPL,
splits the stream into labels on ``^XZ``, answers the ``~HS`` host status
query, and keeps every label (in memory and, given a folder, as
``label-0001.zpl`` ...). Faults are switched on with attributes so offline
printer tests can run against it: ``paper_out``, ``head_open``, ``paused``,
``ribbon_out``, ``answer_status`` (False: silent) and ``refuse_connections``.

Run one by hand: ``python -m device.sim.zpl_printer --port 9100 --out DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import threading
from pathlib import Path
from typing import Self

from .loopback import LoopbackServer

HS = b"~HS"
END = b"^XZ"


class ZplPrinterSim(LoopbackServer):
    """A Zebra-like printer listening on ``host:port`` (port 0 picks a free one)."""

    thread_name = "zpl-sim"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, out_dir: str | Path | None = None):
        super().__init__(host, port)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.paper_out = False
        self.head_open = False
        self.paused = False
        self.ribbon_out = False
        self.answer_status = True
        self.status_queries = 0
        self._labels: list[bytes] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._refusing = False

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> Self:
        """Bind, listen and serve in a background thread."""
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        return super().start()

    @property
    def url(self) -> str:
        """The printer URL a device config would use."""
        return f"tcp://{self.host}:{self.port}"

    @property
    def refuse_connections(self) -> bool:
        """True while nothing listens on the port, so connects are refused (printer off)."""
        return self._refusing

    @refuse_connections.setter
    def refuse_connections(self, value: bool) -> None:
        if value and not self._refusing:
            self._refusing = True
            self._unlisten()
        elif not value and self._refusing:
            self._listen()  # same port again: the printer came back
            self._refusing = False

    # -- labels --------------------------------------------------------------
    @property
    def labels(self) -> list[bytes]:
        """Every label received so far, each ending in ``^XZ``."""
        with self._lock:
            return list(self._labels)

    def wait_for_labels(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Block until ``count`` labels arrived (or ``timeout``); return all labels."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._labels) >= count, timeout)
            return list(self._labels)

    def host_status(self) -> bytes:
        """The three-string ~HS reply for the current fault flags."""
        # Fields we do not simulate keep plausible fixed values (e.g. 000 formats queued).
        first = f"014,{int(self.paper_out)},{int(self.paused)},1218,000,0,0,0,000,0,0,0"
        second = f"001,0,{int(self.head_open)},{int(self.ribbon_out)},1,2,6,0,00000000,1,000"
        third = "1234,0"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (first, second, third))

    def _keep(self, label: bytes) -> None:
        # A label counts as received only once its file is whole on disk: whoever waits for it
        # (wait_for_labels, or a reader polling the folder) never sees a missing or half file.
        with self._arrived:
            number = len(self._labels) + 1
            if self.out_dir is not None:
                path = self.out_dir / f"label-{number:04d}.zpl"
                part = path.with_name(path.name + ".part")
                part.write_bytes(label)
                part.replace(path)
            self._labels.append(label)
            self._arrived.notify_all()

    # -- networking ----------------------------------------------------------
    def _accepted(self, conn: socket.socket) -> None:
        # Served on the accept thread: one job at a time, in the order
        # connections came, as a Zebra does: two jobs must never interleave
        # or swap their labels.
        buffer = b""
        with conn:
            conn.settimeout(self.tick)
            while self.running:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer = self._consume(buffer + chunk, conn)

    def _consume(self, buffer: bytes, conn: socket.socket) -> bytes:
        # ~HS is a tilde command: the printer acts on it at once, wherever it
        # sits in the stream, so it is cut out before labels are split.
        while (at := buffer.find(HS)) >= 0:
            buffer = buffer[:at] + buffer[at + len(HS) :]
            self.status_queries += 1
            if self.answer_status:
                conn.sendall(self.host_status())
        while (at := buffer.find(END)) >= 0:
            label, buffer = buffer[: at + len(END)].strip(), buffer[at + len(END) :]
            self._keep(label)
        return buffer


def main(argv: list[str] | None = None) -> None:
    """Run a simulated printer until interrupted."""
    parser = argparse.ArgumentParser(description="Simulated Zebra printer on raw TCP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--out", help="folder to write label-0001.zpl ... into")
    for fault in ("paper-out", "head-open", "paused", "ribbon-out"):
        parser.add_argument(f"--{fault}", action="store_true", help=f"report {fault} in ~HS")
    args = parser.parse_args(argv)
    sim = ZplPrinterSim(args.host, args.port, args.out)
    sim.paper_out, sim.head_open = args.paper_out, args.head_open
    sim.paused, sim.ribbon_out = args.paused, args.ribbon_out
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with sim:
        print(f"zpl printer listening on {sim.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopping.wait()
    print(f"stopped after {len(sim.labels)} labels", flush=True)


if __name__ == "__main__":
    main()
