"""The dock on the real /device namespace: close out, load the truck, refuse another carrier's
package, hand over with a package missing."""

from __future__ import annotations

import pytest
from floorkit import action, connect, last_state, logged_in, pick_and_pack, place, scan, settle

from server.board import board, exceptions
from server.config import Settings
from server.notify import webhooks
from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

PEN, PEN_BIN = "0012345678905", "LE-01-01"


@pytest.fixture
def floor_settings(tmp_path) -> Settings:
    """Two carriers: our own vans (`local`, the default) and a parcel firm (`fastbox`)."""
    fastbox = {"title": "FASTBOX", "tracking_prefix": "FB"}
    return Settings(
        data_dir=tmp_path / "data",
        sqlite_synchronous="NORMAL",
        carriers={"local": {}, "fastbox": fastbox},
    )


@pytest.fixture
def packed(floor) -> dict[str, dict]:
    """Three packed boxes at WH-EAST: two go with local, one with fastbox (the order said so);
    a shop subscribed to order.shipped."""
    webhooks.subscribe(
        floor.store, "http://127.0.0.1:9/hook", ["order.shipped"], allowed_hosts=["127.0.0.1"]
    )
    return {
        "a": pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN),
        "b": pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN, shop_number="#1002"),
        "fb": pick_and_pack(floor, "shop-c", "TOTE-3", PEN, PEN_BIN, service="fastbox:express"),
    }


def _status(store, order_id: str) -> str:
    return store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]


def test_hand_over_with_a_missing_package_and_a_wrong_carrier_refused(floor, packed):
    app, socketio, store, tokens = floor
    a, b, fb = packed["a"], packed["b"], packed["fb"]
    assert (a["carrier"], b["carrier"], fb["carrier"]) == ("local", "local", "fastbox")
    # No service named, no date promised: the cheapest.
    assert (a["service"], a["zone"], a["rate_cents"]) == ("economy", 1, 450)
    assert fb["service"] == "express" and fb["tracking"].startswith("FB")
    assert "FASTBOX" in fb["zpl"] and "EXPRESS" in fb["zpl"]
    key = auth.create_api_key(store, "sup")
    client = app.test_client()
    got = client.post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    )
    assert got.status_code == 201, got.get_json()
    manifest = got.get_json()
    assert [p["tracking"] for p in manifest["packages"]] == [a["tracking"], b["tracking"]]

    dock = connect(app, socketio, tokens["packer"])
    # A packer's command: CMD-DOCK, then the carrier card.
    assert action(dock, "dock", "d1")["ok"]
    assert last_state(dock)["state"]["screen"] == "dock_carrier"
    r = scan(dock, "CARRIER-NOPE", "d2")
    assert not r["ok"] and r["code"] == "dock_unknown_carrier"
    r = scan(dock, a["tracking"], "d3")
    assert not r["ok"] and r["code"] == "dock_carrier_first"
    r = scan(dock, "CARRIER-LOCAL", "d4")
    assert r["ok"] and r["state"]["screen"] == "dock_load"
    assert r["state"]["progress"] == {"done": 0, "total": 2}

    # Another carrier's box is refused with where it goes, and nothing changes.
    r = scan(dock, fb["tracking"], "d5")
    assert not r["ok"] and r["code"] == "dock_wrong_carrier"
    assert r["message"] == f"{fb['tracking']} is a FASTBOX package: take it to the FASTBOX dock"
    assert _status(store, fb["order_id"]) == "packed"
    # A misread check digit is told apart from a stranger's barcode.
    t = a["tracking"]
    misread = t[:-1] + str((int(t[-1]) + 1) % 10)
    assert scan(dock, misread, "d6")["code"] == "dock_misread"
    assert scan(dock, "HELLO-WORLD", "d7")["code"] == "dock_unknown"

    # The first local box goes on the truck: its order ships.
    r = scan(dock, a["tracking"], "d8")
    assert r["ok"] and r["code"] == "dock_loaded", r
    assert r["state"]["progress"] == {"done": 1, "total": 2}
    assert _status(store, a["order_id"]) == "shipped"
    # The shop hears of it: order.shipped is queued for its webhook, once.
    shipped = "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event = 'order.shipped'"
    assert store.one(shipped)["n"] == 1
    assert scan(dock, a["tracking"], "d9")["code"] == "dock_already_loaded"
    assert store.one(shipped)["n"] == 1

    # The truck leaves without box b: it is flagged missing, everywhere a supervisor looks.
    assert action(dock, "dock_done", "d10")["ok"]
    settle()
    after = last_state(dock)
    assert after["state"]["screen"] == "pack_start"
    assert "1 MISSING" in after["message"] and b["tracking"] in after["message"]
    assert _status(store, b["order_id"]) == "packed"
    m = client.get(
        f"/api/carriers/local/manifests/{manifest['id']}.json", headers={"X-API-Key": key}
    ).get_json()
    assert m["status"] == "departed" and (m["loaded"], m["missing"]) == (1, 1)
    assert {p["tracking"]: p["state"] for p in m["packages"]} == {
        a["tracking"]: "loaded",
        b["tracking"]: "missing",
    }
    with store.read():
        alerts = board.alerts(store)["missing_packages"]
        counts = board.counts(store)
    assert [x["tracking"] for x in alerts] == [b["tracking"]]
    assert counts["missing_packages"] == 1 and counts["shipped"] == 1
    # The board's queue of what needs a person has it, with the manifest's printable page.
    with store.read():
        (item,) = [i for i in exceptions.queue(store) if i["kind"] == "missing"]
    assert item["key"] == f"missing:{b['id']}:{manifest['id']}"
    assert b["tracking"] in item["title"] and item["order_id"] == b["order_id"]
    assert item["manifest_url"] == f"/board/manifests/{manifest['id']}"
    page = logged_in(app).get(item["manifest_url"])
    assert page.status_code == 200 and b["tracking"] in page.get_data(as_text=True)
    assert logged_in(app, "pia", "picker").get(item["manifest_url"]).status_code == 403
    assert client.get(item["manifest_url"]).status_code == 302  # to /login
    assert logged_in(app).get("/board/manifests/999").status_code == 404
    timeline = client.get(f"/api/orders/{b['order_id']}", headers={"X-API-Key": key}).get_json()
    assert timeline["timeline"][-1]["event"] == "missing_at_handover"

    # Found the next morning: box b goes on the next close-out, and loading it clears the flag.
    again = client.post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    ).get_json()
    assert [p["tracking"] for p in again["packages"]] == [b["tracking"]]
    assert action(dock, "dock", "e1")["ok"]
    scan(dock, "CARRIER-LOCAL", "e2")
    assert scan(dock, b["tracking"], "e3")["code"] == "dock_loaded"
    assert _status(store, b["order_id"]) == "shipped"
    with store.read():
        assert board.counts(store)["missing_packages"] == 0
        assert not [i for i in exceptions.queue(store) if i["kind"] == "missing"]
    dock.disconnect(NS)


