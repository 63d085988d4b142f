"""Open a scanner or printer from the URL written in the device config.

Scanners: ``fake://[name]``, ``stdin://``,
``serial:///dev/ttyACM0?baud=9600&eol=any``,
``evdev:///dev/input/by-id/...-event-kbd?gs=F8``,
``evdev://?id=usb-...-event-kbd`` (a /dev/input/by-id name) or
``evdev://?vendor=0x05e0&product=0x1200``.
Printers: ``tcp://host:9100``, ``file:///dev/usb/lp0``,
``serial:///dev/ttyUSB0?baud=9600``, ``cups://QUEUE[?server=host:631]``,
``fake://[name]?fault=paper_out``.
Scales: ``serial:///dev/ttyUSB0?baud=9600&settle=3``, ``fake://[name]?offset_g=0``.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs, unquote, urlsplit

from .base import Printer, Scanner
from .cups_printer import CupsPrinter
from .fake import FakePrinter, FakeScanner
from .file_printer import FilePrinter
from .framing import EOL_MODES
from .scale import FakeScale, Scale, SerialScale
from .serial_printer import SerialPrinter
from .serial_scanner import SerialScanner
from .stdin import StdinScanner
from .tcp_printer import TcpPrinter

SCANNER_SCHEMES = ("fake", "stdin", "serial", "evdev")
PRINTER_SCHEMES = ("tcp", "file", "serial", "cups", "fake")
SCALE_SCHEMES = ("serial", "fake")


def _query(url: str, raw: str, allowed: set[str]) -> dict[str, str]:
    params = parse_qs(raw, keep_blank_values=True)
    unknown = sorted(set(params) - allowed)
    if unknown:
        hint = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"{url}: unknown option(s) {', '.join(unknown)} (allowed: {hint})")
    for key, values in params.items():
        if len(values) > 1:
            raise ValueError(f"{url}: option {key} given more than once")
    return {key: values[0] for key, values in params.items()}


def _number(url: str, key: str, text: str, kind: type = int) -> int | float:
    try:
        return int(text, 0) if kind is int else float(text)
    except ValueError:
        raise ValueError(f"{url}: {key}={text!r} is not a {kind.__name__}") from None


def _positive(url: str, key: str, text: str, kind: type = int) -> int | float:
    """A baud rate or a number of seconds: above 0 and finite, else a `ValueError` at start
    (a timeout of 0 or -1 would only fail at the first label, a baud rate of 0 never open)."""
    value = _number(url, key, text, kind)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{url}: {key}={text!r} must be above 0")
    return value


def _flag(url: str, key: str, text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{url}: {key}={text!r} must be 1 or 0")


def _device_path(url: str, netloc: str, path: str) -> str:
    if netloc:
        raise ValueError(
            f"{url}: write the device path after three slashes, e.g. serial:///dev/ttyACM0"
        )
    if not path:
        raise ValueError(f"{url}: a device path is required")
    return unquote(path)


def _evdev(url: str, path: str, opts: dict[str, str]) -> Scanner:
    # Imported here: evdev exists on Linux only, the other drivers work anywhere.
    from .evdev_scanner import EvdevScanner, KeyDecoder, by_id_path
    from .keymap import KEYMAPS, key_code

    keymap = opts.get("keymap", "us").lower()
    if keymap not in KEYMAPS:
        raise ValueError(f"{url}: unknown keymap {keymap!r} (known: {', '.join(KEYMAPS)})")
    gs = opts.get("gs")
    gs_key = gs_char = None
    if gs:
        # One character is typed text to replace; anything longer names a key.
        if len(gs) == 1:
            gs_char = gs
        else:
            try:
                gs_key = key_code(gs)
            except ValueError as exc:
                raise ValueError(f"{url}: gs={gs!r}: {exc}") from None
    try:
        suffix = key_code(opts.get("suffix", "ENTER"))
    except ValueError as exc:
        raise ValueError(f"{url}: suffix: {exc}") from None
    suffix_keys = {suffix, key_code("KPENTER")} if suffix == key_code("ENTER") else {suffix}
    decoder = KeyDecoder(KEYMAPS[keymap], suffix_keys, gs_key=gs_key, gs_char=gs_char)
    vendor = int(_number(url, "vendor", opts["vendor"])) if "vendor" in opts else None
    product = int(_number(url, "product", opts["product"])) if "product" in opts else None
    if "id" in opts:
        if path or vendor is not None or product is not None:
            raise ValueError(f"{url}: give one of a device path, ?id= or ?vendor=&product=")
        try:
            path = by_id_path(opts["id"])
        except ValueError as exc:
            raise ValueError(f"{url}: id: {exc}") from None
    if not path and vendor is None and product is None:
        raise ValueError(
            f"{url}: give a device path, ?id=<name in /dev/input/by-id> "
            "or ?vendor=0x....&product=0x...."
        )
    grab = _flag(url, "grab", opts.get("grab", "1"))
    return EvdevScanner(path or None, vendor, product, decoder, grab=grab)


def open_scanner(url: str) -> Scanner:
    """Open the scanner a config URL names; raise ``ValueError`` for a bad URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "fake":
        opts = _query(url, parts.query, {"eol"})
        if parts.netloc:
            return FakeScanner.named(parts.netloc)
        return FakeScanner(opts.get("eol", "any"))
    if scheme == "stdin":
        _query(url, parts.query, set())
        return StdinScanner()
    if scheme == "serial":
        opts = _query(url, parts.query, {"baud", "eol"})
        eol = opts.get("eol", "any").lower()
        if eol not in EOL_MODES:
            raise ValueError(f"{url}: eol must be one of {', '.join(EOL_MODES)}")
        baud = int(_positive(url, "baud", opts.get("baud", "9600")))
        return SerialScanner(_device_path(url, parts.netloc, parts.path), baud, eol)
    if scheme == "evdev":
        opts = _query(
            url, parts.query, {"vendor", "product", "id", "gs", "suffix", "keymap", "grab"}
        )
        if parts.netloc:
            raise ValueError(f"{url}: write the device path after three slashes")
        return _evdev(url, unquote(parts.path), opts)
    raise ValueError(f"{url!r}: unknown scanner scheme (use one of {', '.join(SCANNER_SCHEMES)})")


