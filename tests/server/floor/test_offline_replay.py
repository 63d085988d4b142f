"""Offline scans replayed to the server: order, audit trail, a changed world, worker actions."""

from __future__ import annotations

from floorkit import connect, emit, place


def send(client, barcode: str, seq: int, **extra) -> dict:
    msg = {"id": f"s-{seq}", "barcode": barcode, "seq": seq, "at": 1700000000.0 + seq, **extra}
    return emit(client, "scan", msg)


def offline(ok: bool, code: str, list_id: int | None) -> dict:
    return {"offline": True, "local": {"ok": ok, "code": code}, "pick_list_id": list_id}


def test_offline_scans_are_judged_again_and_kept_in_the_audit(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    list_id = store.one("SELECT id FROM pick_lists")["id"]
    walk = [
        ("TOTE-5", True, "tote_ok"),
        ("LE-02-02", False, "wrong_location"),
        ("LE-01-01", True, "location_ok"),
        ("0012345678905", True, "list_done"),
    ]
    for seq, (code, ok, verdict) in enumerate(walk, start=1):
        r = send(picker, code, seq, **offline(ok, verdict, list_id))
        assert (r["ok"], r["code"]) == (ok, verdict)
        assert (
            r["event_seq"]
            == store.one("SELECT out_seq FROM devices WHERE name = 'picker-e1'")["out_seq"]
        )
    rows = store.all(
        "SELECT msg_id, device_seq, offline, local_ok, local_code, code, scanned_at FROM scans ORDER BY id"
    )
    assert [r["device_seq"] for r in rows] == [1, 2, 3, 4]
    assert all(r["offline"] == 1 and r["local_code"] == r["code"] for r in rows)
    assert [r["scanned_at"] for r in rows] == [1700000001.0 + i for i in range(4)]
    assert store.one("SELECT status FROM pick_lists WHERE id = ?", (list_id,))["status"] == "picked"
    assert store.one("SELECT scan_seq FROM devices WHERE name = 'picker-e1'")["scan_seq"] == 4


def test_a_list_taken_away_while_offline_does_not_count(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    list_id = store.one("SELECT id FROM pick_lists")["id"]
    assert send(picker, "TOTE-5", 1)["ok"]
    # A supervisor gives the list back to the pool while the handheld is in a dead zone.
    with store.write():
        store.execute("UPDATE pick_lists SET status = 'open', device_id = NULL")
    r = send(picker, "LE-01-01", 2, **offline(True, "location_ok", list_id))
    assert not r["ok"] and r["code"] == "list_changed" and "PL-" in r["message"]
    assert store.one("SELECT SUM(at_location) AS n FROM pick_steps")["n"] == 0
    audit = store.one("SELECT offline, ok, local_ok, pick_list_id FROM scans WHERE msg_id = 's-2'")
    assert audit == {"offline": 1, "ok": 0, "local_ok": 1, "pick_list_id": list_id}


def test_stock_corrected_while_offline_the_server_wins(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    list_id = store.one("SELECT id FROM pick_lists")["id"]
    for seq, code in enumerate(["TOTE-5", "LE-01-01", "0012345678905"], start=1):
        assert send(picker, code, seq)["ok"]
    with store.write():  # only one was there after all: the step shrinks to what was picked
        store.execute("UPDATE pick_steps SET qty = 1")
    r = send(picker, "0012345678905", 4, **offline(True, "list_done", list_id))
    # The device said "list done"; the server has nothing left to pick: its verdict stands.
    assert not r["ok"] and r["code"] == "nothing_to_scan"
    assert store.one("SELECT picked FROM pick_steps")["picked"] == 1
    audit = store.one("SELECT ok, code, local_ok, local_code FROM scans WHERE msg_id = 's-4'")
    assert audit == {"ok": 0, "code": "nothing_to_scan", "local_ok": 1, "local_code": "list_done"}


def test_a_late_seq_with_a_new_id_is_still_judged(floor, caplog):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    assert send(picker, "TOTE-5", 7)["ok"]
    r = emit(picker, "scan", {"id": "late", "barcode": "LE-01-01", "seq": 3})
    assert r["ok"] and r["code"] == "location_ok"
    assert "at or below 7 already applied" in caplog.text
    assert store.one("SELECT scan_seq FROM devices WHERE name = 'picker-e1'")["scan_seq"] == 7
    assert store.one("SELECT device_seq FROM scans WHERE msg_id = 'late'")["device_seq"] == 3


def test_actions_are_recorded_once_and_a_short_away_from_a_bin_is_refused(floor):
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    help_msg = {"id": "a-1", "action": "help", "seq": 1, "at": 1700000000.5}
    assert emit(picker, "action", help_msg) == {
        "id": "a-1",
        "ok": True,
        "error": None,
    }
    assert emit(picker, "action", help_msg)["ok"]
    short = emit(picker, "action", {"id": "a-2", "action": "short"})
    assert short["ok"] is False and short["error"]["code"] == "not_short"
    bad = emit(picker, "action", {"id": "a-3", "action": "dance"})
    assert bad["error"]["code"] == "bad_message"
    rows = store.all("SELECT action, ok, code, offline FROM device_actions ORDER BY id")
    assert rows == [
        {"action": "help", "ok": 1, "code": "ok", "offline": 0},
        {"action": "short", "ok": 0, "code": "not_short", "offline": 0},
    ]


def test_a_verdict_the_device_gave_before_a_late_answer_reaches_the_audit(floor):
    """Slow link: the first send was applied, then the device judged it and sent it again."""
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    list_id = store.one("SELECT id FROM pick_lists")["id"]
    first = send(picker, "TOTE-5", 1)  # its answer reaches the device late
    again = send(picker, "TOTE-5", 1, **offline(True, "tote_ok", list_id))
    assert again["duplicate"] and again["code"] == first["code"] == "tote_ok"
    audit = "SELECT offline, ok, code, local_ok, local_code FROM scans WHERE msg_id = 's-1'"
    want = {"offline": 1, "ok": 1, "code": "tote_ok", "local_ok": 1, "local_code": "tote_ok"}
    assert store.one(audit) == want
    assert store.one("SELECT COUNT(*) AS n FROM scans")["n"] == 1  # still counted once
    # The verdict is recorded once: a later resend does not rewrite what the worker saw.
    send(picker, "TOTE-5", 1, **offline(False, "tote_in_use", list_id))
    assert store.one(audit) == want
