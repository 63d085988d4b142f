"""Label previews for tests and the demo: ZPL to PNG with zplkit, PNG to barcodes with zxing-cpp.

zplkit is OSL-3.0, so it is a dev/test tool only: imported inside the functions,
never at module import, and never by the server or device runtime.

zplkit draws font 0 from captured printer strikes that lack most accented
letters (it refuses "Zoë"), while printers print them. When that is the only
complaint, the preview redraws font-0 fields in bitmap font D, which zplkit
has for Latin-1, and shows any glyph still missing (Ł, CJK ...) as "?", so a
label with a real customer's name can still be looked at and scanned.
"""

from __future__ import annotations

import io
import re
from types import ModuleType
from typing import Any

_FONT0 = re.compile(r"\^A0([NRIB]?),(\d+),(\d+)")
_MISSING_GLYPH = re.compile(r"unsupported embedded font glyph '(.)'", re.DOTALL)
_MAX_SUBSTITUTIONS = 64


def _font_d(m: re.Match[str]) -> str:
    # Font D cells are 18x10 dots plus a gap; 3/8 of the height as width lands near the
    # average advance of font 0, so the preview keeps roughly the printed line lengths.
    height = int(m.group(2))
    return f"^AD{m.group(1) or 'N'},{height},{max(1, height * 3 // 8)}"


def _render_substituted(
    zplkit: ModuleType, render_error: type[Exception], text: str, options: Any
) -> Any:
    """Render, turning each glyph zplkit still lacks into "?" (bounded, one per retry)."""
    for _ in range(_MAX_SUBSTITUTIONS):
        try:
            return zplkit.render(text, options)
        except render_error as e:
            missing = _MISSING_GLYPH.search(str(e))
            if not missing:
                raise
            text = text.replace(missing.group(1), "?")
    return zplkit.render(text, options)


def render_png(zpl: bytes | str, dpi: int = 203) -> bytes:
    """The first label in ``zpl`` as a PNG at ``dpi``; raises RuntimeError without zplkit."""
    try:
        import zplkit
        from zplkit.rendering import RenderError
    except ImportError as e:
        raise RuntimeError("zplkit not installed") from e
    options = zplkit.Options(dpi=dpi)
    try:
        doc = zplkit.render(zpl, options)
    except RenderError as e:
        if not _MISSING_GLYPH.search(str(e)):
            raise
        text = zpl.decode("utf-8") if isinstance(zpl, bytes) else zpl
        doc = _render_substituted(zplkit, RenderError, _FONT0.sub(_font_d, text), options)
    if not doc.labels:
        raise ValueError("no label (^XA ... ^XZ) in the ZPL")
    return doc.labels[0].png()


def decode_png(png: bytes) -> list[tuple[str, str]]:
    """Every barcode zxing-cpp finds in ``png`` as (format name, text), e.g. ("Code 128", "(00)...")."""
    try:
        import zxingcpp
        from PIL import Image
    except ImportError as e:
        raise RuntimeError("zxing-cpp and pillow are needed to decode labels") from e
    image = Image.open(io.BytesIO(png))
    image.load()
    return [(str(r.format), r.text) for r in zxingcpp.read_barcodes(image)]
