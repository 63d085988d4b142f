"""The simulated dock against a real server process: it loads one box, leaves one behind."""

from __future__ import annotations

import json
import urllib.request

from floorkit import pick_and_pack

from device.sim.dock import load_truck
from server.services import auth

PEN, PEN_BIN = "0012345678905", "LE-01-01"


def test_the_simulated_dock_ships_what_it_loads(floor, floor_settings, server_proc):
    a = pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN)
    b = pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN)
    key = auth.create_api_key(floor.store, "sup")
    got = floor.app.test_client().post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    )
    manifest_id = got.get_json()["id"]
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
