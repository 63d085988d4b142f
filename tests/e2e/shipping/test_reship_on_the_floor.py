"""A lost parcel re-shipped end to end, all real: requested over REST on a real server, its
unit picked on WH-EAST's handheld ahead of an urgent order, refused at a pack station of
WH-WEST, verified and labelled on WH-EAST's pack station (the label over TCP to a listener);
the picker's handheld and the pack station show "RE-SHIP of <lost tracking>" while they work
it; the lost parcel then points at the new package, the shop's `parcel.reshipped` names both
tracking numbers, and every unit stays accounted for. Device processes with pty scanners;
every scan of the picker's journal applied once, in order."""

from __future__ import annotations

import time

import pytest
import requests
from floorkit import place
from handheld import Desk, Handheld, server_scans
from trackkit import ship

from device.sim.zpl_printer import ZplPrinterSim
from server.notify import webhooks
from server.people import auth

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


def _floor_rows(store) -> tuple:
    """What a refused request could change."""
    return (
        store.all("SELECT id, status, lost_at, replaced_by FROM packages ORDER BY id"),
        store.all("SELECT id, status, priority FROM pick_lists ORDER BY id"),
        store.all("SELECT id, status FROM shipments ORDER BY id"),
        store.all("SELECT location_id, sku, on_hand, reserved FROM stock ORDER BY 1, 2"),
        store.all("SELECT id, status FROM orders ORDER BY id"),
    )


