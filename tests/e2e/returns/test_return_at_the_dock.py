"""A return end to end: authorised over REST on a real server, received on a real handheld
process with a pty scanner by the parcel's label, one unit back to a bin and one scrapped,
closed by card; every scan and card of the journal applied once, in order."""

from __future__ import annotations

import os

import pytest
import requests
from handheld import Handheld, server_scans
from trackkit import ship

from server.people import auth

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
PEN = "0012345678905"  # SKU-B, 10 in E-01-01 before the order ships


def _card(h: Handheld, barcode: str, note: str) -> None:
    """A command card: an action, answered by a new screen with a note."""
    mark = len(h.lines())
    os.write(h.master, barcode.encode() + b"\r")
    h.wait_for(lambda line: note in line.text.upper(), after=mark, what=note)


def test_a_parcel_is_received_graded_and_closed_on_a_handheld(
    floor_store, floor_tokens, floor_settings, server_proc, tmp_path
):
    oid, trackings = ship(floor_store, "E2E-R1", packages=2)
    key = auth.create_api_key(floor_store, "sup")
    headers = {"Authorization": f"Bearer {key}"}
    # No worker process: nothing here plans, delivers or sweeps.
    base = server_proc(floor_settings.data_dir)
    body = {"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 2}], "reason": "wrong colour"}
    r = requests.post(f"{base}/api/returns", json=body, headers=headers, timeout=5)
    assert r.status_code == 201, r.text
    rma = r.json()["rma"]
    home = tmp_path / "devices"
    home.mkdir()
    h = Handheld(home, "picker-e1", base, floor_tokens["picker"]).start()
    try:
        h.wait_for(lambda line: line.link == "online", what="online")
        _card(h, "CMD-RETURN", "SCAN THE PARCEL'S LABEL")
        h.scan(trackings[1])
        h.scan(PEN)
        _card(h, "CMD-GRADE-OK", "PUT IT IN E-01-01")
        h.scan("LE-01-01")
        h.scan(PEN)
        _card(h, "CMD-SCRAP-DAMAGED", "SCRAPPED (DAMAGED)")
        _card(h, "CMD-RETURN-DONE", f"{rma} RECEIVED: 1 BACK TO STOCK, 1 SCRAPPED")
        got = requests.get(f"{base}/api/returns/{rma}", headers=headers, timeout=5).json()
        assert got["status"] == "received" and got["received_by"] == "picker-e1"
        assert [(u["grade"], u["reason"], u["location"]) for u in got["units"]] == [
            ("resellable", None, "E-01-01"),
            ("scrap", "damaged", None),
        ]
        stock = requests.get(
            f"{base}/api/stock?sku=SKU-B&warehouse=WH-EAST", headers=headers, timeout=5
        ).json()["stock"]
        assert [s["on_hand"] for s in stock] == [10 - 2 + 1]
        journal = [j for j in h.journal() if j["kind"] == "scan"]
        assert all(j["acked_at"] for j in h.journal())
        applied = server_scans(floor_settings.db_path, h.name)
        assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
    finally:
        h.stop()
    assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
