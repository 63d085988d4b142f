"""Serial (or USB CDC-ACM) barcode scanners: CR/LF framed text on a port.

The scanner object owns its port: it opens lazily, and when the scanner is
unplugged (SerialException, ENODEV, EIO) it closes the port and reopens the
same path with a growing backoff, so a udev symlink such as
/dev/serial/by-id/... keeps working across unplug and replug.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import serial

from .base import Scanner, ScannerError
from .framing import LineFramer

log = logging.getLogger(__name__)

# A blocked read wakes up this often so close() and unplug are noticed promptly.
_READ_SLICE = 0.5


class SerialScanner(Scanner):
    """A scanner on a serial port; each CR, LF or CRLF (see ``eol``) ends one scan."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        eol: str = "any",
        *,
        backoff_initial: float = 0.1,
        backoff_max: float = 2.0,
        serial_factory: Callable[..., serial.Serial] = serial.Serial,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self._framer = LineFramer(eol)
        self._factory = serial_factory
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff = backoff_initial
        self._next_attempt = 0.0
        self._serial: serial.Serial | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._warned = False
        self._try_open()

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._serial is not None

    def _try_open(self) -> None:
        try:
            self._serial = self._factory(self.port, self.baudrate, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            if not self._warned:
                log.warning("scanner %s not available (%s); retrying", self.port, exc)
                self._warned = True
            else:  # every retry's reason, for whoever turns on debug logging
                log.debug("scanner %s still not available (%s)", self.port, exc)
            self._next_attempt = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self._backoff_max)
            return
        if self._warned:
            log.info("scanner %s is back", self.port)
        self._warned = False
        self._backoff = self._backoff_initial

    def _lost(self, exc: BaseException) -> None:
        # Complete scans already framed stay queued; only the unfinished tail
        # is dropped: a scanner unplugged mid-scan never sends the rest, and
        # gluing the fragment onto the next scan would make a wrong barcode.
        dropped = self._framer.drop_partial()
        log.warning("scanner %s lost (%s); dropped partial scan %r", self.port, exc, dropped)
        self._warned = True
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):  # already gone
                self._serial.close()
        self._serial = None
        self._backoff = self._backoff_initial
        self._next_attempt = time.monotonic() + self._backoff

    def read(self, timeout: float | None = None) -> str | None:
        """Return the next scan, or None after ``timeout`` seconds (even while unplugged)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                if self._closed:
                    raise ScannerError(f"scanner {self.port} is closed")
                scan = self._framer.pop()
                if scan is not None:
                    return scan
                now = time.monotonic()
                remaining = None if deadline is None else deadline - now
                if self._serial is None:
                    if now >= self._next_attempt:
                        self._try_open()
                    if self._serial is None:
                        wait = self._next_attempt - now
                        if remaining is not None:
                            if remaining <= 0:
                                return None
                            wait = min(wait, remaining)
                        time.sleep(max(0.0, min(wait, _READ_SLICE)))
                        continue
                port = self._serial
                slice_ = _READ_SLICE if remaining is None else max(0.0, min(remaining, _READ_SLICE))
                try:
                    port.timeout = slice_
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError) as exc:
                    if self._closed:
                        raise ScannerError(f"scanner {self.port} is closed") from exc
                    self._lost(exc)
                    continue
                if data:
                    self._framer.feed(data)
                elif deadline is not None and time.monotonic() >= deadline:
                    return self._framer.pop()

    def close(self) -> None:
        """Close the port; further reads raise ``ScannerError``."""
        self._closed = True
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.cancel_read()
                port.close()
            except (serial.SerialException, OSError):
                pass
