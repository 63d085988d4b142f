"""GS1 numbers and scan parsing: check digits, SSCCs, GTINs, what scanners send."""

from __future__ import annotations

import random
from datetime import date

import pytest
from biip.checksums import gs1_standard_check_digit
from biip.sscc import Sscc

from shared.barcodes import (
    ScanData,
    gs1_check_digit,
    is_valid_gtin,
    is_valid_sscc,
    make_sscc,
    parse_scan,
)

GS = "\x1d"


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("590123412345", 7),  # EAN-13 5901234123457
        ("03600029145", 2),  # UPC-A 036000291452
        ("1234567", 0),  # EAN-8 12345670
        ("0950110153000", 3),  # GTIN-14 09501101530003 body
        ("37612345000000001", 6),  # SSCC 376123450000000016
        ("0", 0),
    ],
)
def test_check_digit_known_values(digits: str, check: int) -> None:
    assert gs1_check_digit(digits) == check


@pytest.mark.parametrize("seed", range(5))
def test_check_digit_agrees_with_biip(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        assert gs1_check_digit(digits) == gs1_standard_check_digit(digits)


@pytest.mark.parametrize("bad", ["", "12a4", "１２３", "12²", " 123", "-1"])
def test_check_digit_rejects_non_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        gs1_check_digit(bad)


@pytest.mark.parametrize(
    ("extension", "prefix", "serial", "expected"),
    [
        (1, "0614141", 123456789, "106141411234567897"),
        (3, "7612345", 1, "376123450000000016"),
        (0, "061414199999", 9999, None),  # 12-digit prefix leaves 4 serial digits
        (9, "4012", 999_999_999_999, None),  # 4-digit prefix leaves 12
    ],
)
def test_make_sscc(extension: int, prefix: str, serial: int, expected: str | None) -> None:
    sscc = make_sscc(extension, prefix, serial)
    assert len(sscc) == 18 and is_valid_sscc(sscc)
    assert sscc.startswith(f"{extension}{prefix}")
    assert Sscc.parse(sscc).value == sscc  # biip validates it independently
    if expected:
        assert sscc == expected


@pytest.mark.parametrize(
    ("extension", "prefix", "serial"),
    [
        (10, "0614141", 1),  # extension is one digit
        (-1, "0614141", 1),
        (0, "0614141061414", 1),  # 13-digit company prefix: too long
        (0, "123", 1),  # too short
        (0, "06141A1", 1),
        (0, "061414199999", 10_000),  # does not fit in 4 digits
        (0, "0614141", 1_000_000_000),  # does not fit in 9 digits
        (0, "0614141", -1),
    ],
)
def test_make_sscc_rejects(extension: int, prefix: str, serial: int) -> None:
    with pytest.raises(ValueError):
        make_sscc(extension, prefix, serial)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("376123450000000016", True),
        ("376123450000000017", False),  # wrong check digit
        ("37612345000000001", False),  # 17 digits
        ("3761234500000000160", False),
        ("37612345000000001A", False),
        (376123450000000016, False),  # not a string
        (None, False),
    ],
)
def test_is_valid_sscc(value: object, ok: bool) -> None:
    assert is_valid_sscc(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("12345670", True),
        ("036000291452", True),
        ("5901234123457", True),
        ("09501101530003", True),
        ("5901234123458", False),  # wrong check digit
        ("590123412345", False),  # 12 digits, bad check digit
        ("1234567", False),  # 7 digits
        ("590123412345 7", False),
        ("", False),
        (None, False),
    ],
)
def test_is_valid_gtin(value: object, ok: bool) -> None:
    assert is_valid_gtin(value) is ok


@pytest.mark.parametrize(
    "raw",
    [
        "A-03-02",
        "TOTE-0007",
        "PL-000012",
        "1Z999AA10123456784",
        "SF0000000420",
        "Zoë Müller",
        "10ABC",
        "",
    ],
)
def test_plain_codes_come_back_untouched(raw: str) -> None:
    scan = parse_scan(raw)
    assert scan == ScanData(raw=raw, text=raw)
    assert scan.key == raw and not scan.is_gs1 and scan.error is None


@pytest.mark.parametrize(
    ("raw", "symbology", "text"),
    [
        ("]C0TOTE-0007", "]C0", "TOTE-0007"),
        ("]A0A-03-02", "]A0", "A-03-02"),
        ("]Q1PL-000012", "]Q1", "PL-000012"),
        ("]C05901234123457", "]C0", "5901234123457"),  # plain Code 128, not an EAN
        ("TOTE-0007\r\n", None, "TOTE-0007"),
    ],
)
def test_aim_prefix_is_removed_from_plain_codes(raw: str, symbology: str | None, text: str) -> None:
    scan = parse_scan(raw)
    assert (scan.symbology, scan.text, scan.is_gs1, scan.gtin) == (symbology, text, False, None)


