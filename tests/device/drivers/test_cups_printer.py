"""The CUPS raw-queue printer: a fake ``lp`` on PATH, and a private real cupsd where installed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.drivers import CupsPrinter, PrinterError, open_printer

LABEL = b"^XA^FO50,50^A0N,40,40^FDORDER 1001^FS^XZ"

# Plays lp and lpstat by the queue name; records each call (argv, stdin, LC_ALL).
FAKE_CUPS = """\
#!{python}
import json, os, sys, time
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
queue = args[args.index("-d" if tool == "lp" else "-p") + 1]
data = sys.stdin.buffer.read() if tool == "lp" else b""
with open(os.path.join(os.path.dirname(sys.argv[0]), "calls.jsonl"), "a") as log:
    log.write(json.dumps([tool, args, data.decode("latin-1"), os.environ.get("LC_ALL")]) + "\\n")
if queue == "slow":
    time.sleep(5)
if queue == "missing" or (tool == "lpstat" and queue == "gone"):
    sys.exit(print(f"{{tool}}: Error - The printer or class does not exist.", file=sys.stderr) or 1)
if tool == "lpstat":
    if queue == "stopped":
        print(f"printer {{queue}} disabled since Thu Nov 26 09:32:10 2026 -")
        print("\\tPaper jam")
    else:
        print(f"printer {{queue}} is idle.  enabled since Thu Nov 26 09:32:10 2026")
    sys.exit(0)
if queue == "rejecting":
    sys.exit(print(f'lp: Destination "{{queue}}" is not accepting jobs.', file=sys.stderr) or 1)
if queue == "odd":
    sys.exit(print("lp: Something odd happened", file=sys.stderr) or 1)
