"""USB HID keyboard-wedge scanners read through evdev.

``KeyDecoder`` is pure: it turns any iterable of ``evdev.InputEvent`` into
scans, so tests feed it real event objects. ``EvdevScanner`` grabs the input
device (so scans never leak into a focused terminal) and reopens it when it
is plugged back in: at once on a udev "add" event where pyudev can watch
them, and by polling as well (udev events do not reach every container).
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from evdev import InputDevice, InputEvent, ecodes, list_devices

from .base import Scanner, ScannerError
from .keymap import US_KEYMAP, KeyMap

log = logging.getLogger(__name__)

GS = "\x1d"
_SHIFT = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
_CTRL = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_KEY_UP, _KEY_DOWN = 0, 1  # value 2 is autorepeat, which a scanner never means
_POLL_SLICE = 0.5
# Where udev keeps stable names for input devices; a test points this elsewhere.
BY_ID_DIR = Path("/dev/input/by-id")
# With a udev monitor, polling is only the safety net for a missed event.
_FALLBACK_POLL = 2.0
# udevd's control socket: without a running udevd (containers) no event ever comes.
UDEV_CONTROL = Path("/run/udev/control")


class KeyDecoder:
    """Turn key events into scans: shift, caps lock, a suffix key ends a scan."""

    def __init__(
        self,
        keymap: KeyMap = US_KEYMAP,
        suffix_keys: Iterable[int] = (ecodes.KEY_ENTER, ecodes.KEY_KPENTER),
        gs_key: int | None = None,
        gs_char: str | None = None,
    ) -> None:
        self.keymap = keymap
        self.suffix_keys = frozenset(suffix_keys)
        self.gs_key = gs_key
        # Keyboard-wedge scanners often cannot type GS; they are set to type a
        # stand-in character (or a key such as F8) that we turn back into GS.
        self.gs_char = gs_char
        self.reset()

    def reset(self) -> None:
        """Forget the unfinished scan and modifier state (the device went away)."""
        self._buffer: list[str] = []
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._caps = False

    @property
    def pending(self) -> str:
        """Text typed so far for the scan not yet ended."""
        return "".join(self._buffer)

    def feed(self, events: Iterable[InputEvent]) -> list[str]:
        """Consume events and return the scans they completed, oldest first."""
        scans: list[str] = []
        for event in events:
            if event.type != ecodes.EV_KEY:
                continue
            scan = self._key(event.code, event.value)
            if scan:
                scans.append(scan)
        return scans

    def _key(self, code: int, value: int) -> str | None:
        if code in _SHIFT or code in _CTRL:
            held = self._shift if code in _SHIFT else self._ctrl
            if value == _KEY_DOWN:
                held.add(code)
            elif value == _KEY_UP:
                held.discard(code)
            return None
        if value != _KEY_DOWN:
            return None
        if code == ecodes.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in self.suffix_keys:
            scan, self._buffer = "".join(self._buffer), []
            return scan or None
        if code == self.gs_key:
            self._buffer.append(GS)
            return None
        chars = self.keymap.get(code)
        if chars is None:
            return None
        char = chars[1] if self._shift else chars[0]
        if char.isalpha() and self._caps:
            char = char.swapcase()
        if self._ctrl and char.upper() in "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_":
            # Ctrl+] is how many scanners type GS (0x1D); same rule for the rest.
            char = chr(ord(char.upper()) & 0x1F)
        elif char == self.gs_char:
            char = GS
        self._buffer.append(char)
        return None


def find_device(vendor: int | None, product: int | None) -> InputDevice:
    """Open the first input device with this USB vendor/product that can type Enter."""
    for path in list_devices():
        try:
            device = InputDevice(path)
        except OSError:
            continue
        info = device.info
        keys = device.capabilities().get(ecodes.EV_KEY, [])
        if (
            (vendor is None or info.vendor == vendor)
            and (product is None or info.product == product)
            and ecodes.KEY_ENTER in keys
        ):
            return device
        device.close()
    raise FileNotFoundError(f"no input device with vendor={vendor} product={product}")


def by_id_path(name: str) -> str:
    """The node path for a ``/dev/input/by-id`` name such as ``usb-Honeywell_...-event-kbd``."""
    if not name or "/" in name:
        raise ValueError(f"{name!r} is not a /dev/input/by-id name (no slashes)")
    return str(BY_ID_DIR / name)


def udev_monitor() -> Any | None:
    """A started pyudev monitor for input devices, or None where pyudev or udevd is missing."""
    try:
        import pyudev
    except ImportError:
        return None
    if not UDEV_CONTROL.exists():
        log.info("udevd is not running; the scanner is found again by polling")
        return None
    try:
        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        monitor.filter_by("input")
        monitor.start()
    except Exception as exc:  # no libudev, no netlink in this sandbox: polling still works
        log.info("no udev monitor (%s); the scanner is found again by polling", exc)
        return None
    return monitor


class EvdevScanner(Scanner):
    """A keyboard-wedge scanner grabbed through evdev, by path or by vendor/product."""

    def __init__(
        self,
        path: str | None = None,
        vendor: int | None = None,
        product: int | None = None,
        decoder: KeyDecoder | None = None,
        *,
        grab: bool = True,
        poll_interval: float | None = None,
        opener: Callable[[], Any] | None = None,
        monitor: Any = "auto",
    ) -> None:
        if opener is None:
            if path is None and vendor is None and product is None:
                raise ValueError("evdev scanner needs a device path or a vendor/product")
            opener = (lambda: InputDevice(path)) if path else (lambda: find_device(vendor, product))
        self.name = path or f"vendor={vendor} product={product}"
        self.decoder = decoder or KeyDecoder()
        self._opener = opener
        self._grab = grab
        # "auto": watch udev where pyudev works; None: poll only; or any object with
        # fileno() and poll(timeout) returning devices with an .action (tests).
        self._monitor = udev_monitor() if isinstance(monitor, str) else monitor
        if poll_interval is None:
            poll_interval = _POLL_SLICE if self._monitor is None else _FALLBACK_POLL
        self._poll = poll_interval
        self._device: Any = None
        self._next_attempt = 0.0
        self._scans: deque[str] = deque()
        self._closed = False
        self._warned = False
        self._try_open()

    @property
    def connected(self) -> bool:
        """True while the input device is open (and grabbed)."""
        return self._device is not None

    @property
    def hotplug(self) -> str:
        """How a replugged scanner is found: "udev" (monitor and polling) or "polling"."""
        return "polling" if self._monitor is None else "udev"

    def _wait_for_plug(self, seconds: float) -> None:
        """Sleep up to ``seconds``; with a udev monitor, wake early when an input device appears."""
        if self._monitor is None:
            time.sleep(seconds)
            return
        try:
            ready, _, _ = select.select([self._monitor], [], [], seconds)
            while ready:
                event = self._monitor.poll(timeout=0)
                if event is None:
                    break
                if event.action == "add":
                    self._next_attempt = 0.0  # try now, not at the next poll
        except (OSError, ValueError) as exc:  # monitor socket broke: fall back to polling
            log.warning("udev monitor failed (%s); polling for the scanner", exc)
            self._monitor = None

    def _try_open(self) -> None:
        device = None
        try:
            device = self._opener()
            if self._grab:
                device.grab()  # EBUSY here means another process holds the scanner
        except OSError as exc:
            if device is not None:
                device.close()
            if not self._warned:
                log.warning("scanner %s not available (%s); polling", self.name, exc)
                self._warned = True
            self._next_attempt = time.monotonic() + self._poll
            return
        self._device, self._warned = device, False
        self.decoder.reset()

    def _lost(self, exc: OSError) -> None:
        log.warning(
            "scanner %s lost (%s); dropped partial %r", self.name, exc, self.decoder.pending
        )
        self._warned = True
        self.decoder.reset()
        with contextlib.suppress(OSError):  # the node is already gone
            self._device.close()
        self._device = None
        self._next_attempt = time.monotonic() + self._poll

    def read(self, timeout: float | None = None) -> str | None:
        """Return the next scan, or None after ``timeout`` seconds (even while unplugged)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise ScannerError(f"scanner {self.name} is closed")
            if self._scans:
                return self._scans.popleft()
            now = time.monotonic()
            remaining = None if deadline is None else deadline - now
            wait = _POLL_SLICE if remaining is None else max(0.0, min(remaining, _POLL_SLICE))
            if self._device is None:
                if now >= self._next_attempt:
                    self._try_open()
                if self._device is None:
                    if remaining is not None and remaining <= 0:
                        return None
                    self._wait_for_plug(max(0.0, min(wait, self._next_attempt - now)))
                    continue
            try:
                ready, _, _ = select.select([self._device.fd], [], [], wait)
                if ready:
                    self._scans.extend(self.decoder.feed(self._device.read()))
            except BlockingIOError:
                ready = []  # woke up with nothing to read
            except OSError as exc:  # ENODEV when unplugged
                self._lost(exc)
                continue
            if not ready and remaining is not None and remaining <= _POLL_SLICE:
                return self._scans.popleft() if self._scans else None

    def close(self) -> None:
        """Release the grab and the device; further reads raise ``ScannerError``."""
        self._closed = True
        device, self._device = self._device, None
        if device is not None:
            try:
                if self._grab:
                    device.ungrab()
            except OSError:
                pass
            device.close()
        monitor, self._monitor = self._monitor, None
        if monitor is not None and hasattr(monitor, "stop"):
            with contextlib.suppress(Exception):
                monitor.stop()  # pyudev closes its netlink socket here
