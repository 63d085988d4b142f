"""Networked Zebra printers: raw ZPL over TCP port 9100.

One connection per job: a printer that rebooted or roamed between jobs would
leave a kept-open socket silently dead, and a fresh connect is cheap on a LAN.
Before sending, the printer is asked ``~HS`` so a label sent to a printer
with no paper is reported at once instead of waiting unseen in its buffer.
"""

from __future__ import annotations

import socket
import time

from .base import Printer, PrinterError, PrinterStatus
from .zpl_status import HS_QUERY, StatusParseError, parse_host_status, split_reply


def _reason(exc: OSError) -> str:
    """The OS's words without "[Errno 111]": "Connection refused", "timed out"."""
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


class TcpPrinter(Printer):
    """A printer reached at ``host:port`` that speaks raw ZPL."""

    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        connect_timeout: float = 3.0,
        io_timeout: float = 5.0,
        check_status: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.check_status = check_status

    @property
    def address(self) -> str:
        """host:port as people write it."""
        return f"{self.host}:{self.port}"

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:  # refused, unreachable, timed out, unknown host
            raise PrinterError(
                f"printer {self.address} is offline: check it is switched on and "
                f"on the network ({_reason(exc)})",
                "offline",
            ) from exc
        sock.settimeout(self.io_timeout)
        return sock

    def _query(self, sock: socket.socket) -> PrinterStatus:
        sock.sendall(HS_QUERY)
        reply = b""
        deadline = time.monotonic() + self.io_timeout
        while split_reply(reply) is None:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(1024)
            except TimeoutError as exc:
                raise PrinterError(
                    f"printer {self.address} did not answer the status query within "
                    f"{self.io_timeout:g} s: is it a ZPL printer?",
                    "io",
                ) from exc
            if not chunk:
                raise PrinterError(
                    f"printer {self.address} closed the connection without answering the "
                    "status query (~HS): is it a ZPL printer? (?check=0 in its URL skips the "
                    "query)",
                    "io",
                )
            reply += chunk
        try:
            return parse_host_status(reply)
        except StatusParseError as exc:
            raise PrinterError(f"printer {self.address}: {exc}", "io") from exc

    def status(self) -> PrinterStatus:
        """Send ``~HS`` and report what the printer answers; offline when unreachable."""
        try:
            with self._connect() as sock:
                return self._query(sock)
        except PrinterError as exc:
            return exc.as_status()
        except OSError as exc:
            message = f"printer {self.address}: connection failed ({_reason(exc)})"
            return PrinterStatus(ok=False, code="io", message=message)

    def print_label(self, zpl: bytes) -> None:
        """Send the label; raise ``PrinterError`` if the printer is unreachable or not ready."""
        if not zpl:
            raise ValueError("empty label")
        try:
            with self._connect() as sock:
                if self.check_status:
                    self._query(sock).raise_for_status()
                sock.sendall(zpl)
                # Half-close so the printer sees the end of the job; the kernel
                # still delivers every byte queued before close().
                sock.shutdown(socket.SHUT_WR)
        except PrinterError:
            raise
        except OSError as exc:
            raise PrinterError(
                f"printer {self.address}: the label could not be sent ({_reason(exc)})",
                "io",
            ) from exc

    def close(self) -> None:
        """Nothing held between jobs."""
