"""The floor's own labels as ZPL: totes, bins, command cards and badges.

Everything a worker scans that is not a product or a shipping label is printed
here: a tote's `TOTE-<n>`, a bin's barcode, the command cards (`CMD-HELP`, ...,
listed in `shared/commands.py`) and worker badges (`BADGE-<name>`). Each label
is one Code 128 symbol, centred, with the words a person reads above and below
it, on a 4x6 inch label (a card at arm's length) or a 2x1 inch one (a tote's
side, a shelf edge). Coordinates are dots at 203 dpi, scaled for 300 dpi.

Free text goes through ``^FH`` with ``^``, ``~`` and ``_`` hex-escaped, as on the
shipping label; in the bars' data ``>`` is written ``>0``, since ``>`` starts a
Code 128 invocation in ``^BC`` data. Pure: no IO, the CLI prints or sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from server.shipping.domain.labels import _escape, _fit, clean_text
from shared.commands import BADGE_PREFIX, card_set, carrier_card
from shared.picking import TOTE_PATTERN

BASE_DPI = 203
SUPPORTED_DPI = (203, 300)
SIZES: dict[str, tuple[int, int]] = {"4x6": (4, 6), "2x1": (2, 1)}  # inches: width x height
# A badge (BADGE_PREFIX + name) names a worker: letters, digits, space, dot, apostrophe,
# dash; bars stay short.
_BADGE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .'-]{0,30}[A-Za-z0-9.])?")
_BARCODE = re.compile(r"[\x20-\x7e]{1,64}")  # what a Code 128 symbol in subset B holds
MAX_TOTE = 10**8 - 1  # TOTE- takes 1 to 8 digits


@dataclass(frozen=True)
class FloorLabel:
    """One label: the bars' data, the big words, and a line under them."""

    kind: str  # TOTE, BIN, COMMAND, BADGE: printed at the top of a 4x6 label
    barcode: str
    title: str
    caption: str = ""

    def __post_init__(self) -> None:
        if not _BARCODE.fullmatch(self.barcode):
            raise ValueError(f"a barcode is 1 to 64 printable ASCII characters: {self.barcode!r}")


# --- what goes on the labels -------------------------------------------------------------


def totes(first: int, last: int, digits: int = 0) -> list[FloorLabel]:
    """Tote labels `TOTE-<first>` .. `TOTE-<last>`, the number zero-padded to `digits`."""
    if not 0 <= first <= last <= MAX_TOTE:
        raise ValueError(f"totes are numbered 0 to {MAX_TOTE}, first <= last: {first}..{last}")
    if not 0 <= digits <= 8:
        raise ValueError(f"a tote number has at most 8 digits, not {digits}")
    out = []
    for n in range(first, last + 1):
        code = f"TOTE-{n:0{digits}d}"
        assert TOTE_PATTERN.fullmatch(code)
        out.append(FloorLabel("TOTE", code, code))
    return out


def bin_label(warehouse: str, code: str, barcode: str, zone: str = "") -> FloorLabel:
    """A bin's label: its code in large type, its barcode in the bars (pickers scan either)."""
    under = " · ".join(p for p in (warehouse, zone and f"zone {zone}") if p)
    if barcode != code:
        under = f"{under} · {barcode}"
    return FloorLabel("BIN", barcode, code, under)


def commands(found_up_to: int = 5) -> list[FloorLabel]:
    """Every command card, and the count cards `CMD-COUNT-1` .. `CMD-COUNT-<found_up_to>`."""
    return [FloorLabel("COMMAND", c.barcode, c.barcode, c.caption) for c in card_set(found_up_to)]


def carrier(name: str, title: str) -> FloorLabel:
    """A carrier's dock card, `CARRIER-<NAME>`: a pack station in dock mode loads its truck."""
    return FloorLabel("CARRIER", carrier_card(name), title, "DOCK: LOAD THIS CARRIER'S TRUCK")


