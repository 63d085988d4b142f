"""The device's link to the server: scans out through the journal, events in by sequence.

`DeviceClient` owns one device's Socket.IO link, journal, scanner, printer and scale.
Scans go out journal-first and in order, judged on the device while the server
cannot answer (`device.scanflow`); labels are printed and retried until out
(`device.printing`). Server events carry a per-device seq: they are handled in
seq order, one at or below the last seen is a replay and is dropped, and the
last seen seq goes with every (re)connect (a callable `auth`) so the server
replays what the device missed. A silent link is dropped by a watchdog and the
client reconnects forever with backoff; the first connect retries too.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import socketio

from device.config import DeviceSettings
from device.drivers import Printer, Scale, Scanner
from device.journal import Journal
from device.link import InOrder, Watchdog, WatchedClient
from device.printing import PrintLoop
from device.scanflow import ScanFlow
from device.screen import Screen
from shared import messages as say
from shared.ids import new_id
from shared.protocol import (
    DEVICE_NAMESPACE,
    PROTOCOL_VERSION,
    PrintEvent,
    ProtocolError,
    SeenIn,
    StateEvent,
    dump,
    parse,
)

log = logging.getLogger("scanfloor.device")
NS = DEVICE_NAMESPACE
Listener = Callable[[str, Any], None]


def _software() -> str | None:
    """This device's scanfloor version (None when run from a checkout never installed)."""
    try:
        return importlib.metadata.version("scanfloor")
    except importlib.metadata.PackageNotFoundError:
        return None


SOFTWARE = _software()


def connect_waits(rng: Callable[[], float] = random.random) -> Iterator[float]:
    """The waits between first-connect attempts: 0.5 s doubling to 5 s, each randomised by
    up to half either way (as python-socketio's own reconnects are), so that a floor of
    handhelds powered on together does not knock on the server in step."""
    delay = 0.5
    while True:
        yield delay * (0.5 + rng())
        delay = min(delay * 2, 5.0)


