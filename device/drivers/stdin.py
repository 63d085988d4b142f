"""Scans typed or pasted into a terminal, one per line.

This is what a keyboard-wedge scanner does when the device runs in a plain
terminal: it "types" the barcode and presses Enter.
"""

from __future__ import annotations

import os
import select
import sys
import time

from .base import Scanner, ScannerError
from .framing import LineFramer


class StdinScanner(Scanner):
    """Read one barcode per line from a file descriptor (standard input by default)."""

    def __init__(self, fd: int | None = None) -> None:
        # Raw os.read on the descriptor, not sys.stdin.readline(): select() cannot
        # see lines already sitting in Python's text buffer, so timeouts would lie.
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._framer = LineFramer("any")
        self._eof = False
        self._closed = False

    def read(self, timeout: float | None = None) -> str | None:
        """Return the next line without its newline, or None after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise ScannerError("stdin scanner is closed")
            scan = self._framer.pop()
            if scan is not None:
                return scan
            if self._eof:
                raise ScannerError("standard input ended: no more scans")
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if not ready:
                return None
            data = os.read(self._fd, 4096)
            if not data:
                # A last line without a newline still counts as a scan.
                self._eof = True
                self._framer.feed(b"\n")
            else:
                self._framer.feed(data)

    def close(self) -> None:
        """Stop reading; the descriptor itself belongs to the process and stays open."""
        self._closed = True
