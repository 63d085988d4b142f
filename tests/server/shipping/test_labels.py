"""Shipping labels: tracking numbers, the ZPL, and that a rendered label scans back."""

from __future__ import annotations

import dataclasses
import io
import re
import sys

import pytest

from device.sim.label_preview import decode_png, render_png
from server.core.addresses import Address
from server.shipping.domain.labels import (
    ShippingLabel,
    is_valid_tracking,
    make_tracking,
    render_zpl,
    text_width,
)
from shared.barcodes import make_sscc, parse_scan

zplkit = pytest.importorskip("zplkit", reason="zplkit renders labels in tests (dev extra)")
zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp decodes labels in tests (dev extra)")
Image = pytest.importorskip("PIL.Image", reason="pillow loads rendered labels")
from zplkit.parse import parse as zpl_frames  # noqa: E402

FROM = Address(
    name="Scanfloor DC Rotterdam",
    line1="Waalhaven Z.z. 48",
    city="Rotterdam",
    postcode="3089 JH",
    country="NL",
    phone="+31 10 123 4567",
)
TO = Address(
    name="Ada Lovelace",
    line1="1 Long Road",
    line2="Flat 2",
    city="Springfield",
    postcode="12345",
    country="US",
    phone="+1 555 0100",
)


def label(**changes: object) -> ShippingLabel:
    base = ShippingLabel(
        ship_from=FROM,
        ship_to=TO,
        order_id="ORD-000123",
        tracking=make_tracking("SF", 42),
        sscc=make_sscc(0, "0614141", 12345),
        carrier="SCANFLOOR",
        service="GROUND",
        weight_g=1250,
        package_no=1,
        package_count=2,
        reference="PO 4711",
    )
    return dataclasses.replace(base, **changes)


def scan_label(zpl: str, dpi: int) -> list:
    png = render_png(zpl, dpi)
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def field_data(zpl: str) -> list[str]:
    """Every ^FD payload, hex escapes of ^FH undone."""
    out = []
    for e in zpl_frames(zpl).elements:
        data = bytes(e).decode()
        if data.startswith("^FD"):
            out.append(re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data[3:]))
    return out


# --- tracking numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "number", "expected"),
    [
        ("SF", 42, "SF0000000420"),
        ("SF", 123456789, "SF1234567895"),
        ("SF", 0, "SF0000000000"),
        ("ABCD", 999_999_999, "ABCD9999999999"),
    ],
)
def test_make_tracking(prefix: str, number: int, expected: str) -> None:
    assert make_tracking(prefix, number) == expected
    assert is_valid_tracking(expected)


@pytest.mark.parametrize(
    ("prefix", "number"),
    [("sf", 1), ("", 1), ("ABCDE", 1), ("S1", 1), ("SF", -1), ("SF", 10**9), ("Ü", 1)],
)
def test_make_tracking_rejects(prefix: str, number: int) -> None:
    with pytest.raises(ValueError):
        make_tracking(prefix, number)


@pytest.mark.parametrize("value", ["SF0000000421", "SF000000042", "sf0000000420", "", None])
def test_is_valid_tracking_rejects(value: object) -> None:
    assert not is_valid_tracking(value)  # type: ignore[arg-type]


# --- the label as data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"sscc": "006141410000123453"},  # wrong check digit
        {"sscc": "06141410000123452"},  # 17 digits
        {"tracking": "SF^XZ"},
        {"tracking": "sf0000000420"},
        {"tracking": "SF>:0001"},  # ">" switches Code 128 subsets in ^BC data
        {"tracking": ""},
        {"weight_g": -1},
        {"package_no": 3, "package_count": 2},
        {"package_no": 0},
    ],
)
def test_impossible_labels_are_refused(changes: dict) -> None:
    with pytest.raises(ValueError):
        label(**changes)


def test_address_is_keyword_only_and_reexported() -> None:
    from server.shipping.domain.labels import Address as Reexported

    assert Reexported is Address
    with pytest.raises(TypeError):
        Address("n", "l1", "", "city", "pc", "NL")  # type: ignore[misc]


# --- the ZPL -------------------------------------------------------------------------------


@pytest.mark.parametrize(("dpi", "width", "height"), [(203, 812, 1218), (300, 1200, 1800)])
def test_zpl_frame(dpi: int, width: int, height: int) -> None:
    zpl = render_zpl(label(), dpi)
    assert zpl.startswith("^XA\n^CI28\n") and zpl.endswith("^XZ\n")
    assert f"^PW{width}" in zpl and f"^LL{height}" in zpl
    data = field_data(zpl)
    for expected in [
        "Ada Lovelace",
        "1 Long Road",
        "Flat 2",
        "12345 Springfield",
        "ORDER ORD-000123",
        "PKG 1 OF 2",
        "1.25 KG",
        "SCANFLOOR",
        "GROUND",
        "REF PO 4711",
        "SF0000000420",
        ">;>800006141410000123452",
        "(00) 006141410000123452",
    ]:
        assert expected in data


@pytest.mark.parametrize("dpi", [152, 600, 0])
def test_unsupported_dpi(dpi: int) -> None:
    with pytest.raises(ValueError):
        render_zpl(label(), dpi)


