"""Scales: the weight frames, and a stable weight from the serial driver on a real pseudo-terminal
and from the fake (the same contract for both)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from device.drivers import FakeScale, Reading, SerialScale, open_scale, parse_frame
from device.drivers.scale import format_frame


@pytest.mark.parametrize(
    "line, reading",
    [
        ("ST,GS,+0001.25kg", Reading(True, 1250, "GS")),
        ("US,GS,+0001.25kg", Reading(False, 1250, "GS")),
        ("ST,NT,+0000.80kg", Reading(True, 800, "NT")),
        ("ST,GS,-0000.02kg", Reading(True, -20, "GS")),
        ("ST,GS,+01250 g", Reading(True, 1250, "GS")),
        ("ST,GS,  +2.50 lb", Reading(True, 1134, "GS")),
        ("st,gs,+0010.0oz", Reading(True, 283, "GS")),
        ("ST , GS , + 0001.25 KG ", Reading(True, 1250, "GS")),
        ("OL,GS,+9999.99kg", Reading(False, None, "GS")),
        ("OL,GS,    .  kg", Reading(False, None, "GS")),
    ],
)
def test_frames(line, reading):
    assert parse_frame(line) == reading


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "ST,GS,",  # the tail of a frame cut off
        "01.25kg",  # the head of a frame cut off
        "ST,GS,+0001.25",  # no unit
        "ST,GS,+0001.25st",  # stones: not a unit here
        "XX,GS,+0001.25kg",
        "ST,GS,+00\x0001.25kg",
        "ST,GS,+1.2.3kg",
        "SCALE READY",
        "\ufffd\ufffd",
        "ST,GS,+kg",
    ],
)
def test_garbage_is_not_a_frame(garbage):
    assert parse_frame(garbage) is None


def test_the_fake_sends_what_the_real_one_reads():
    assert format_frame(1250) == "ST,GS,+0001.25kg"
    assert parse_frame(format_frame(1420, stable=False)) == Reading(False, 1420)


class ScaleOnPty:
    """Plays a continuous scale on the pty's master: sends `stream` over and over."""

    def __init__(self, pty, stream: list[bytes], every: float = 0.005):
        self.pty, self.stream, self.every = pty, stream, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for chunk in self.stream:
                if self._stop.is_set() or self.pty.closed:
                    return
                self.pty.write(chunk)
                time.sleep(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)


@pytest.fixture
def serial_scale(make_pty) -> Iterator[Callable[[list[bytes]], SerialScale]]:
    made: list[tuple[ScaleOnPty, SerialScale]] = []

    def make(stream: list[bytes]) -> SerialScale:
        pty = make_pty()
        scale = SerialScale(pty.name, 9600, settle=3)
        made.append((ScaleOnPty(pty, stream), scale))
        return scale

    yield make
    for player, scale in made:
        player.stop()
        scale.close()


def fake_scale(stream: list[bytes]) -> FakeScale:
    """The fake sending the same stream over and over (as lines, the way the framer cuts them)."""
    scale = FakeScale()
    text = b"".join(stream).decode("ascii", errors="replace").replace("\r", "\n")
    scale.raw = [line for line in text.split("\n") if line] * 2000
    return scale


CASES = [
    # Settled: the same stable frame again and again.
    ([b"ST,GS,+0001.25kg\r\n"], 1250),
    # Noise between frames, and frames cut across writes: skipped, and no reset.
    ([b"ST,GS,+0001.25kg\r\n", b"\x00\xff#?\r\n", b"ST,GS,+00", b"01.25kg\r\n"], 1250),
    # Still moving: unstable frames never count.
    ([b"US,GS,+0001.25kg\r\n", b"US,GS,+0001.31kg\r\n"], None),
    # Stable frames that do not agree (a hand on the box) never settle.
    ([b"ST,GS,+0001.25kg\r\n", b"ST,GS,+0001.30kg\r\n"], None),
    # An unstable frame between stable ones starts the count again.
    ([b"ST,GS,+0001.25kg\r\n", b"ST,GS,+0001.25kg\r\n", b"US,GS,+0001.25kg\r\n"], None),
    # Overload, and an empty platform, are no weight.
    ([b"OL,GS,+9999.99kg\r\n"], None),
    ([b"ST,GS,+0000.00kg\r\n"], None),
    ([b"ST,GS,-0000.01kg\r\n"], None),
    # Tare frames between gross ones are skipped: they are not the load.
    ([b"ST,GS,+0001.25kg\r\n", b"ST,TR,+0000.12kg\r\n"], 1250),
    # Pounds, LF only.
    ([b"ST,GS,+0002.50lb\n"], 1134),
    # Garbage only.
    ([b"hello\r\n", b"ST,GS\r\n"], None),
]


