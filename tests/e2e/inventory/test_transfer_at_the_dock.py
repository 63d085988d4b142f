"""A transfer end to end: planned over REST on a real server from WH-EAST to WH-WEST,
handed over, and received at WH-WEST's dock on a real handheld process with a pty scanner by
the package's label, each unit into a bin, closed by card; in transit counted until then,
every scan and card of the journal applied once, in order."""

from __future__ import annotations

import os

import pytest
import requests
from handheld import Handheld, server_scans
from trackkit import ship_order

from server.people import auth

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
PEN = "0012345678905"  # SKU-B: 10 in E-01-01, none in WH-WEST


def _card(h: Handheld, barcode: str, note: str) -> None:
    """A command card: an action, answered by a new screen with a note."""
    mark = len(h.lines())
    os.write(h.master, barcode.encode() + b"\r")
    h.wait_for(lambda line: note in line.text.upper(), after=mark, what=note)


def test_a_transfer_is_received_by_scan_at_the_other_dock(
    floor_store, floor_settings, server_proc, tmp_path
):
    west = auth.create_device(floor_store, "picker-w1", "picker", "WH-WEST")
    key = auth.create_api_key(floor_store, "sup")
    headers = {"Authorization": f"Bearer {key}"}
    # No worker process: nothing here plans, delivers or sweeps.
    base = server_proc(floor_settings.data_dir)
    body = {"from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST",
            "lines": [{"sku": "SKU-B", "qty": 2}], "request_id": "e2e-1"}  # fmt: skip
    r = requests.post(f"{base}/api/transfers", json=body, headers=headers, timeout=5)
    assert r.status_code == 201, r.text
    made = r.json()
    (tracking,) = ship_order(floor_store, made["order_id"])  # picked, packed, handed over
    moving = requests.get(f"{base}/api/transfers/in-transit", headers=headers, timeout=5).json()
    assert moving == {"in_transit": [
        {"sku": "SKU-B", "from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "units": 2}
    ]}  # fmt: skip
    home = tmp_path / "devices"
    home.mkdir()
    h = Handheld(home, "picker-w1", base, west).start()
    try:
        h.wait_for(lambda line: line.link == "online", what="online")
        _card(h, "CMD-TRANSFER", "SCAN THE PACKAGE'S LABEL")
        h.scan(tracking)
        h.scan(PEN)
        h.scan("LW-01-01")  # the first bin: WH-WEST holds no pens yet
        h.scan(PEN)
        h.scan("LW-01-01")
        h.scan(PEN, result="ERROR")  # a third pen: more than was shipped
        _card(h, "CMD-TRANSFER-DONE", f"{made['transfer']} RECEIVED: 2 IN STOCK, 0 SHORT")
        got = requests.get(f"{base}/api/transfers/{made['transfer']}", headers=headers, timeout=5)
        got = got.json()
        assert (got["status"], got["received_by"], got["in_transit"]) == (
            "received", "picker-w1", 0,
        )  # fmt: skip
        assert [(x["shipped"], x["received"], x["over"], x["short"]) for x in got["lines"]] == [
            (2, 2, 1, 0)
        ]
        stock = requests.get(
            f"{base}/api/stock?sku=SKU-B&warehouse=WH-WEST", headers=headers, timeout=5
        ).json()["stock"]
        assert [(s["location"], s["on_hand"]) for s in stock] == [("W-01-01", 2)]
        journal = [j for j in h.journal() if j["kind"] == "scan"]
        assert all(j["acked_at"] for j in h.journal())
        applied = server_scans(floor_settings.db_path, h.name)
        assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
    finally:
        h.stop()
    assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
