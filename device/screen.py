"""What the worker sees: the instruction in large plain words and each scan's result."""

from __future__ import annotations

import shutil
import sys
import textwrap
from typing import TextIO

from shared.protocol import DeviceState

GREEN, RED, BOLD, DIM, RESET = "\033[42;30m", "\033[41;97m", "\033[1m", "\033[2m", "\033[0m"
BELL = "\a"


class Screen:
    """Base screen: keeps the last state and result; subclasses draw them."""

    def __init__(self) -> None:
        self.state: DeviceState | None = None
        self.result: tuple[bool, str] | None = None
        self.link = "connecting"
        self.waiting = 0

    def show(self, state: DeviceState) -> None:
        self.state = state
        self.draw()

    def scan_result(self, ok: bool, message: str) -> None:
        self.result = (ok, message)
        self.draw(beep=not ok)

    def status(self, link: str, waiting: int) -> None:
        if (link, waiting) != (self.link, self.waiting):
            self.link, self.waiting = link, waiting
            self.draw()

    def notice(self, message: str) -> None:
        self.result = (True, message)
        self.draw()

    def draw(self, beep: bool = False) -> None:
        """Subclasses render; the base draws nothing."""


class NoScreen(Screen):
    """For the demo's simulated devices: nothing is drawn."""


class PlainScreen(Screen):
    """One line per change: for logs and pipes."""

    def __init__(self, out: TextIO = sys.stdout, name: str = "") -> None:
        super().__init__()
        self.out = out
        self.name = name

    def draw(self, beep: bool = False) -> None:
        s = self.state
        parts = [f"[{self.name}]" if self.name else "", f"<{self.link}>"]
        if self.waiting:
            parts.append(f"({self.waiting} scans waiting)")
        if self.result:
            parts.append(("OK: " if self.result[0] else "ERROR: ") + self.result[1])
            self.result = None
        if s:
            parts.append(f"| {s.instruction.upper()}")
        print(" ".join(p for p in parts if p), file=self.out, flush=True)


class TtyScreen(Screen):
    """A full-screen terminal view for a small handheld display."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        super().__init__()
        self.out = out

    def draw(self, beep: bool = False) -> None:
        width = max(20, shutil.get_terminal_size((40, 12)).columns)
        lines = ["\033[2J\033[H"]
        link = "ONLINE" if self.link == "online" else f"OFFLINE — {self.waiting} scans waiting"
        lines.append(f"{DIM}{link}{RESET}\n")
        s = self.state
        if s:
            if s.progress:
                lines.append(f"{DIM}{s.progress.done}/{s.progress.total}{RESET}\n")
            for row in textwrap.wrap(s.instruction.upper(), width):
                lines.append(f"{BOLD}{row}{RESET}\n")
            if s.detail:
                lines.append(textwrap.shorten(s.detail, width) + "\n")
        if self.result:
            ok, msg = self.result
            colour = GREEN if ok else RED
            lines.append("\n" + colour + textwrap.shorten(msg, width).ljust(width) + RESET + "\n")
        if beep:
            lines.append(BELL)
        self.out.write("".join(lines))
        self.out.flush()


def make_screen(kind: str, name: str = "") -> Screen:
    """The screen a config names: tty, plain or none."""
    if kind == "tty" and sys.stdout.isatty():
        return TtyScreen()
    if kind == "none":
        return NoScreen()
    return PlainScreen(name=name)
