"""Scanner drivers: one contract for the fake and the pty-backed serial driver."""

from __future__ import annotations

import contextlib
import os
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import evdev
import pytest
from evdev import InputEvent, ecodes

from device.drivers import (
    FakeScanner,
    Scanner,
    ScannerError,
    SerialScanner,
    StdinScanner,
    evdev_scanner,
    open_scanner,
)
from device.drivers.evdev_scanner import GS, EvdevScanner, KeyDecoder
from device.drivers.framing import LineFramer


@dataclass
class Wire:
    """A scanner under test and the way raw scanner bytes reach it."""

    scanner: Scanner
    send: Callable[[bytes], None]


def wait_connected(scanner: SerialScanner, timeout: float = 10.0, connected: bool = True) -> None:
    """Keep reading, finding nothing, until the driver has (re)opened its port (or, with
    connected=False, noticed it gone)."""
    # pyserial flushes the input queue when it opens a port, and a real tty
    # drops bytes while nobody has it open: a scanner only talks once opened.
    deadline = time.monotonic() + timeout
    while scanner.connected != connected and time.monotonic() < deadline:
        assert scanner.read(timeout=0.05) is None
    assert scanner.connected == connected


@pytest.fixture(params=["fake", "serial"])
def wire(request: pytest.FixtureRequest, make_pty) -> Iterator[Wire]:
    """The same contract runs against the fake and the real serial driver."""
    if request.param == "fake":
        fake = FakeScanner()
        yield Wire(fake, fake.feed)
        fake.close()
    else:
        p = make_pty()
        scanner = SerialScanner(p.name, 9600)
        yield Wire(scanner, p.write)
        scanner.close()


@pytest.mark.parametrize("eol", [b"\r\n", b"\r", b"\n"], ids=["crlf", "cr", "lf"])
def test_one_scan_per_terminator(wire: Wire, eol: bytes) -> None:
    wire.send(b"ABC123" + eol)
    assert wire.scanner.read(timeout=2) == "ABC123"
    # CRLF is one terminator, not a scan followed by an empty one.
    assert wire.scanner.read(timeout=0.1) is None


def test_two_scans_in_one_write(wire: Wire) -> None:
    wire.send(b"0012345678905\r\nLOC-A-01-02\r\n")
    assert wire.scanner.read(timeout=2) == "0012345678905"
    assert wire.scanner.read(timeout=2) == "LOC-A-01-02"


def test_scan_split_across_writes_survives_a_timeout(wire: Wire) -> None:
    wire.send(b"TOTE-")
    assert wire.scanner.read(timeout=0.2) is None  # partial scan: not a scan yet
    wire.send(b"0042\r")
    assert wire.scanner.read(timeout=2) == "TOTE-0042"


def test_crlf_split_between_cr_and_lf(wire: Wire) -> None:
    wire.send(b"A1\r")
    assert wire.scanner.read(timeout=2) == "A1"
    wire.send(b"\nB2\r\n")
    assert wire.scanner.read(timeout=2) == "B2"


def test_read_timeout_returns_none_in_time(wire: Wire) -> None:
    start = time.monotonic()
    assert wire.scanner.read(timeout=0.3) is None
    assert 0.25 <= time.monotonic() - start < 1.5


def test_gs1_separator_and_symbology_prefix_pass_through(wire: Wire) -> None:
    wire.send(b"]C10109506000134352\x1d10LOT7\r\n")
    assert wire.scanner.read(timeout=2) == "]C10109506000134352\x1d10LOT7"


def test_blocking_read_gets_scan_from_another_thread(wire: Wire) -> None:
    timer = threading.Timer(0.2, wire.send, args=(b"LATE\n",))
    timer.start()
    try:
        assert wire.scanner.read(timeout=None) == "LATE"
    finally:
        timer.cancel()


def test_read_after_close_raises(wire: Wire) -> None:
    wire.scanner.close()
    with pytest.raises(ScannerError, match="closed"):
        wire.scanner.read(timeout=0.1)