@pytest.mark.parametrize(
    "evil",
    [
        "^XZ^XA^FO0,0^GB812,1218,812^FS",
        "~JR",  # a control command runs the moment a printer reads it
        "Road 1\n^XZ\r\n^XA",
        "_5E_7E already escaped?",
        "~DGR:EVIL.GRF,4,1,FF",
    ],
)
@pytest.mark.parametrize("where", ["line1", "name", "city"])
def test_address_cannot_inject_zpl(evil: str, where: str) -> None:
    ship_to = dataclasses.replace(TO, **{where: evil})
    zpl = render_zpl(label(ship_to=ship_to, reference=evil, order_id=evil))
    assert "~" not in zpl
    frames = zpl_frames(zpl).elements
    assert all(e.kind == "format_command" for e in frames)
    commands = [bytes(e)[:3].decode() for e in frames]
    assert commands.count("^XA") == 1 and commands.count("^XZ") == 1
    assert set(commands) <= {
        "^XA",
        "^CI",
        "^PW",
        "^LL",
        "^LH",
        "^FO",
        "^A0",
        "^FH",
        "^FD",
        "^FS",
    } | {
        "^GB",
        "^BY",
        "^BC",
        "^FB",
        "^XZ",
    }
    # What the customer typed is still printed, as text (line breaks become spaces).
    printed = " ".join(field_data(zpl))
    assert " ".join(evil.split()) in printed
    decoded = {r.text for r in scan_label(zpl, 203)}
    assert {"SF0000000420", "(00)006141410000123452"} <= decoded


def test_unicode_names_are_kept_as_utf8() -> None:
    # "Zoë" once precomposed and once with a combining diaeresis: both print as NFC.
    ship_to = dataclasses.replace(TO, name="Zoe\u0308 Müller", city="Łódź", line2="Straße 5")
    zpl = render_zpl(label(ship_to=ship_to, ship_from=dataclasses.replace(FROM, name="Zoë GmbH")))
    data = field_data(zpl)
    assert "Zoë Müller" in data and "Zoë GmbH" in data and "Straße 5" in data
    assert "12345 Łódź" in data
    assert "Zoë Müller".encode() in zpl.encode()
    decoded = {r.text for r in scan_label(zpl, 203)}  # preview falls back to a Latin-1 font
    assert {"SF0000000420", "(00)006141410000123452"} <= decoded


@pytest.mark.parametrize(
    "changes",
    [
        {"ship_to": dataclasses.replace(TO, name="W" * 200, line1="Long Road " * 30)},
        {"ship_from": dataclasses.replace(FROM, name="M" * 120, city="Llanfair" * 10)},
        {"order_id": "ORDER-" + "9" * 60, "reference": "R" * 300},
        {"carrier": "A VERY LONG CARRIER NAME INDEED", "service": "NEXT DAY BEFORE NOON SATURDAY"},
    ],
)
def test_long_text_stays_on_the_label(changes: dict) -> None:
    zpl = render_zpl(label(**changes))
    x = size = None
    for e in zpl_frames(zpl).elements:
        cmd = bytes(e).decode()
        if cmd.startswith("^FO"):
            x = int(cmd[3:].split(",")[0])
        elif cmd.startswith("^A0"):
            size = int(cmd.split(",")[1])
        elif cmd.startswith("^FD") and not cmd.startswith("^FD>;"):
            text = re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), cmd[3:])
            assert x is not None and size is not None
            assert x + text_width(text, size) <= 812, text
    decoded = {r.text for r in scan_label(zpl, 203)}
    assert {"SF0000000420", "(00)006141410000123452"} <= decoded


# --- it scans ------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(
    ("tracking", "sscc"),
    [
        (make_tracking("SF", 42), make_sscc(0, "0614141", 12345)),
        (make_tracking("SF", 987654321), make_sscc(9, "061414199999", 9999)),
        (make_tracking("ABCD", 7), make_sscc(3, "4012", 999_999_999_999)),
        ("1Z999AA10123456784", make_sscc(1, "0614141", 123456789)),
        ("1Z999AA1012345678412345678", make_sscc(1, "0614141", 1)),  # long: narrower modules
    ],
)
def test_rendered_label_scans_back(dpi: int, tracking: str, sscc: str) -> None:
    zpl = render_zpl(label(tracking=tracking, sscc=sscc), dpi)
    results = scan_label(zpl, dpi)
    by_text = {r.text: r for r in results}
    assert len(results) == 2

    track = by_text[tracking]
    assert track.format == zxingcpp.BarcodeFormat.Code128
    assert track.symbology_identifier == "]C0"

    gs1 = by_text[f"(00){sscc}"]
    assert gs1.format == zxingcpp.BarcodeFormat.Code128
    assert gs1.symbology_identifier == "]C1"
    assert gs1.content_type == zxingcpp.ContentType.GS1
    assert gs1.bytes == f"00{sscc}".encode()

    # What a scanner with AIM identifiers sends is what the packer's scan parses.
    back = parse_scan(gs1.symbology_identifier + gs1.bytes.decode())
    assert back.sscc == sscc and back.error is None
    assert parse_scan(track.symbology_identifier + track.text).text == tracking


def test_tracking_too_long_for_label() -> None:
    with pytest.raises(ValueError):
        render_zpl(label(tracking="1Z" + "9" * 38))


# --- the preview helper ----------------------------------------------------------------------


def test_decode_png_names_formats() -> None:
    found = decode_png(render_png(render_zpl(label())))
    assert sorted(found) == [("Code 128", "(00)006141410000123452"), ("Code 128", "SF0000000420")]


def test_decode_png_of_a_blank_label() -> None:
    assert decode_png(render_png("^XA^XZ")) == []


def test_render_png_without_zplkit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zplkit", None)  # makes "import zplkit" raise ImportError
    with pytest.raises(RuntimeError, match="zplkit not installed"):
        render_png("^XA^XZ")


def test_render_png_reports_bad_zpl() -> None:
    with pytest.raises(ValueError):
        render_png("^XA^FO10,10^BCN,100,Y,N,N^FD^XZ^XZ")
