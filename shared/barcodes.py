"""Barcode numbers and scans: GS1 check digits, SSCCs, GTINs and the parsing of scanner data.

A scan arrives as the text a scanner sent, sometimes led by an AIM symbology
identifier (``]C1`` GS1-128, ``]E0`` EAN-13/UPC-A, ``]d2`` GS1 DataMatrix,
``]Q3`` GS1 QR, ``]C0`` plain Code 128 ...). ``parse_scan`` turns it into a
``ScanData`` with biip doing the GS1 work.

What ``ScanData.text`` holds (the value a lookup of a non-GS1 code uses):

- Non-GS1 data (bins, totes, pick lists, carrier tracking numbers): the data
  exactly as sent, minus the AIM identifier and a trailing CR/LF.
- EAN/UPC (and bare 8/12/13/14-digit GTINs): the digits as scanned; ``gtin``
  holds the GTIN-14 form, which is what product lookups should compare.
- A GS1 element string holding a single SSCC (00) or GTIN (01): that value,
  18 or 14 digits, the same text a person types from the label.
- Any other GS1 element string: the element string without the AIM
  identifier, with ASCII 29 (GS) between fields; text in parentheses
  (``(01)...(10)...``) is converted to that same form, whether it came bare,
  after a GS1 identifier (``]C1``, ``]d2``, ``]Q3``) or, when it parses whole
  with valid check digits, after a plain one (``]C0``, ``]d1``, ``]Q1``: a
  label whose bars hold the parenthesised text).

``ScanData.key`` picks what to look up by: the SSCC, else the GTIN-14, else text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date

import biip
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology

GS = "\x1d"
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_HRI = re.compile(r"\(\d{2,4}\)")
# Without an AIM identifier, only element strings opening with these AIs are taken as GS1:
# a bin or tote code such as "10A-03" must not turn into a batch number.
_BARE_GS1_OPENERS = ("00", "01", "02")
_GTIN_LENGTHS = (8, 12, 13, 14)


@dataclass(frozen=True)
class ScanData:
    """One scan, parsed. ``error`` says why GS1-looking data was not accepted."""

    raw: str
    text: str
    symbology: str | None = None
    gtin: str | None = None
    sscc: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    quantity: int | None = None
    is_gs1: bool = False
    error: str | None = None

    @property
    def key(self) -> str:
        """The value to look up by: the SSCC, else the GTIN-14, else the text."""
        return self.sscc or self.gtin or self.text


def _is_digits(s: object) -> bool:
    # str.isdigit() alone accepts "²" and other non-ASCII digits.
    return isinstance(s, str) and s.isascii() and s.isdigit()


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (the number without its check digit)."""
    if not _is_digits(digits):
        raise ValueError(f"expected ASCII digits, got {digits!r}")
    # Weights alternate 3, 1, 3, ... starting from the rightmost digit.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _check_digit_ok(s: object, lengths: tuple[int, ...]) -> bool:
    if not isinstance(s, str) or not _is_digits(s) or len(s) not in lengths:
        return False
    return gs1_check_digit(s[:-1]) == int(s[-1])


def make_sscc(extension: int, company_prefix: str, serial: int) -> str:
    """An 18-digit SSCC: extension digit, GS1 company prefix, serial reference, check digit."""
    if not isinstance(extension, int) or not 0 <= extension <= 9:
        raise ValueError(f"extension digit must be 0-9, got {extension!r}")
    if not _is_digits(company_prefix) or not 4 <= len(company_prefix) <= 12:
        raise ValueError(f"GS1 company prefix must be 4-12 digits, got {company_prefix!r}")
    room = 16 - len(company_prefix)
    if not isinstance(serial, int) or not 0 <= serial < 10**room:
        raise ValueError(
            f"serial {serial!r} does not fit the {room} digits left by a "
            f"{len(company_prefix)}-digit company prefix"
        )
    body = f"{extension}{company_prefix}{serial:0{room}d}"
    return body + str(gs1_check_digit(body))


def is_valid_sscc(s: object) -> bool:
    """Whether ``s`` is 18 digits with a correct GS1 check digit."""
    return _check_digit_ok(s, (18,))


def is_valid_gtin(s: object) -> bool:
    """Whether ``s`` is a GTIN-8, -12, -13 or -14 with a correct check digit."""
    return _check_digit_ok(s, _GTIN_LENGTHS)


def _split_aim(data: str) -> tuple[str | None, str]:
    m = _AIM.match(data)
    return (m.group(0), data[3:]) if m else (None, data)


def _gs1_symbology(aim: str | None) -> GS1Symbology | None:
    if aim is None:
        return None
    try:
        return GS1Symbology(aim[1:])
    except ValueError:
        return None


