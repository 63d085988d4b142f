"""What the floor's domain works on: pick lists and their steps, as plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOTE_PATTERN = re.compile(r"^TOTE-\d{1,8}$")
PICK_LIST_PREFIX = "PL-"


@dataclass(frozen=True)
class Step:
    """One pick step: take qty of a SKU from a location for an order."""

    step_id: int
    seq: int
    order_id: str
    location: str
    location_barcode: str
    sku: str
    product_name: str
    item_barcodes: tuple[str, ...]
    qty: int
    picked: int = 0
    at_location: bool = False
    verified: int = 0

    @property
    def open(self) -> bool:
        return self.picked < self.qty


@dataclass(frozen=True)
class PickList:
    list_id: int
    status: str
    tote: str | None
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        return pick_list_ref(self.list_id)

    @property
    def order_ids(self) -> list[str]:
        return sorted({s.order_id for s in self.steps})

    def current(self) -> Step | None:
        """The first step not yet fully picked."""
        return next((s for s in self.steps if s.open), None)


def pick_list_ref(list_id: int) -> str:
    """The barcode printed on a pick list."""
    return f"{PICK_LIST_PREFIX}{list_id:06d}"


def parse_pick_list_ref(text: str) -> int | None:
    """The id in a pick-list barcode, or None."""
    if text.startswith(PICK_LIST_PREFIX) and text[len(PICK_LIST_PREFIX) :].isdigit():
        return int(text[len(PICK_LIST_PREFIX) :])
    return None


def is_tote(text: str) -> bool:
    return bool(TOTE_PATTERN.match(text))


def gtin_key(code: str) -> str:
    """Numeric retail codes (EAN-8, UPC-A, EAN-13, GTIN-14) compare as GTIN-14."""
    return code.zfill(14) if code.isdigit() and len(code) in (8, 12, 13, 14) else code


def matches_item(keys: set[str], item_barcodes: tuple[str, ...]) -> bool:
    """Whether any key of a scan matches any barcode of an item."""
    return any(gtin_key(b) in keys for b in item_barcodes)