@pytest.mark.parametrize(
    ("raw", "text", "gtin"),
    [
        ("]E05901234123457", "5901234123457", "05901234123457"),
        ("]E00036000291452", "0036000291452", "00036000291452"),
        ("]E412345670", "12345670", "00000012345670"),
        ("]I109501101530003", "09501101530003", "09501101530003"),
        ("5901234123457", "5901234123457", "05901234123457"),
        ("036000291452", "036000291452", "00036000291452"),
    ],
)
def test_ean_upc_give_gtin14(raw: str, text: str, gtin: str) -> None:
    scan = parse_scan(raw)
    assert (scan.text, scan.gtin, scan.is_gs1, scan.error) == (text, gtin, True, None)
    assert scan.key == gtin


def test_gs1_128_element_string() -> None:
    scan = parse_scan("]C1010950110153000317251231" + GS + "10LOT1" + GS + "21SN-9" + GS + "3012")
    assert scan.symbology == "]C1" and scan.is_gs1
    assert scan.gtin == "09501101530003"
    assert scan.expiry == date(2025, 12, 31)
    assert (scan.lot, scan.serial, scan.quantity) == ("LOT1", "SN-9", 12)
    assert scan.text == "010950110153000317251231\x1d10LOT1\x1d21SN-9\x1d3012"


@pytest.mark.parametrize(
    "raw",
    [
        "(01)09501101530003(17)251231(10)LOT1",
        "]C101095011015300031725123110LOT1",
        "]d201095011015300031725123110LOT1",
        "]Q301095011015300031725123110LOT1",
        "https://id.gs1.org/01/09501101530003/10/LOT1?17=251231",
    ],
)
def test_same_gs1_data_from_any_carrier(raw: str) -> None:
    scan = parse_scan(raw)
    assert (scan.gtin, scan.lot, scan.expiry, scan.is_gs1) == (
        "09501101530003",
        "LOT1",
        date(2025, 12, 31),
        True,
    )


@pytest.mark.parametrize(
    "raw",
    [
        "]C100376123450000000016",
        "00376123450000000016",
        "(00)376123450000000016",
        "(00) 376123450000000016",
        "376123450000000016",
        GS + "00376123450000000016",
    ],
)
def test_sscc_scans(raw: str) -> None:
    scan = parse_scan(raw)
    assert scan.sscc == "376123450000000016" and scan.is_gs1 and scan.error is None
    assert scan.text == "376123450000000016" == scan.key


def test_pallet_label_with_contents() -> None:
    scan = parse_scan("]C100376123450000000016" + GS + "0209501101530003" + GS + "3712")
    assert (scan.sscc, scan.gtin, scan.quantity) == ("376123450000000016", "09501101530003", 12)
    assert scan.key == "376123450000000016"


@pytest.mark.parametrize("substitute", ["|", "<GS>", "@"])
def test_gs_substitute_from_keyboard_wedge(substitute: str) -> None:
    raw = "]C10109501101530003" + "10LOT1" + substitute + "21SER7"
    scan = parse_scan(raw, gs_substitute=substitute)
    assert (scan.gtin, scan.lot, scan.serial) == ("09501101530003", "LOT1", "SER7")


def test_gs_substitute_leaves_plain_codes_alone() -> None:
    assert parse_scan("A|03|02", gs_substitute="|").text == "A|03|02"


def test_unconfigured_substitute_is_an_error_not_a_wrong_lot() -> None:
    # "|" is outside the GS1 character set, so biip refuses the lot instead of swallowing AI 21.
    scan = parse_scan("]C1010950110153000310LOT1|21SER7")
    assert scan.is_gs1 and scan.lot is None and scan.serial is None
    assert scan.error and "|21SER7" in scan.error


@pytest.mark.parametrize(
    ("raw", "is_gs1", "fragment"),
    [
        ("]C10109501101530004", True, "check digit"),
        ("(01)09501101530004", True, "check digit"),
        ("]C100376123450000000017", True, "check digit"),
        ("]E05901234123458", True, "check digit"),
        ("5901234123458", False, "check digit"),
        ("376123450000000017", False, "check digit"),
        ("]C1010950110153000317251332", True, "17"),  # no 32nd of December
        ("]C1abc", True, "Application Identifier"),
        ("]C1", True, "no GS1"),
        ("(99)", True, "(99)"),
    ],
)
def test_invalid_gs1_keeps_a_reason(raw: str, is_gs1: bool, fragment: str) -> None:
    scan = parse_scan(raw)
    assert scan.gtin is None and scan.sscc is None
    assert scan.is_gs1 is is_gs1
    assert scan.error and fragment in scan.error


