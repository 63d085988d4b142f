"""Pack-station scales: the continuous ASCII weight frames most bench scales send.

A scale in continuous mode sends a frame per reading, several a second, e.g.
``ST,GS,+0001.25kg``: a status (``ST`` stable, ``US`` unstable, ``OL``
overload), the kind of weight (``GS`` gross, ``NT`` net, ``TR`` tare: skipped,
it is not the load), a signed
number and a unit (kg, g, lb, oz). Frames end on CR, LF or CRLF (the scanners'
``LineFramer``). A line that is not a frame (noise on the line, a half frame
after plugging in, a menu banner) is skipped. Only a stable weight counts: the
same stable reading ``settle`` frames in a row; an unstable or overload frame
starts the count again. A weight of zero or less is an empty platform.

``SerialScale`` reads a real port with pyserial; ``FakeScale`` makes the same
frames from what is ``put()`` on it (tests, the simulator). Both are read
through ``parse_frame``, so the fake cannot drift from the real one.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import re
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import serial

from .base import DriverError, _Closing
from .framing import LineFramer

log = logging.getLogger(__name__)

GRAMS_PER = {"kg": 1000.0, "g": 1.0, "lb": 453.59237, "oz": 28.349523125}
_FRAME = re.compile(
    r"^\s*(?P<status>ST|US|OL)\s*,\s*(?P<kind>GS|NT|TR)\s*,\s*"
    r"(?P<number>[+-]?[\s\d.]*?)\s*(?P<unit>kg|g|lb|oz)\s*$",
    re.IGNORECASE,
)


class ScaleError(DriverError):
    """The scale cannot be read (closed, unplugged for good)."""


@dataclass(frozen=True)
class Reading:
    """One frame: stable or not, gross or net, in grams (None for an overload)."""

    stable: bool
    grams: int | None
    kind: str = "GS"

    @property
    def overload(self) -> bool:
        return self.grams is None


def parse_frame(line: str) -> Reading | None:
    """The reading a frame says, or None for a line that is not a weight frame."""
    m = _FRAME.match(line)
    if m is None:
        return None
    status, kind = m["status"].upper(), m["kind"].upper()
    if status == "OL":
        return Reading(False, None, kind)  # the number of an overload frame means nothing
    number = m["number"].replace(" ", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", number):
        return None  # dashes or blanks where digits should be: not a weight
    grams = round(float(number) * GRAMS_PER[m["unit"].lower()])
    return Reading(status == "ST", grams, kind)


def format_frame(grams: int, stable: bool = True) -> str:
    """A frame as a scale sends it (kg, two decimals): what the fake scale sends."""
    return f"{'ST' if stable else 'US'},GS,{grams / 1000:+08.2f}kg"


class Scale(_Closing):
    """A bench scale: ``read()`` gives the next frame's reading; ``stable_weight()`` waits for
    a settled weight."""

    settle: int = 3

    @abc.abstractmethod
    def read(self, timeout: float | None = None) -> Reading | None:
        """The next frame's reading, or None after ``timeout`` seconds without one."""

    def stable_weight(self, timeout: float = 3.0) -> int | None:
        """Grams once ``settle`` stable frames in a row agree; None if that takes longer than
        ``timeout`` (the box still moving, nothing on the scale, overload, no frames)."""
        self.flush()
        deadline = time.monotonic() + timeout
        last, count = None, 0
        while (left := deadline - time.monotonic()) > 0:
            reading = self.read(timeout=left)
            if reading is None or reading.kind == "TR":
                continue  # a tare frame says what was tared, not what is on the platform
            if not reading.stable or reading.grams is None or reading.grams <= 0:
                last, count = None, 0
                continue
            count = count + 1 if reading.grams == last else 1
            last = reading.grams
            if count >= self.settle:
                return last
        return None

    def flush(self) -> None:
        """Forget frames read before now (a weight asked for is the weight now)."""


