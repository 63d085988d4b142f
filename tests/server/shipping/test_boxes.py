"""Box choice and the weight check, as plain rules (server/shipping/domain/boxes.py)."""

from __future__ import annotations

import pytest

from server.config import Settings
from server.shipping.domain.boxes import (
    Box,
    Item,
    Tolerance,
    check_weight,
    choose_box,
    find_box,
    items_weight,
    why_not,
)

S = Box("S", "BOX-S", 250, 180, 100, 5000, 120)
M = Box("M", "BOX-M", 350, 250, 150, 10000, 250)
L = Box("L", "BOX-L", 500, 400, 300, 20000, 500)
FLAT = Box("FLAT", "BOX-FLAT", 600, 400, 40, 3000, 200)  # bigger than M by volume, but thin
BOXES = (L, FLAT, S, M)  # config order is not size order


def item(sku="A", qty=1, g=100, dims=(100, 100, 50)) -> Item:
    return Item(sku, qty, g, *dims)


@pytest.mark.parametrize(
    "items, expected",
    [
        ([item()], "S"),
        # Turned on its side: 80 x 240 x 170 fits 250 x 180 x 100 once sorted.
        ([item(dims=(80, 240, 170))], "S"),
        # 260 mm long: too long for S in every orientation, M takes it.
        ([item(dims=(260, 50, 50))], "M"),
        # Volume: 4 × 1.0 l = 4.0 l > 0.8 × 4.5 l of S, fits M (0.8 × 13.1 l).
        ([item(qty=4, dims=(100, 100, 100))], "M"),
        # Weight: 6 kg of small things is more than S carries.
        ([item(qty=6, g=1000, dims=(50, 50, 50))], "M"),
        # A 550 mm flat thing: only FLAT is long enough.
        ([item(dims=(550, 300, 20))], "FLAT"),
        # Two products: both must fit and the sum counts.
        ([item("A", 1, 100, (240, 170, 90)), item("B", 2, 100, (100, 100, 50))], "M"),
        # No dimensions known: judged by weight only.
        ([item(dims=(0, 0, 0), g=4000)], "S"),
        ([item(dims=(0, 0, 0), g=12000)], "L"),
    ],
)
def test_the_smallest_box_that_fits_is_chosen(items, expected):
    assert choose_box(items, BOXES).code == expected


def test_no_box_fits():
    assert choose_box([item(dims=(700, 100, 100))], BOXES) is None
    assert choose_box([item(qty=30, g=1000, dims=(10, 10, 10))], BOXES) is None
    assert choose_box([item()], ()) is None
    assert "larger than box S" in why_not(S, [item(dims=(700, 100, 100))])
    assert "fill more than 80%" in why_not(S, [item(qty=4, dims=(100, 100, 100))])
    assert "weigh more than box S" in why_not(S, [item(qty=6, g=1000, dims=(10, 10, 10))])


def test_the_fill_factor_is_a_setting():
    # 3.6 l of goods: exactly 80% of S; at 70% it needs M.
    goods = [item(qty=36, dims=(100, 100, 10))]
    assert choose_box(goods, BOXES).code == "S"
    assert choose_box(goods, BOXES, fill=0.7).code == "M"


def test_a_box_is_found_by_its_barcode_only():
    assert find_box(BOXES, "BOX-M") is M
    assert find_box(BOXES, " BOX-M ") is M
    assert find_box(BOXES, "M") is None and find_box(BOXES, "4006381333931") is None


def test_items_weight():
    assert items_weight([item(qty=3, g=350), item("B", 2, 20)]) == 1090


@pytest.mark.parametrize(
    "measured, expected, ok, tolerance",
    [
        (1100, 1100, True, 55),
        (1155, 1100, True, 55),  # 5% of 1.1 kg = 55 g
        (1156, 1100, False, 55),
        (1045, 1100, True, 55),
        (1420, 1100, False, 55),
        (240, 200, True, 50),  # at 200 g the 50 g floor is wider than 5%
        (251, 200, False, 50),
    ],
)
def test_weight_within_tolerance(measured, expected, ok, tolerance):
    check = check_weight(measured, expected, Tolerance(50, 0.05))
    assert check.ok is ok and check.tolerance_g == tolerance


def test_box_settings_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    box = dict(
        code="S", barcode="BOX-S", length_mm=1, width_mm=1, height_mm=1, max_weight_g=1, tare_g=0
    )
    Settings(boxes=[box])
    with pytest.raises(ValueError, match="barcode BOX-S used by more than one box"):
        Settings(boxes=[box, {**box, "code": "T"}])
    with pytest.raises(ValueError, match="length_mm"):
        Settings(boxes=[{**box, "length_mm": 0}])


def test_the_shipped_config_has_boxes():
    import tomllib
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).parents[3] / "config" / "server.toml").read_text())
    settings = Settings.model_validate(cfg)
    assert [b.code for b in settings.boxes] == ["S", "M", "L"]
    assert settings.packing.weight_tolerance_g == 50


def test_the_packer_reads_the_weights_in_kg():
    from shared import messages as say

    check = check_weight(1420, 1100, Tolerance(50, 0.05))
    assert say.weight_off(check.measured_g, check.expected_g, check.tolerance_g) == (
        "Weight 1.42 kg, expected 1.10 kg ± 0.06: check the items"
    )