def test_scan_data_is_frozen() -> None:
    scan = parse_scan("TOTE-0007")
    with pytest.raises(AttributeError):
        scan.text = "x"  # type: ignore[misc]


# -- GS1 DataMatrix (]d2) and GS1-128 (]C1) element strings ------------------

LOT_EXPIRY = {"gtin": "09501101530003", "lot": "LOT1", "expiry": date(2025, 12, 31)}


def fields(scan: ScanData) -> dict[str, object]:
    """The GS1 fields a pick or pack step checks."""
    return {
        "gtin": scan.gtin,
        "lot": scan.lot,
        "expiry": scan.expiry,
        "serial": scan.serial,
        "quantity": scan.quantity,
    }


@pytest.mark.parametrize(
    ("raw", "substitute", "symbology"),
    [
        # (01)+(10)+(17): the lot is variable length, so a GS must end it.
        ("]d2010950110153000310LOT1" + GS + "17251231", None, "]d2"),
        ("]d2" + GS + "010950110153000310LOT1" + GS + "17251231", None, "]d2"),  # FNC1 as GS
        ("]d2010950110153000310LOT1<GS>17251231", "<GS>", "]d2"),  # wedge stand-in
        ("]C1010950110153000310LOT1" + GS + "17251231", None, "]C1"),
        ("]C1010950110153000310LOT1^17251231", "^", "]C1"),
        ("010950110153000310LOT1" + GS + "17251231", None, None),  # no AIM identifier
        ("(01)09501101530003(10)LOT1(17)251231", None, None),
        ("(01) 09501101530003 (10) LOT1 (17) 251231", None, None),
        ("]d2(01)09501101530003(10)LOT1(17)251231", None, "]d2"),  # HRI sent after the AIM id
        ("]C1(01)09501101530003(10)LOT1(17)251231\r\n", None, "]C1"),
        # The parenthesised text inside the bars of a plain Code 128, QR or DataMatrix.
        ("]C0(01)09501101530003(10)LOT1(17)251231", None, "]C0"),
        ("]Q1(01)09501101530003(10)LOT1(17)251231", None, "]Q1"),
        ("]d1(01) 09501101530003 (10) LOT1 (17) 251231", None, "]d1"),
    ],
)
def test_gtin_lot_expiry_in_any_form(raw: str, substitute: str | None, symbology: str | None):
    scan = parse_scan(raw, gs_substitute=substitute)
    assert fields(scan) == {**LOT_EXPIRY, "serial": None, "quantity": None}
    assert (scan.symbology, scan.is_gs1, scan.error) == (symbology, True, None)
    # Whatever the carrier, the text is the one canonical element string.
    assert scan.text == "010950110153000310LOT1" + GS + "17251231"
    assert scan.key == "09501101530003"


@pytest.mark.parametrize(
    "raw",
    [
        "]C0(10)A-3",  # a bin code in parentheses: no product, no unit
        "]C0(01)9501101530003(10)LOT1",  # a 13-digit "GTIN"
        "]C0(01)09501101530004(10)LOT1",  # a wrong check digit
        "]Q1(BIN-7)",
    ],
)
def test_parenthesised_text_after_a_plain_aim_id_stays_plain_unless_it_names_a_product(raw):
    scan = parse_scan(raw)
    assert (scan.text, scan.is_gs1, scan.lot, scan.error) == (raw[3:], False, None, None)


@pytest.mark.parametrize(
    "raw",
    [
        "]d201095011015300031727060021SN-0042" + GS + "10B7" + GS + "3024",
        "(01)09501101530003(17)270600(21)SN-0042(10)B7(30)24",
    ],
)
def test_datamatrix_serial_quantity_and_day_zero_expiry(raw: str) -> None:
    scan = parse_scan(raw)
    # Day 00 means the last day of the month.
    assert fields(scan) == {
        "gtin": "09501101530003",
        "lot": "B7",
        "expiry": date(2027, 6, 30),
        "serial": "SN-0042",
        "quantity": 24,
    }
    assert scan.error is None


def test_datamatrix_with_bad_gtin_check_digit_is_refused() -> None:
    scan = parse_scan("]d2010950110153000410LOT1" + GS + "17251231")
    assert scan.is_gs1 and scan.gtin is None and scan.error and "check digit" in scan.error


def test_datamatrix_without_separator_reads_the_expiry_into_the_lot() -> None:
    # What a wedge scanner that drops GS produces: the data is wrong, not an error,
    # which is why a stand-in must be configured (see test above).
    scan = parse_scan("]d2010950110153000310LOT117251231")
    assert scan.lot == "LOT117251231" and scan.expiry is None


def test_plain_datamatrix_is_not_gs1() -> None:
    scan = parse_scan("]d1TOTE-0007")
    assert (scan.symbology, scan.text, scan.is_gs1) == ("]d1", "TOTE-0007", False)
