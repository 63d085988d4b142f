"""Label printers on a serial port: ZPL out, optional ``~HS`` status back."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import serial

from .base import Printer, PrinterError, PrinterStatus
from .zpl_status import HS_QUERY, StatusParseError, parse_host_status, split_reply


class SerialPrinter(Printer):
    """A printer on a serial port; the port is opened on first use and reopened after errors."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        write_timeout: float = 5.0,
        status_timeout: float = 2.0,
        check_status: bool = False,
        serial_factory: Callable[..., serial.Serial] = serial.Serial,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self.status_timeout = status_timeout
        # Off by default: many serial printers never answer ~HS, and waiting
        # for a reply before every label would stall them all.
        self.check_status = check_status
        self._factory = serial_factory
        self._serial: serial.Serial | None = None

    def _port(self) -> serial.Serial:
        if self._serial is None:
            try:
                self._serial = self._factory(
                    self.port, self.baudrate, timeout=0.1, write_timeout=self.write_timeout
                )
            except (serial.SerialException, OSError) as exc:
                raise PrinterError(f"printer {self.port} is offline: {exc}", "offline") from exc
        return self._serial

    def _drop(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _query(self) -> PrinterStatus:
        port = self._port()
        try:
            port.reset_input_buffer()  # a stale reply must not answer this query
            port.write(HS_QUERY)
            reply = b""
            deadline = time.monotonic() + self.status_timeout
            while split_reply(reply) is None and time.monotonic() < deadline:
                reply += port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            self._drop()
            raise PrinterError(f"printer {self.port}: {exc}", "offline") from exc
        if not reply:
            return PrinterStatus(False, "offline", f"printer {self.port} did not answer ~HS")
        try:
            return parse_host_status(reply)
        except StatusParseError as exc:
            return PrinterStatus(False, "io", f"printer {self.port}: {exc}")

    def status(self) -> PrinterStatus:
        """Ask ``~HS`` over the port; offline when the port is gone or nothing answers."""
        try:
            return self._query()
        except PrinterError as exc:
            return exc.as_status()

    def print_label(self, zpl: bytes) -> None:
        """Write the label and wait until it left the port; raise ``PrinterError`` on failure."""
        if not zpl:
            raise ValueError("empty label")
        if self.check_status:
            self._query().raise_for_status()
        port = self._port()
        try:
            port.write(zpl)
            port.flush()
        except serial.SerialTimeoutException as exc:
            # Hardware flow control held us off: the printer is busy or stopped.
            self._drop()
            raise PrinterError(f"printer {self.port} stopped accepting data", "offline") from exc
        except (serial.SerialException, OSError) as exc:
            self._drop()
            raise PrinterError(f"printer {self.port}: write failed: {exc}", "io") from exc

    def close(self) -> None:
        """Close the port."""
        self._drop()
