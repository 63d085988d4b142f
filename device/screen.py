"""What the worker sees and hears: the instruction in big letters, each scan's result.

A handheld's screen is 3.5–5 inches, read at arm's length while walking: the
instruction is drawn in 5x7 block letters (half-block characters, so a letter
is 6 columns by 4 rows), a good scan turns the result bar green. A bad one turns
the whole screen red with what went wrong in block letters ("WRONG BIN"), the
message and what to do still, and sounds three quick bells (a sound the worker
tells apart without looking) and the optional command hook for a real speaker.
The top bar says whether the link is up, how many scans wait to be sent, and
how the printer is.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from typing import TextIO

from shared import messages as say
from shared.protocol import DeviceState

GREEN, RED, YELLOW = "\033[42;30m", "\033[41;97m", "\033[43;30m"
BOLD, DIM, RESET, CLEAR = "\033[1m", "\033[2m", "\033[0m", "\033[2J\033[H"
BELL = "\a"
ANSI = re.compile(r"\033\[[0-9;]*[A-Za-z]")
# The command cards of each kind of screen, for the footer: (card, what it does).
Keys = tuple[tuple[str, str], ...]
PICKER_KEYS: Keys = (("CMD-SHORT", "short pick"), ("CMD-HELP", "help"), ("CMD-LOGOUT", "log out"))
PACKER_KEYS: Keys = (("CMD-REPRINT", "reprint"), ("CMD-HELP", "help"), ("CMD-LOGOUT", "log out"))
RECEIVING_KEYS: Keys = (("CMD-DONE", "book what was scanned"), ("CMD-HELP", "help"))
DOCK_KEYS: Keys = (("CMD-DOCK-DONE", "hand the truck over"), ("CMD-HELP", "help"))
SHORT_KEYS: Keys = (("CMD-COUNT-n", "n in the bin"), ("CMD-SHORT", "empty"), ("CMD-HELP", ""))
WEIGHT_KEYS: Keys = (
    ("", "scan the label to weigh again"),
    ("CMD-WEIGHT-OK", "supervisor"),
    ("CMD-HELP", ""),
)
DROP_OFF_KEYS: Keys = (("", "scan the tote at packing"), ("CMD-HELP", "help"))


def key_cards(state: DeviceState | None) -> Keys:
    """The command cards that do something on this screen."""
    if state is not None and state.screen == "pack_check":
        return WEIGHT_KEYS
    if state is not None and state.screen.startswith("pack_"):
        return PACKER_KEYS
    if state is not None and state.screen.startswith("receive_"):
        return RECEIVING_KEYS
    if state is not None and state.screen.startswith("dock_"):
        return DOCK_KEYS
    if state is not None and state.screen == "pick_short":
        return SHORT_KEYS
    if state is not None and state.screen == "pick_done":
        return DROP_OFF_KEYS
    return PICKER_KEYS


def keys_help(state: DeviceState | None, width: int = 1000) -> str:
    """The footer: each card with what it does, or only the cards when that is too wide (a
    48-column pack station): a card's name is never cut."""
    cards = key_cards(state)
    whole = " · ".join(" ".join(p for p in card if p) for card in cards)
    if len(whole) <= width:
        return whole
    for short in (
        " · ".join(card or words for card, words in cards),
        " · ".join(card for card, _ in cards if card),  # the cards alone: the screen says the rest
    ):
        if len(short) <= width:
            return short
    return _fit(short, width)


