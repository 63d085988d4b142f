"""Label printing on a pack station: jobs journalled, printed, retried, results reported.

A `print` event's job is kept in the journal from the moment it arrives. The
loop prints each job not yet printed; a failure (printer off, out of paper,
head open...) is shown on the screen, reported to the server (supervisors see
it) and retried with backoff until the label is out; each result is resent
until the server acknowledges it. `PrintLoop` is mixed into `DeviceClient`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import socketio

from device.config import DeviceSettings
from device.drivers import Printer, PrinterError
from device.journal import Journal
from device.screen import Screen
from shared.ids import new_id
from shared.protocol import DEVICE_NAMESPACE, PrintResultIn, dump

log = logging.getLogger("scanfloor.device")
NS = DEVICE_NAMESPACE


class PrintLoop:
    """The printing half of a device client."""

    settings: DeviceSettings
    printer: Printer | None
    screen: Screen
    journal: Journal
    sio: socketio.Client
    _stop: threading.Event
    _online: threading.Event
    _prints: threading.Event
    _emit: Callable[[str, Any], None]

    def _run_printer(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            self._prints.wait(1.0)
            self._prints.clear()
            failed = False
            for job_id, order_id, zpl in self.journal.prints_to_do():
                ok, error = self._print(zpl)
                self.journal.print_done(job_id, ok, error)
                failed = failed or not ok
                if ok:
                    self._emit("printed", order_id)
            if not failed and self.printer is not None:
                self.screen.printer_state(None)
            for job_id, ok, error in self.journal.results_to_report():
                if not self._online.is_set():
                    break
                try:
                    raw = self.sio.call(
                        "print_result",
                        dump(PrintResultIn(id=new_id("p"), job_id=job_id, ok=ok, error=error)),
                        namespace=NS,
                        timeout=self.settings.reply_timeout,
                    )
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                    break
                self.journal.reported(job_id)
                if not (isinstance(raw, dict) and raw.get("ok")):
                    log.warning("print result for job %s refused: %s", job_id, raw)
            if failed or self.journal.results_to_report():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                self._prints.set()
            else:
                backoff = 0.5

    def _print(self, zpl: str) -> tuple[bool, str | None]:
        if self.printer is None:
            return False, "no printer configured"
        try:
            self.printer.print_label(zpl.encode("utf-8"))
            return True, None
        except PrinterError as exc:
            if self.screen.printer is None:  # newly broken: make the packer look up
                self.screen.scan_result(False, f"Printer: {exc.message}", "printer")
            waiting = self.journal.labels_waiting()
            self.screen.printer_state(
                f"{exc.message} ({waiting} label{'s' * (waiting != 1)} waiting)"
            )
            return False, f"{exc.code}: {exc.message}"
