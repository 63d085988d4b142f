"""Printer drivers against a real TCP listener, a tmp file and a pseudo-terminal."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from device.drivers import (
    FakePrinter,
    FilePrinter,
    PrinterError,
    PrinterStatus,
    SerialPrinter,
    TcpPrinter,
    open_printer,
)
from device.drivers.zpl_status import StatusParseError, parse_host_status
from device.sim.zpl_printer import ZplPrinterSim

LABEL = b"^XA^FO50,50^A0N,40,40^FDORDER 1001^FS^BY2^FO50,120^BCN,80^FD1Z999AA10123456784^FS^XZ"

# A ~HS reply as Zebra's guide lays it out, typed here independently of the simulator.
HS_PAPER_OUT = (
    b"\x02030,1,1,0812,002,0,0,0,000,0,0,0\x03\r\n"
    b"\x02001,0,0,0,1,2,4,0,00000000,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)
HS_READY = HS_PAPER_OUT.replace(b"030,1,1,", b"030,0,0,")


def label(n: int) -> bytes:
    """A small distinct label."""
    return b"^XA^FO20,20^A0N,30,30^FDLABEL %d^FS^XZ" % n


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- TCP 9100 ---------------------------------------------------------------


def test_tcp_label_arrives_whole(zpl_printer: ZplPrinterSim) -> None:
    printer = open_printer(zpl_printer.url)
    printer.print_label(LABEL)
    assert zpl_printer.wait_for_labels(1) == [LABEL]
    assert zpl_printer.status_queries == 1  # status checked before sending


def test_tcp_several_labels_in_one_job_are_split(zpl_printer: ZplPrinterSim) -> None:
    printer = open_printer(zpl_printer.url)
    printer.print_label(label(1) + b"\r\n" + label(2) + b"\n" + label(3))
    printer.print_label(label(4))
    assert zpl_printer.wait_for_labels(4) == [label(1), label(2), label(3), label(4)]


def test_tcp_large_label_arrives_whole(zpl_printer: ZplPrinterSim) -> None:
    graphic = b"^XA^FO0,0^GFA,200000,200000,100," + b"F0" * 100_000 + b"^FS^XZ"
    open_printer(zpl_printer.url).print_label(graphic)
    assert zpl_printer.wait_for_labels(1) == [graphic]


def test_tcp_status_ok(zpl_printer: ZplPrinterSim) -> None:
    status = open_printer(zpl_printer.url).status()
    assert status.ok and status.code == "ok"


@pytest.mark.parametrize("fault", ["paper_out", "head_open", "paused", "ribbon_out"])
def test_tcp_fault_in_status_blocks_printing(zpl_printer: ZplPrinterSim, fault: str) -> None:
    setattr(zpl_printer, fault, True)
    printer = open_printer(zpl_printer.url)
    status = printer.status()
    assert (status.ok, status.code) == (False, fault)
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == fault
    assert zpl_printer.labels == []
    setattr(zpl_printer, fault, False)
    printer.print_label(LABEL)
    assert zpl_printer.wait_for_labels(1) == [LABEL]


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("paper_out", "out of labels: load a new roll"),
        ("ribbon_out", "out of ribbon: load a new ribbon"),
        ("head_open", "head is open: close the print head"),
        ("paused", "paused: press pause to resume"),
    ],
)
def test_tcp_fault_messages_tell_the_worker_what_to_do(
    zpl_printer: ZplPrinterSim, fault: str, words: str
) -> None:
    setattr(zpl_printer, fault, True)
    with pytest.raises(PrinterError) as caught:
        open_printer(zpl_printer.url).print_label(LABEL)
    assert words in caught.value.message
    assert str(caught.value) == caught.value.message  # what the screen shows


def test_tcp_offline_message_has_no_errno_jargon() -> None:
    with pytest.raises(PrinterError) as caught:
        TcpPrinter("127.0.0.1", free_port(), connect_timeout=1).print_label(LABEL)
    message = caught.value.message
    assert "Errno" not in message and "switched on" in message and "refused" in message


def test_tcp_head_open_wins_over_paper_out_and_pause(zpl_printer: ZplPrinterSim) -> None:
    zpl_printer.paper_out = zpl_printer.paused = zpl_printer.head_open = True
    assert open_printer(zpl_printer.url).status().code == "head_open"
    zpl_printer.head_open = False
    assert open_printer(zpl_printer.url).status().code == "paper_out"


def test_tcp_without_status_check_sends_anyway(zpl_printer: ZplPrinterSim) -> None:
    zpl_printer.paper_out = True  # a real printer buffers the label until paper is loaded
    open_printer(f"{zpl_printer.url}?check=0").print_label(LABEL)
    assert zpl_printer.wait_for_labels(1) == [LABEL]
    assert zpl_printer.status_queries == 0


def test_tcp_refused_connection_is_offline(zpl_printer: ZplPrinterSim) -> None:
    printer = open_printer(zpl_printer.url)
    zpl_printer.refuse_connections = True
    with pytest.raises(PrinterError, match="offline") as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "offline"
    assert printer.status().code == "offline"
    zpl_printer.refuse_connections = False  # switched back on, same address
    printer.print_label(LABEL)
    assert zpl_printer.wait_for_labels(1) == [LABEL]


def test_tcp_nothing_listening_is_offline() -> None:
    with pytest.raises(PrinterError) as caught:
        TcpPrinter("127.0.0.1", free_port(), connect_timeout=1).print_label(LABEL)
    assert caught.value.code == "offline"


def test_tcp_silent_printer_times_out_as_io_error(zpl_printer: ZplPrinterSim) -> None:
    zpl_printer.answer_status = False
    printer = TcpPrinter("127.0.0.1", zpl_printer.port, io_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "io" and "did not answer the status query" in str(caught.value)
    assert time.monotonic() - start < 2
    assert printer.status().code == "io"


def test_parse_host_status_reads_zebra_fields() -> None:
    assert parse_host_status(HS_PAPER_OUT).code == "paper_out"
    assert parse_host_status(HS_READY) == PrinterStatus(True, "ok", "ready, 2 formats queued")
    ribbon = HS_READY.replace(b"001,0,0,0,", b"001,0,0,1,")
    assert parse_host_status(ribbon).code == "ribbon_out"


@pytest.mark.parametrize(
    "reply", [b"", HS_READY[:40], b"\x02030,0\x03\r\n\x02001\x03\r\n\x021234,0\x03\r\n"]
)
def test_parse_host_status_rejects_garbled_replies(reply: bytes) -> None:
    with pytest.raises(StatusParseError):
        parse_host_status(reply)


# -- file -------------------------------------------------------------------


def test_file_printer_appends_labels(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    printer = open_printer(f"file://{path}")
    assert isinstance(printer, FilePrinter)
    assert printer.status().ok
    printer.print_label(label(1))
    printer.print_label(label(2))
    assert path.read_bytes() == label(1) + label(2)


def test_file_printer_missing_device_is_offline(tmp_path: Path) -> None:
    printer = FilePrinter(str(tmp_path / "usb" / "lp0"))
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "offline"
    assert not printer.status().ok
    assert FilePrinter("/dev/usb/lp-scanfloor-none").status().code == "offline"


def test_file_printer_other_errors_are_io(tmp_path: Path) -> None:
    with pytest.raises(PrinterError) as caught:
        FilePrinter(str(tmp_path)).print_label(LABEL)  # a folder, not a device
    assert caught.value.code == "io"


# -- serial -----------------------------------------------------------------


def read_all(fd: int, size: int, timeout: float = 2.0) -> bytes:
    """Read from a pty master until ``size`` bytes arrived."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            data += os.read(fd, 65536)
    return data