class DeviceClient(ScanFlow, PrintLoop):
    """Owns the Socket.IO link, the journal, the scanner and the printer of one device."""

    def __init__(
        self,
        settings: DeviceSettings,
        scanner: Scanner,
        printer: Printer | None,
        screen: Screen,
        journal: Journal,
        scale: Scale | None = None,
    ):
        self.settings = settings
        self.scanner = scanner
        self.printer = printer
        self.scale = scale  # a pack station's: label scans carry the package's weight
        self.screen = screen
        self.journal = journal
        self.last_seq = int(journal.get_meta("last_seq", "0"))
        self.server_state, self.server_version = self._load_server_state()
        self.rtts: list[float] = []
        self.wrong_scans = 0
        self.offline_scans = 0  # scans the device judged alone
        self.conflicts = 0  # offline verdicts the server overruled
        self.outages = 0
        self.listeners: list[Listener] = []
        self._stop = threading.Event()
        self._online = threading.Event()
        self._prints = threading.Event()
        self._replaced = threading.Event()  # another connection took this token: stay off
        self._asked_reason: str | None = None
        self._flow = threading.RLock()  # the journal's verdicts and the screen move together
        self._events = InOrder()
        self.sio = WatchedClient(
            reconnection=True,
            reconnection_attempts=0,  # forever
            reconnection_delay=0.5,
            reconnection_delay_max=5,
            handle_sigint=False,
        )
        self.watchdog = Watchdog(self.sio, settings.link_timeout, self._online)
        self.sio.on("connect", self._on_connect, namespace=NS)
        self.sio.on("disconnect", self._on_disconnect, namespace=NS)
        self.sio.on("connect_error", self._on_connect_error, namespace=NS)
        self.sio.on("state", lambda data: self._queue_event(StateEvent, data), namespace=NS)
        self.sio.on("print", lambda data: self._queue_event(PrintEvent, data), namespace=NS)
        self.sio.on("replaced", self._on_replaced, namespace=NS)
        self._threads: list[threading.Thread] = []
        # A restart resumes where the worker was: the server's last screen plus unanswered scans.
        self._drop = self._load_drop_off()  # a finished list's totes still to take to packing
        self.state = self._shown_state()

    # ------------------------------------------------------------ lifecycle
    def auth(self) -> dict[str, Any]:
        """Connect payload, made afresh on every reconnect so it carries the last seen seq."""
        return {
            "token": self.settings.token,
            "last_seen_seq": self.last_seq,
            "protocol": PROTOCOL_VERSION,
            "journal_seq": self.journal.last_seq(),  # the board shows what is still queued
            **({"device_version": SOFTWARE} if SOFTWARE else {}),  # the board shows it too
        }

    def start(self) -> None:
        """Show the last screen, connect (retrying until the server is up), start the threads."""
        self.screen.status("connecting", self.journal.counts()["waiting"])
        self.screen.show(self.state)
        targets = (
            self._connect_loop,
            self._read_scans,
            self._send_scans,
            self._run_printer,
            self._dispatch_events,
            lambda: self.watchdog.run(self._stop),
        )
        for target in targets:
            t = threading.Thread(target=target, name=getattr(target, "__name__", "t"), daemon=True)
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

    @property
    def online(self) -> bool:
        """The link is up."""
        return self._online.is_set()

    def _connect_loop(self) -> None:
        # The first connect has no automatic retry: a device may boot before the server.
        waits = connect_waits()
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
                delay = next(waits)
                log.info("server not reachable (%s); retrying in %.1fs", exc, delay)
                self._went_offline()
                self._stop.wait(delay)

    def _on_connect(self) -> None:
        self.sio.heard()
        self._online.set()
        self._show_status()
        self._emit("link", "online")

    def _on_connect_error(self, data: Any = None) -> None:
        # The server says why it refused (e.g. an unknown token): show it, keep retrying.
        # A plain string is the client's own "could not reach it": the offline bar says that.
        if not isinstance(data, dict):
            log.info("server not reachable: %s", data)
            return
        reason = data.get("message")
        log.warning("server refused the connection: %s", reason)
        self.screen.scan_result(False, f"Server refused: {reason}", "server_refused")

    def _on_disconnect(self, reason: Any = None) -> None:
        self._online.clear()
        if self._stop.is_set():
            return  # our own stop(): not an outage
        if self._replaced.is_set():
            # Another connection signed in with this token: reconnecting would throw that one
            # out in turn. Wait for CMD-LOGIN.
            self._signed_out()
            return
        if reason == self.sio.reason.SERVER_DISCONNECT:
            # The server closed the link itself. Nothing reconnects by itself after that
            # (python-socketio does not): unless `replaced` says why (it may overtake this), do.
            threading.Thread(target=self._after_server_close, daemon=True).start()
        self.outages += 1
        log.info("link lost (%s)", reason)
        self._went_offline()
        self._emit("link", "offline")

    def _after_server_close(self) -> None:
        if self._replaced.wait(1.0) or self._stop.is_set():
            return
        log.info("the server closed the link; reconnecting")
        self._connect_loop()

    def _on_replaced(self, data: Any = None) -> None:
        """Another connection signed in with this token: close this link and stay off."""
        if isinstance(data, dict):
            log.warning("server: %s", data.get("message"))
        self._signed_out()
        with contextlib.suppress(Exception):  # the server closes it too
            self.sio.disconnect()

    def _signed_out(self) -> None:
        if self._replaced.is_set():
            return
        self._replaced.set()
        self._online.clear()
        log.warning("another connection signed in with this device's token; waiting for CMD-LOGIN")
        self.screen.status("replaced", self.journal.counts()["waiting"])
        self.screen.scan_result(False, say.replaced_on_device(), "replaced")
        self._emit("link", "replaced")

    @property
    def signed_out(self) -> bool:
        """Another connection took this device's token; CMD-LOGIN takes it back."""
        return self._replaced.is_set()

    def take_over(self) -> None:
        """Connect again after being replaced (CMD-LOGIN): the newest connection wins."""
        if not self._replaced.is_set():
            return
        self._replaced.clear()
        self.screen.status("connecting", self.journal.counts()["waiting"])
        t = threading.Thread(target=self._connect_loop, name="reconnect", daemon=True)
        t.start()
        self._threads.append(t)

    def _went_offline(self) -> None:
        # No answer is coming soon: whatever waits for one is judged here.
        with self._flow:
            self._judge_waiting()
        self._show_status()

    def _show_status(self) -> None:
        if self._replaced.is_set():
            link = "replaced"
        else:
            link = "online" if self._online.is_set() else "offline"
        self.screen.status(link, self.journal.counts()["waiting"])

    def _emit(self, kind: str, payload: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, payload)
            except Exception:
                log.exception("listener failed")

    # ------------------------------------------------------------ server events
    def _queue_event(self, model: type, data: Any) -> None:
        try:
            ev = parse(model, data)
        except ProtocolError as err:
            log.warning("bad %s event from server: %s", model.__name__, err)
            return
        self._events.put(ev.seq, ev)

    def _dispatch_events(self) -> None:
        while not self._stop.is_set():
            got = self._events.take(self.last_seq + 1)
            if got is None:
                continue
            seq, ev = got
            try:
                self._handle_event(seq, ev)
            except Exception:
                log.exception("server event %s failed", seq)

    def _handle_event(self, seq: int, ev: StateEvent | PrintEvent) -> None:
        if isinstance(ev, PrintEvent) and self.journal.add_print(ev.job_id, ev.order_id, ev.zpl):
            self._prints.set()  # kept even if a replay: add_print ignores known jobs
        if seq <= self.last_seq:
            return
        if isinstance(ev, StateEvent):
            with self._flow:
                if self._offer_state(ev.state, (seq, 0)):
                    self._rebase()
            if ev.message:
                self.screen.notice(ev.message)
        self.last_seq = seq
        self.journal.set_meta("last_seq", str(seq))
        # Fire and forget: a lost `seen` only means a replay later, which the seq check drops.
        with contextlib.suppress(Exception):
            self.sio.emit("seen", dump(SeenIn(id=new_id("n"), seq=seq)), namespace=NS)