# 5x7 glyphs: the character, then 7 rows of 5 pixels, each row one base-32 digit.
_FONT_DATA = (
    "AEHHVHHH BUHHUHHU CEHGGGHE DUHHHHHU EVGGUGGV FVGGUGGG GEHGNHHF HHHHVHHH IE44444E "
    "J72222IC KHIKOKIH LGGGGGGV MHRLLHHH NHHPLJHH OEHHHHHE PUHHUGGG QEHHHLID RUHHUKIH "
    "SFGGE11U TV444444 UHHHHHHE VHHHHHA4 WHHHLLLA XHHA4AHH YHHHA444 ZV1248GV 0EHJLPHE "
    "14C4444E 2EH1248V 3V2421HE 426AIV22 5VGU11HE 668GUHHE 7V124888 8EHHEHHE 9EHHF12C "
    "-000V000 .00000CC ,0000C48 :0CC0CC0 /01248G0 ×0HA4AH0 !4444404 ?EH12404 #AAVAVAA "
    "(2488842 )8422248 '4480000 +044V440 ·000CC00 …000000L _000000V"
)
FONT: dict[str, tuple[int, ...]] = {
    item[0]: tuple(int(c, 32) for c in item[1:]) for item in _FONT_DATA.split()
}
FONT[" "] = (0,) * 7
_HALF = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}


def big_line(text: str) -> list[str]:
    """One line of text in block letters: 4 rows, 6 columns a character."""
    rows = [*(FONT.get(ch, FONT["?"]) for ch in text.upper())]
    out = []
    for top in range(0, 8, 2):  # two pixel rows per text row; row 7 is blank
        line = []
        for glyph in rows:
            upper = glyph[top]
            lower = glyph[top + 1] if top + 1 < 7 else 0
            line.append(
                "".join(_HALF[(upper >> b & 1, lower >> b & 1)] for b in range(4, -1, -1)) + " "
            )
        out.append("".join(line).rstrip())
    return out


def reship_line(state: DeviceState | None) -> str:
    """The re-ship line ("RE-SHIP of <lost tracking>") when the order on screen sends a lost
    parcel again, so the picker and the packer keep it apart; "" for any other work."""
    if state is None or not state.reships:
        return ""
    return say.reship_marker(state.reships, state.order_id, state.orders)


def headline(state: DeviceState) -> str:
    """The few words that matter most on a screen, for when the instruction is too long."""
    left = state.step.qty - state.step.picked if state.step else 0
    return {
        "pick_tote": "FETCH CART" if state.fetch_cart else "SCAN TOTE",
        "pick_location": f"GO TO {state.step.location}" if state.step else "GO TO",
        "pick_item": f"PICK {left}",
        "pick_put": f"PUT IN {state.tote}" if state.tote else "PUT IN TOTE",
        "pick_short": "HOW MANY?",
        "receive_location": "SCAN BIN",
        "receive_item": "RECEIVE",
        "dock_carrier": "SCAN CARRIER",
        "dock_load": (
            f"LOAD {state.progress.done}/{state.progress.total}" if state.progress else "LOAD"
        ),
        "pick_done": "TO PACKING",
        "idle": "WAIT",
        "pack_start": "SCAN TOTE",
        "pack_verify": "SCAN ITEM",
        "pack_label": (
            "NO LABEL"
            if state.instruction == say.label_not_printed()
            else say.pack_label_headline()
        ),
        "pack_check": "CHECK WEIGHT",
        "count_location": "SCAN BIN",
        "count_item": "COUNT",
        "return_open": "SCAN PARCEL",
        "return_item": (
            f"RETURN {state.progress.done}/{state.progress.total}" if state.progress else "RETURN"
        ),
        "return_grade": "GRADE IT",
        "return_bin": "SCAN BIN",
        "replen_reserve": "SCAN RESERVE",
        "replen_item": (
            f"TAKE {state.progress.done}/{state.progress.total}" if state.progress else "TAKE"
        ),
        "replen_face": "TO FACE",
        "transfer_open": "SCAN PACKAGE",
        "transfer_item": (
            f"TRANSFER {state.progress.done}/{state.progress.total}"
            if state.progress
            else "TRANSFER"
        ),
        "transfer_bin": "SCAN BIN",
    }.get(state.screen, state.screen.upper())


