"""A real device process driven like a person: a serial scanner on a pty, its screen in a log.

Used by the offline proofs: the device reaches the server through a `NetProxy`
the test switches, the test pulls the trigger by writing to the pty, and reads
the device's own screen (the plain screen's lines in its log), so it sees what
the worker sees even while the server cannot.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import sqlite3
import subprocess
import time
import tty
from dataclasses import dataclass
from pathlib import Path

import requests
from dbkit import read_all

from scripts.demo import procs


@dataclass
class Line:
    """One line the plain screen printed."""

    text: str

    @property
    def link(self) -> str:
        m = re.search(r"<(\w+)>", self.text)
        return m.group(1) if m else ""

    @property
    def waiting(self) -> int:
        m = re.search(r"\((\d+) scans waiting\)", self.text)
        return int(m.group(1)) if m else 0

    @property
    def instruction(self) -> str:
        return self.text.split("| ", 1)[1] if "| " in self.text else ""


class Handheld:
    """A device process with a pty scanner; `scan()` types a barcode and Enter."""

    def __init__(self, home: Path, name: str, server_url: str, token: str, printer: str = ""):
        self.home, self.name = home, name
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.slave = slave
        self.log = home / f"{name}.log"
        self.config = home / f"{name}.toml"
        lines = [
            "[device]",
            f'name = "{name}"',
            f'server = "{server_url}"',
            f'token = "{token}"',
            f'scanner = "serial://{os.ttyname(slave)}?baud=9600"',
            f'data_dir = "{home}"',
            'screen = "plain"',
        ]
        if printer:
            lines.append(f'printer = "{printer}"')
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def journal_path(self) -> Path:
        return self.home / f"{self.name}.journal.db"

    def start(self) -> Handheld:
        self.proc = procs.start_device(self.config, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a pulled battery."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the screen ----------------------------------------------------------------
    def lines(self) -> list[Line]:
        if not self.log.exists():
            return []
        prefix = f"[{self.name}] "
        text = self.log.read_text(errors="replace")
        return [Line(t) for t in text.splitlines() if t.startswith(prefix)]

    def screen(self) -> Line:
        lines = self.lines()
        return lines[-1] if lines else Line("")

    def wait_for(self, pred, timeout: float = 15.0, after: int = 0, what: str = "") -> Line:
        """The first screen line after index `after` that satisfies pred."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines()[after:]:
                if pred(line):
                    return line
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                tail = "\n".join(x.text for x in self.lines()[-8:])
                raise AssertionError(
                    f"{self.name}: no screen {what!r} in {timeout}s; last:\n{tail}"
                )
            time.sleep(0.03)

    # -- the trigger -------------------------------------------------------------------
    def scan(self, barcode: str, result: str = "OK", timeout: float = 15.0) -> Line:
        """Scan and wait for the screen to show a result ("OK" or "ERROR")."""
        mark = len(self.lines())
        os.write(self.master, barcode.encode() + b"\r")
        return self.wait_for(
            lambda line: f"{result}: " in line.text, timeout, mark, f"{result} for {barcode}"
        )

    # -- the journal ---------------------------------------------------------------------
    def journal(self) -> list[dict]:
        """Every journal row, oldest first."""
        with sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM scans ORDER BY seq")]


class Desk:
    """The REST calls a supervisor's desk makes, and what a device shows (read from the
    server): the end-to-end tests that drive a floor over REST share it."""

    def __init__(self, base: str, key: str):
        self.base, self.headers = base, {"Authorization": f"Bearer {key}"}

    def get(self, path: str) -> dict:
        r = requests.get(self.base + path, headers=self.headers, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict, status: int = 200) -> dict:
        r = requests.post(self.base + path, json=body, headers=self.headers, timeout=5)
        assert r.status_code == status, r.text
        return r.json()

    def screen(self, h: Handheld, *screens: str, timeout: float = 15.0) -> dict:
        """The device's screen once it is one of `screens` (and the device connected)."""
        deadline = time.monotonic() + timeout
        while True:
            dev = self.get(f"/api/devices/{h.name}")
            if dev["connected"] and dev["state"]["screen"] in screens:
                return dev["state"]
            assert time.monotonic() < deadline, (h.name, dev["state"]["screen"], screens)
            time.sleep(0.05)

    def barcode_for(self, state: dict) -> str:
        """What a person scans for the screen `state` asks for: its first expected barcode."""
        return state["expect"]["barcodes"][0]

    def walk(self, h: Handheld, screens: tuple[str, ...]) -> dict:
        """Scan what each screen asks for while the device is on one of `screens`."""
        state = self.get(f"/api/devices/{h.name}")["state"]
        while state["screen"] in screens:
            h.scan(self.barcode_for(state))
            state = self.get(f"/api/devices/{h.name}")["state"]
        return state


def server_scans(db: str | Path, device: str) -> list[dict]:
    """The server's audit rows for one device, in the order it applied them (`db`: the
    SQLite file, or the site's database URL, SQLite or PostgreSQL)."""
    return read_all(
        db,
        "SELECT s.* FROM scans s JOIN devices d ON d.id = s.device_id "
        "WHERE d.name = ? ORDER BY s.id",
        (device,),
    )
