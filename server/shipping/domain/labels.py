"""Shipping labels: a package's 4x6 inch label as ZPL, written here by hand.

The label reads top to bottom the way a carrier's sorter and a driver read it:
ship-from and carrier/service, ship-to in large type, order and package
details, the tracking number as Code 128, and the SSCC-18 as GS1-128 at the
bottom (the GS1 logistic label keeps the SSCC last). Coordinates are laid out
in dots at 203 dpi and scaled for 300 dpi printers.

Barcodes:
- Tracking: ``^BCN,h,Y,N,N`` (Code 128, printer's interpretation line below).
- SSCC: ``^BCN,h,N,N,N`` with data ``>;>800`` + 18 digits: start in subset C,
  FNC1 (``>8``) makes it GS1-128, then AI 00 and the SSCC. We write the bars'
  data ourselves instead of mode D (``^BC...,D``) because mode D recomputes
  the check digit: a wrong SSCC would print "corrected" and no longer match
  the one stored. The "(00) ..." text under it is our own field.

Free text (addresses, order id, carrier, reference) goes through ``^FH`` with
``^``, ``~`` and ``_`` hex-escaped, so no address can inject a ZPL command,
and is shrunk or cut to stay inside the label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from server.core.addresses import Address
from shared.barcodes import gs1_check_digit, is_valid_sscc

__all__ = [
    "Address",
    "ShippingLabel",
    "is_valid_tracking",
    "make_tracking",
    "render_zpl",
]

BASE_DPI = 203
SUPPORTED_DPI = (203, 300)
WIDTH_IN, HEIGHT_IN = 4, 6
_MARGIN = 24  # dots at 203 dpi
_TRACKING_PREFIX = re.compile(r"[A-Z]{1,4}")
_TRACKING_NUMBER_DIGITS = 9
_OUR_TRACKING = re.compile(r"([A-Z]{1,4})(\d{9})(\d)")
# Carrier tracking numbers arrive later; they are upper-case letters, digits and dashes.
# ">" would be a Code 128 subset switch in ^BC data, "^" and "~" ZPL commands.
_TRACKING_CHARS = re.compile(r"[A-Z0-9-]{1,40}")

# Advance widths of ZPL font 0 in 1/32 of the ^A width parameter, measured with zplkit's
# printer-captured strikes. Characters not listed fall back to their unaccented base, then
# to a full em, so estimates err towards cutting text rather than running off the label.
_ADVANCE_GROUPS = {
    8: "ijl",
    9: " !'(),./:;I[]`ft",
    11: "r",
    12: "z",
    14: "?Jcksvxy",
    15: '"#$*0123456789Laeo',
    16: "EFTZbdghnpqu{|}_^",
    17: "CSV",
    18: "ABKOPQXY",
    19: "DGR",
    20: "&HNU",
    21: "w",
    24: "Mm",
    26: "W",
    29: "%+-=@",
}
_ADVANCE = {c: w for w, chars in _ADVANCE_GROUPS.items() for c in chars}
_SAFETY = 1.06  # real printers' strikes differ from the renderer's by a dot here and there


@dataclass(frozen=True)
class ShippingLabel:
    """Everything printed on one package's label."""

    ship_from: Address
    ship_to: Address
    order_id: str
    tracking: str
    sscc: str
    carrier: str
    service: str
    weight_g: int
    package_no: int = 1
    package_count: int = 1
    reference: str = ""

    def __post_init__(self) -> None:
        if not is_valid_sscc(self.sscc):
            raise ValueError(f"not a valid SSCC-18: {self.sscc!r}")
        if not _TRACKING_CHARS.fullmatch(self.tracking):
            raise ValueError(f"tracking number must be A-Z, 0-9 or '-': {self.tracking!r}")
        if self.weight_g < 0:
            raise ValueError(f"weight cannot be negative: {self.weight_g}")
        if not 1 <= self.package_no <= self.package_count:
            raise ValueError(f"package {self.package_no} of {self.package_count} is impossible")


