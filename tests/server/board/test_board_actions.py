"""The board's actions under /board/api: each does its job, writes one audit row, and refuses
bad input with a clear 4xx that changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from floorkit import (
    action,
    connect,
    csrf_from,
    expire_leases,
    logged_in,
    place,
    scan,
    settle,
    states,
)

from server.board import board, exceptions
from server.people import auth

API = "/board/api"


@pytest.fixture
def floor_settings(floor_settings):
    floor_settings.device.lease_seconds = 3600  # the background check must not interfere
    return floor_settings


def _audit(store) -> list[dict]:
    return store.all("SELECT actor, action, target, detail FROM audit_log ORDER BY id")


def _refused(web, store, url: str, body, status: int, words: str) -> None:
    """A refusal: the status, a sentence naming the problem, and nothing changed."""
    before = store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id")
    orders = store.all("SELECT id, status, priority FROM orders ORDER BY id")
    r = (
        web.post(url, json=body)
        if body is not None
        else web.post(url, data="[1", content_type="application/json")
    )
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["error"]
    assert store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id") == before
    assert store.all("SELECT id, status, priority FROM orders ORDER BY id") == orders
    assert _audit(store) == []


def test_reassign_moves_the_list_and_both_screens_follow(floor, web):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    first = connect(app, socketio, tokens["picker"])
    assert scan(first, "TOTE-1", "a")["ok"]
    other = auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    second = connect(app, socketio, other)
    assert states(second)[-1]["state"]["screen"] == "idle"
    states(first)

    r = web.post(f"{API}/lists/1/reassign", json={"device": "picker-e2"})
    assert r.status_code == 200, r.get_json()
    settle()
    row = store.one(
        "SELECT d.name, p.status, p.cart_away FROM pick_lists p JOIN devices d ON d.id = p.device_id WHERE p.id = 1"
    )
    assert row == {"name": "picker-e2", "status": "assigned", "cart_away": 1}
    got = states(second)[-1]
    assert got["state"]["pick_list_id"] == 1 and "PL-000001" in got["message"]
    assert got["state"]["fetch_cart"]  # the tote is on the first picker's cart
    left = states(first)[-1]
    assert left["state"]["screen"] == "idle" and "moved to picker-e2" in left["message"]
    assert _audit(store) == [
        {"actor": "sam", "action": "reassign", "target": "PL-000001",
         "detail": '{"from": "picker-e1", "to": "picker-e2"}'}
    ]  # fmt: skip


def test_reassign_refusals(floor, web):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    place(store, "shop-2", [("SKU-A", 1)])
    connect(app, socketio, tokens["picker"])  # takes PL-000001
    auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    _refused(web, store, f"{API}/lists/1/reassign", {"device": "nobody"}, 404, "no device nobody")
    _refused(
        web,
        store,
        f"{API}/lists/99/reassign",
        {"device": "picker-e1"},
        404,
        "no pick list PL-000099",
    )
    _refused(
        web,
        store,
        f"{API}/lists/1/reassign",
        {"device": "packer-e1"},
        409,
        "not a picker in WH-EAST",
    )
    _refused(
        web,
        store,
        f"{API}/lists/1/reassign",
        {"device": "picker-w1"},
        409,
        "not a picker in WH-EAST",
    )
    _refused(
        web, store, f"{API}/lists/1/reassign", {"device": "picker-e1"}, 409, "already on picker-e1"
    )
    _refused(
        web,
        store,
        f"{API}/lists/2/reassign",
        {"device": "picker-e1"},
        409,
        "already has a pick list",
    )
    _refused(web, store, f"{API}/lists/1/reassign", {}, 400, "device is required")
    _refused(web, store, f"{API}/lists/1/reassign", {"device": 7}, 400, "device must be text")
    _refused(web, store, f"{API}/lists/1/reassign", None, 400, "JSON object")


def test_release_puts_the_list_back_in_the_queue(floor, web):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    _refused(web, store, f"{API}/lists/7/release", {}, 404, "no pick list")
    r = web.post(f"{API}/lists/1/release")
    assert r.status_code == 200
    settle()
    # Not handed straight back to the picker it was taken from.
    row = store.one("SELECT status, device_id FROM pick_lists WHERE id = 1")
    assert row == {"status": "open", "device_id": None}
    last = states(picker)[-1]
    assert "went back to the queue" in last["message"] and last["state"]["screen"] == "idle"
    assert [a["action"] for a in _audit(store)] == ["release"]
    r = web.post(f"{API}/lists/1/release")
    assert r.status_code == 409 and "is open, not on a picker" in r.get_json()["error"]
    # Released with another picker idle: that one takes it at once.
    holder = "SELECT d.name FROM pick_lists p JOIN devices d ON d.id = p.device_id WHERE p.id = 1"
    other = connect(app, socketio, auth.create_device(store, "picker-e2", "picker", "WH-EAST"))
    assert store.one(holder)["name"] == "picker-e2"
    states(other)
    assert web.post(f"{API}/lists/1/release").status_code == 200
    settle()
    assert store.one(holder)["name"] == "picker-e1"
    assert states(picker)[-1]["state"]["pick_list_id"] == 1
    assert states(other)[-1]["state"]["screen"] == "idle"


def test_reprioritise_sets_the_order_and_its_lists(floor, web):
    _, _, store, _ = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    # Not a whole number: a bad body (400); a whole number out of 0..9: a value out of range
    # (422), as docs/protocol.md's board actions say.
    for bad, status, words in (
        (10, 422, "0 to 9"),
        (-1, 422, "0 to 9"),
        ("5", 400, "whole number"),
        (True, 400, "whole number"),
        (None, 400, "whole number"),
    ):
        _refused(web, store, f"{API}/orders/{oid}/priority", {"priority": bad}, status, words)
    _refused(web, store, f"{API}/orders/SO-404/priority", {"priority": 3}, 404, "no order SO-404")
    r = web.post(f"{API}/orders/shop-1/priority", json={"priority": 7})  # the shop's id works too
    assert r.status_code == 200
    assert store.one("SELECT priority FROM orders WHERE id = ?", (oid,))["priority"] == 7
    assert store.one("SELECT priority FROM pick_lists WHERE id = 1")["priority"] == 7
    assert _audit(store)[0]["detail"] == '{"from": 0, "to": 7}'


def test_cancel_goes_through_the_cancel_use_case(floor, web):
    _, _, store, _ = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    _refused(web, store, f"{API}/orders/SO-404/cancel", {"reason": "x"}, 404, "no order")
    _refused(
        web, store, f"{API}/orders/{oid}/cancel", {"reason": ["x"]}, 400, "reason must be text"
    )
    r = web.post(f"{API}/orders/{oid}/cancel", json={"reason": "customer called"})
    assert r.status_code == 200 and r.get_json()["released"] == 2
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "cancelled"
    r = web.post(f"{API}/orders/{oid}/cancel", json={})
    assert r.status_code == 409 and "already cancelled" in r.get_json()["error"]
    assert [a["action"] for a in _audit(store)] == ["cancel"]


def test_reprint_queues_the_label_again(floor, web):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    with store.write():
        pkg = store.execute(
            "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, zpl, "
            "created_at) VALUES ('SO-000001', 1, '006141410000000012', 'SF0000000010', 1, "
            "'labelled', '^XA^XZ', '2026-01-01')"
        ).lastrowid
    _refused(web, store, f"{API}/packages/{pkg}/reprint", {}, 409, "no pack station")
    _refused(
        web, store, f"{API}/packages/999/reprint", {"device": "packer-e1"}, 404, "no package 999"
    )
    _refused(
        web, store, f"{API}/packages/{pkg}/reprint", {"device": "ghost"}, 404, "no device ghost"
    )
    packer = connect(app, socketio, tokens["packer"])
    packer.get_received("/device")
    r = web.post(f"{API}/packages/{pkg}/reprint", json={"device": "packer-e1"})
    assert r.status_code == 200 and r.get_json()["device"] == "packer-e1"
    settle()
    assert [e["name"] for e in packer.get_received("/device")].count("print") == 1
    assert _audit(store)[0]["target"] == f"package:{pkg}"


def test_help_with_a_reason_is_acknowledged_then_resolved(floor, web):
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    assert action(picker, "help", "h1", reason="no_stock")["ok"]
    bad = action(picker, "help", "h2", reason="missing")  # a short's reason, not a help's
    assert not bad["ok"] and bad["error"]["code"] == "bad_message"
    assert "does not go with action 'help'" in bad["error"]["message"]
    with store.read():
        items = [i for i in exceptions.queue(store) if i["kind"] == "help"]
    assert len(items) == 1 and items[0]["title"] == "Help: no stock"
    key = items[0]["key"]
    _refused(
        web, store, f"{API}/exceptions/help:999/acknowledge", {}, 404, "nothing to acknowledge"
    )
    assert web.post(f"{API}/exceptions/{key}/acknowledge").status_code == 200
    with store.read():
        assert [i["acknowledged"] for i in exceptions.queue(store) if i["key"] == key] == [True]
    r = web.post(f"{API}/exceptions/{key}/acknowledge")
    assert r.status_code == 409 and "already acknowledged" in r.get_json()["error"]
    assert web.post(f"{API}/exceptions/{key}/resolve").status_code == 200
    with store.read():
        assert key not in exceptions.keys(store)
    r = web.post(f"{API}/exceptions/{key}/resolve")
    assert r.status_code == 404
    # A resolved item has left the queue: acknowledging it is a 404 too (docs/protocol.md).
    r = web.post(f"{API}/exceptions/{key}/acknowledge")
    assert r.status_code == 404 and "nothing to acknowledge" in r.get_json()["error"]
    assert [a["action"] for a in _audit(store)] == ["acknowledge", "resolve"]


def test_the_queue_holds_every_kind_with_stable_ids(floor, web):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    for i in range(3):
        assert not scan(picker, f"NOPE-{i}", f"w{i}")["ok"]
    with store.write():
        store.execute("UPDATE orders SET status = 'backordered' WHERE id = 'SO-000001'")
        store.execute(
            "INSERT INTO count_tasks (location_id, sku, reason, created_at) "
            "SELECT id, 'SKU-B', 'short_pick', '2026-01-01' FROM locations WHERE code = 'E-01-01'"
        )
    with store.read():
        first = exceptions.queue(store)
        again = exceptions.queue(store)
    kinds = {i["kind"] for i in first}
    assert {"wrong_scans", "backorder", "count"} <= kinds
    assert [i["key"] for i in first] == [i["key"] for i in again]
    wrong = next(i for i in first if i["kind"] == "wrong_scans")
    assert wrong["title"] == "3 wrong scans in a row" and wrong["device"] == "picker-e1"
    # A good scan ends the streak.
    assert scan(picker, "TOTE-1", "ok1")["ok"]
    with store.read():
        assert "wrong_scans" not in {i["kind"] for i in exceptions.queue(store)}
    # A picker silent past its lease gives its list back: that is in the queue too.
    picker.disconnect("/device")
    settle()
    store.execute(
        "UPDATE devices SET last_seen = '2000-01-01T00:00:00+00:00' WHERE name = 'picker-e1'"
    )
    assert expire_leases(floor, 60) == 1
    with store.read():
        (lease,) = [i for i in exceptions.queue(store) if i["kind"] == "lease"]
    assert lease["pick_list"] == "PL-000001" and lease["device"] == "picker-e1"
    assert lease["key"].startswith("lease:")


def test_audit_view_and_csv_export(floor, web):
    _, _, store, _ = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    web.post(f"{API}/orders/{oid}/priority", json={"priority": 2})
    web.post(f"{API}/orders/{oid}/priority", json={"priority": 4})
    rows = web.get(f"{API}/audit").get_json()
    assert [r["detail"]["to"] for r in rows] == [4, 2]  # newest first
    r = web.get(f"{API}/audit.csv")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    got = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [(g["actor"], g["action"], g["target"]) for g in got] == [
        ("sam", "reprioritise", oid), ("sam", "reprioritise", oid)
    ]  # fmt: skip


def test_order_view_and_throughput(floor, web):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate(("TOTE-1", "LE-01-01", "0012345678905")):
        assert scan(picker, code, f"s{i}")["ok"], code
    view = web.get(f"{API}/orders/shop-1").get_json()
    assert view["order"]["id"] == oid
    assert [e["event"] for e in view["timeline"]][:2] == ["received", "allocated"]
    assert [s["barcode"] for s in view["scans"]] == ["TOTE-1", "LE-01-01", "0012345678905"]
    assert view["scans"][0]["device"] == "picker-e1" and view["scans"][0]["at"]
    assert web.get(f"{API}/orders/nope").status_code == 404
    tp = web.get(f"{API}/throughput").get_json()
    # The work began just now: the axis spans the last hour in 5-minute steps, not 12 hours.
    assert tp["bucket_minutes"] == 5 and len(tp["hours"]) == 12
    assert sum(tp["picks_per_worker"]["picker-e1"]) == 1
    assert tp["picks_per_worker"]["picker-e1"][-1] == 1


def test_board_rows_carry_state_promise_and_device_figures(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 2)])
    with store.write():
        store.execute("UPDATE orders SET promised_by = '2026-01-01T10:00:00+00:00'")
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "a")
    snap = board.snapshot(store)
    (pl,) = snap["pick_lists"]
    assert pl["state"] == "picking" and pl["promised_by"] == "2026-01-01T10:00:00+00:00"
    assert pl["skus"] == ["SKU-B"] and pl["totes"] == ["TOTE-1"]
    dev = next(d for d in snap["devices"] if d["name"] == "picker-e1")
    assert dev["scans_hour"] == 1 and dev["last_scan_at"] and dev["step"].startswith("E-01-01")
    packer = next(d for d in snap["devices"] if d["name"] == "packer-e1")
    assert packer["printer"] == {"state": "idle", "error": None}


def test_the_page_carries_its_at_risk_setting_and_csrf_meta(floor_settings, floor_store):
    from server.app import create_app

    floor_settings.board.at_risk_minutes = 45
    app, _ = create_app(floor_settings)
    page = logged_in(app).get("/board").get_data(as_text=True)
    assert 'data-at-risk-minutes="45"' in page
    assert '<meta name="csrf-token"' in page


def test_a_device_says_at_connect_how_many_scans_it_still_holds(floor):
    app, socketio, store, tokens = floor
    client = socketio.test_client(
        app, namespace="/device",
        auth={"token": tokens["picker"], "last_seen_seq": 0, "journal_seq": 3},
    )  # fmt: skip
    assert client.is_connected("/device")
    settle()

    def queued() -> int:
        snap = board.snapshot(store)
        return next(d for d in snap["devices"] if d["name"] == "picker-e1")["queued_scans"]

    assert queued() == 3
    for seq in (1, 2):  # the replay: each scan sent is one fewer held
        client.emit(
            "scan", {"id": f"q{seq}", "barcode": "TOTE-1", "seq": seq, "offline": True},
            namespace="/device", callback=True,
        )  # fmt: skip
        assert queued() == 3 - seq


def test_the_board_shows_the_software_a_device_said_it_runs_at_its_last_connect(floor):
    """docs/protocol.md, connect: `device_version` is kept for the board (`software`); a
    connect without it leaves the last one said."""
    app, socketio, store, tokens = floor

    def software() -> str | None:
        snap = board.snapshot(store)
        return next(d for d in snap["devices"] if d["name"] == "picker-e1")["software"]

    assert software() is None  # never said
    for said, shown in [
        ({"device_version": "0.1.0"}, "0.1.0"),
        ({"device_version": "0.2.0-rc1"}, "0.2.0-rc1"),
        ({}, "0.2.0-rc1"),  # an older device says nothing: the last one said stays
    ]:
        client = socketio.test_client(
            app, namespace="/device", auth={"token": tokens["picker"], **said}
        )
        assert client.is_connected("/device")
        settle()
        assert software() == shown
        client.disconnect(namespace="/device")
        settle()


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(floor, web):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    assert scan(picker, "TOTE-1", "a")["ok"]
    before = store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id")
    orders = store.all("SELECT id, status, priority FROM orders ORDER BY id")
    bare = logged_in(app, "sam")  # the same supervisor's session, but no X-CSRFToken
    for url, body in [
        (f"{API}/lists/1/release", {}),
        (f"{API}/orders/{oid}/priority", {"priority": 9}),
        (f"{API}/orders/{oid}/cancel", {"reason": "forged"}),
    ]:
        r = bare.post(url, json=body)
        assert r.status_code == 400, (url, r.get_json())
        assert (
            r.get_json()["error"] == "csrf" and "CSRF token is missing" in r.get_json()["message"]
        )
        wrong = bare.post(url, json=body, headers={"X-CSRFToken": "not-the-token"})
        assert wrong.status_code == 400 and wrong.get_json()["error"] == "csrf", url
    assert store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id") == before
    assert store.all("SELECT id, status, priority FROM orders ORDER BY id") == orders
    assert _audit(store) == []
    # The same request with the page's token goes through.
    assert web.post(f"{API}/orders/{oid}/priority", json={"priority": 9}).status_code == 200
    assert [a["actor"] for a in _audit(store)] == ["sam"]


def test_a_pickers_session_is_forbidden_every_board_route(floor):
    app, _, store, _ = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    pia = logged_in(app, "pia", "picker")
    page = pia.get("/board")
    assert page.status_code == 403
    token = csrf_from(page.get_data(as_text=True))  # her own valid token: CSRF is not the bar
    gets = [
        "/exceptions", "/audit", "/audit.csv", "/throughput", "/orders/shop-1", "/cutoffs", "/counts",
        "/cycle-counts", "/lists", "/packages/1/label.png", "/transfers", "/search?q=shop-1",
        "/replenishment-moves", "/forecast", "/forecast.csv",
    ]  # fmt: skip
    posts = [
        "/lists/1/reassign", "/lists/1/release", f"/orders/{oid}/priority",
        f"/orders/{oid}/cancel", f"/orders/{oid}/return", "/packages/1/reprint",
        "/packages/1/accept-weight",
        "/exceptions/help:1/acknowledge", "/exceptions/help:1/resolve",
        "/counts/1/approve", "/counts/1/reject", f"/orders/{oid}/address",
        "/packages/1/reship", "/mails/1/resend", "/transfers/TR-000001/cancel",
        "/transfers/TR-000001/over", "/forecast/policies/sku/SKU-B",
        "/forecast/policies/class/A/clear",
    ]  # fmt: skip
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(API)}
    # acknowledge/resolve share one rule, approve/reject another (a SKU's and a class's
    # policy share theirs)
    assert len(rules) == len(gets) + len(posts) - 2, rules
    before = store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id")
    for path in gets:
        r = pia.get(API + path)
        assert r.status_code == 403, path
        assert r.get_json() == {"error": "forbidden", "message": "pia (picker) may not open this"}
    for path in posts:
        r = pia.post(API + path, json={"device": "picker-e1", "priority": 1, "reason": "x"},
                     headers={"X-CSRFToken": token})  # fmt: skip
        assert r.status_code == 403, (path, r.get_json())
        assert r.get_json()["error"] == "forbidden"
    stranger = app.test_client().get(f"{API}/audit")
    assert stranger.status_code == 401 and stranger.get_json()["error"] == "unauthorized"
    assert store.all("SELECT id, status, device_id, priority FROM pick_lists ORDER BY id") == before
    assert _audit(store) == []
