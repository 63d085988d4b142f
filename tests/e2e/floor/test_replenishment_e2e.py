"""Replenishment end to end: a real server and a real handheld process on a pty scanner.

The picker finds a pick face short while reserve holds the SKU: the missing pens wait for an
urgent move, handed to the same handheld before anything else; it scans the reserve bin, a
GS1 case label of 12 pens and the face, and the stock moves once; the held pens are then
allocated at the refilled face and picked in a list of their own.
"""

from __future__ import annotations

import os

import pytest
import requests
from floorkit import place
from handheld import Handheld, server_scans

from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth

pytestmark = pytest.mark.e2e
PEN = "0012345678905"  # SKU-B, 10 on hand in the face E-01-01
PENS_12 = "]C10100012345678905" + "3012"  # a GS1 case label: 12 pens


def _stock(base, headers) -> dict[str, int]:
    r = requests.get(f"{base}/api/stock?sku=SKU-B&warehouse=WH-EAST", headers=headers, timeout=5)
    return {s["location"]: s["on_hand"] for s in r.json()["stock"]}


def test_a_short_pick_waits_for_a_move_from_reserve_then_is_picked(
    floor_store, floor_tokens, floor_settings, server_proc, tmp_path
):
    catalogue.load(
        floor_store,
        CatalogueIn.model_validate(
            {
                "locations": [
                    {
                        "warehouse": "WH-EAST",
                        "code": "R-01",
                        "barcode": "LR-01",
                        "aisle": 9,
                        "role": "reserve",
                    }  # fmt: skip
                ],
                "stock": [
                    {"warehouse": "WH-EAST", "location": "R-01", "sku": "SKU-B", "on_hand": 30}
                ],
            }
        ),
    )
    place(floor_store, "pens", [("SKU-B", 4)])
    headers = {"Authorization": f"Bearer {auth.create_api_key(floor_store, 'sup')}"}
    base = server_proc(floor_settings.data_dir, env={"SCANFLOOR_WORKER__WITH_SERVER": "false"})
    limits = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "min": 2, "max": 12}
    r = requests.put(f"{base}/api/replenishment/limits", json=limits, headers=headers, timeout=5)
    assert r.status_code == 200 and r.json()["task"] is None, r.text
    home = tmp_path / "devices"
    home.mkdir()
    h = Handheld(home, "picker-e1", base, floor_tokens["picker"]).start()
    try:
        h.wait_for(lambda line: "TOTE" in line.instruction.upper(), what="a tote to start")
        h.scan("TOTE-1")
        h.scan("LE-01-01")
        h.scan(PEN)
        # The other three are not there: CMD-SHORT asks how many, CMD-SHORT again says none.
        mark = len(h.lines())
        os.write(h.master, b"CMD-SHORT\r")
        h.wait_for(lambda line: "HOW MANY" in line.text.upper(), after=mark, what="the question")
        mark = len(h.lines())
        os.write(h.master, b"CMD-SHORT\r")
        h.wait_for(
            lambda line: "PICKS WAIT: MOVE 12 RED PEN FROM R-01" in line.instruction.upper(),
            after=mark,
            what="the urgent move",
        )
        h.scan("LE-01-01", result="ERROR")  # the face before the reserve bin
        h.scan("LR-01")
        h.scan(PENS_12)
        assert _stock(base, headers) == {"E-01-01": 0, "R-01": 30}  # nothing moved yet
        h.scan("LE-01-01")
        assert _stock(base, headers) == {"E-01-01": 12, "R-01": 18}
        move = requests.get(f"{base}/api/replenishment/moves", headers=headers, timeout=5).json()
        assert [(m["status"], m["moved"], m["urgent"]) for m in move["moves"]] == [
            ("done", 12, True)
        ]
        # The held pens were allocated at the face: this picker picks them next.
        h.wait_for(lambda line: "TOTE" in line.instruction.upper(), what="the held pick's list")
        h.scan("TOTE-2")
        h.scan("LE-01-01")
        for _ in range(3):
            h.scan(PEN)
        h.wait_for(lambda line: "PACKING" in line.text.upper(), what="the list done")
        assert _stock(base, headers) == {"E-01-01": 9, "R-01": 18}
        # Every scan of the journal applied once, in order.
        journal = [j for j in h.journal() if j["kind"] == "scan"]
        assert all(j["acked_at"] for j in h.journal())
        applied = server_scans(floor_settings.db_path, h.name)
        assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
    finally:
        h.stop()
    assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
