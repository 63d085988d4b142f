"""Boxes and weight on the /device namespace: the suggested box, another box scanned, a package
weighed outside its tolerance held for a check, weighed again, or accepted by a supervisor."""

from __future__ import annotations

import pytest
from floorkit import action, board_web, connect, emit, place, received, scan, states

from server.board import board
from server.config import BoxSettings, PackingSettings, Settings
from server.floor.domain import packing
from server.people import auth

BOXES = [
    BoxSettings(
        code="S", barcode="BOX-S", length_mm=250, width_mm=180, height_mm=100,
        max_weight_g=5000, tare_g=120,
    ),
    BoxSettings(
        code="M", barcode="BOX-M", length_mm=350, width_mm=250, height_mm=150,
        max_weight_g=10000, tare_g=250,
    ),
]  # fmt: skip
PEN = "0012345678905"  # SKU-B, 20 g


@pytest.fixture
def floor_settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        sqlite_synchronous="NORMAL",
        boxes=BOXES,
        packing=PackingSettings(weight_tolerance_g=50, weight_tolerance_pct=5),
    )


def picked(floor, pens: int = 2) -> str:
    """An order of pens, picked into TOTE-3; the pens are 150 x 20 x 20 mm."""
    app, socketio, store, tokens = floor
    store.execute("UPDATE products SET length_mm = 150, width_mm = 20, height_mm = 20")
    oid = place(store, "shop-1", [("SKU-B", pens)])
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(["TOTE-3", "LE-01-01", *[PEN] * pens]):
        assert scan(picker, code, f"p{i}")["ok"]
    return oid


def weigh(client, tracking: str, grams: int | None, msg_id: str) -> dict:
    msg = {"id": msg_id, "barcode": tracking}
    if grams is not None:
        msg["weight_g"] = grams
    return emit(client, "scan", msg)


def held_package(floor):
    """Two pens packed and weighed at 1 kg: the package is held; (order, packer, package id)."""
    app, socketio, store, tokens = floor
    oid = picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    for i, code in enumerate(["TOTE-3", PEN, PEN]):
        r = scan(packer, code, f"k{i}")
    assert weigh(packer, r["state"]["expect"]["barcodes"][0], 1000, "w1")["code"] == "weight_off"
    return oid, packer, store.one("SELECT id FROM packages")["id"]


@pytest.mark.slow  # seconds, not milliseconds: scheduled first (tests/conftest.py)
def test_the_box_is_suggested_and_another_may_be_scanned(floor):
    app, socketio, store, tokens = floor
    picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    r = scan(packer, "TOTE-3", "k1")
    assert r["state"]["box"] == "S" and "Box: S (scan another" in r["state"]["detail"]
    r = scan(packer, "BOX-M", "k2")
    assert r["ok"] and r["code"] == "box_chosen" and r["state"]["box"] == "M"
    assert r["state"]["detail"].startswith("Box M chosen")
    scan(packer, PEN, "k3")
    r = scan(packer, PEN, "k4")
    state = r["state"]
    assert state["screen"] == "pack_label" and state["box"] == "M"
    assert state["expected_weight_g"] == 40 + 250 and state["weight_tolerance_g"] == 50
    pkg = store.one("SELECT box, tare_g, weight_g FROM packages")
    assert pkg == {"box": "M", "tare_g": 250, "weight_g": 290}
    # The label carries the gross weight.
    (label,) = received(packer, "print")
    assert "0.29 KG" in label["zpl"]

    # After the label: another box prints the label again (same tracking) with its tare.
    r = scan(packer, "BOX-S", "k5")
    assert r["ok"] and "label printed again" in r["message"]
    again = received(packer, "print")
    assert len(again) == 1 and again[0]["job_id"] != label["job_id"]
    assert r["state"]["expected_weight_g"] == 40 + 120 and "0.16 KG" in again[0]["zpl"]
    assert store.one("SELECT box, weight_g FROM packages") == {"box": "S", "weight_g": 160}


def test_no_box_fits(floor):
    app, socketio, store, tokens = floor
    picked(floor, pens=1)
    store.execute("UPDATE products SET length_mm = 900 WHERE sku = 'SKU-B'")
    packer = connect(app, socketio, tokens["packer"])
    r = scan(packer, "TOTE-3", "k1")
    assert "box" not in r["state"] and r["state"]["detail"].startswith("No box fits: split")
    # The packer takes an oversize box anyway: it is told why it is wrong, and it counts.
    r = scan(packer, "BOX-M", "k2")
    assert r["ok"] and "larger than box M" in r["message"] and r["state"]["box"] == "M"