def make_tracking(prefix: str, number: int) -> str:
    """Our own tracking number: prefix, 9-digit number, GS1 mod-10 check digit (SF0000000420)."""
    if not _TRACKING_PREFIX.fullmatch(prefix):
        raise ValueError(f"tracking prefix must be 1-4 letters A-Z, got {prefix!r}")
    if not isinstance(number, int) or not 0 <= number < 10**_TRACKING_NUMBER_DIGITS:
        raise ValueError(f"tracking number must be 0-999999999, got {number!r}")
    digits = f"{number:0{_TRACKING_NUMBER_DIGITS}d}"
    return f"{prefix}{digits}{gs1_check_digit(digits)}"


def is_valid_tracking(value: str) -> bool:
    """Whether ``value`` is one of our tracking numbers with a correct check digit."""
    m = _OUR_TRACKING.fullmatch(value) if isinstance(value, str) else None
    return bool(m) and gs1_check_digit(m.group(2)) == int(m.group(3))


# --- text --------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """One printable line: NFC, controls and line breaks as spaces, runs of spaces collapsed."""
    value = unicodedata.normalize("NFC", str(value))
    # Categories C* (controls, format chars) and Z* (line/paragraph separators) become spaces.
    spaced = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in value)
    # Under ^CI28 font 0 draws a backslash as a cent sign (seen with zplkit); a slash reads right.
    return " ".join(spaced.split()).replace("\\", "/")


def _advance(c: str) -> int:
    if c in _ADVANCE:
        return _ADVANCE[c]
    base = unicodedata.normalize("NFD", c)[0]
    return _ADVANCE.get(base, 32)


def text_width(text: str, height: int) -> float:
    """Estimated width in dots of ``text`` in font 0 at ``height`` (width parameter = height)."""
    return sum(_advance(c) for c in text) * height / 32 * _SAFETY


def _fit(text: str, max_width: int, height: int, min_height: int) -> tuple[str, int]:
    """Shrink the font down to ``min_height``, then cut characters, until ``text`` fits."""
    for h in range(height, min_height - 1, -2):
        if text_width(text, h) <= max_width:
            return text, h
    while text and text_width(text, min_height) > max_width:
        text = text[:-1]
    return text.rstrip(), min_height


def _escape(text: str) -> str:
    # ^FH makes "_" the hex escape lead-in, so it is escaped too; order matters ("_" first).
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


# --- layout ------------------------------------------------------------------------------


class _Canvas:
    """Collects ZPL fields placed in 203-dpi coordinates, scaled to the target dpi."""

    def __init__(self, dpi: int) -> None:
        self.k = dpi / BASE_DPI
        self.width = WIDTH_IN * dpi
        self.height = HEIGHT_IN * dpi
        self.out: list[str] = []

    def d(self, v: float) -> int:
        return round(v * self.k)

    def text(
        self,
        x: int,
        y: int,
        value: str,
        height: int,
        max_width: int,
        min_height: int | None = None,
        centre: bool = False,
    ) -> int:
        """Place one line of free text; returns the font height used (203-dpi dots)."""
        line, h = _fit(clean_text(value), max_width, height, min_height or height)
        if line:
            # A one-line ^FB block lets the printer centre with its own glyph metrics.
            block = f"^FB{self.d(max_width)},1,0,C" if centre else ""
            self.out.append(
                f"^FO{self.d(x)},{self.d(y)}^A0N,{self.d(h)},{self.d(h)}{block}"
                f"^FH^FD{_escape(line)}^FS"
            )
        return h

    def rule(self, y: int, thickness: int = 3) -> None:
        w, t = self.width - 2 * self.d(_MARGIN), max(1, self.d(thickness))
        self.out.append(f"^FO{self.d(_MARGIN)},{self.d(y)}^GB{w},{t},{t}^FS")

    def code128(self, y: int, data: str, modules: int, module: int, bar_h: int, hri: bool) -> None:
        """A Code 128 symbol centred across the label; ``data`` is already ^BC field data."""
        x = (self.width - modules * module) // 2
        flag = "Y" if hri else "N"
        font = f"^A0N,{self.d(26)},{self.d(26)}" if hri else ""
        self.out.append(
            f"^FO{x},{self.d(y)}^BY{module}{font}^BCN,{self.d(bar_h)},{flag},N,N^FD{data}^FS"
        )


