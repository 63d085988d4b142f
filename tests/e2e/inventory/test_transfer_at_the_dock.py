"""A transfer end to end, all real: planned over REST on a real server from WH-EAST to
WH-WEST; picked on WH-EAST's handheld, verified and labelled on its pack station (the label
over TCP to a listener), closed out and handed over at its dock by that pack station; then
received at WH-WEST's dock on a third handheld process by the package's label, each unit
into a bin, closed by card. Three device processes with pty scanners; in transit counted
until the receipt, every scan and card of the receiver's journal applied once, in order.
A lot-tracked SKU with an expiry travels with it: picked by its GS1 label (lot and expiry)
at WH-EAST, received by the same label at WH-WEST, and stocked there under its lot and
expiry."""

from __future__ import annotations

import json
import os
import time

import pytest
from handheld import Desk, Handheld, server_scans

from device.sim.zpl_printer import ZplPrinterSim
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
PEN = "0012345678905"  # SKU-B: 10 in E-01-01, none in WH-WEST
# SKU-C (green tea) in lot L2301, best before 2030-06-30, as its GS1-128 label reads it: the
# GTIN, the expiry (17, YYMMDD) and the lot (10) last, so no separator is needed.
TEA_LOT, TEA_EXPIRES = "L2301", "2030-06-30"
TEA_LABEL = "]C1" + "01" + "09501101530003" + "17" + "300630" + "10" + TEA_LOT


class Floor(Desk):
    """The desk, and a command card typed on a device's scanner; a pick of a lot takes the
    unit's GS1 label, which names the lot."""

    def card(self, h: Handheld, barcode: str, screen: str) -> dict:
        """A command card typed on the scanner: the device's answer is a new screen."""
        os.write(h.master, barcode.encode() + b"\r")
        return self.screen(h, screen)

    def barcode_for(self, state: dict) -> str:
        step = state.get("step") or {}
        if state["screen"] == "pick_item" and step.get("lot"):
            assert step["lot"] == TEA_LOT, step
            return TEA_LABEL
        return super().barcode_for(state)


