"""The simulated dock against a real server process: it loads one box, leaves one behind."""

from __future__ import annotations

import json
import urllib.request

import pytest
from floorkit import BOARD_PASSWORD, pick_and_pack

from device.sim.dock import load_truck
from server.people import auth, users

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]

PEN, PEN_BIN = "0012345678905", "LE-01-01"


@pytest.mark.browser
def test_the_simulated_dock_ships_what_it_loads(floor, floor_settings, server_proc, browser_page):
    from playwright.sync_api import expect

    a = pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN)
    b = pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN)
    key = auth.create_api_key(floor.store, "sup")
    got = floor.app.test_client().post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    )
    manifest_id = got.get_json()["id"]
    users.add(floor.store, "sam", "supervisor", BOARD_PASSWORD)
    floor.store.close()
    base = server_proc(floor_settings.data_dir)

    result = load_truck(base, floor.tokens["packer"], "local", [a["tracking"]])
    assert result["scans"] == [(a["tracking"], "dock_loaded", f"{a['tracking']} loaded (1 of 2)")]
    assert "1 MISSING" in result["handover"] and b["tracking"] in result["handover"]

    def get(path: str) -> dict:
        req = urllib.request.Request(base + path, headers={"X-API-Key": key})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)

    m = get(f"/api/carriers/local/manifests/{manifest_id}.json")
    assert m["status"] == "departed"
    assert [p["state"] for p in m["packages"]] == ["loaded", "missing"]
    assert get(f"/api/orders/{a['order_id']}")["status"] == "shipped"
    assert get(f"/api/orders/{b['order_id']}")["status"] == "packed"

    # The supervisor sees it on the board: counted, queued, and its manifest a click away.
    page = browser_page
    page.goto(base + "/board")
    page.fill("#username", "sam")
    page.fill("#password", BOARD_PASSWORD)
    page.click("button[type=submit]")
    counter = page.locator('[data-counter="missing_packages"]')
    expect(counter.locator(".counter-n")).to_have_text("1")
    item = page.locator("#exceptions li.k-missing")
    expect(item.locator(".item-title")).to_contain_text(b["tracking"])
    link = item.locator("a", has_text="Manifest")
    expect(link).to_have_attribute("href", f"/board/manifests/{manifest_id}")
    page.goto(base + f"/board/manifests/{manifest_id}")
    expect(page.locator("body")).to_contain_text(b["tracking"])
