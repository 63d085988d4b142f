"""The device's link to the server: scans out through the journal, events in by sequence.

Scans are journalled on disk first, then sent one at a time in journal order
with an acknowledgement; an unacknowledged scan is resent with the same id
until the server answers (the server applies an id once). Server events carry
a per-device seq: an event at or below the last one seen is a replay and is
dropped, and the last seen seq goes with every (re)connect so the server
replays what the device missed. Print jobs are journalled too, printed, and
their result is resent until acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import socketio

from device.config import DeviceSettings
from device.drivers import Printer, PrinterError, Scanner, ScannerError
from device.journal import Journal
from device.screen import Screen
from shared.ids import new_id
from shared.protocol import (
    DEVICE_NAMESPACE,
    PROTOCOL_VERSION,
    Ack,
    DeviceState,
    PrintEvent,
    PrintResultIn,
    ProtocolError,
    ScanIn,
    ScanReply,
    SeenIn,
    StateEvent,
    dump,
    parse,
)

log = logging.getLogger("scanfloor.device")
NS = DEVICE_NAMESPACE
Listener = Callable[[str, Any], None]


class DeviceClient:
    """Owns the Socket.IO link, the journal, the scanner and the printer of one device."""

    def __init__(
        self,
        settings: DeviceSettings,
        scanner: Scanner,
        printer: Printer | None,
        screen: Screen,
        journal: Journal,
    ):
        self.settings = settings
        self.scanner = scanner
        self.printer = printer
        self.screen = screen
        self.journal = journal
        self.last_seq = int(journal.get_meta("last_seq", "0"))
        self.state: DeviceState | None = None
        self.rtts: list[float] = []
        self.wrong_scans = 0
        self.listeners: list[Listener] = []
        self._stop = threading.Event()
        self._online = threading.Event()
        self._prints = threading.Event()
        self._lock = threading.Lock()
        self.sio = socketio.Client(
            reconnection=True,
            reconnection_attempts=0,  # forever
            reconnection_delay=0.5,
            reconnection_delay_max=5,
            handle_sigint=False,
        )
        self.sio.on("connect", self._on_connect, namespace=NS)
        self.sio.on("disconnect", self._on_disconnect, namespace=NS)
        self.sio.on("connect_error", self._on_connect_error, namespace=NS)
        self.sio.on("state", self._on_state, namespace=NS)
        self.sio.on("print", self._on_print, namespace=NS)
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ lifecycle
    def auth(self) -> dict[str, Any]:
        """Connect payload, made afresh on every reconnect so it carries the last seen seq."""
        return {
            "token": self.settings.token,
            "last_seen_seq": self.last_seq,
            "protocol": PROTOCOL_VERSION,
        }

    def start(self) -> None:
        """Connect (retrying until the server is up) and start the worker threads."""
        for target in (self._connect_loop, self._read_scans, self._send_scans, self._run_printer):
            t = threading.Thread(target=target, name=target.__name__, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._prints.set()
        with contextlib.suppress(Exception):  # already down
            self.sio.disconnect()
        for t in self._threads:
            t.join(timeout=2)

    def wait_online(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    def _connect_loop(self) -> None:
        # The first connect has no automatic retry: a device may boot before the server.
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.sio.connect(
                    self.settings.server,
                    namespaces=[NS],
                    auth=self.auth,
                    transports=["websocket"],
                    wait_timeout=10,
                )
                return
            except socketio.exceptions.ConnectionError as exc:
                log.info("server not reachable (%s); retrying in %.1fs", exc, delay)
                self.screen.status("offline", self.journal.counts()["waiting"])
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)

    def _on_connect(self) -> None:
        self._online.set()
        self.screen.status("online", self.journal.counts()["waiting"])
        self._emit("link", "online")

    def _on_connect_error(self, data: Any = None) -> None:
        # The server says why it refused (e.g. an unknown token): show it, keep retrying.
        reason = data.get("message") if isinstance(data, dict) else str(data)
        log.warning("server refused the connection: %s", reason)
        self.screen.scan_result(False, f"Server refused: {reason}")

    def _on_disconnect(self, reason: Any = None) -> None:
        self._online.clear()
        self.screen.status("offline", self.journal.counts()["waiting"])
        self._emit("link", "offline")

    def _emit(self, kind: str, payload: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, payload)
            except Exception:
                log.exception("listener failed")

    # ------------------------------------------------------------ server events
    def _take_seq(self, seq: int) -> bool:
        """Record an event's seq; False for a replay already handled."""
        with self._lock:
            if seq <= self.last_seq:
                return False
            self.last_seq = seq
            self.journal.set_meta("last_seq", str(seq))
        return True

    def _report_seen(self, seq: int) -> None:
        # Fire and forget: a lost `seen` only means a replay later, which the seq check drops.
        with contextlib.suppress(Exception):
            self.sio.emit("seen", dump(SeenIn(id=new_id("n"), seq=seq)), namespace=NS)

    def _on_state(self, data: Any) -> None:
        try:
            ev = parse(StateEvent, data)
        except ProtocolError as err:
            log.warning("bad state event from server: %s", err)
            return
        if not self._take_seq(ev.seq):
            return
        self._set_state(ev.state)
        if ev.message:
            self.screen.notice(ev.message)
        self._report_seen(ev.seq)

    def _on_print(self, data: Any) -> None:
        try:
            ev = parse(PrintEvent, data)
        except ProtocolError as err:
            log.warning("bad print event from server: %s", err)
            return
        if self.journal.add_print(ev.job_id, ev.order_id, ev.zpl):
            self._prints.set()
        if self._take_seq(ev.seq):
            self._report_seen(ev.seq)

    def _set_state(self, state: DeviceState) -> None:
        self.state = state
        self.screen.show(state)
        self._emit("state", state)

    # ------------------------------------------------------------ scans
    def _read_scans(self) -> None:
        while not self._stop.is_set():
            try:
                barcode = self.scanner.read(timeout=0.5)
            except ScannerError as exc:
                if self._stop.is_set():
                    return
                log.warning("scanner: %s", exc)
                self._stop.wait(1)
                continue
            if barcode:
                self.scan(barcode)

    def scan(self, barcode: str) -> None:
        """A scan from the scanner: to disk first, then to the sender."""
        self.journal.append(barcode)
        self.screen.status(self.screen.link, self.journal.counts()["waiting"])

    def _send_scans(self) -> None:
        while not self._stop.is_set():
            if not self.journal.wait_for_pending(0.5):
                continue
            if not self._online.wait(0.5):
                continue
            for entry in self.journal.pending():
                if self._stop.is_set() or not self._send_one(entry):
                    break

    def _send_one(self, entry) -> bool:
        payload = dump(ScanIn(id=entry.msg_id, barcode=entry.barcode, at=entry.at, seq=entry.seq))
        t0 = time.perf_counter()
        try:
            raw = self.sio.call("scan", payload, namespace=NS, timeout=self.settings.reply_timeout)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError) as exc:
            log.info("scan %s not acknowledged (%s); will resend", entry.msg_id, type(exc).__name__)
            self._stop.wait(0.5)
            return False
        rtt = time.perf_counter() - t0
        if isinstance(raw, dict) and "state" not in raw and raw.get("error"):
            # Refused as malformed: resending would get the same answer.
            err = parse(Ack, raw)
            self.journal.ack(entry.msg_id, raw)
            self.screen.scan_result(False, err.error.message if err.error else "refused")
            return True
        reply = parse(ScanReply, raw)
        self.journal.ack(entry.msg_id, raw)
        self.rtts.append(rtt)
        if not reply.ok:
            self.wrong_scans += 1
        self.screen.status(self.screen.link, self.journal.counts()["waiting"])
        self.screen.scan_result(reply.ok, reply.message)
        if reply.state is not None:
            self._set_state(reply.state)
        self._emit("reply", reply)
        return True

    # ------------------------------------------------------------ printing
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
                backoff = min(backoff * 2, 10.0)
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
            self.screen.scan_result(False, f"Printer: {exc.message}")
            return False, f"{exc.code}: {exc.message}"