def big_words(state: DeviceState) -> list[tuple[str, bool]]:
    """What goes in block letters when the whole instruction does not fit, most important
    first, each with whether it may be cut short (a name may; a bin code or a tote may not)."""
    step = state.step
    if state.screen == "pick_item" and step is not None:
        return [(f"PICK {step.qty - step.picked}", False), (step.product_name, True)]
    if state.screen == "pick_location" and step is not None:
        return [("GO TO", False), (step.location, False)]
    if state.screen == "pick_done":  # the drop-off: which tote, and where
        totes = state.expect.barcodes
        return [
            (totes[0] if len(totes) == 1 else f"{len(totes)} TOTES", False),
            ("TO PACKING", False),
        ]
    return [(phrase, False) for phrase in headline(state).split(", ")]


class Screen:
    """Base screen: keeps what to show; subclasses draw it."""

    def __init__(self, sound_command: str | None = None) -> None:
        self.state: DeviceState | None = None
        self.result: tuple[bool | None, str] | None = None  # ok None: neutral information
        self.link = "connecting"
        self.waiting = 0
        self.printer: str | None = None  # None: printer fine (or none)
        self.wrong_code: str | None = None  # the result code of the last refused scan
        self.sound_command = sound_command
        self.sounds: list[str] = []

    def show(self, state: DeviceState | None) -> None:
        self.state = state
        self.draw()

    def shown(self) -> DeviceState | None:
        """The state as drawn: a pack station whose label did not print says so first."""
        s = self.state
        if s is not None and s.screen == "pack_label" and self.printer:
            return s.model_copy(
                update={
                    "instruction": say.label_not_printed(),
                    "detail": say.fix_printer(self.printer),
                }
            )
        return s

    def scan_result(self, ok: bool, message: str, code: str | None = None) -> None:
        """A good (green) or bad (the whole screen red, with its sound) scan; `code` is the
        result code, which names what went wrong in the big letters."""
        self.result = (ok, message)
        self.wrong_code = None if ok else code
        self.draw()
        self.sound("good" if ok else "bad")

    def notice(self, message: str) -> None:
        """Neutral news for the worker (connected, saved offline...)."""
        self.result = (None, message)
        self.draw()

    def status(self, link: str, waiting: int) -> None:
        if (link, waiting) != (self.link, self.waiting):
            self.link, self.waiting = link, waiting
            self.draw()

    def printer_state(self, problem: str | None) -> None:
        """None when the printer works; else what is wrong, in the worker's words."""
        if problem != self.printer:
            self.printer = problem
            self.draw()

    def sound(self, kind: str) -> None:
        """Bells for a bad scan; the command hook (if set) for both kinds."""
        self.sounds.append(kind)
        if kind == "bad":
            self.bell()
        if self.sound_command:
            try:
                cmd = [part.replace("{kind}", kind) for part in shlex.split(self.sound_command)]
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError:
                pass  # a missing speaker must not stop the scanning

    def bell(self) -> None:
        """The terminal's own bell pattern; the base has no terminal."""

    def draw(self) -> None:
        """Subclasses render; the base draws nothing."""


class NoScreen(Screen):
    """For the demo's simulated devices: nothing is drawn."""


class PlainScreen(Screen):
    """One line per change: for logs and pipes."""

    def __init__(self, out: TextIO = sys.stdout, name: str = "", sound_command: str | None = None):
        super().__init__(sound_command)
        self.out = out
        self.name = name

    def draw(self) -> None:
        s = self.shown()
        parts = [f"[{self.name}]" if self.name else "", f"<{self.link}>"]
        if self.waiting:
            parts.append(f"({self.waiting} scans waiting)")
        if self.printer:
            parts.append(f"[printer: {self.printer}]")
        if self.result:
            ok, msg = self.result
            parts.append({True: "OK: ", False: "ERROR: ", None: "NOTE: "}[ok] + msg)
            self.result = None
        if s:
            if reship_line(s):
                parts.append(f"[{reship_line(s)}]")
            if s.progress:
                parts.append(f"{s.progress.done}/{s.progress.total}")
            parts.append(f"| {s.instruction.upper()}")
        print(" ".join(p for p in parts if p), file=self.out, flush=True)