def test_fake_inject_is_thread_safe() -> None:
    fake = FakeScanner()
    threads = [
        threading.Thread(target=lambda n=n: [fake.inject(f"{n}-{i}") for i in range(50)])
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [fake.read(timeout=1) for _ in range(200)]
    assert sorted(got) == sorted(f"{n}-{i}" for n in range(4) for i in range(50))
    assert fake.read(timeout=0.05) is None


def test_serial_unplug_and_replug_through_a_symlink(make_pty, tmp_path: Path) -> None:
    link = tmp_path / "ttyACM-scanner"  # stands in for /dev/serial/by-id/...
    first = make_pty()
    link.symlink_to(first.name)
    scanner = SerialScanner(str(link), backoff_initial=0.05, backoff_max=0.2)
    try:
        first.write(b"ONE\r\nTWO\r\nTHR")
        assert scanner.read(timeout=2) == "ONE"
        # Mid-scan: "THR" never gets its terminator. udev removes the by-id link with the
        # device; a link left pointing at a freed /dev/pts/N would let this driver's retries
        # open (and lock) whatever pseudo-terminal takes that number next, another test
        # process's included.
        link.unlink()
        first.unplug()
        # A scan already received is not lost with the device.
        assert scanner.read(timeout=2) == "TWO"
        assert scanner.read(timeout=0.3) is None
        # The reader thread notices the port gone on its next read: soon, not at once on a
        # busy machine.
        wait_connected(scanner, connected=False)

        second = make_pty()
        link.symlink_to(second.name)
        wait_connected(scanner)
        second.write(b"THREE\r\n")
        # The half scan from before the unplug is not glued onto this one.
        assert scanner.read(timeout=3) == "THREE"
        assert scanner.connected
    finally:
        scanner.close()


def test_serial_scanner_waits_for_a_port_that_appears_later(make_pty, tmp_path: Path) -> None:
    link = tmp_path / "late-scanner"
    scanner = SerialScanner(str(link), backoff_initial=0.05, backoff_max=0.1)
    try:
        assert not scanner.connected
        assert scanner.read(timeout=0.2) is None
        p = make_pty()
        link.symlink_to(p.name)
        wait_connected(scanner)
        p.write(b"HELLO\n")
        assert scanner.read(timeout=3) == "HELLO"
    finally:
        scanner.close()


def test_serial_crlf_mode_keeps_a_lone_cr(make_pty) -> None:
    p = make_pty()
    scanner = open_scanner(f"serial://{p.name}?baud=115200&eol=crlf")
    try:
        assert isinstance(scanner, SerialScanner) and scanner.baudrate == 115200
        # The speed really reached the terminal, not just the object.
        _iflag, _oflag, _cflag, _lflag, ispeed, ospeed, _cc = termios.tcgetattr(p.slave)
        assert ispeed == ospeed == termios.B115200
        p.write(b"A\rB\r\n")
        assert scanner.read(timeout=2) == "A\rB"
    finally:
        scanner.close()


def test_framer_rejects_unknown_eol() -> None:
    with pytest.raises(ValueError, match="eol"):
        LineFramer("tab")


def test_stdin_scanner_reads_lines_from_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    scanner = StdinScanner(read_fd)
    try:
        os.write(write_fd, b"PICK-1\nPICK-")
        assert scanner.read(timeout=1) == "PICK-1"
        assert scanner.read(timeout=0.1) is None
        os.write(write_fd, b"2\n\nLAST")
        assert scanner.read(timeout=1) == "PICK-2"
        os.close(write_fd)
        write_fd = -1
        assert scanner.read(timeout=1) == "LAST"  # no newline before end of input
        with pytest.raises(ScannerError, match="ended"):
            scanner.read(timeout=0.1)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


def test_fake_urls_share_named_instances() -> None:
    scanner = open_scanner("fake://packer-7")
    FakeScanner.named("packer-7").inject("SSCC-1")
    assert scanner.read(timeout=1) == "SSCC-1"
    assert open_scanner("fake://") is not open_scanner("fake://")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bluetooth://scanner", "unknown scanner scheme"),
        ("serial:///dev/ttyACM0?speed=9600", "unknown option"),
        ("serial:///dev/ttyACM0?baud=fast", "not a int"),
        ("serial:///dev/ttyACM0?baud=0", "must be above 0"),
        ("serial:///dev/ttyACM0?baud=-9600", "must be above 0"),
        ("serial:///dev/ttyACM0?eol=tab", "eol must be"),
        ("serial:///dev/ttyACM0?baud=9600&baud=19200", "more than once"),
        ("serial://dev/ttyACM0", "three slashes"),
        ("serial://", "device path is required"),
        ("evdev://", "give a device path"),
        ("evdev:///dev/input/event3?gs=NOSUCHKEY", "unknown key"),
        ("evdev:///dev/input/event3?keymap=fr", "unknown keymap"),
        ("stdin://?x=1", "unknown option"),
    ],
)
def test_bad_scanner_urls_raise_value_error(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_scanner(url)


# -- evdev: the decoder is fed real evdev.InputEvent objects ------------------

K = ecodes  # short alias for key codes in event scripts
DOWN, UP, REPEAT = 1, 0, 2


def key(code: int, value: int) -> list[InputEvent]:
    """One key transition as a real keyboard reports it: MSC_SCAN, EV_KEY, SYN_REPORT."""
    return [
        InputEvent(1700000000, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code),
        InputEvent(1700000000, 0, ecodes.EV_KEY, code, value),
        InputEvent(1700000000, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]


def tap(*codes: int) -> list[InputEvent]:
    """Press and release each key in turn."""
    return [e for code in codes for e in key(code, DOWN) + key(code, UP)]


def shifted(*codes: int, side: int = K.KEY_LEFTSHIFT) -> list[InputEvent]:
    """Hold shift while tapping the keys."""
    return key(side, DOWN) + tap(*codes) + key(side, UP)


def test_decoder_lowercase_and_digits_end_on_enter() -> None:
    decoder = KeyDecoder()
    events = tap(K.KEY_B, K.KEY_I, K.KEY_N, K.KEY_1, K.KEY_0, K.KEY_KP7)
    assert decoder.feed(events) == []
    assert decoder.pending == "bin107"
    assert decoder.feed(tap(K.KEY_ENTER)) == ["bin107"]
    assert decoder.pending == ""


def test_decoder_shift_either_side() -> None:
    events = shifted(K.KEY_A) + tap(K.KEY_B) + shifted(K.KEY_C, side=K.KEY_RIGHTSHIFT)
    assert KeyDecoder().feed(events + tap(K.KEY_KPENTER)) == ["AbC"]


def test_decoder_caps_lock_toggles_letters_only() -> None:
    events = (
        tap(K.KEY_CAPSLOCK, K.KEY_A, K.KEY_1)
        + shifted(K.KEY_B, K.KEY_2)  # shift inverts caps lock for letters
        + tap(K.KEY_CAPSLOCK, K.KEY_C)
        + tap(K.KEY_ENTER)
    )
    assert KeyDecoder().feed(events) == ["A1b@c"]


def test_decoder_symbols_on_us_layout() -> None:
    events = (
        tap(K.KEY_MINUS, K.KEY_SLASH, K.KEY_DOT, K.KEY_EQUAL, K.KEY_SPACE)
        + shifted(K.KEY_MINUS, K.KEY_SEMICOLON, K.KEY_9, K.KEY_0, K.KEY_APOSTROPHE)
        + tap(K.KEY_ENTER)
    )
    assert KeyDecoder().feed(events) == ['-/.= _:()"']


def test_decoder_keeps_aim_prefix_and_maps_gs_key() -> None:
    decoder = KeyDecoder(gs_key=K.KEY_F8)
    events = (
        tap(K.KEY_RIGHTBRACE)
        + shifted(K.KEY_C)
        + tap(K.KEY_1, K.KEY_1, K.KEY_0, K.KEY_F8, K.KEY_2, K.KEY_1)
        + tap(K.KEY_ENTER)
    )
    assert decoder.feed(events) == [f"]C110{GS}21"]


def test_decoder_gs_stand_in_character_and_ctrl_bracket() -> None:
    decoder = KeyDecoder(gs_char="~")
    events = tap(K.KEY_1, K.KEY_0) + shifted(K.KEY_GRAVE) + tap(K.KEY_2, K.KEY_1)
    events += key(K.KEY_LEFTCTRL, DOWN) + tap(K.KEY_RIGHTBRACE) + key(K.KEY_LEFTCTRL, UP)
    events += tap(K.KEY_9, K.KEY_ENTER)
    assert decoder.feed(events) == [f"10{GS}21{GS}9"]
    # Without the stand-in configured, "~" is just a tilde.
    assert KeyDecoder().feed(shifted(K.KEY_GRAVE) + tap(K.KEY_ENTER)) == ["~"]


def test_decoder_ignores_key_repeat_and_other_events() -> None:
    events = key(K.KEY_A, DOWN) + key(K.KEY_A, REPEAT) + key(K.KEY_A, REPEAT) + key(K.KEY_A, UP)
    events += [InputEvent(0, 0, ecodes.EV_LED, ecodes.LED_CAPSL, 1)]
    events += tap(K.KEY_F12, K.KEY_B)  # unmapped keys type nothing
    events += key(K.KEY_ENTER, DOWN) + key(K.KEY_ENTER, REPEAT) + key(K.KEY_ENTER, UP)
    assert KeyDecoder().feed(events) == ["ab"]


def test_decoder_two_scans_in_one_batch_and_partial_across_batches() -> None:
    decoder = KeyDecoder()
    both = tap(K.KEY_X, K.KEY_ENTER, K.KEY_ENTER, K.KEY_Y, K.KEY_ENTER, K.KEY_Z)
    assert decoder.feed(both) == ["x", "y"]  # a bare Enter is not a scan
    assert decoder.feed(tap(K.KEY_9)) == []
    assert decoder.feed(iter(tap(K.KEY_ENTER))) == ["z9"]  # any iterable works


def test_decoder_configurable_table_and_suffix() -> None:
    # A table is just a dict: a QWERTZ-style swap of Y and Z, Tab as the suffix.
    table = {K.KEY_Y: ("z", "Z"), K.KEY_Z: ("y", "Y"), K.KEY_1: ("1", "!")}
    decoder = KeyDecoder(table, suffix_keys=[K.KEY_TAB])
    assert decoder.feed(tap(K.KEY_Y, K.KEY_Z, K.KEY_1, K.KEY_ENTER, K.KEY_TAB)) == ["zy1"]


def test_decoder_reset_forgets_partial_scan_and_modifiers() -> None:
    decoder = KeyDecoder()
    decoder.feed(key(K.KEY_LEFTSHIFT, DOWN) + tap(K.KEY_A, K.KEY_CAPSLOCK))
    decoder.reset()  # unplugged with shift held and caps on
    assert decoder.feed(tap(K.KEY_B, K.KEY_ENTER)) == ["b"]


def test_evdev_url_builds_a_decoder_from_options() -> None:
    scanner = open_scanner("evdev:///nonexistent/event-kbd?gs=F8&suffix=TAB&grab=0")
    try:
        assert isinstance(scanner, EvdevScanner)
        assert scanner.decoder.gs_key == K.KEY_F8
        assert scanner.decoder.suffix_keys == {K.KEY_TAB}
        assert not scanner.connected
        assert scanner.read(timeout=0.1) is None  # polls quietly while absent
    finally:
        scanner.close()
    by_id = open_scanner("evdev://?vendor=0x05e0&product=0x1200&gs=%5E")
    assert isinstance(by_id, EvdevScanner) and by_id.decoder.gs_char == "^"
    by_id.close()


class StubInputDevice:
    """Stands in for evdev.InputDevice: a pipe for select(), events from a list."""

    def __init__(
        self, path: str = "/dev/input/event0", vendor: int = 0x0C2E, product: int = 0x0B61
    ) -> None:
        self._r, self._w = os.pipe()
        self.fd = self._r
        self.path = path
        self.info = evdev.DeviceInfo(bustype=3, vendor=vendor, product=product, version=0x0111)
        self.keys = [K.KEY_A, K.KEY_1, K.KEY_ENTER]
        self.events: list[InputEvent] = []
        self.gone = False
        self.grabbed = False
        self.closed = False

    def capabilities(self) -> dict[int, list[int]]:
        return {ecodes.EV_KEY: self.keys}

    def push(self, events: list[InputEvent]) -> None:
        self.events += events
        os.write(self._w, b"!")

    def unplug(self) -> None:
        self.gone = True
        os.write(self._w, b"!")

    def read(self) -> Iterator[InputEvent]:
        if self.gone:
            raise OSError(19, "No such device")
        if not self.events:
            raise BlockingIOError
        os.read(self._r, 4096)
        events, self.events = self.events, []
        return iter(events)

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


def test_evdev_scanner_grabs_and_reopens_after_enodev() -> None:
    plugged: list[StubInputDevice] = [StubInputDevice()]
    opened: list[StubInputDevice] = []

    def opener() -> StubInputDevice:
        if not plugged:
            raise FileNotFoundError(2, "No such file or directory")
        opened.append(plugged.pop())
        return opened[-1]

    scanner = EvdevScanner(opener=opener, poll_interval=0.05, monitor=None)
    try:
        first = opened[0]
        assert first.grabbed
        first.push(tap(K.KEY_A, K.KEY_1, K.KEY_ENTER, K.KEY_B))
        assert scanner.read(timeout=1) == "a1"
        first.unplug()
        assert scanner.read(timeout=0.2) is None
        assert not scanner.connected
        second = StubInputDevice()
        plugged.append(second)
        assert scanner.read(timeout=0.3) is None
        assert scanner.connected and second.grabbed
        second.push(tap(K.KEY_C, K.KEY_ENTER))
        assert scanner.read(timeout=1) == "c"  # the "b" from before the unplug is gone
    finally:
        scanner.close()
    assert not opened[-1].grabbed


@pytest.mark.skipif(not os.path.exists("/dev/uinput"), reason="needs /dev/uinput (absent here)")
def test_evdev_scanner_reads_a_virtual_keyboard_through_the_kernel() -> None:
    keys = [K.KEY_A, K.KEY_1, K.KEY_LEFTSHIFT, K.KEY_ENTER]
    with evdev.UInput({ecodes.EV_KEY: keys}, name="scanfloor-test-scanner") as ui:
        time.sleep(0.3)  # let udev create the node
        scanner = EvdevScanner(ui.device.path)
        try:
            for code, value in [(K.KEY_LEFTSHIFT, 1), (K.KEY_A, 1), (K.KEY_A, 0)]:
                ui.write(ecodes.EV_KEY, code, value)
            ui.write(ecodes.EV_KEY, K.KEY_LEFTSHIFT, 0)
            for code in (K.KEY_1, K.KEY_ENTER):
                ui.write(ecodes.EV_KEY, code, 1)
                ui.write(ecodes.EV_KEY, code, 0)
            ui.syn()
            assert scanner.read(timeout=2) == "A1"
        finally:
            scanner.close()


# -- evdev: opening by path, /dev/input/by-id name, vendor/product; hot-plug ----


@dataclass
class InputNodes:
    """Stub /dev/input nodes and the paths the driver opened."""

    nodes: dict[str, StubInputDevice]
    opened: list[str]

    def __getitem__(self, path: str) -> StubInputDevice:
        return self.nodes[path]


@pytest.fixture
def input_nodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[InputNodes]:
    """Stub input nodes that evdev_scanner opens by path and lists for vendor/product."""
    nodes = {
        "/dev/input/event3": StubInputDevice("/dev/input/event3", vendor=0x046D, product=0xC52B),
        # The scanner's second interface (consumer keys, no Enter) must not be picked.
        "/dev/input/event4": StubInputDevice("/dev/input/event4"),
        "/dev/input/event5": StubInputDevice("/dev/input/event5"),
    }
    nodes["/dev/input/event4"].keys = [K.KEY_VOLUMEUP]
    opened: list[str] = []

    def input_device(path: str) -> StubInputDevice:
        real = os.path.realpath(path) if os.path.islink(path) else path
        if real not in nodes:
            raise FileNotFoundError(2, "No such file or directory", path)
        opened.append(path)
        return nodes[real]

    monkeypatch.setattr(evdev_scanner, "InputDevice", input_device)
    monkeypatch.setattr(evdev_scanner, "list_devices", lambda: sorted(nodes))
    yield InputNodes(nodes, opened)
    for node in nodes.values():
        node.close()


def test_evdev_opens_by_path(input_nodes) -> None:
    scanner = open_scanner("evdev:///dev/input/event5")
    try:
        assert scanner.connected and input_nodes["/dev/input/event5"].grabbed
        input_nodes["/dev/input/event5"].push(tap(K.KEY_A, K.KEY_ENTER))
        assert scanner.read(timeout=1) == "a"
    finally:
        scanner.close()


def test_evdev_opens_by_id_name(input_nodes, tmp_path: Path, monkeypatch) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    name = "usb-Honeywell_Imaging___Mobility_1900-event-kbd"
    (by_id / name).symlink_to("/dev/input/event5")
    monkeypatch.setattr(evdev_scanner, "BY_ID_DIR", by_id)
    scanner = open_scanner(f"evdev://?id={name}&gs=F8")
    try:
        assert scanner.connected and input_nodes.opened == [str(by_id / name)]
        input_nodes["/dev/input/event5"].push(tap(K.KEY_1, K.KEY_F8, K.KEY_2, K.KEY_ENTER))
        assert scanner.read(timeout=1) == f"1{GS}2"
    finally:
        scanner.close()
    with pytest.raises(ValueError, match="no slashes"):
        open_scanner("evdev://?id=../event5")
    with pytest.raises(ValueError, match="one of"):
        open_scanner(f"evdev:///dev/input/event5?id={name}")


def test_evdev_opens_by_vendor_and_product(input_nodes) -> None:
    scanner = open_scanner("evdev://?vendor=0x0c2e&product=0x0b61")
    try:
        assert scanner.connected
        chosen = input_nodes["/dev/input/event5"]
        assert chosen.grabbed and input_nodes["/dev/input/event4"].closed  # no Enter key
        assert input_nodes["/dev/input/event3"].closed  # other vendor
        chosen.push(shifted(K.KEY_A) + tap(K.KEY_ENTER))
        assert scanner.read(timeout=1) == "A"
    finally:
        scanner.close()
    absent = open_scanner("evdev://?vendor=0x1234&product=0x5678")
    assert not absent.connected and absent.read(timeout=0.05) is None
    absent.close()


def test_evdev_aim_prefix_and_gs_stand_in_make_a_gs1_scan() -> None:
    from shared.barcodes import parse_scan

    decoder = KeyDecoder(gs_char="|")
    # ]d2 0109501101530003 10LOT1 | 17251231: what a wedge DataMatrix reader types.
    typed = tap(K.KEY_RIGHTBRACE, K.KEY_D, K.KEY_2, K.KEY_0, K.KEY_1, K.KEY_0, K.KEY_9)
    typed += tap(K.KEY_5, K.KEY_0, K.KEY_1, K.KEY_1, K.KEY_0, K.KEY_1, K.KEY_5, K.KEY_3)
    typed += tap(K.KEY_0, K.KEY_0, K.KEY_0, K.KEY_3, K.KEY_1, K.KEY_0)
    typed += shifted(K.KEY_L, K.KEY_O, K.KEY_T) + tap(K.KEY_1) + shifted(K.KEY_BACKSLASH)
    typed += tap(K.KEY_1, K.KEY_7, K.KEY_2, K.KEY_5, K.KEY_1, K.KEY_2, K.KEY_3, K.KEY_1)
    (scan,) = decoder.feed(typed + tap(K.KEY_ENTER))
    assert scan == f"]d2010950110153000310LOT1{GS}17251231"
    data = parse_scan(scan)
    assert (data.symbology, data.gtin, data.lot, str(data.expiry)) == (
        "]d2",
        "09501101530003",
        "LOT1",
        "2025-12-31",
    )


class StubMonitor:
    """Stands in for a pyudev.Monitor: fileno() for select(), poll() hands out events."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        self.events: list[str] = []
        self.stopped = False

    def fileno(self) -> int:
        return self._r

    def emit(self, action: str) -> None:
        self.events.append(action)
        os.write(self._w, b"!")

    def poll(self, timeout: float | None = None):
        if not self.events:
            return None
        os.read(self._r, 1)
        return type("Device", (), {"action": self.events.pop(0)})()

    def stop(self) -> None:
        self.stopped = True
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


def test_evdev_reopens_at_once_on_a_udev_add_event() -> None:
    plugged: list[StubInputDevice] = [StubInputDevice()]
    attempts: list[float] = []

    def opener() -> StubInputDevice:
        attempts.append(time.monotonic())
        if not plugged:
            raise FileNotFoundError(2, "No such file or directory")
        return plugged.pop()

    monitor = StubMonitor()
    # Polling alone would take 30 s: only the udev event can bring the scanner back in time.
    scanner = EvdevScanner(opener=opener, poll_interval=30, monitor=monitor)
    try:
        assert scanner.hotplug == "udev" and scanner.connected
        first = StubInputDevice()
        scanner._device.unplug()
        assert scanner.read(timeout=0.2) is None and not scanner.connected
        tries = len(attempts)
        monitor.emit("remove")
        monitor.emit("change")
        assert scanner.read(timeout=0.2) is None
        assert len(attempts) == tries  # only "add" means a device may have come back
        plugged.append(first)
        monitor.emit("add")
        start = time.monotonic()
        assert scanner.read(timeout=0.5) is None
        assert scanner.connected and first.grabbed
        assert attempts[-1] - start < 0.5
        first.push(tap(K.KEY_Z, K.KEY_ENTER))
        assert scanner.read(timeout=1) == "z"
    finally:
        scanner.close()
    assert monitor.stopped


def test_evdev_broken_monitor_falls_back_to_polling() -> None:
    monitor = StubMonitor()
    scanner = EvdevScanner(
        opener=lambda: (_ for _ in ()).throw(FileNotFoundError(2, "gone")),
        poll_interval=0.05,
        monitor=monitor,
    )
    try:
        monitor.stop()  # its descriptor is closed: select() fails
        assert scanner.read(timeout=0.2) is None
        assert scanner.hotplug == "polling"
    finally:
        scanner.close()


def test_evdev_uses_udev_only_where_udevd_runs(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(evdev_scanner, "UDEV_CONTROL", tmp_path / "no-control")
    assert evdev_scanner.udev_monitor() is None  # containers: polling
    monkeypatch.setitem(__import__("sys").modules, "pyudev", None)  # pyudev not installed
    control = tmp_path / "control"
    control.touch()
    monkeypatch.setattr(evdev_scanner, "UDEV_CONTROL", control)
    assert evdev_scanner.udev_monitor() is None


def test_evdev_real_pyudev_monitor_when_udevd_runs(monkeypatch, tmp_path: Path) -> None:
    pytest.importorskip("pyudev", reason="pyudev is not installed")
    control = tmp_path / "control"
    control.touch()  # pretend udevd runs: the netlink monitor itself is real
    monkeypatch.setattr(evdev_scanner, "UDEV_CONTROL", control)
    monitor = evdev_scanner.udev_monitor()
    if monitor is None:
        pytest.skip("no netlink socket for a udev monitor in this sandbox")
    scanner = EvdevScanner(opener=lambda: StubInputDevice(), monitor=monitor)
    try:
        assert scanner.hotplug == "udev" and monitor.fileno() >= 0
    finally:
        scanner.close()


@pytest.mark.skipif(not os.path.exists("/dev/uinput"), reason="needs /dev/uinput (absent here)")
def test_evdev_replugged_virtual_scanner_is_found_again() -> None:
    caps = {ecodes.EV_KEY: [K.KEY_A, K.KEY_B, K.KEY_ENTER]}
    ids = {"vendor": 0x5CF1, "product": 0x0001}
    with evdev.UInput(caps, name="scanfloor-replug", **ids) as ui:
        time.sleep(0.3)
        scanner = open_scanner("evdev://?vendor=0x5cf1&product=0x0001")
    try:
        assert scanner.read(timeout=1) is None and not scanner.connected  # unplugged
        with evdev.UInput(caps, name="scanfloor-replug", **ids) as ui:
            deadline = time.monotonic() + 5
            while not scanner.connected and time.monotonic() < deadline:
                scanner.read(timeout=0.1)
            assert scanner.connected
            for code in (K.KEY_B, K.KEY_ENTER):
                ui.write(ecodes.EV_KEY, code, 1)
                ui.write(ecodes.EV_KEY, code, 0)
            ui.syn()
            assert scanner.read(timeout=2) == "b"
    finally:
        scanner.close()
