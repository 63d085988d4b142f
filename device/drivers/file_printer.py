"""Printers reached through a device file such as /dev/usb/lp0 (or any file).

The file is opened for each job: a USB printer that was switched off and on
gets a new device node, and a handle kept open would point at the old one.
"""

from __future__ import annotations

import errno
import os

from .base import Printer, PrinterError, PrinterStatus

# errno values that mean "nothing is plugged in there" rather than a fault.
_OFFLINE_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}


class FilePrinter(Printer):
    """Write each label's bytes to a path (appending, so a plain file collects every label)."""

    def __init__(self, path: str) -> None:
        if not path:
            raise ValueError("file printer needs a path")
        self.path = path

    def print_label(self, zpl: bytes) -> None:
        """Append the label to the file; raise ``PrinterError`` if it cannot be written."""
        if not zpl:
            raise ValueError("empty label")
        try:
            with open(self.path, "ab") as out:
                out.write(zpl)
                out.flush()
        except OSError as exc:
            code = "offline" if exc.errno in _OFFLINE_ERRNOS else "io"
            raise PrinterError(f"printer {self.path}: {exc.strerror or exc}", code) from exc

    def status(self) -> PrinterStatus:
        """Ok when the path (or, for a plain file, its folder) is writable; no paper sensing."""
        target = self.path if os.path.exists(self.path) else os.path.dirname(self.path) or "."
        if self.path.startswith("/dev/") and not os.path.exists(self.path):
            return PrinterStatus(False, "offline", f"printer {self.path} is not connected")
        if not os.access(target, os.W_OK):
            return PrinterStatus(False, "offline", f"printer {self.path} is not writable")
        return PrinterStatus(ok=True, message="ready (a file printer cannot report paper)")

    def close(self) -> None:
        """Nothing held between jobs."""