def test_serial_printer_writes_label_through_a_pty(make_pty) -> None:
    p = make_pty()
    printer = open_printer(f"serial://{p.name}?baud=19200")
    assert isinstance(printer, SerialPrinter)
    try:
        printer.print_label(LABEL)
        printer.print_label(label(2))
        assert read_all(p.master, len(LABEL) + len(label(2))) == LABEL + label(2)
    finally:
        printer.close()


def answer_hs(master: int, reply: bytes) -> threading.Thread:
    """Play a serial Zebra: answer one ~HS on the pty master."""

    def run() -> None:
        if read_all(master, 3) == b"~HS":
            os.write(master, reply)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_serial_printer_status_and_check(make_pty) -> None:
    p = make_pty()
    printer = SerialPrinter(p.name, status_timeout=1.0, check_status=True)
    try:
        answer_hs(p.master, HS_READY)
        assert printer.status().ok
        answer_hs(p.master, HS_PAPER_OUT).join(timeout=0)
        with pytest.raises(PrinterError) as caught:
            printer.print_label(LABEL)
        assert caught.value.code == "paper_out"
    finally:
        printer.close()


def test_serial_printer_silent_or_missing_is_offline(make_pty, tmp_path: Path) -> None:
    p = make_pty()
    printer = SerialPrinter(p.name, status_timeout=0.2)
    assert printer.status().code == "offline"  # nobody answers ~HS
    printer.close()
    gone = SerialPrinter(str(tmp_path / "ttyUSB9"))
    with pytest.raises(PrinterError) as caught:
        gone.print_label(LABEL)
    assert caught.value.code == "offline"


