"""A package's label as a picture for the board: our own ZPL drawn to PNG.

Draws only what `server/shipping/domain/labels.py` writes: text fields (`^FO`, `^A0N`,
`^FB` one centred line, `^FH` hex escapes, `^FD`), boxes and rules (`^GB`), and Code 128
symbols (`^BY`, `^BCN`), GS1-128 when the data opens with `>;>8` (start C, FNC1). Pillow
draws; python-barcode encodes the symbols, so the bars read back as the same data (the
encoder may pick its own code sets, so a symbol can be narrower than the printer's). Any
other command is skipped: this is a picture for a person, the printer still gets the ZPL.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache

from barcode import codex
from PIL import Image, ImageDraw, ImageFont

_COMMAND = re.compile(r"\^([A-Z][A-Z0-9@])([^\^]*)", re.S)
_HEX = re.compile(r"_([0-9A-Fa-f]{2})")
MAX_SIDE = 2400  # dots: a 4x6 label at 300 dpi is 1200 x 1800


@dataclass
class _Field:
    """What the commands since the last ^FS said about the next field."""

    x: int = 0
    y: int = 0
    font_h: int = 30
    block_w: int | None = None
    hex_escapes: bool = False
    barcode: tuple[int, bool] | None = None  # (bar height, with its text line)
    box: tuple[int, int, int] | None = None  # (width, height, thickness)


@dataclass
class _State:
    width: int = 812
    height: int = 1218
    module: int = 2
    home: tuple[int, int] = (0, 0)
    field: _Field = field(default_factory=_Field)


def _ints(args: str) -> list[int]:
    out = []
    for part in args.split(","):
        part = part.strip()
        out.append(int(part) if part.isdigit() else 0)
    return out


@lru_cache(maxsize=64)
def _font(height: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # Font 0 is condensed; Pillow's default face at 0.9 of the cell height keeps its widths.
    return ImageFont.load_default(size=max(6, round(height * 0.9)))


def _modules(data: str) -> str:
    """The symbol's bars and spaces as "1"/"0" modules."""
    if data.startswith(">;>8"):
        return codex.Gs1_128(data[4:]).build()[0]
    return codex.Code128(data.replace(">:", "").replace(">;", "")).build()[0]


def _draw_barcode(draw: ImageDraw.ImageDraw, s: _State, f: _Field, data: str) -> None:
    bar_h, with_text = f.barcode or (100, False)
    x0, y0 = s.home[0] + f.x, s.home[1] + f.y
    for i, bit in enumerate(_modules(data)):
        if bit == "1":
            x = x0 + i * s.module
            draw.rectangle([x, y0, x + s.module - 1, y0 + bar_h - 1], fill=0)
    if with_text:
        font = _font(f.font_h)
        width = len(_modules(data)) * s.module
        draw.text((x0 + width / 2, y0 + bar_h + 4), data, fill=0, font=font, anchor="ma")


def _draw_text(draw: ImageDraw.ImageDraw, s: _State, f: _Field, data: str) -> None:
    if f.hex_escapes:
        data = _HEX.sub(lambda m: chr(int(m.group(1), 16)), data)
    font = _font(f.font_h)
    x, y = s.home[0] + f.x, s.home[1] + f.y
    if f.block_w:
        draw.text((x + f.block_w / 2, y), data, fill=0, font=font, anchor="ma")
    else:
        draw.text((x, y), data, fill=0, font=font)


def render_png(zpl: str) -> bytes:
    """The first label format (^XA ... ^XZ) of `zpl` as a PNG, one pixel per printer dot."""
    s = _State()
    for m in _COMMAND.finditer(zpl):
        if m.group(1) == "PW":
            s.width = min(MAX_SIDE, max(1, _ints(m.group(2))[0]))
        elif m.group(1) == "LL":
            s.height = min(MAX_SIDE, max(1, _ints(m.group(2))[0]))
    image = Image.new("L", (s.width, s.height), 255)
    draw = ImageDraw.Draw(image)
    for m in _COMMAND.finditer(zpl):
        cmd, args = m.group(1), m.group(2)
        f = s.field
        if cmd == "XZ":
            break
        if cmd == "LH":
            s.home = tuple(_ints(args)[:2] + [0, 0])[:2]  # type: ignore[assignment]
        elif cmd == "FO":
            f.x, f.y = (_ints(args) + [0, 0])[:2]
        elif cmd == "A0":
            f.font_h = (_ints(args[1:] if args[:1].isalpha() else args) + [30])[1] or 30
        elif cmd == "FB":
            f.block_w = _ints(args)[0] or None
        elif cmd == "FH":
            f.hex_escapes = True
        elif cmd == "BY":
            s.module = max(1, min(10, _ints(args)[0] or 2))
        elif cmd == "BC":
            parts = args.split(",")
            bar_h = _ints(parts[1])[0] if len(parts) > 1 else 100
            f.barcode = (bar_h or 100, len(parts) > 2 and parts[2].strip() == "Y")
        elif cmd == "GB":
            w, h, t = (_ints(args) + [1, 1, 1])[:3]
            f.box = (w, h, max(1, t))
        elif cmd == "FD":
            if f.barcode:
                _draw_barcode(draw, s, f, args.strip("\n"))
            else:
                _draw_text(draw, s, f, args.strip("\n"))
        elif cmd == "FS":
            if f.box:
                w, h, t = f.box
                x, y = s.home[0] + f.x, s.home[1] + f.y
                if t * 2 >= min(w, h):
                    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=0)
                else:
                    draw.rectangle([x, y, x + w - 1, y + h - 1], outline=0, width=t)
            s.field = _Field()
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # fast; a label is mostly white and stays small
    return out.getvalue()