@pytest.mark.parametrize("kind", ["serial", "fake"])
@pytest.mark.parametrize("stream, grams", CASES)
def test_stable_weight(kind, stream, grams, serial_scale):
    scale = serial_scale(stream) if kind == "serial" else fake_scale(stream)
    t0 = time.monotonic()
    assert scale.stable_weight(timeout=0.3) == grams
    if grams is None:
        assert time.monotonic() - t0 >= 0.28  # gave up at its timeout, not before


def test_serial_read_skips_garbage_and_waits_for_a_whole_frame(make_pty):
    pty = make_pty()
    with SerialScale(pty.name) as scale:
        assert scale.read(timeout=0.05) is None  # opens the port (pyserial drops what came before)
        pty.write(b"\xfe\xfegarbage\r\nST,GS,+00")
        assert scale.read(timeout=0.2) is None  # half a frame: not a reading yet
        pty.write(b"01.25kg\r\nUS,GS,+0000.50kg\r\n")
        assert scale.read(timeout=1) == Reading(True, 1250)
        assert scale.read(timeout=1) == Reading(False, 500)


def test_serial_scale_unplugged_and_replugged_through_a_symlink(make_pty, tmp_path):
    first = make_pty()
    link = tmp_path / "scanfloor-scale"  # what the udev rule's SYMLINK gives
    link.symlink_to(first.name)
    scale = SerialScale(str(link))
    try:
        player = ScaleOnPty(first, [b"ST,GS,+0001.00kg\r\n"])
        assert scale.stable_weight(timeout=2) == 1000
        player.stop()
        link.unlink()  # udev takes the link away with the device (see the scanner's test)
        first.unplug()
        assert scale.stable_weight(timeout=0.3) is None  # no weight, and no exception
        second = make_pty()
        link.symlink_to(second.name)
        player = ScaleOnPty(second, [b"ST,GS,+0002.00kg\r\n"])
        assert scale.stable_weight(timeout=3) == 2000
        player.stop()
    finally:
        scale.close()


def test_fake_scale_put_offset_and_unsteady():
    scale = FakeScale()
    assert scale.stable_weight(timeout=0.1) is None  # nothing on it
    scale.put(1100)
    assert scale.stable_weight() == 1100
    scale.offset_g = 320  # a test's wrong weight: an extra item in the box
    assert scale.stable_weight() == 1420
    scale.steady = False
    assert scale.stable_weight(timeout=0.1) is None
    scale.steady = True
    scale.raw = ["garbage", "OL,GS,+9999.99kg"]
    assert scale.stable_weight() == 1420


def test_scale_urls(tmp_path):
    scale = open_scale("serial:///dev/ttyUSB9?baud=19200&settle=5")
    assert isinstance(scale, SerialScale) and scale.baudrate == 19200 and scale.settle == 5
    scale.close()
    named = open_scale("fake://bench-1?offset_g=-200")
    assert named is FakeScale.named("bench-1") and named.offset_g == -200
    for bad, says in [
        ("serial://dev/ttyUSB0", "three slashes"),
        ("serial:///dev/ttyUSB0?speed=9600", "unknown option"),
        ("serial:///dev/ttyUSB0?settle=0", "settle must be"),
        ("serial:///dev/ttyUSB0?baud=0", "must be above 0"),
        ("fake://?offset_g=x", "not a int"),
        ("tcp://10.0.0.5:4001", "unknown scale scheme"),
    ]:
        with pytest.raises(ValueError, match=says):
            open_scale(bad)