class SerialScale(Scale):
    """A scale on a serial port (or USB CDC-ACM) sending continuous frames.

    Owns its port: opened lazily; on an error (unplugged) it is closed and opened again on
    the next read, so a /dev/serial/by-id name keeps working across unplug and replug."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        settle: int = 3,
        *,
        serial_factory: Callable[..., serial.Serial] = serial.Serial,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.settle = settle
        self._factory = serial_factory
        self._framer = LineFramer("any", encoding="ascii")
        self._serial: serial.Serial | None = None
        self._closed = False
        self._warned = False
        self._lock = threading.Lock()

    def _open(self) -> serial.Serial | None:
        if self._serial is None:
            try:
                self._serial = self._factory(self.port, self.baudrate, timeout=0, exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                if not self._warned:
                    log.warning("scale %s not available (%s); retrying", self.port, exc)
                    self._warned = True
                return None
            if self._warned:
                log.info("scale %s is back", self.port)
            self._warned = False
        return self._serial

    def _lost(self, exc: BaseException) -> None:
        log.warning("scale %s lost (%s)", self.port, exc)
        self._framer.drop_partial()
        if self._serial is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._serial.close()
        self._serial = None

    def read(self, timeout: float | None = None) -> Reading | None:
        """The next readable frame; garbage lines are skipped, a partial frame waits for more."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                if self._closed:
                    raise ScaleError(f"scale {self.port} is closed")
                while (line := self._framer.pop()) is not None:
                    reading = parse_frame(line)
                    if reading is not None:
                        return reading
                    log.debug("scale %s: not a frame: %r", self.port, line)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                port = self._open()
                if port is None:
                    time.sleep(min(0.5, left if left is not None else 0.5))
                    continue
                try:
                    port.timeout = min(0.5, left) if left is not None else 0.5
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError) as exc:
                    if self._closed:
                        raise ScaleError(f"scale {self.port} is closed") from exc
                    self._lost(exc)
                    continue
                if data:
                    self._framer.feed(data)

    def flush(self) -> None:
        """Drop frames already queued: continuous scales fill the buffer while nobody reads."""
        with self._lock:
            while self._framer.pop() is not None:
                pass
            self._framer.drop_partial()
            if self._serial is not None:
                try:
                    self._serial.reset_input_buffer()
                except (serial.SerialException, OSError, termios.error) as exc:
                    self._lost(exc)

    def close(self) -> None:
        self._closed = True
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.cancel_read()
                port.close()


class FakeScale(Scale):
    """A scale whose load is ``put()`` on it; it sends frames like a real one, read back through
    ``parse_frame``. ``offset_g`` makes it weigh wrong (a test's missing item); ``steady``
    False makes every frame unstable; ``raw`` lines (garbage, overload) go out first."""

    _named: ClassVar[dict[str, FakeScale]] = {}
    _named_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, grams: int = 0, offset_g: int = 0, settle: int = 3) -> None:
        self.grams = grams
        self.offset_g = offset_g
        self.steady = True
        self.settle = settle
        self.raw: list[str] = []
        self.frame_seconds = 0.001
        self._closed = False

    @classmethod
    def named(cls, name: str) -> FakeScale:
        """The shared fake scale called ``name``, made on first use."""
        with cls._named_lock:
            scale = cls._named.get(name)
            if scale is None or scale._closed:
                scale = cls._named[name] = cls()
            return scale

    def put(self, grams: int) -> None:
        """Put a package of this weight on the platform (0: take it off)."""
        self.grams = grams

    def frame(self) -> str:
        if self.raw:
            return self.raw.pop(0)
        return format_frame(self.grams + self.offset_g if self.grams else 0, self.steady)

    def read(self, timeout: float | None = None) -> Reading | None:
        """The next frame's reading; garbage lines are skipped like the real driver does."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise ScaleError("fake scale is closed")
            time.sleep(self.frame_seconds)  # a real scale sends a frame every so often
            reading = parse_frame(self.frame())
            if reading is not None:
                return reading
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def close(self) -> None:
        self._closed = True