# -- fake and URLs ----------------------------------------------------------


def test_fake_printer_keeps_labels_and_simulates_faults() -> None:
    printer = open_printer("fake://")
    assert isinstance(printer, FakePrinter)
    printer.print_label(LABEL)
    printer.offline = True
    with pytest.raises(PrinterError) as caught:
        printer.print_label(label(2))
    assert caught.value.code == "offline"
    printer.offline = False
    printer.paper_out = True
    assert printer.status() == PrinterStatus(False, "paper_out", "printer is out of labels")
    printer.paper_out = False
    printer.print_label(label(3))
    assert printer.labels == [LABEL, label(3)]


def test_named_fake_printer_is_shared_and_takes_fault_from_url() -> None:
    printer = open_printer("fake://pack-3?fault=head_open")
    assert FakePrinter.named("pack-3") is printer
    assert printer.status().code == "head_open"
    with pytest.raises(ValueError, match="fault"):
        open_printer("fake://?fault=on_fire")


def test_tcp_url_defaults_to_port_9100() -> None:
    printer = open_printer("tcp://127.0.0.1?timeout=2&connect_timeout=0.5")
    assert isinstance(printer, TcpPrinter)
    assert (printer.port, printer.io_timeout, printer.connect_timeout) == (9100, 2.0, 0.5)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ipp://printer", "unknown printer scheme"),
        ("tcp://:9100", "host is required"),
        ("tcp://127.0.0.1:99999", "bad port"),
        ("tcp://127.0.0.1:9100?retries=3", "unknown option"),
        ("tcp://127.0.0.1:9100?timeout=soon", "not a float"),
        ("tcp://127.0.0.1:9100?check=maybe", "must be 1 or 0"),
        # Refused when the device starts, not at its first label.
        ("tcp://127.0.0.1:9100?timeout=-1", "must be above 0"),
        ("tcp://127.0.0.1:9100?timeout=0", "must be above 0"),
        ("tcp://127.0.0.1:9100?connect_timeout=nan", "must be above 0"),
        ("tcp://127.0.0.1:9100?timeout=inf", "must be above 0"),
        ("cups://zebra?timeout=0", "must be above 0"),
        ("serial:///dev/ttyUSB0?baud=0", "must be above 0"),
        ("serial://ttyUSB0", "three slashes"),
        ("file://", "device path is required"),
    ],
)
def test_bad_printer_urls_raise_value_error(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_printer(url)