def test_a_package_on_no_manifest_is_refused_and_the_bench_must_be_empty(floor, packed):
    app, socketio, store, tokens = floor
    dock = connect(app, socketio, tokens["packer"])
    assert action(dock, "dock", "d1")["ok"]
    r = scan(dock, "CARRIER-LOCAL", "d2")
    assert r["state"]["progress"] == {"done": 0, "total": 0}
    assert "nothing to load" in r["state"]["instruction"]
    r = scan(dock, packed["a"]["tracking"], "d3")  # packed, but no close-out yet
    assert not r["ok"] and r["code"] == "dock_not_manifested"
    # The SSCC on the label names the package too.
    key = auth.create_api_key(store, "sup")
    app.test_client().post(
        "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}, headers={"X-API-Key": key}
    )
    settle()
    assert last_state(dock)["state"]["progress"] == {"done": 0, "total": 2}  # pushed on close-out
    r = scan(dock, "]C100" + packed["a"]["sscc"], "d4")
    assert r["ok"] and r["code"] == "dock_loaded", r
    # A picker is no dock; CMD-DOCK-DONE outside dock mode is refused.
    picker = connect(app, socketio, tokens["picker"])
    assert action(picker, "dock", "p1")["error"]["code"] == "not_a_pack_station"
    assert action(dock, "dock_done", "d5")["ok"]
    assert action(dock, "dock_done", "d6")["error"]["code"] == "not_docking"
    # A station that is receiving books that first.
    assert action(dock, "receive", "r1")["ok"]
    assert action(dock, "dock", "d7")["error"]["code"] == "bench_busy"


def test_a_box_on_the_bench_is_packed_before_the_dock(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-d", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-4", PEN_BIN, PEN]):
        assert scan(picker, code, f"p{i}")["ok"]
    packer = connect(app, socketio, tokens["packer"])
    assert scan(packer, "TOTE-4", "k1")["state"]["screen"] == "pack_verify"
    r = action(packer, "dock", "d1")
    assert r["error"] == {
        "code": "bench_busy",
        "message": "Finish the box on the bench first, then scan CMD-DOCK",
    }
    assert store.one("SELECT dock FROM devices WHERE name = 'packer-e1'")["dock"] is None