print(f"request id is {{queue}}-7 (0 file(s))")
"""


@pytest.fixture
def fake_cups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with fake ``lp`` and ``lpstat`` executables first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("lp", "lpstat"):
        script = bin_dir / tool
        script.write_text(FAKE_CUPS.format(python=sys.executable))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")  # the driver must override it
    return bin_dir


def calls(bin_dir: Path) -> list[list]:
    """What the fake lp and lpstat were run with, in order."""
    log = bin_dir / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_url_builds_the_lp_command() -> None:
    printer = open_printer("cups://zebra-pack1?server=print.local:631&timeout=4&check=0")
    assert isinstance(printer, CupsPrinter)
    assert (printer.queue, printer.server, printer.timeout, printer.check_status) == (
        "zebra-pack1",
        "print.local:631",
        4.0,
        False,
    )
    assert printer.lp_command("label 1") == [
        "lp", "-h", "print.local:631", "-d", "zebra-pack1", "-o", "raw", "-t", "label 1",
    ]  # fmt: skip
    assert open_printer("cups:///zebra").lp_command() == ["lp", "-d", "zebra", "-o", "raw"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("cups://", "queue name"),
        ("cups://zebra/extra", "queue name"),
        ("cups://zebra?copies=2", "unknown option"),
        ("cups://zebra?check=perhaps", "must be 1 or 0"),
    ],
)
def test_bad_cups_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_printer(url)


def test_label_goes_to_lp_raw_on_stdin(fake_cups: Path) -> None:
    printer = open_printer("cups://zebra")
    printer.print_label(LABEL)
    assert printer.last_job == "zebra-7"
    (status_call, lp_call) = calls(fake_cups)
    assert status_call[:2] == ["lpstat", ["-p", "zebra"]]
    tool, args, data, lc_all = lp_call
    assert (tool, args) == ("lp", ["-d", "zebra", "-o", "raw", "-t", "scanfloor label"])
    assert data.encode("latin-1") == LABEL
    assert lc_all == "C"  # messages are parsed in English whatever the device's locale


def test_without_check_only_lp_runs(fake_cups: Path) -> None:
    open_printer("cups://zebra?check=0&server=10.9.9.9:631").print_label(LABEL)
    assert [c[:2] for c in calls(fake_cups)] == [
        ["lp", ["-h", "10.9.9.9:631", "-d", "zebra", "-o", "raw", "-t", "scanfloor label"]]
    ]


@pytest.mark.parametrize(
    ("queue", "code", "fragment"),
    [
        ("missing", "offline", "print queue missing not found"),
        ("rejecting", "paused", "cupsaccept rejecting"),
        ("odd", "io", "Something odd happened"),
    ],
)
def test_lp_failures_map_to_printer_errors(fake_cups: Path, queue: str, code: str, fragment: str):
    printer = CupsPrinter(queue, check_status=False)
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_stopped_queue_holds_the_label_back(fake_cups: Path) -> None:
    printer = CupsPrinter("stopped")
    status = printer.status()
    assert (status.ok, status.code) == (False, "paused")
    assert "Paper jam" in status.message and "cupsenable stopped" in status.message
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "paused"
    assert [c[0] for c in calls(fake_cups)] == ["lpstat", "lpstat"]  # lp never ran


def test_unknown_queue_in_status_is_offline(fake_cups: Path) -> None:
    status = CupsPrinter("gone").status()
    assert (status.ok, status.code) == (False, "offline")
    assert "lpstat -p gone" in status.message


def test_lp_that_hangs_times_out(fake_cups: Path) -> None:
    printer = CupsPrinter("slow", timeout=0.5, check_status=False)
    start = time.monotonic()
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "offline" and "did not answer" in caught.value.message
    assert time.monotonic() - start < 3


def test_missing_lp_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing in it
    with pytest.raises(PrinterError) as caught:
        CupsPrinter("zebra", check_status=False).print_label(LABEL)
    assert caught.value.code == "io" and "cups-client" in caught.value.message
    assert CupsPrinter("zebra").status().code == "io"


# -- a real CUPS scheduler, private to the test ------------------------------

CUPSD_CONF = """\
Listen 127.0.0.1:{port}
LogLevel warn
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/spool
ErrorLog {root}/error_log
AccessLog {root}/access_log
PageLog {root}/page_log
DataDir /usr/share/cups
ServerBin {root}/bin
"""

CUPS_EXEC = "/usr/lib/cups/daemon/cups-exec"

# A CUPS backend (mode 0700: cupsd runs it as root) that appends each job to a file.
CAPTURE_BACKEND = """\
#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct capture "Unknown" "scanfloor test capture"'; exit 0; fi
out="${DEVICE_URI#capture:}"
if [ -n "$6" ]; then cat "$6" >> "$out"; else cat >> "$out"; fi
"""


def _tool(name: str) -> str | None:
    """A CUPS program from PATH or /usr/sbin (admin tools live there)."""
    found = shutil.which(name)
    if found is None and os.access(f"/usr/sbin/{name}", os.X_OK):
        found = f"/usr/sbin/{name}"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cupsd(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A private cupsd on a free loopback port with one raw queue "zebra" that captures to a file."""
    if shutil.which("lp") is None:
        pytest.skip("CUPS's lp is not installed (Debian: cups-client)")
    daemon = _tool("cupsd")
    if daemon is None or _tool("lpadmin") is None or not os.path.exists(CUPS_EXEC):
        pytest.skip("the CUPS scheduler is not installed (Debian: cups-daemon)")
    if os.geteuid() != 0:
        pytest.skip("a private cupsd needs root to run its backend")
    root = tmp_path / "cups"
    for sub in ("spool", "cache", "state", "bin/backend"):
        (root / sub).mkdir(parents=True)
    port = _free_port()
    (root / "cupsd.conf").write_text(CUPSD_CONF.format(port=port))
    (root / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=root))
    backend = root / "bin" / "backend" / "capture"
    backend.write_text(CAPTURE_BACKEND)
    backend.chmod(0o700)
    # cupsd starts backends through its own helper (daemon/cups-exec) under ServerBin.
    (root / "bin" / "daemon").symlink_to(os.path.dirname(CUPS_EXEC))
    out = root / "zebra.zpl"
    proc = subprocess.Popen(
        [daemon, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = f"127.0.0.1:{port}"
    lpadmin = str(_tool("lpadmin"))
    try:
        deadline = time.monotonic() + 10
        while True:
            made = subprocess.run(
                [lpadmin, "-h", server, "-p", "zebra", "-v", f"capture:{out}", "-E"],
                capture_output=True,
            )
            if made.returncode == 0:
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"private cupsd did not start: {made.stderr!r}")
            time.sleep(0.1)
        yield server, out
    finally:
        proc.terminate()
        proc.wait(10)


def wait_for_bytes(path: Path, size: int, timeout: float = 10.0) -> bytes:
    """Wait until CUPS's backend wrote ``size`` bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= size:
            return path.read_bytes()
        time.sleep(0.05)
    return path.read_bytes() if path.exists() else b""


def test_real_cups_prints_raw_and_reports_stopped_queue(cupsd: tuple[str, Path]) -> None:
    server, out = cupsd
    printer = open_printer(f"cups://zebra?server={server}")
    assert printer.status().ok
    printer.print_label(LABEL)
    assert printer.last_job and printer.last_job.startswith("zebra-")
    second = b"^XA^FDSECOND^FS^XZ"
    printer.print_label(second)
    assert wait_for_bytes(out, len(LABEL + second)) == LABEL + second  # untouched bytes

    admin = {name: str(_tool(name)) for name in ("cupsdisable", "cupsenable", "cupsreject")}
    # A job finishing resets the queue's message: let both jobs finish before stopping it.
    deadline = time.monotonic() + 10
    while subprocess.run(
        ["lpstat", "-h", server, "-o", "zebra"], capture_output=True, text=True
    ).stdout:
        assert time.monotonic() < deadline, "the jobs never finished"
        time.sleep(0.05)
    subprocess.run([admin["cupsdisable"], "-h", server, "-r", "Paper jam", "zebra"], check=True)
    # cupsd records the reason a moment after the queue stops: wait until lpstat shows it.
    deadline = time.monotonic() + 10
    while (
        "Paper jam"
        not in subprocess.run(
            ["lpstat", "-h", server, "-p", "zebra"], capture_output=True, text=True
        ).stdout
    ):
        assert time.monotonic() < deadline, "cupsd never reported the reason"
        time.sleep(0.05)
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "paused" and "Paper jam" in caught.value.message
    subprocess.run([admin["cupsenable"], "-h", server, "zebra"], check=True)

    subprocess.run([admin["cupsreject"], "-h", server, "zebra"], check=True)
    with pytest.raises(PrinterError) as caught:
        CupsPrinter("zebra", server=server, check_status=False).print_label(LABEL)
    assert caught.value.code == "paused" and "cupsaccept zebra" in caught.value.message

    with pytest.raises(PrinterError) as caught:
        CupsPrinter("no-such-queue", server=server).print_label(LABEL)
    assert caught.value.code == "offline"


def test_real_lp_without_a_scheduler_is_offline() -> None:
    if shutil.which("lp") is None:
        pytest.skip("CUPS's lp is not installed (Debian: cups-client)")
    printer = CupsPrinter("zebra", server=f"127.0.0.1:{_free_port()}", timeout=20)
    with pytest.raises(PrinterError) as caught:
        printer.print_label(LABEL)
    assert caught.value.code == "offline"  # lp cannot tell "no cupsd" from "no queue"