def _tracking_module(c: _Canvas, modules: int) -> int:
    """Widest module (dots) that keeps the tracking symbol and 10-module quiet zones on the label."""
    usable = c.width - 2 * c.d(_MARGIN)
    module = max(1, c.d(3))
    while module > max(1, c.d(2)) and (modules + 20) * module > usable:
        module -= 1
    if (modules + 20) * module > usable:
        raise ValueError("tracking number too long for a Code 128 symbol on a 4-inch label")
    return module


def _address_lines(a: Address) -> list[str]:
    lines = [a.line1, a.line2, f"{a.postcode} {a.city}", a.country]
    return [line for line in lines if clean_text(line)]


def render_zpl(label: ShippingLabel, dpi: int = 203, zone: str = "") -> str:
    """The label as one ZPL format (``^XA`` ... ``^XZ``), UTF-8 (``^CI28``), for a 4x6 label;
    ``zone`` (a carrier's sort zone, ``ZONE 3``) goes in large type under the service."""
    if dpi not in SUPPORTED_DPI:
        raise ValueError(f"dpi must be one of {SUPPORTED_DPI}, got {dpi!r}")
    c = _Canvas(dpi)
    c.out += ["^XA", "^CI28", f"^PW{c.width}", f"^LL{c.height}", "^LH0,0"]
    full = 812 - 2 * _MARGIN
    left_w, right_x = 470, 520
    right_w = 812 - _MARGIN - right_x

    # Ship-from (small) beside carrier and service.
    c.text(_MARGIN, 20, "FROM", 20, left_w)
    y = 44
    for line in [label.ship_from.name, *_address_lines(label.ship_from)]:
        c.text(_MARGIN, y, line, 22, left_w, 18)
        y += 25
    c.text(right_x, 24, label.carrier, 48, right_w, 28)
    c.text(right_x, 82, label.service, 30, right_w, 20)
    if clean_text(zone):
        c.text(right_x, 120, zone, 52, right_w, 28)
    c.rule(180)

    # Ship-to in large type: what the driver reads at arm's length.
    c.text(_MARGIN, 192, "SHIP TO", 22, full)
    y = 222
    to = label.ship_to
    y += c.text(_MARGIN, y, to.name, 48, full, 30) + 8
    for line in _address_lines(to):
        y += c.text(_MARGIN, y, line, 42, full, 28) + 6
    if clean_text(to.phone):
        c.text(_MARGIN, y, f"TEL {to.phone}", 24, full, 20)
    c.rule(510)

    # Order, package n of m, weight, reference.
    c.text(_MARGIN, 524, f"ORDER {label.order_id}", 34, 500, 22)
    c.text(560, 524, f"PKG {label.package_no} OF {label.package_count}", 34, 228, 24)
    if clean_text(label.reference):
        c.text(_MARGIN, 566, f"REF {label.reference}", 24, 500, 18)
    c.text(560, 566, f"{label.weight_g / 1000:.2f} KG", 24, 228, 18)
    c.rule(600)

    # Tracking number: subset B, start + data + check + stop.
    c.text(_MARGIN, 612, "TRACKING #", 20, full)
    modules = 11 * (len(label.tracking) + 3) + 2
    c.code128(640, label.tracking, modules, _tracking_module(c, modules), 110, hri=True)
    c.rule(800)

    # SSCC as GS1-128: start C, FNC1, ten digit pairs ("00" + 18), check, stop = 145 modules.
    c.text(_MARGIN, 812, "SSCC", 20, full)
    c.code128(840, ">;>800" + label.sscc, 145, max(1, c.d(4)), 256, hri=False)
    c.text(_MARGIN, 1106, f"(00) {label.sscc}", 30, full, centre=True)
    c.out.append("^XZ")
    return "\n".join(c.out) + "\n"