def test_a_reship_is_picked_first_packed_at_its_warehouse_and_its_label_printed(
    floor_store, floor_settings, server_proc, tmp_path
):
    oid, (lost_tracking,) = ship(floor_store, "SHOP-8001")
    lost = floor_store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    webhooks.subscribe(floor_store, "https://shop.example.com/hooks", ["parcel.reshipped"])
    tokens = {
        "picker-e1": auth.create_device(floor_store, "picker-e1", "picker", "WH-EAST"),
        "packer-e1": auth.create_device(floor_store, "packer-e1", "packer", "WH-EAST"),
        "packer-w1": auth.create_device(floor_store, "packer-w1", "packer", "WH-WEST"),
    }
    key = auth.create_api_key(floor_store, "desk")
    # No worker process: nothing here plans carts, delivers webhooks or sweeps.
    desk = Desk(server_proc(floor_settings.data_dir), key)

    # Bad input is refused in words and changes nothing.
    before = _floor_rows(floor_store)
    r = requests.post(desk.base + "/api/packages/999999/reship", json={}, headers=desk.headers,
                      timeout=5)  # fmt: skip
    assert r.status_code == 404 and r.json()["message"] == "no package 999999"
    r = requests.post(desk.base + f"/api/packages/{lost}/reship", json={"device": "packer-e1"},
                      headers=desk.headers, timeout=5)  # fmt: skip
    assert r.status_code == 422 and "device" in r.text
    assert _floor_rows(floor_store) == before

    made = desk.post(f"/api/packages/{lost}/reship", {})
    assert (made["warehouse"], made["units"], made["status"]) == (
        "WH-EAST", {"SKU-B": 1}, "allocated",
    )  # fmt: skip
    assert "urgent pick list" in made["said"]
    # A second re-ship while the first is on the floor is refused in words.
    before = _floor_rows(floor_store)
    r = requests.post(desk.base + f"/api/packages/{lost}/reship", json={}, headers=desk.headers,
                      timeout=5)  # fmt: skip
    assert r.status_code == 409
    assert r.json()["message"] == (
        f"parcel {lost_tracking} is already marked lost: its re-ship is on the floor, not yet "
        "packed"
    )
    assert _floor_rows(floor_store) == before
    # The most urgent order a shop can send arrives after it: the re-ship is handed out first.
    rush = place(floor_store, "SHOP-8002", [("SKU-A", 1)], priority=9)

    printer = ZplPrinterSim(out_dir=tmp_path / "labels").start()
    home = tmp_path / "devices"
    home.mkdir()
    picker, packer, west = (
        Handheld(home, name, desk.base, token, printer.url if name == "packer-e1" else "")
        for name, token in tokens.items()
    )
    try:
        for h in (picker, packer, west):
            h.start()
        for h in (picker, packer, west):
            h.wait_for(lambda line: line.link == "online", what="online")

        state = desk.screen(picker, "pick_tote")
        assert state["order_id"] == oid, state  # the re-ship, not the priority 9 order
        # The handheld says it is a re-ship, and of which lost parcel.
        marker = f"[RE-SHIP of {lost_tracking}]"
        assert state["reships"] == {oid: lost_tracking}
        picker.wait_for(lambda line: marker in line.text and "SCAN AN EMPTY TOTE" in line.text,
                        what="the re-ship marker on the picker's screen")  # fmt: skip
        picker.scan("TOTE-0051")
        state = desk.walk(picker, ("pick_location", "pick_item", "pick_put"))
        assert state["screen"] in ("idle", "pick_tote"), state
        assert floor_store.one("SELECT status FROM pick_lists WHERE id = ?",
                               (made["pick_list"],)) == {"status": "picked"}  # fmt: skip

        # A pack station of another warehouse cannot pack it: refused, nothing changes.
        desk.screen(west, "pack_start")
        before = _floor_rows(floor_store)
        said = west.scan("TOTE-0051", result="ERROR").text
        assert "TOTE-0051 holds work of WH-EAST: pack it at a pack station of WH-EAST" in said
        assert desk.screen(west, "pack_start")
        assert _floor_rows(floor_store) == before

        # WH-EAST's pack station verifies the unit; the label prints over TCP and is scanned.
        desk.screen(packer, "pack_start")
        mark = len(packer.lines())
        packer.scan("TOTE-0051")
        packer.wait_for(lambda line: marker in line.text, after=mark,
                        what="the re-ship marker on the pack station's screen")  # fmt: skip
        state = desk.walk(packer, ("pack_verify",))
        assert state["reships"] == {oid: lost_tracking}
        assert state["screen"] == "pack_label", state
        (label,) = printer.wait_for_labels(1, timeout=15)
        tracking = state["expect"]["barcodes"][0]
        assert tracking != lost_tracking and tracking.encode() in label
        packer.scan(tracking)
        desk.screen(packer, "pack_start")
        assert marker not in packer.screen().text  # the bench is empty: ordinary again

        order = desk.get(f"/api/orders/{oid}")
        assert order["status"] == "packed"
        by_id = {p["id"]: p for p in order["packages"]}
        new = next(p for p in order["packages"] if p["tracking"] == tracking)
        assert by_id[lost]["lost_at"] and by_id[lost]["replaced_by"] == new["id"]
        assert new["status"] == "confirmed"
        told = webhooks.list_deliveries(floor_store, order_id=oid)
        assert [d["event"] for d in told] == ["parcel.reshipped"]
        data = told[0]["payload"]["data"]
        assert data["lost"] == {"id": lost, "tracking": lost_tracking}
        assert data["package"]["tracking"] == tracking
        assert desk.get("/api/stock/accounting?sku=SKU-B")["holds"]
        assert floor_store.one("SELECT status FROM orders WHERE id = ?", (rush,))["status"] in (
            "allocated", "picking",
        )  # fmt: skip

        # Every scan of the picker's journal was applied once, in order.
        deadline = time.monotonic() + 10
        while not all(j["acked_at"] for j in picker.journal()):
            assert time.monotonic() < deadline, [j for j in picker.journal() if not j["acked_at"]]
            time.sleep(0.05)
        journal = [j for j in picker.journal() if j["kind"] == "scan"]
        applied = server_scans(floor_settings.db_path, picker.name)
        assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
    finally:
        for h in (picker, packer, west):
            h.stop()
        printer.stop()
    for h in (picker, packer, west):
        assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