class TtyScreen(Screen):
    """A full-screen terminal view for a small handheld display."""

    def __init__(self, out: TextIO = sys.stdout, sound_command: str | None = None) -> None:
        super().__init__(sound_command)
        self.out = out
        self._lock = threading.Lock()

    def draw(self) -> None:
        size = shutil.get_terminal_size((60, 20))
        with self._lock:
            self.out.write(CLEAR + self.render(size.columns, size.lines))
            self.out.flush()

    def bell(self) -> None:
        def ring() -> None:
            for _ in range(3):
                with self._lock:
                    self.out.write(BELL)
                    self.out.flush()
                time.sleep(0.15)

        threading.Thread(target=ring, daemon=True).start()

    def render(self, width: int, height: int) -> str:
        """The whole screen as text with colours, `height` rows of at most `width` columns.

        The status bar on top; the result of the last scan and the command cards at the
        bottom, always; between them the instruction in block letters as far as it fits
        (else its headline big and the whole sentence in bold), then the detail.
        """
        width = max(width, 20)
        s = self.shown()
        if self.result and self.result[0] is False:
            return self._render_wrong(width, height, s)
        top = [self._status_bar(width)]
        bottom = [*self._result_lines(width), DIM + keys_help(s, width) + RESET]
        if s is None:
            middle = ["", *big_line("WAIT"), "", "Connecting to the server…"]
        else:
            if s.progress:
                top.append(_progress(s, width))
            top += _reship_bar(s, width)
            top.append("")
            rows = height - len(top) - len(bottom)
            detail = wrap(s.detail, width)
            reserve = min(len(wrap(s.instruction, width)), 2) + min(len(detail), 3)
            room = max(1, (rows - reserve) // 5)  # block-letter lines: 4 rows and a gap each
            big, small = _big_and_small(s, max(1, width // 6), room)
            middle = []
            for text in big:
                middle += [BOLD + row + RESET for row in big_line(text)] + [""]
            middle += [BOLD + line + RESET for line in wrap(small, width)[:2]]
            middle += detail
        rows = max(0, height - len(top) - len(bottom))
        middle = (middle + [""] * rows)[:rows]
        return "\n".join(top + middle + bottom)

    def _render_wrong(self, width: int, height: int, s: DeviceState | None) -> str:
        """A refused scan: the whole screen red, what went wrong in block letters, the message
        whole, and what the screen still asks for; the status bar and the cards stay."""
        top = [self._status_bar(width)]
        if s is not None and s.progress:
            top.append(_progress(s, width))
        top += _reship_bar(s, width)
        cols = max(1, width // 6)
        big = textwrap.wrap(
            say.wrong_headline(self.wrong_code),
            cols,
            break_long_words=False,
            break_on_hyphens=False,
        )
        if any(len(line) > cols for line in big):
            big = ["✘"]
        message = [BOLD + line for line in wrap("✘ " + self.result[1], width)[:3]]
        still = ["", *wrap(say.still(s.instruction), width)[:2]] if s is not None else []
        rows = max(0, height - len(top) - 1)
        # The message and what is still asked come first: on a short screen the block letters
        # give up their second line, then turn into one bold line of the headline.
        for lines in (2, 1, 0):
            head = [""]
            for text in big[:lines]:
                head += big_line(text) + [""]
            if not lines:
                head = [BOLD + say.wrong_headline(self.wrong_code)[:width]]
            if len(head) + len(message) + len(still) <= rows:
                break
        middle = head + message + still
        footer = keys_help(s, width)
        middle = (middle + [""] * rows)[:rows]
        painted = [RED + plain_text(line).ljust(width) + RESET for line in middle]
        for i, line in enumerate(middle):
            if line.startswith(BOLD):
                painted[i] = RED + BOLD + plain_text(line).ljust(width) + RESET
        return "\n".join(top + painted + [RED + footer.ljust(width) + RESET])

    def _result_lines(self, width: int) -> list[str]:
        """The last scan's result in its colour, whole (wrapped, never cut mid-barcode)."""
        if not self.result:
            return []
        ok, msg = self.result
        colour = {True: GREEN, False: RED, None: YELLOW}[ok]
        mark = {True: "✔ ", False: "✘ ", None: ""}[ok]
        text = [line.ljust(width) for line in wrap(mark + msg, width)[:3]]
        return [colour + " " * width, *text, " " * width + RESET]

    def _status_bar(self, width: int) -> str:
        if self.link == "online":
            left, colour = "ONLINE", GREEN
        elif self.link == "offline":
            left, colour = f"OFFLINE — {self.waiting} scans waiting", YELLOW
        elif self.link == "replaced":
            left, colour = "SIGNED IN ELSEWHERE — CMD-LOGIN", RED
        else:
            left, colour = "CONNECTING…", YELLOW
        if self.link == "online" and self.waiting:
            left += f" · sending {self.waiting}"
        right = f"PRINTER: {self.printer.upper()}" if self.printer else ""
        if right:
            colour = RED
        gap = max(1, width - len(left) - len(right))
        return colour + (left + " " * gap + right)[:width] + RESET


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width`, broken between words only: a bin code or a barcode is never
    split (one longer than a line is cut at its end with "…", still readable from its start)."""
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return [_fit(line, width) for line in lines]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _big_and_small(state: DeviceState, cols: int, room: int) -> tuple[list[str], str]:
    """The lines drawn in block letters (`cols` characters, at most `room` of them) and the
    sentence then written small: the whole instruction big if it fits, else its headline."""
    whole = textwrap.wrap(
        state.instruction.upper(), cols, break_long_words=False, break_on_hyphens=False
    )
    fits = whole and len(whole) <= room and all(len(line) <= cols for line in whole)
    if fits and state.screen != "pick_item":  # picking: the count and the name come first
        return whole, ""
    big: list[str] = []
    for phrase, may_cut in big_words(state):
        lines = textwrap.wrap(phrase.upper(), cols, break_long_words=False, break_on_hyphens=False)
        if any(len(line) > cols for line in lines):
            if not may_cut:
                continue  # a code too long for block letters stays whole, in the small sentence
            lines = [_fit(line, cols) for line in lines]
        left = room - len(big)
        if len(lines) > left:
            if not may_cut or left <= 0:
                continue
            lines = [*lines[: left - 1], _fit(lines[left - 1] + " …", cols)]
        big += lines
    return big or [headline(state)[:cols]], state.instruction


def _reship_bar(state: DeviceState | None, width: int) -> list[str]:
    """The re-ship line in yellow under the status bar, whole (wrapped), or nothing."""
    marker = reship_line(state)
    return [YELLOW + BOLD + line.ljust(width) + RESET for line in wrap(marker, width)[:2]]


def _progress(state: DeviceState, width: int) -> str:
    done, total = state.progress.done, state.progress.total
    label = f" {done}/{total}"
    bar = max(4, width - len(label) - 2)
    filled = round(bar * done / total) if total else 0
    return "[" + "█" * filled + "·" * (bar - filled) + "]" + label


def plain_text(rendered: str) -> str:
    """A rendered screen without its colour codes (for tests and logs)."""
    return ANSI.sub("", rendered)


def make_screen(kind: str, name: str = "", sound_command: str | None = None) -> Screen:
    """The screen a config names: tty, plain or none."""
    if kind == "tty" and sys.stdout.isatty():
        return TtyScreen(sound_command=sound_command)
    if kind == "none":
        return NoScreen(sound_command)
    return PlainScreen(name=name, sound_command=sound_command)