def badge(name: str) -> FloorLabel:
    """A worker's badge, `BADGE-<name>`, for signing in on a device."""
    name = " ".join(name.split())
    if not _BADGE_NAME.fullmatch(name):
        raise ValueError(
            f"a badge name is 1 to 32 letters, digits, spaces, dots, apostrophes or dashes, "
            f"starting with a letter or digit: {name!r}"
        )
    return FloorLabel("BADGE", BADGE_PREFIX + name, name, BADGE_PREFIX + name)


# --- ZPL ---------------------------------------------------------------------------------


def bars_data(barcode: str) -> str:
    """A barcode as ``^BC`` field data under ``^FH``: ``>`` as ``>0``, ``^ ~ _`` hex-escaped."""
    return _escape(barcode).replace(">", ">0")


def code128_modules(barcode: str) -> int:
    """Modules of a subset-B Code 128 symbol: start, data, check, stop (13)."""
    return 11 * (len(barcode) + 3) + 2


class _Layout:
    """ZPL fields placed in 203-dpi coordinates on a label of one size, scaled to the dpi."""

    def __init__(self, size: str, dpi: int) -> None:
        if size not in SIZES:
            raise ValueError(f"label size must be one of {', '.join(SIZES)}, got {size!r}")
        if dpi not in SUPPORTED_DPI:
            raise ValueError(f"dpi must be one of {SUPPORTED_DPI}, got {dpi!r}")
        self.k = dpi / BASE_DPI
        w_in, h_in = SIZES[size]
        self.width, self.height = w_in * BASE_DPI, h_in * BASE_DPI  # in 203-dpi dots
        self.margin = 24 if w_in >= 4 else 12
        self.out = ["^XA", "^CI28", f"^PW{w_in * dpi}", f"^LL{h_in * dpi}", "^LH0,0"]

    def d(self, v: float) -> int:
        return round(v * self.k)

    def text(self, y: int, value: str, height: int, min_height: int) -> None:
        """One centred line of free text, shrunk (then cut) to the label's width."""
        full = self.width - 2 * self.margin
        line, h = _fit(clean_text(value), full, height, min_height)
        if line:
            self.out.append(
                f"^FO{self.d(self.margin)},{self.d(y)}^A0N,{self.d(h)},{self.d(h)}"
                f"^FB{self.d(full)},1,0,C^FH^FD{_escape(line)}^FS"
            )

    def bars(self, y: int, barcode: str, height: int, max_module: int, hri: bool) -> None:
        """The Code 128 symbol, centred, as wide as fits with 10-module quiet zones."""
        modules = code128_modules(barcode)
        usable = self.d(self.width - 2 * self.margin)
        module = max(1, self.d(max_module))
        while module > 1 and (modules + 20) * module > usable:
            module -= 1
        if (modules + 20) * module > usable:
            raise ValueError(f"{barcode!r} is too long for a Code 128 symbol on this label")
        x = (self.d(self.width) - modules * module) // 2
        flag, font = ("Y", f"^A0N,{self.d(30)},{self.d(30)}") if hri else ("N", "")
        self.out.append(
            f"^FO{x},{self.d(y)}^BY{module}{font}^BCN,{self.d(height)},{flag},N,N"
            f"^FH^FD{bars_data(barcode)}^FS"
        )

    def zpl(self) -> str:
        return "\n".join([*self.out, "^XZ"]) + "\n"


def render(label: FloorLabel, size: str = "4x6", dpi: int = 203) -> str:
    """One label as one ZPL format (``^XA`` ... ``^XZ``), UTF-8 (``^CI28``)."""
    page = _Layout(size, dpi)
    if size == "4x6":
        page.text(40, label.kind, 48, 48)
        page.text(120, label.title, 150, 56)
        page.bars(330, label.barcode, 420, 4, hri=True)
        page.text(860, label.caption, 56, 28)
    else:  # 2x1: the bars, the title under them, the caption in small type
        page.bars(12, label.barcode, 96 if label.caption else 110, 3, hri=False)
        page.text(118 if label.caption else 132, label.title, 40, 22)
        page.text(164, label.caption, 26, 16)
    return page.zpl()


def render_all(labels: Iterable[FloorLabel], size: str = "4x6", dpi: int = 203) -> str:
    """Labels one after another, one ZPL format each: a printer prints them in order."""
    return "".join(render(label, size, dpi) for label in labels)
