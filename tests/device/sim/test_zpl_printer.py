"""The simulated Zebra printer, driven over real loopback sockets."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from device.sim.zpl_printer import ZplPrinterSim

A = b"^XA^FO10,10^FDFIRST^FS^XZ"
B = b"^XA^FO10,10^FDSECOND^FS^XZ"


def connect(sim: ZplPrinterSim) -> socket.socket:
    """A raw client connection, as a printer driver would open."""
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=2)
    return sock


def read_hs(sock: socket.socket) -> bytes:
    """Read one full three-string ~HS reply."""
    reply = b""
    while reply.count(b"\x03") < 3:
        chunk = sock.recv(1024)
        assert chunk, "printer closed before answering ~HS"
        reply += chunk
    return reply


def test_stream_split_in_tiny_pieces_makes_whole_labels(zpl_printer: ZplPrinterSim) -> None:
    stream = A + b"\r\n" + B
    with connect(zpl_printer) as sock:
        for i in range(len(stream)):  # ^XZ itself arrives split across sends
            sock.sendall(stream[i : i + 1])
            time.sleep(0.001)
    assert zpl_printer.wait_for_labels(2) == [A, B]


def test_unterminated_label_is_not_kept(zpl_printer: ZplPrinterSim) -> None:
    with connect(zpl_printer) as sock:
        sock.sendall(A + b"^XA^FDCUT OFF")
    with connect(zpl_printer) as sock:
        sock.sendall(B)
    assert zpl_printer.wait_for_labels(2, timeout=1) == [A, B]


def test_host_status_reply_has_three_framed_strings(zpl_printer: ZplPrinterSim) -> None:
    with connect(zpl_printer) as sock:
        sock.sendall(b"~HS")
        reply = read_hs(sock)
    strings = re.findall(rb"\x02([^\x02\x03]*)\x03\r\n", reply)
    assert b"".join(b"\x02" + s + b"\x03\r\n" for s in strings) == reply
    assert [len(s.split(b",")) for s in strings] == [12, 11, 2]
    first, second, _ = (s.split(b",") for s in strings)
    assert (first[1], first[2], second[2], second[3]) == (b"0", b"0", b"0", b"0")


def status_fields(sim: ZplPrinterSim) -> list[list[bytes]]:
    """Ask ~HS over a socket and split the reply into fields."""
    with connect(sim) as sock:
        sock.sendall(b"~HS")
        strings = re.findall(rb"\x02([^\x03]*)\x03", read_hs(sock))
    return [s.split(b",") for s in strings]


@pytest.mark.parametrize(
    ("flag", "string", "field"),
    [("paper_out", 0, 1), ("paused", 0, 2), ("head_open", 1, 2), ("ribbon_out", 1, 3)],
)
def test_fault_flags_show_in_host_status(
    zpl_printer: ZplPrinterSim, flag: str, string: int, field: int
) -> None:
    before = status_fields(zpl_printer)
    setattr(zpl_printer, flag, True)
    after = status_fields(zpl_printer)
    changed = [
        (i, j) for i in range(3) for j in range(len(after[i])) if after[i][j] != before[i][j]
    ]
    assert changed == [(string, field)]  # only the flag's own field moves
    assert after[string][field] == b"1"


def test_status_query_inside_a_label_is_answered_and_cut_out(zpl_printer: ZplPrinterSim) -> None:
    with connect(zpl_printer) as sock:
        sock.sendall(b"^XA^FO10,10~H")
        sock.sendall(b"S^FDFIRST^FS^XZ")
        read_hs(sock)
    assert zpl_printer.wait_for_labels(1) == [A]
    assert zpl_printer.status_queries == 1


def test_labels_are_written_to_the_folder(zpl_printer: ZplPrinterSim) -> None:
    for data in (A, B):
        with connect(zpl_printer) as sock:
            sock.sendall(data)
    zpl_printer.wait_for_labels(2)
    assert zpl_printer.out_dir is not None
    files = sorted(p.name for p in zpl_printer.out_dir.iterdir())
    assert files == ["label-0001.zpl", "label-0002.zpl"]
    assert (zpl_printer.out_dir / "label-0002.zpl").read_bytes() == B


def test_a_label_is_whole_on_disk_once_it_counts_as_received(
    zpl_printer: ZplPrinterSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk (the file written in two halves, 0.3 s apart) must not let a reader that
    waited for the label find its file missing or cut short."""

    def slow_write_bytes(path: Path, data: bytes) -> int:
        with open(path, "wb") as out:
            out.write(data[:5])
            out.flush()
            time.sleep(0.3)
            out.write(data[5:])
        return len(data)

    monkeypatch.setattr(Path, "write_bytes", slow_write_bytes)
    with connect(zpl_printer) as sock:
        sock.sendall(A)
    assert zpl_printer.wait_for_labels(1) == [A]
    assert zpl_printer.out_dir is not None
    assert sorted(p.name for p in zpl_printer.out_dir.iterdir()) == ["label-0001.zpl"]
    assert (zpl_printer.out_dir / "label-0001.zpl").read_bytes() == A


def test_jobs_keep_their_order(zpl_printer: ZplPrinterSim) -> None:
    # The first job's connection stays open while the second one connects.
    first = connect(zpl_printer)
    first.sendall(A[:10])
    with connect(zpl_printer) as second:
        second.sendall(B)
    time.sleep(0.1)
    first.sendall(A[10:])
    first.close()
    assert zpl_printer.wait_for_labels(2) == [A, B]


def test_refuse_connections_then_come_back_on_the_same_port(zpl_printer: ZplPrinterSim) -> None:
    port = zpl_printer.port
    zpl_printer.refuse_connections = True
    with pytest.raises(ConnectionRefusedError):
        connect(zpl_printer)
    zpl_printer.refuse_connections = False
    assert zpl_printer.port == port
    with connect(zpl_printer) as sock:
        sock.sendall(A)
    assert zpl_printer.wait_for_labels(1) == [A]


def test_stop_closes_the_port(tmp_path: Path) -> None:
    sim = ZplPrinterSim().start()
    port = sim.port
    assert port != 0
    sim.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_runs_as_a_module(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "device.sim.zpl_printer", "--port", "0", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"tcp://127\.0\.0\.1:(\d+)", line)
        assert match, line
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=2) as sock:
            sock.sendall(A)
        deadline = time.monotonic() + 5
        label = tmp_path / "label-0001.zpl"
        while not label.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert label.read_bytes() == A
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert "stopped after 1 labels" in out