def open_printer(url: str) -> Printer:
    """Open the printer a config URL names; raise ``ValueError`` for a bad URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        opts = _query(url, parts.query, {"timeout", "connect_timeout", "check"})
        if not parts.hostname:
            raise ValueError(f"{url}: a host is required, e.g. tcp://10.0.0.5:9100")
        try:
            port = parts.port or 9100
        except ValueError:
            raise ValueError(f"{url}: bad port") from None
        return TcpPrinter(
            parts.hostname,
            port,
            connect_timeout=_positive(
                url, "connect_timeout", opts.get("connect_timeout", "3"), float
            ),
            io_timeout=_positive(url, "timeout", opts.get("timeout", "5"), float),
            check_status=_flag(url, "check", opts.get("check", "1")),
        )
    if scheme == "file":
        _query(url, parts.query, set())
        return FilePrinter(_device_path(url, parts.netloc, parts.path))
    if scheme == "serial":
        opts = _query(url, parts.query, {"baud", "check"})
        return SerialPrinter(
            _device_path(url, parts.netloc, parts.path),
            int(_positive(url, "baud", opts.get("baud", "9600"))),
            check_status=_flag(url, "check", opts.get("check", "0")),
        )
    if scheme == "cups":
        opts = _query(url, parts.query, {"server", "timeout", "check"})
        queue = unquote(parts.netloc or parts.path.strip("/"))
        if not queue or (parts.netloc and parts.path not in ("", "/")):
            raise ValueError(f"{url}: write the CUPS queue name as cups://QUEUE")
        return CupsPrinter(
            queue,
            server=opts.get("server") or None,
            timeout=_positive(url, "timeout", opts.get("timeout", "10"), float),
            check_status=_flag(url, "check", opts.get("check", "1")),
        )
    if scheme == "fake":
        opts = _query(url, parts.query, {"fault"})
        printer = FakePrinter.named(parts.netloc) if parts.netloc else FakePrinter()
        if "fault" in opts:
            printer.fault = opts["fault"] or None
        return printer
    raise ValueError(f"{url!r}: unknown printer scheme (use one of {', '.join(PRINTER_SCHEMES)})")


def open_scale(url: str) -> Scale:
    """Open the scale a config URL names; raise ``ValueError`` for a bad URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "serial":
        opts = _query(url, parts.query, {"baud", "settle"})
        settle = int(_number(url, "settle", opts.get("settle", "3")))
        if not 1 <= settle <= 50:
            raise ValueError(f"{url}: settle must be 1 to 50 frames")
        return SerialScale(
            _device_path(url, parts.netloc, parts.path),
            int(_positive(url, "baud", opts.get("baud", "9600"))),
            settle,
        )
    if scheme == "fake":
        opts = _query(url, parts.query, {"offset_g"})
        scale = FakeScale.named(parts.netloc) if parts.netloc else FakeScale()
        if "offset_g" in opts:
            scale.offset_g = int(_number(url, "offset_g", opts["offset_g"]))
        return scale
    raise ValueError(f"{url!r}: unknown scale scheme (use one of {', '.join(SCALE_SCHEMES)})")
