"""Lot-tracked stock on the floor: the picker is sent to the earliest expiry and its lot is checked."""

from __future__ import annotations

import json

from floorkit import connect, place, scan

from server.schemas import CatalogueIn
from server.services import catalogue


def test_picker_must_scan_the_reserved_lot(floor):
    app, socketio, store, tokens = floor
    lots = {
        "stock": [
            {
                "warehouse": "WH-EAST",
                "location": "E-01-02",
                "sku": "SKU-C",
                "on_hand": 5,
                "lot": "LATE",
                "expires": "2031-01-01",
            },
            {
                "warehouse": "WH-EAST",
                "location": "E-02-01",
                "sku": "SKU-C",
                "on_hand": 5,
                "lot": "SOON",
                "expires": "2030-01-01",
            },
        ]
    }
    catalogue.load(store, CatalogueIn.model_validate_json(json.dumps(lots)))
    place(store, "tea", [("SKU-C", 1)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    state = scan(picker, "LE-02-01", "2")["state"]
    assert state["step"]["lot"] == "SOON" and state["step"]["location"] == "E-02-01"
    assert scan(picker, "9501101530003", "3")["code"] == "lot_required"
    assert scan(picker, "]C10109501101530003" + "10LATE", "4")["code"] == "wrong_lot"
    assert scan(picker, "]C10109501101530003" + "10SOON", "5")["code"] == "list_done"