def _from_elements(
    raw: str,
    symbology: str | None,
    elements: list[GS1ElementString],
    fallback_text: str,
    error: str | None = None,
) -> ScanData:
    """Fill a ScanData from parsed GS1 element strings (first occurrence of an AI wins)."""
    by_ai: dict[str, GS1ElementString] = {}
    errors = [error] if error else []
    if not elements:
        errors.append("no GS1 element strings in the data")
    for es in elements:
        by_ai.setdefault(es.ai.ai, es)
        errors += [e for e in (es.gtin_error, es.sscc_error, es.gln_error) if e]

    def value(*ais: str) -> str | None:
        return next((by_ai[ai].value for ai in ais if ai in by_ai), None)

    sscc_es = by_ai.get("00")
    # AI 02 is the GTIN of the goods inside a logistic unit: the product a pallet label names.
    gtin_es = by_ai.get("01") or by_ai.get("02")
    expiry_es = by_ai.get("17")
    qty = value("30", "37")
    if len(elements) == 1 and elements[0].ai.ai in ("00", "01"):
        text = elements[0].value
    else:
        text = fallback_text
    return ScanData(
        raw=raw,
        text=text,
        symbology=symbology,
        gtin=gtin_es.gtin.as_gtin_14() if gtin_es and gtin_es.gtin else None,
        sscc=sscc_es.sscc.value if sscc_es and sscc_es.sscc else None,
        lot=value("10"),
        expiry=expiry_es.date if expiry_es else None,
        serial=value("21"),
        quantity=int(qty) if qty is not None and _is_digits(qty) else None,
        is_gs1=True,
        error=errors[0] if errors else None,
    )


def _element_string(raw: str, symbology: str | None, data: str) -> ScanData:
    # Some scanners send FNC1 in first position as a leading GS.
    data = data.lstrip(GS)
    try:
        msg = GS1Message.parse(data)
    except biip.ParseError as e:
        return ScanData(raw=raw, text=data, symbology=symbology, is_gs1=True, error=str(e))
    return _from_elements(raw, symbology, msg.element_strings, data)


def _hri(raw: str, data: str, symbology: str | None = None) -> ScanData:
    try:
        msg = GS1Message.parse_hri(data)
    except biip.ParseError as e:
        return ScanData(raw=raw, text=data, symbology=symbology, is_gs1=True, error=str(e))
    return _from_elements(raw, symbology, msg.element_strings, msg.value)


def _digital_link(raw: str, symbology: str | None, data: str) -> ScanData | None:
    try:
        uri = GS1DigitalLinkURI.parse(data)
    except biip.ParseError:
        return None  # an ordinary URL, not a GS1 Digital Link
    return _from_elements(raw, symbology, uri.element_strings, data)


def _gtin(raw: str, symbology: str | None, data: str, is_gs1: bool) -> ScanData:
    result = biip.parse((symbology or "") + data)
    if result.gtin is None:
        return ScanData(
            raw=raw, text=data, symbology=symbology, is_gs1=is_gs1, error=result.gtin_error
        )
    return ScanData(
        raw=raw, text=data, symbology=symbology, gtin=result.gtin.as_gtin_14(), is_gs1=True
    )


def _bare_sscc(raw: str, data: str) -> ScanData:
    if is_valid_sscc(data):
        return ScanData(raw=raw, text=data, sscc=data, is_gs1=True)
    body = data[:-1]
    reason = (
        f"Invalid SSCC check digit for {data!r}: expected {gs1_check_digit(body)}, got {data[-1]}."
    )
    return ScanData(raw=raw, text=data, error=reason)


@functools.lru_cache(maxsize=8192)
def parse_scan(raw: str, gs_substitute: str | None = None) -> ScanData:
    """Parse what a scanner sent; ``gs_substitute`` is what a keyboard-wedge scanner types for GS.

    Cached: a floor scans the same few thousand codes all day, and ScanData is frozen.
    """
    data = raw.rstrip("\r\n")
    symbology, payload = _split_aim(data)
    gs1_payload = payload.replace(gs_substitute, GS) if gs_substitute else payload
    kind = _gs1_symbology(symbology)
    try:
        if kind in GS1Symbology.with_gs1_messages():
            if _HRI.match(payload):  # a scanner set to send the text under the bars
                return _hri(raw, payload, symbology)
            return _element_string(raw, symbology, gs1_payload)
        if kind in GS1Symbology.with_gtin():
            return _gtin(raw, symbology, payload, is_gs1=True)
        if symbology is not None and _HRI.match(payload):
            # The parenthesised text in the bars of a plain Code 128, QR or DataMatrix (a
            # label printed with its human-readable form as data): GS1 if it parses whole and
            # names a product or unit, so a bin code such as "(10)A-3" stays a plain code.
            hri = _hri(raw, payload, symbology)
            if hri.error is None and (hri.gtin or hri.sscc):
                return hri
        if payload.startswith(("https://", "http://")):
            dl = _digital_link(raw, symbology, payload)
            if dl is not None:
                return dl
        if symbology is None:
            bare = _bare(raw, payload, gs1_payload)
            if bare is not None:
                return bare
    except Exception as e:  # a library bug must not crash the scan handler; keep the reason
        return ScanData(raw=raw, text=payload, symbology=symbology, error=f"unparsable: {e}")
    return ScanData(raw=raw, text=payload, symbology=symbology)


def _bare(raw: str, payload: str, gs1_payload: str) -> ScanData | None:
    """GS1 data sent without an AIM identifier, or None for a plain code."""
    if _HRI.match(payload):
        return _hri(raw, payload)
    if GS in gs1_payload or (
        len(gs1_payload) >= 16
        and gs1_payload[:2] in _BARE_GS1_OPENERS
        and _is_digits(gs1_payload[:16])
    ):
        scan = _element_string(raw, None, gs1_payload)
        # Digits that only look like AIs but do not parse stay a plain code.
        if scan.gtin or scan.sscc or (scan.error and "check digit" in scan.error):
            return scan
        if GS in gs1_payload and scan.error is None:
            return scan
    if _is_digits(payload):
        if len(payload) in _GTIN_LENGTHS:
            return _gtin(raw, None, payload, is_gs1=False)
        if len(payload) == 18:
            return _bare_sscc(raw, payload)
    return None
