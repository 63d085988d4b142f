"""The simulated worker's choices on the move and short-pick screens (device/sim/chooser.py, which
the demo's handhelds and the load fleet share; tests/device is full)."""

from __future__ import annotations

import random

import pytest

from device.config import SimulateSettings
from device.sim.chooser import ScanChooser

FACE, ITEM, RESERVE = "LE-03-05-2", "2000000000107", "LE-R-01"


def _chooser(empty=()) -> ScanChooser:
    return ScanChooser(random.Random(1), 0.0, 1000, empty=empty)


def _pick(c: ScanChooser, where: str = FACE, item: str = ITEM) -> str | None:
    assert c.choose("pick_location", [where], "o1", list) == where
    return c.choose("pick_item", [item], "o1", list)


def test_a_worker_moves_stock_reserve_bin_then_each_unit_then_the_face():
    c = _chooser()
    assert c.choose("replen_reserve", [RESERVE], None, list) == RESERVE
    assert [c.choose("replen_item", [ITEM], None, list) for _ in range(3)] == [ITEM] * 3
    assert c.choose("replen_face", [FACE], None, list) == FACE
    assert c.choose("replen_item", [], None, list) is None  # nothing named: wait


def test_a_pick_empty_on_the_shelf_is_reported_short_once_then_picked():
    c = _chooser([(FACE, ITEM)])
    assert _pick(c, item="2000000000015") == "2000000000015"  # another item of the bin
    assert _pick(c, where="LE-01-01-1") == ITEM  # the item in another bin
    assert _pick(c) == "CMD-SHORT" and c.shorted == 1
    assert c.choose("pick_short", [], "o1", list) == "CMD-SHORT"  # none in the bin
    assert _pick(c) == ITEM  # said once: after the move it is there


def test_a_face_the_worker_refilled_is_no_longer_empty_to_it():
    c = _chooser([(FACE, ITEM)])
    assert c.choose("replen_face", [FACE], None, list) == FACE
    assert _pick(c) == ITEM and c.shorted == 0


def test_empty_on_shelf_wants_a_bin_and_an_item():
    assert SimulateSettings(empty_on_shelf=[f"{FACE} {ITEM}"]).empty_on_shelf == [f"{FACE} {ITEM}"]
    with pytest.raises(ValueError, match="want a bin's label and an item's barcode"):
        SimulateSettings(empty_on_shelf=[FACE])
