"""Lot-tracked stock on the floor: the picker is sent to the earliest expiry and its lot is checked."""

from __future__ import annotations

import json

import pytest
from floorkit import connect, place, scan

from device import offline
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from shared.protocol import DeviceState


def _lot(location: str, lot: str, expires: str) -> dict:
    """Five units of green tea (SKU-C) of one lot in an east bin."""
    return {"warehouse": "WH-EAST", "location": location, "sku": "SKU-C", "on_hand": 5,
            "lot": lot, "expires": expires}  # fmt: skip


SOON = _lot("E-02-01", "SOON", "2030-01-01")
LATE = _lot("E-01-02", "LATE", "2031-01-01")


def lot_step(floor, stock: tuple[dict, ...] = (SOON,)):
    """A picker at the bin of a lot-tracked step for one unit of tea: (handheld, its screen)."""
    app, socketio, store, tokens = floor
    catalogue.load(store, CatalogueIn.model_validate_json(json.dumps({"stock": list(stock)})))
    place(store, "tea", [("SKU-C", 1)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    state = scan(picker, "LE-02-01", "2")["state"]
    assert state["screen"] == "pick_item" and state["step"]["lot"] == "SOON"
    return picker, state


def test_picker_must_scan_the_reserved_lot(floor):
    picker, state = lot_step(floor, (LATE, SOON))  # the earliest expiry is reserved
    assert state["step"]["location"] == "E-02-01"
    assert scan(picker, "9501101530003", "3")["code"] == "lot_required"
    assert scan(picker, "]C10109501101530003" + "10LATE", "4")["code"] == "wrong_lot"
    assert scan(picker, "]C10109501101530003" + "10SOON", "5")["code"] == "list_done"


# Every GS1 form a lot step takes (docs/barcodes.md lists the same), the lot SOON in each.
GS = "\x1d"
LOT_FORMS = [
    "]C10109501101530003" + "10SOON",  # GS1-128, AIM identifier, FNC1 as the prefix
    "0109501101530003" + "10SOON",  # the same without the identifier
    "]C1010950110153000317300101" + "10SOON",  # with an expiry (17)
    "]C10109501101530003" + "10SOON" + GS + "17300101",  # lot first: GS ends it
    "]d20109501101530003" + "10SOON",  # GS1 DataMatrix
    "]Q30109501101530003" + "10SOON",  # GS1 QR
    "(01)09501101530003(10)SOON",  # the parenthesised text under the bars
    "(01)09501101530003(17)300101(10)SOON",
    "(01) 09501101530003 (10) SOON",
    "]C1(01)09501101530003(10)SOON",  # a scanner set to send the text, after its identifier
    "]C0(01)09501101530003(10)SOON",  # bars holding the parenthesised text (plain Code 128)
    "https://id.gs1.org/01/09501101530003/10/SOON",  # GS1 Digital Link
]


@pytest.mark.parametrize("barcode", LOT_FORMS)
def test_a_lot_step_takes_every_gs1_form(floor, barcode):
    picker, state = lot_step(floor)
    # The device, offline, judges it as the server does.
    local = offline.judge(DeviceState.model_validate(state), barcode)
    assert (local.ok, local.code) == (True, "list_done")
    reply = scan(picker, barcode, "3")
    assert (reply["ok"], reply["code"]) == (True, "list_done"), reply


@pytest.mark.parametrize(
    ("barcode", "code", "server_code"),
    [
        ("(01)09501101530003(10)LATE", "wrong_lot", "wrong_lot"),
        ("(01)09501101530003", "lot_required", "lot_required"),
        # Month 13: not GS1 at all. Offline the device knows only its list ("not this item");
        # the server knows it is no location, item or tote of the floor.
        ("(01)09501101530003(17)301301(10)SOON", "wrong_item", "unknown_barcode"),
        ("]C0(10)SOON", "wrong_item", "unknown_barcode"),  # names no product
    ],
)
def test_a_lot_step_refuses_the_wrong_lot_in_parentheses_too(floor, barcode, code, server_code):
    picker, state = lot_step(floor)
    local = offline.judge(DeviceState.model_validate(state), barcode)
    assert local.code == code and not local.ok
    reply = scan(picker, barcode, "3")
    assert (reply["ok"], reply["code"]) == (False, server_code)
