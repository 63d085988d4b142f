"""`make handheld`: a device with the keyboard as its scanner joins the demo's running server."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scripts.demo import procs, run
from server.store import open_store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def demo(tmp_path):
    """A demo site (catalogue, devices, 4 orders) and its real server, as `make demo-serve`."""
    out = tmp_path / "demo-out" / "20261203-120000"
    run.seed_only(out, 7, 4, say=lambda *a: None)
    port = procs.free_port()
    server = procs.start_server(out / "data", port, out / "logs" / "server.log")
    (out / "server.url").write_text(f"http://127.0.0.1:{port}\n")  # as the demo writes it
    yield out
    procs.stop(server)


def lines_of(proc) -> queue.Queue:
    got: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            got.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return got


def wait_for(got: queue.Queue, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = got.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} never shown; the screen said:\n" + "\n".join(seen[-20:]))


def test_a_keyboard_handheld_joins_the_demo_and_scans(demo):
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.handheld"],
        cwd=demo.parent.parent,  # `demo-out/` under the working folder: the newest run is found
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        screen = lines_of(proc)
        wait_for(screen, "<online>")
        wait_for(screen, "SCAN AN EMPTY TOTE")  # the worker planned a list for it
        proc.stdin.write("garbage123\n")
        proc.stdin.flush()
        wait_for(screen, "ERROR: garbage123 is not a tote")
        proc.stdin.write("TOTE-901\n")
        proc.stdin.flush()
        assert "| GO TO " in wait_for(screen, "OK: Tote TOTE-901 started")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "handheld-picker-1 (picker, WH-EAST) on http://127.0.0.1:" in err
    store = open_store(demo / "data" / "scanfloor.db")
    try:
        row = store.one("SELECT role, warehouse FROM devices WHERE name = 'handheld-picker-1'")
    finally:
        store.close()
    assert row == {"role": "picker", "warehouse": "WH-EAST"}


def test_no_demo_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "scripts.handheld", "--out", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and "run `make demo-serve` first" in r.stderr
