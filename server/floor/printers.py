"""Raw ZPL to a networked label printer (`tcp://host:9100`), for the admin CLI.

The server's own small sender: devices print through their drivers
(`device/drivers/`), which the server never imports. One connection per batch,
half-closed when sent so the printer sees the end of the job.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

DEFAULT_PORT = 9100


class PrinterUnreachable(OSError):
    """The printer could not be reached or took the bytes only in part."""


def parse_printer_url(url: str) -> tuple[str, int]:
    """(host, port) of `tcp://host[:port]`; ValueError for anything else."""
    parts = urlsplit(url)
    try:
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError:
        port = 0
    if parts.scheme != "tcp" or not parts.hostname or not 0 < port < 65536:
        raise ValueError(f"a printer URL is tcp://host[:port] (raw ZPL, port 9100), not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"a printer URL has no path or query: {url!r}")
    return parts.hostname, port


def send_raw(url: str, data: bytes, timeout: float = 10.0) -> None:
    """Send `data` to the printer at `url` and close; PrinterUnreachable if it cannot be sent."""
    host, port = parse_printer_url(url)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
    except OSError as exc:
        reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
        raise PrinterUnreachable(f"printer {host}:{port}: {reason}") from None
