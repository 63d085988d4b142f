"""Small interfaces every scanner and printer driver implements.

The device worker only ever sees a ``Scanner`` and a ``Printer``; which real or
fake driver sits behind them is chosen by URL in config (see ``urls.py``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType
from typing import Self

# Codes a supervisor sees for a failed label; "io" covers everything else.
PRINTER_CODES = frozenset({"ok", "offline", "paper_out", "ribbon_out", "head_open", "paused", "io"})


class DriverError(Exception):
    """A scanner or printer failed; the message is meant for the worker and supervisor."""


class ScannerError(DriverError):
    """The scanner cannot deliver scans (closed, misconfigured, end of input)."""


class PrinterError(DriverError):
    """A label could not be printed; ``code`` says why in one word."""

    def __init__(self, message: str, code: str = "io") -> None:
        if code not in PRINTER_CODES or code == "ok":
            raise ValueError(f"unknown printer error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def as_status(self) -> PrinterStatus:
        """The not-ready ``PrinterStatus`` that says the same as this error."""
        return PrinterStatus(ok=False, code=self.code, message=self.message)


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer says about itself: ``code`` is "ok" or a ``PrinterError`` code."""

    ok: bool
    code: str = "ok"
    message: str = "ready"

    def raise_for_status(self) -> None:
        """Raise the matching ``PrinterError`` unless the printer is ready."""
        if not self.ok:
            raise PrinterError(self.message, self.code)


class _Closing(abc.ABC):
    """A driver used in a ``with`` block is closed at its end."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device, port or connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Scanner(_Closing):
    """A barcode scanner: one ``read()`` returns one scan."""

    @abc.abstractmethod
    def read(self, timeout: float | None = None) -> str | None:
        """Return the next barcode without its terminator, or None after ``timeout`` seconds."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device; further reads raise ``ScannerError``."""


class Printer(_Closing):
    """A label printer that takes raw ZPL."""

    @abc.abstractmethod
    def print_label(self, zpl: bytes) -> None:
        """Send one label (or several) to the printer; raise ``PrinterError`` on failure."""

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer whether it can print right now."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection or port."""
