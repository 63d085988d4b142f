"""Workers sign in on a handheld with their badge; every scan and action names them."""

from __future__ import annotations

import pytest
from floorkit import BOARD_PASSWORD, action, connect, emit, place, scan

from server.floor import scanning
from server.people import users


@pytest.fixture
def people(floor):
    for name, role in [
        ("pia", "picker"),
        ("pete", "picker"),
        ("pat", "packer"),
        ("sam", "supervisor"),
    ]:
        users.add(floor.store, name, role, BOARD_PASSWORD)
    return floor


def _worker(store, device: str = "picker-e1") -> str | None:
    return store.one("SELECT worker FROM devices WHERE name = ?", (device,))["worker"]


def test_a_badge_signs_the_worker_in_and_the_scans_name_them(people):
    app, socketio, store, tokens = people
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    before = scan(picker, "TOTE-5", "s1")
    assert before["ok"]
    signed = scan(picker, "BADGE-pia", "s2")
    assert signed["ok"] and signed["code"] == "signed_in" and signed["message"] == "Signed in: pia"
    assert _worker(store) == "pia"
    scan(picker, "LE-01-01", "s3")
    # A new badge replaces the worker.
    assert scan(picker, "BADGE-pete", "s4")["message"] == "Signed in: pete"
    scan(picker, "WRONG", "s5")
    action(picker, "help", "a1")
    rows = store.all("SELECT msg_id, worker FROM scans ORDER BY id")
    assert [(r["msg_id"], r["worker"]) for r in rows] == [
        ("s1", None), ("s2", "pia"), ("s3", "pia"), ("s4", "pete"), ("s5", "pete"),
    ]  # fmt: skip
    assert store.one("SELECT worker FROM device_actions WHERE msg_id = 'a1'")["worker"] == "pete"
    # CMD-LOGOUT signs the worker out; the logout itself is theirs.
    action(picker, "logout", "a2")
    assert _worker(store) is None
    assert store.one("SELECT worker FROM device_actions WHERE msg_id = 'a2'")["worker"] == "pete"


def test_a_wrong_badge_is_refused_and_changes_nothing(people):
    app, socketio, store, tokens = people
    picker = connect(app, socketio, tokens["picker"])
    packer = connect(app, socketio, tokens["packer"])
    unknown = scan(picker, "BADGE-nobody", "b1")
    assert not unknown["ok"] and unknown["code"] == "unknown_badge"
    wrong_role = scan(picker, "BADGE-pat", "b2")
    assert not wrong_role["ok"] and wrong_role["code"] == "badge_wrong_role"
    assert "pat is a packer" in wrong_role["message"]
    assert _worker(store) is None
    assert scan(packer, "BADGE-pat", "b3")["ok"]
    assert scan(picker, "BADGE-sam", "b4")["ok"]  # a supervisor may work any device
    assert (_worker(store), _worker(store, "packer-e1")) == ("sam", "pat")


def test_offline_scans_after_a_badge_are_that_workers_when_replayed(people):
    app, socketio, store, tokens = people
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    list_id = store.one("SELECT id FROM pick_lists")["id"]
    assert scan(picker, "BADGE-pia", "on-1")["ok"]
    # In a dead zone pete takes over: his badge and his scans are journalled and replayed
    # later, in order; each is judged as the device it was made on stood then.
    journal = ["BADGE-pete", "TOTE-5", "LE-01-01"]
    for seq, barcode in enumerate(journal, start=2):
        msg = {
            "id": f"off-{seq}", "barcode": barcode, "seq": seq, "at": 1700000000.0 + seq,
            "offline": True, "local": {"ok": True, "code": "queued"}, "pick_list_id": list_id,
        }  # fmt: skip
        emit(picker, "scan", msg)
    rows = store.all("SELECT barcode, worker, offline FROM scans ORDER BY id")
    assert [(r["barcode"], r["worker"]) for r in rows] == [
        ("BADGE-pia", "pia"), ("BADGE-pete", "pete"), ("TOTE-5", "pete"), ("LE-01-01", "pete"),
    ]  # fmt: skip


def test_with_require_badge_nothing_but_a_badge_is_taken_until_one_is_scanned(people, monkeypatch):
    app, socketio, store, tokens = people
    monkeypatch.setitem(scanning.REQUIRE_BADGE, "on", True)
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    refused = scan(picker, "TOTE-5", "r1")
    assert not refused["ok"] and refused["code"] == "sign_in_first"
    assert store.one("SELECT tote FROM pick_list_totes LIMIT 1") in (None, {"tote": None})
    assert scan(picker, "BADGE-pia", "r2")["ok"]
    assert scan(picker, "TOTE-5", "r3")["ok"]
