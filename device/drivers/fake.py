"""Fake scanner and printer: what tests and the demo's simulated workers drive.

A named fake (``fake://packer-1``) is one shared instance per name, so a demo
script can push scans into the scanner a device opened from its config URL.
"""

from __future__ import annotations

import queue
import threading
from typing import ClassVar

from .base import PRINTER_CODES, Printer, PrinterStatus, Scanner, ScannerError
from .framing import LineFramer

_FAULT_MESSAGES = {
    "offline": "printer is offline",
    "paper_out": "printer is out of labels",
    "ribbon_out": "printer is out of ribbon",
    "head_open": "printer head is open",
    "paused": "printer is paused",
    "io": "printer I/O error",
}


class FakeScanner(Scanner):
    """A scanner whose scans come from ``inject()`` (or raw bytes via ``feed()``)."""

    _named: ClassVar[dict[str, FakeScanner]] = {}
    _named_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, eol: str = "any") -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._framer = LineFramer(eol)
        self._feed_lock = threading.Lock()
        self._closed = False

    @classmethod
    def named(cls, name: str) -> FakeScanner:
        """Return the shared fake scanner called ``name``, creating it on first use."""
        with cls._named_lock:
            scanner = cls._named.get(name)
            if scanner is None or scanner._closed:
                scanner = cls._named[name] = cls()
            return scanner

    def inject(self, barcode: str) -> None:
        """Queue one scan, as if the trigger was pulled; safe from any thread."""
        self._queue.put(barcode)

    def feed(self, data: bytes) -> None:
        """Queue raw bytes as a serial scanner would send them (CR/LF framed)."""
        with self._feed_lock:
            self._framer.feed(data)
            while (scan := self._framer.pop()) is not None:
                self._queue.put(scan)

    def read(self, timeout: float | None = None) -> str | None:
        """Return the next injected scan, or None after ``timeout`` seconds."""
        if self._closed:
            raise ScannerError("fake scanner is closed")
        try:
            scan = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if scan is None:  # close() wakes a blocked reader with this marker
            raise ScannerError("fake scanner is closed")
        return scan

    def close(self) -> None:
        """Close the scanner and wake any blocked reader."""
        self._closed = True
        self._queue.put(None)


class FakePrinter(Printer):
    """A printer that keeps every label it gets; set ``fault`` to make it fail."""

    _named: ClassVar[dict[str, FakePrinter]] = {}
    _named_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fault: str | None = None) -> None:
        self.labels: list[bytes] = []
        self._lock = threading.Lock()
        self.fault = fault

    @classmethod
    def named(cls, name: str) -> FakePrinter:
        """Return the shared fake printer called ``name``, creating it on first use."""
        with cls._named_lock:
            printer = cls._named.get(name)
            if printer is None:
                printer = cls._named[name] = cls()
            return printer

    @property
    def fault(self) -> str | None:
        """The simulated failure code, or None when the printer works."""
        return self._fault

    @fault.setter
    def fault(self, code: str | None) -> None:
        if code is not None and (code not in PRINTER_CODES or code == "ok"):
            raise ValueError(f"unknown printer fault {code!r}")
        self._fault = code

    @property
    def offline(self) -> bool:
        """True while the printer simulates being unreachable."""
        return self._fault == "offline"

    @offline.setter
    def offline(self, value: bool) -> None:
        self.fault = "offline" if value else None

    @property
    def paper_out(self) -> bool:
        """True while the printer simulates an empty label roll."""
        return self._fault == "paper_out"

    @paper_out.setter
    def paper_out(self, value: bool) -> None:
        self.fault = "paper_out" if value else None

    def print_label(self, zpl: bytes) -> None:
        """Keep the label, or raise the simulated fault."""
        self.status().raise_for_status()
        with self._lock:
            self.labels.append(bytes(zpl))

    def status(self) -> PrinterStatus:
        """Report the simulated fault, if any."""
        if self._fault is None:
            return PrinterStatus(ok=True)
        return PrinterStatus(ok=False, code=self._fault, message=_FAULT_MESSAGES[self._fault])

    def close(self) -> None:
        """Nothing to release; labels stay readable."""
