"""Boxes and weight at the pack bench, without IO.

The packer needs a box before the label: the smallest configured box (by inner
volume) that takes the order's items is suggested. An item fits when its three
dimensions fit inside the box's in some orientation turned square to the box's
sides (so its sorted dimensions are each at most the box's sorted dimensions).
The items together fit when their volume is at most the box's inner volume
times a fill factor (0.8 by default: goods are not liquid, there is padding),
and their weight is at most the box's maximum load. A product with no
dimensions (all zero) is judged by weight only. When no box fits the packer
is told so: split the order, or take an oversize box and scan its barcode.

When the package is weighed, its weight is held against the expected weight
(items plus the box's tare) within a tolerance of the larger of a fixed
number of grams and a share of the expected weight.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FILL = 0.8


@dataclass(frozen=True)
class Box:
    """A box type from config; inner dimensions in mm, weights in g."""

    code: str
    barcode: str
    length_mm: int
    width_mm: int
    height_mm: int
    max_weight_g: int
    tare_g: int

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm

    @property
    def sides(self) -> tuple[int, int, int]:
        a, b, c = sorted((self.length_mm, self.width_mm, self.height_mm), reverse=True)
        return a, b, c


@dataclass(frozen=True)
class Item:
    """Units of one product going into the box."""

    sku: str
    qty: int
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0

    @property
    def sides(self) -> tuple[int, int, int]:
        a, b, c = sorted((self.length_mm, self.width_mm, self.height_mm), reverse=True)
        return a, b, c

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


def items_weight(items: list[Item] | tuple[Item, ...]) -> int:
    """Grams of the goods alone."""
    return sum(i.weight_g * i.qty for i in items)


def why_not(box: Box, items: list[Item] | tuple[Item, ...], fill: float = DEFAULT_FILL) -> str:
    """Why the items do not go into this box; "" when they do."""
    for item in items:
        if item.qty and any(s > b for s, b in zip(item.sides, box.sides, strict=True)):
            return f"{item.sku} is larger than box {box.code} in every orientation"
    if sum(i.volume * i.qty for i in items) > box.volume * fill:
        return f"the items fill more than {fill:.0%} of box {box.code}"
    if items_weight(items) > box.max_weight_g:
        return f"the items weigh more than box {box.code} carries ({box.max_weight_g} g)"
    return ""


def choose_box(
    items: list[Item] | tuple[Item, ...],
    boxes: list[Box] | tuple[Box, ...],
    fill: float = DEFAULT_FILL,
) -> Box | None:
    """The smallest box (by inner volume; then lightest load, then code) the items fit in, or None."""
    for box in sorted(boxes, key=lambda b: (b.volume, b.max_weight_g, b.code)):
        if not why_not(box, items, fill):
            return box
    return None


def find_box(boxes: list[Box] | tuple[Box, ...], barcode: str) -> Box | None:
    """The configured box whose barcode was scanned."""
    text = barcode.strip()
    return next((b for b in boxes if b.barcode == text), None)


@dataclass(frozen=True)
class Tolerance:
    """How far a weighed package may be from its expected weight: max(grams, share × expected)."""

    grams: int = 50
    share: float = 0.05

    def of(self, expected_g: int) -> int:
        return max(self.grams, round(self.share * expected_g))


@dataclass(frozen=True)
class WeightCheck:
    measured_g: int
    expected_g: int
    tolerance_g: int

    @property
    def ok(self) -> bool:
        return abs(self.measured_g - self.expected_g) <= self.tolerance_g


def check_weight(measured_g: int, expected_g: int, tolerance: Tolerance) -> WeightCheck:
    """Hold a weighed package against what it should weigh."""
    return WeightCheck(measured_g, expected_g, tolerance.of(expected_g))