def test_a_transfer_is_picked_packed_handed_over_and_received_by_scan(
    floor_store, floor_settings, server_proc, tmp_path
):
    tokens = {
        "picker-e1": auth.create_device(floor_store, "picker-e1", "picker", "WH-EAST"),
        "packer-e1": auth.create_device(floor_store, "packer-e1", "packer", "WH-EAST"),
        "picker-w1": auth.create_device(floor_store, "picker-w1", "picker", "WH-WEST"),
    }
    key = auth.create_api_key(floor_store, "sup")
    tea = {"warehouse": "WH-EAST", "location": "E-02-01", "sku": "SKU-C", "on_hand": 2,
           "lot": TEA_LOT, "expires": TEA_EXPIRES}  # fmt: skip
    catalogue.load(floor_store, CatalogueIn.model_validate_json(json.dumps({"stock": [tea]})))
    # No worker process: nothing here plans, delivers or sweeps.
    floor = Floor(server_proc(floor_settings.data_dir), key)
    printer = ZplPrinterSim(out_dir=tmp_path / "labels").start()
    home = tmp_path / "devices"
    home.mkdir()
    picker, packer, dock = (
        Handheld(home, name, floor.base, token, printer.url if "packer" in name else "")
        for name, token in tokens.items()
    )
    try:
        for h in (picker, packer, dock):
            h.start()  # the three start side by side
        body = {"from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST",
                "lines": [{"sku": "SKU-B", "qty": 2}, {"sku": "SKU-C", "qty": 1}],
                "request_id": "e2e-1"}  # fmt: skip
        made = floor.post("/api/transfers", body, 201)
        for h in (picker, packer, dock):  # online on its own screen: a scan goes straight out
            h.wait_for(lambda line: line.link == "online", what="online")

        # WH-EAST: the transfer's list is handed to the picker, picked into a tote.
        floor.screen(picker, "pick_tote")
        picker.scan("TOTE-0042")
        state = floor.walk(picker, ("pick_location", "pick_item", "pick_put"))
        assert state["screen"] == "idle", state
        # The pack station verifies each unit; the label prints over TCP and is scanned.
        floor.screen(packer, "pack_start")
        packer.scan("TOTE-0042")
        state = floor.walk(packer, ("pack_verify",))
        assert state["screen"] == "pack_label", state
        (label,) = printer.wait_for_labels(1, timeout=15)
        tracking = state["expect"]["barcodes"][0]
        assert tracking.encode() in label
        packer.scan(tracking)
        floor.screen(packer, "pack_start")
        # Closed out, and handed over at the dock by the pack station: the truck leaves.
        floor.post("/api/carriers/local/closeouts", {"warehouse": "WH-EAST"}, 201)
        floor.card(packer, "CMD-DOCK", "dock_carrier")
        floor.card(packer, "CARRIER-LOCAL", "dock_load")
        packer.scan(tracking)
        floor.card(packer, "CMD-DOCK-DONE", "pack_start")
        assert floor.get(f"/api/transfers/{made['transfer']}")["status"] == "in_transit"
        assert floor.get("/api/transfers/in-transit") == {"in_transit": [
            {"sku": "SKU-B", "from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "units": 2},
            {"sku": "SKU-C", "from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "units": 1},
        ]}  # fmt: skip
        sent = floor.get(f"/api/transfers/{made['transfer']}")["lines"][1]["lots"]
        assert [(x["lot"], x["expires"], x["shipped"]) for x in sent] == [(TEA_LOT, TEA_EXPIRES, 1)]

        # WH-WEST: received by the package's label, each unit into a bin.
        floor.card(dock, "CMD-TRANSFER", "transfer_open")
        dock.scan(tracking)
        dock.scan(PEN)
        dock.scan("LW-01-01")  # the first bin: WH-WEST holds no pens yet
        dock.scan(PEN)
        dock.scan("LW-01-01")
        dock.scan(PEN, result="ERROR")  # a third pen: more than was shipped, set aside
        dock.scan(TEA_LABEL)  # the tea by its GS1 label: its lot and expiry come with it
        dock.scan("LW-01-01")
        floor.card(dock, "CMD-TRANSFER-DONE", "idle")
        got = floor.get(f"/api/transfers/{made['transfer']}")
        assert (got["status"], got["received_by"], got["in_transit"]) == (
            "received", "picker-w1", 0,
        )  # fmt: skip
        assert [(x["shipped"], x["received"], x["over"], x["short"]) for x in got["lines"]] == [
            (2, 2, 1, 0), (1, 1, 0, 0),
        ]  # fmt: skip
        stock = floor.get("/api/stock?sku=SKU-B&warehouse=WH-WEST")["stock"]
        assert [(s["location"], s["on_hand"]) for s in stock] == [("W-01-01", 2)]
        teas = floor.get("/api/stock?sku=SKU-C&warehouse=WH-WEST")["stock"]
        assert sorted((s["location"], s["lot"], s["expires"], s["on_hand"]) for s in teas) == [
            ("W-01-01", TEA_LOT, TEA_EXPIRES, 1), ("W-02-01", "", None, 3),
        ]  # fmt: skip
        east = floor.get("/api/stock?sku=SKU-C&warehouse=WH-EAST")["stock"]
        assert [(s["lot"], s["on_hand"]) for s in east] == [(TEA_LOT, 1)]
        for sku in ("SKU-B", "SKU-C"):
            assert floor.get(f"/api/stock/accounting?sku={sku}")["holds"], sku
        # The server's screen moves before the device writes the last answer to its journal.
        deadline = time.monotonic() + 10
        while not all(j["acked_at"] for j in dock.journal()):
            assert time.monotonic() < deadline, [j for j in dock.journal() if not j["acked_at"]]
            time.sleep(0.05)
        journal = [j for j in dock.journal() if j["kind"] == "scan"]
        applied = server_scans(floor_settings.db_path, dock.name)
        assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
        # Both ends took the tea by its GS1 label (the scanner may drop the ]C1 prefix).
        for h in (picker, dock):
            took = [a for a in server_scans(floor_settings.db_path, h.name)
                    if a["ok"] and TEA_LABEL.removeprefix("]C1") in a["barcode"]]  # fmt: skip
            assert len(took) == 1, (h.name, took)
    finally:
        for h in (picker, packer, dock):
            h.stop()
        printer.stop()
    for h in (picker, packer, dock):
        assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