def test_a_wrong_weight_holds_the_package_until_weighed_again(floor):
    app, socketio, store, tokens = floor
    oid = picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    for i, code in enumerate(["TOTE-3", PEN, PEN]):
        r = scan(packer, code, f"k{i}")
    tracking = r["state"]["expect"]["barcodes"][0]
    assert r["state"]["expected_weight_g"] == 160  # 2 × 20 g + S's 120 g

    r = weigh(packer, tracking, 1420, "w1")
    assert not r["ok"] and r["code"] == "weight_off"
    assert r["message"] == "Weight 1.42 kg, expected 0.16 kg ± 0.05: check the items"
    state = r["state"]
    assert state["screen"] == "pack_check" and state["measured_weight_g"] == 1420
    assert state["instruction"] == r["message"] and "CMD-WEIGHT-OK" in state["detail"]
    assert state["expect"]["barcodes"] == [tracking]
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "picked"

    key = auth.create_api_key(store, "sup")
    held = app.test_client().get("/api/packages/held", headers={"X-API-Key": key}).get_json()
    (row,) = held["packages"]
    assert row["measured_g"] == 1420 and row["expected_g"] == 160 and row["device"] == "packer-e1"
    assert board.counts(store)["packages_held"] == 1  # the supervisors' board shows it

    # A label scan without a weight does not let it go.
    r = weigh(packer, tracking, None, "w2")
    assert not r["ok"] and r["code"] == "weight_held" and r["state"]["screen"] == "pack_check"
    # Repacked into a bigger box: the hold expects the new weight.
    r = scan(packer, "BOX-M", "w2b")
    assert r["state"]["screen"] == "pack_check"
    assert r["state"]["instruction"] == "Weight 1.42 kg, expected 0.29 kg ± 0.05: check the items"
    r = scan(packer, "BOX-S", "w2c")
    assert r["state"]["instruction"].endswith("expected 0.16 kg ± 0.05: check the items")
    # Still wrong: the hold keeps the newest weight.
    r = weigh(packer, tracking, 900, "w3")
    assert r["code"] == "weight_off" and r["state"]["measured_weight_g"] == 900
    assert store.one("SELECT COUNT(*) AS n FROM package_holds")["n"] == 1
    # Repacked: within 50 g.
    r = weigh(packer, tracking, 190, "w4")
    assert r["ok"] and r["code"] == "label_ok" and r["state"]["screen"] == "pack_start"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    hold = store.one("SELECT released_by, outcome FROM package_holds")
    assert hold == {"released_by": "packer-e1", "outcome": "reweighed"}
    assert board.counts(store)["packages_held"] == 0
    assert store.one("SELECT measured_g FROM packages")["measured_g"] == 190
    assert app.test_client().get("/api/packages/held", headers={"X-API-Key": key}).get_json() == {
        "packages": []
    }


def test_within_tolerance_proceeds_and_no_weight_is_no_check(floor):
    app, socketio, store, tokens = floor
    oid = picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    for i, code in enumerate(["TOTE-3", PEN, PEN]):
        r = scan(packer, code, f"k{i}")
    tracking = r["state"]["expect"]["barcodes"][0]
    r = weigh(packer, tracking, 205, "w1")  # 160 + 45
    assert r["ok"] and r["code"] == "label_ok"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    assert store.one("SELECT COUNT(*) AS n FROM package_holds")["n"] == 0


def test_a_supervisor_card_accepts_the_weight(floor):
    app, socketio, store, tokens = floor
    oid = picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    r = action(packer, "weight_ok", "a0")
    assert not r["ok"] and r["error"]["code"] == "not_held"
    for i, code in enumerate(["TOTE-3", PEN, PEN]):
        r = scan(packer, code, f"k{i}")
    tracking = r["state"]["expect"]["barcodes"][0]
    weigh(packer, tracking, 1000, "w1")
    states(packer)
    r = action(packer, "weight_ok", "a1")
    assert r["ok"]
    last = states(packer)[-1]
    assert last["state"]["screen"] == "pack_start" and "accepted" in last["message"]
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    hold = store.one("SELECT released_by, outcome FROM package_holds")
    assert hold == {"released_by": "packer-e1", "outcome": "accepted"}


