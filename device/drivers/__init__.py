"""Scanner, printer and scale drivers, chosen by URL (see ``urls.py``)."""

import contextlib

from .base import (
    DriverError,
    Printer,
    PrinterError,
    PrinterStatus,
    Scanner,
    ScannerError,
)
from .cups_printer import CupsPrinter
from .fake import FakePrinter, FakeScanner
from .file_printer import FilePrinter
from .scale import FakeScale, Reading, Scale, ScaleError, SerialScale, parse_frame
from .serial_printer import SerialPrinter
from .serial_scanner import SerialScanner
from .stdin import StdinScanner
from .tcp_printer import TcpPrinter
from .urls import open_printer, open_scale, open_scanner

# evdev is Linux-only; every other driver works without it.
with contextlib.suppress(ImportError):
    from .evdev_scanner import EvdevScanner, KeyDecoder

__all__ = [
    "CupsPrinter",
    "DriverError",
    "EvdevScanner",
    "FakePrinter",
    "FakeScale",
    "FakeScanner",
    "FilePrinter",
    "KeyDecoder",
    "Printer",
    "PrinterError",
    "PrinterStatus",
    "Reading",
    "Scale",
    "ScaleError",
    "Scanner",
    "ScannerError",
    "SerialPrinter",
    "SerialScale",
    "SerialScanner",
    "StdinScanner",
    "TcpPrinter",
    "open_printer",
    "open_scale",
    "open_scanner",
    "parse_frame",
]
