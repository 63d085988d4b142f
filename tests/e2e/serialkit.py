"""A person at a real device process with a serial scanner, for the end-to-end floor tests:
what they read (the device's screen over REST) and what they scan (typed into its pty)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import requests


class Worker:
    """A person with a serial scanner: reads the device's screen over REST, types into the pty."""

    def __init__(self, base: str, headers: dict, name: str, master: int):
        self.base, self.headers, self.name, self.master = base, headers, name, master

    def device(self) -> dict:
        """The server's view of the device: `connected`, and `state`, the screen it should
        show (drawn whether or not the device process is connected yet)."""
        r = requests.get(f"{self.base}/api/devices/{self.name}", headers=self.headers, timeout=5)
        r.raise_for_status()
        return r.json()

    def state(self) -> dict:
        return self.device()["state"]

    def scans(self) -> int:
        return requests.get(f"{self.base}/api/stats", headers=self.headers, timeout=5).json()[
            "scans"
        ]

    def scan(self, barcode: str, timeout: float = 15.0) -> None:
        """Pull the trigger (barcode + CR on the serial line) and wait until the server has it."""
        before = self.scans()
        os.write(self.master, barcode.encode() + b"\r")
        deadline = time.monotonic() + timeout
        while self.scans() == before:
            assert time.monotonic() < deadline, (
                f"{self.name}: scan {barcode!r} never reached the server"
            )
            time.sleep(0.05)

    def wait_screen(self, *screens: str, timeout: float = 15.0) -> dict:
        """Wait until the device process is connected and its screen is one of `screens`.
        Connected matters: the device opens its scanner before it connects, and a scan typed
        into the pty before the serial port is opened is flushed by the open (pyserial)."""
        deadline = time.monotonic() + timeout
        while not ((dev := self.device())["connected"] and dev["state"]["screen"] in screens):
            assert time.monotonic() < deadline, (
                f"{self.name}: connected={dev['connected']}, on {dev['state']['screen']}, "
                f"wanted {screens}"
            )
            time.sleep(0.05)
        return dev["state"]


def device_config(
    path: Path, name: str, base: str, token: str, tty: str, printer: str | None
) -> Path:
    lines = [
        "[device]",
        f'name = "{name}"',
        f'server = "{base}"',
        f'token = "{token}"',
        f'scanner = "serial://{tty}?baud=9600"',
        f'data_dir = "{path.parent}"',
        'screen = "plain"',
    ]
    if printer:
        lines.append(f'printer = "{printer}"')
    path.write_text("\n".join(lines) + "\n")
    return path