def test_rest_release(floor):
    app, socketio, store, tokens = floor
    oid, packer, package_id = held_package(floor)
    key = auth.create_api_key(store, "sup")
    client = app.test_client()
    headers = {"X-API-Key": key}
    assert client.post("/api/packages/999/release", headers=headers).status_code == 404
    states(packer)
    got = client.post(f"/api/packages/{package_id}/release", headers=headers)
    assert got.status_code == 200, got.get_json()
    assert got.get_json() == {
        "package_id": package_id,
        "status": "confirmed",
        "order_status": "packed",
        "device": "packer-e1",
    }
    assert states(packer)[-1]["state"]["screen"] == "pack_start"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    assert store.one("SELECT released_by FROM package_holds")["released_by"] == "api:sup"
    again = client.post(f"/api/packages/{package_id}/release", headers=headers)
    assert again.status_code == 409


def test_every_packing_screen_change_is_declared(floor):
    app, socketio, store, tokens = floor
    picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    before = states(packer)[-1]["state"]["screen"]
    seen = []
    tracking = None
    # Scans, and label scans (a tuple: the scale's weight, None without one).
    steps = ["TOTE-3", "BOX-M", PEN, "BOX-S", PEN, "BOX-M", (1000,), "BOX-S", (None,), (1000,)]
    steps += [(170,)]  # box S: 40 g of pens + 120 g
    for i, step in enumerate(steps):
        if isinstance(step, tuple):
            r = weigh(packer, tracking, step[0], f"t{i}")
        else:
            r = scan(packer, step, f"t{i}")
        after = r["state"]["screen"]
        assert after in packing.TRANSITIONS[before], (step, before, after)
        seen.append(after)
        if after in ("pack_label", "pack_check"):
            tracking = r["state"]["expect"]["barcodes"][0]
        before = after
    assert {"pack_verify", "pack_label", "pack_check", "pack_start"} <= set(seen)


def test_another_box_after_the_label_rates_the_package_again(floor):
    """The heavier box crosses the carrier's weight band: same carrier, service and tracking,
    a new rate, and the carrier's own label printed again."""
    app, socketio, store, tokens = floor
    picked(floor)
    packer = connect(app, socketio, tokens["packer"])
    scan(packer, "TOTE-3", "k1")
    scan(packer, PEN, "k2")
    r = scan(packer, PEN, "k3")
    assert r["state"]["screen"] == "pack_label"
    before = store.one(
        "SELECT tracking, carrier, service, rate_cents, zone, weight_g FROM packages"
    )
    assert before["weight_g"] == 40 + 120  # box S, in the local carrier's first band (500 g)
    store.execute("UPDATE products SET weight_g = 200 WHERE sku = 'SKU-B'")  # 400 g + M's 250
    r = scan(packer, "BOX-M", "k4")
    assert r["ok"] and "label printed again" in r["message"]
    after = store.one("SELECT tracking, carrier, service, rate_cents, zone, weight_g FROM packages")
    assert after["weight_g"] == 650
    same = ("tracking", "carrier", "service", "zone")
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    assert before["carrier"] == "local" and after["rate_cents"] > before["rate_cents"]
    (label,) = received(packer, "print")[-1:]
    assert "SCANFLOOR LOCAL" in label["zpl"] and "0.65 KG" in label["zpl"]


def test_the_board_queues_a_held_package_and_a_supervisor_accepts_it(floor):
    """A held package is an item of the board's queue; accepting it from the board confirms
    it, frees the bench, leaves the queue and writes an audit row; refusals change nothing."""
    app, socketio, store, tokens = floor
    oid, packer, package_id = held_package(floor)
    web = board_web(app, "sam")
    queue = web.get("/board/api/exceptions").get_json()
    [held] = [i for i in queue if i["kind"] == "held"]
    assert held["key"] == f"held:{package_id}" and held["order_id"] == oid
    assert held["detail"].startswith("weighed 1.00 kg, expected 0.16 kg ± 0.05")
    assert web.post("/board/api/packages/999/accept-weight").status_code == 404
    states(packer)
    got = web.post(f"/board/api/packages/{package_id}/accept-weight")
    assert got.status_code == 200, got.get_json()
    assert states(packer)[-1]["state"]["screen"] == "pack_start"
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "packed"
    assert not [i for i in web.get("/board/api/exceptions").get_json() if i["kind"] == "held"]
    assert store.one("SELECT actor, action, target FROM audit_log ORDER BY id DESC LIMIT 1") == {
        "actor": "sam", "action": "accept weight", "target": f"package:{package_id}",
    }  # fmt: skip
    again = web.post(f"/board/api/packages/{package_id}/accept-weight")
    assert again.status_code == 409 and "not held" in again.get_json()["error"]
    assert store.one("SELECT COUNT(*) AS n FROM audit_log")["n"] == 1
