"""Returns at the dock on an in-process handheld: the parcel's label, each unit graded, a bin for
the resellable one, the return closed; grading applied exactly once; the shop's webhook and the
customer's mail go out to real loopback receivers."""

from __future__ import annotations

import time

import pytest
from floorkit import action, connect, last_state, scan
from mailkit import EMAIL
from shopkit import Receiver
from standardwebhooks import Webhook
from trackkit import ship

from scripts.mail_sink import MailSink
from server.config import EmailSettings, WebhookSettings
from server.floor.screens import current_state
from server.inventory import stock
from server.notify import webhooks
from server.notify.delivery import Deliverer
from server.notify.mailer import Mailer
from server.returns import receiving, rmas

SKU_B = "0012345678905"  # Red pen: 10 in E-01-01 before the order ships
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def sink():
    with MailSink() as s:
        yield s


@pytest.fixture
def floor_settings(floor_settings, sink):
    floor_settings.email = EmailSettings(
        enabled=True, host="127.0.0.1", port=sink.port, starttls=False,
        sender="orders@shop.example.com", shop_name="Hopper Supplies",
        public_base_url="https://track.example.com",
    )  # fmt: skip
    floor_settings.webhooks.allowed_hosts = ["127.0.0.1"]
    return floor_settings


def _on_hand(store, location="E-01-01", sku="SKU-B") -> int:
    return store.one(
        "SELECT on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ?",
        (location, sku),
    )["on_hand"]


def _shipped_with_email(store, ref: str, units: int) -> tuple[str, list[str]]:
    oid, trackings = ship(store, ref, packages=units)
    with store.write():
        store.execute("UPDATE orders SET email = ? WHERE id = ?", (EMAIL, oid))
    return oid, trackings


def test_a_return_is_received_by_its_label_graded_put_away_and_scrapped(floor):
    app, socketio, store, tokens = floor
    oid, trackings = _shipped_with_email(store, "R1", 2)
    rma, made = rmas.authorise(store, oid, [("SKU-B", 2)], "api", "test", "too many pens")
    assert made and rma["status"] == "authorised"

    dock = connect(app, socketio, tokens["packer"])  # any handheld receives returns
    assert action(dock, "return", "r1")["ok"]
    assert last_state(dock)["state"]["screen"] == "return_open"
    assert scan(dock, "SF-NOPE", "r2")["code"] == "return_unknown"
    r = scan(dock, trackings[0], "r3")  # the label of the package we sent
    assert r["code"] == "return_open" and r["state"]["screen"] == "return_item"
    assert r["state"]["progress"] == {"done": 0, "total": 2}
    assert action(dock, "return_grade", "r4", reason="resellable")["error"]["code"] == (
        "return_item_first"
    )
    assert scan(dock, "9501101530003", "r5")["code"] == "return_not_on_return"  # green tea
    r = scan(dock, SKU_B, "r6")
    assert r["code"] == "return_item_ok" and r["state"]["screen"] == "return_grade"
    ack = action(dock, "return_grade", "r7", reason="resellable")
    assert ack["ok"]
    shown = last_state(dock)["state"]
    assert shown["screen"] == "return_bin" and shown["expect"]["barcodes"] == ["LE-01-01"]
    assert scan(dock, "LW-01-01", "r8")["code"] == "return_unknown_bin"  # another warehouse's
    before = _on_hand(store)
    r = scan(dock, "LE-01-01", "r9")
    assert r["code"] == "return_put_away" and _on_hand(store) == before + 1
    assert scan(dock, SKU_B, "r10")["code"] == "return_item_ok"
    assert action(dock, "return_done", "r11")["error"]["code"] == "return_unit_open"
    assert action(dock, "return_grade", "r12", reason="damaged")["ok"]
    assert scan(dock, SKU_B, "r13")["code"] == "return_all_received"  # only 2 authorised
    assert action(dock, "return_done", "r14") == {"id": "r14", "ok": True, "error": None}
    assert not last_state(dock)["state"]["screen"].startswith("return")  # back to its own work

    done = rmas.get(store, rma["rma"])
    assert done["status"] == "received" and done["received_by"] == "packer-e1"
    assert done["lines"] == [
        {"sku": "SKU-B", "name": "Red pen", "authorised": 2, "received": 2, "resellable": 1,
         "scrapped": 1, "reasons": ["damaged"]},
    ]  # fmt: skip
    assert [(u["grade"], u["reason"], u["location"]) for u in done["units"]] == [
        ("resellable", None, "E-01-01"),
        ("scrap", "damaged", None),
    ]
    # Every unit accounted for: received = shipped + on hand + in transit + scrapped.
    (pens,) = stock.accounts(store, "SKU-B")
    assert (pens.shipped, pens.returned, pens.returned_scrap) == (2, 2, 1)
    assert pens.holds(), pens
    audit = [r["action"] for r in store.all("SELECT action FROM audit_log ORDER BY id")]
    assert audit == ["return_authorise", "return_receive"]
    events = [
        r["event"] for r in store.all("SELECT event FROM order_events WHERE order_id = ?", (oid,))
    ]
    assert "return_authorised" in events and "return_received" in events


def test_grading_cards_replayed_from_the_journal_count_once(floor):
    app, socketio, store, tokens = floor
    oid, trackings = _shipped_with_email(store, "R2", 2)
    rma, _ = rmas.authorise(store, oid, [("SKU-B", 2)], "api", "test")
    dock = connect(app, socketio, tokens["picker"])
    action(dock, "return", "j1")
    assert scan(dock, rma["rma"], "j2")["code"] == "return_open"  # the RMA number on the slip
    scan(dock, SKU_B, "j3")
    first = action(dock, "return_grade", "j4", reason="defective", seq=4, offline=True)
    # The journal sends it again (no ack seen): the same answer, one unit.
    again = action(dock, "return_grade", "j4", reason="defective", seq=4, offline=True)
    assert first == again and first["ok"]
    assert scan(dock, SKU_B, "j3")["duplicate"]  # the item scan too
    units = store.all("SELECT grade, reason FROM rma_units")
    assert units == [{"grade": "scrap", "reason": "defective"}]
    assert rmas.get(store, rma["rma"])["lines"][0]["received"] == 1
    # A grade the protocol does not know is refused before anything runs.
    bad = action(dock, "return_grade", "j5", reason="fine")
    assert bad["ok"] is False
    assert len(store.all("SELECT id FROM rma_units")) == 1


def test_a_grade_before_the_parcel_is_return_item_first_not_not_returning(floor):
    """docs/protocol.md, Returns: a grade with no unit scanned is refused (`return_item_first`);
    `not_returning` is for a device in no return mode at all. In return mode with no parcel
    scanned yet the device is returning: it is told to scan the parcel, and stays there."""
    app, socketio, store, tokens = floor
    dock = connect(app, socketio, tokens["picker"])
    refused = action(dock, "return_grade", "g0", reason="resellable")
    assert refused["error"]["code"] == "not_returning"  # no return mode at all
    assert action(dock, "return", "g1")["ok"]
    refused = action(dock, "return_grade", "g2", reason="resellable")
    assert refused["ok"] is False and refused["error"]["code"] == "return_item_first", refused
    assert "CMD-RETURN" not in refused["error"]["message"]  # it was scanned already
    assert last_state(dock)["state"]["screen"] == "return_open"
    assert store.all("SELECT id FROM rma_units") == []


def test_the_shop_and_the_customer_hear_what_came_back_and_its_grade(floor, floor_settings, sink):
    app, socketio, store, tokens = floor
    receiver = Receiver().up()
    try:
        webhooks.subscribe(
            store, receiver.url, ["return.received"], secret=SECRET, allowed_hosts=["127.0.0.1"]
        )
        oid, trackings = _shipped_with_email(store, "R3", 1)
        rma, _ = rmas.authorise(store, oid, [("SKU-B", 1)], "api", "test")
        dock = connect(app, socketio, tokens["packer"])
        action(dock, "return", "m1")
        scan(dock, trackings[0], "m2")
        scan(dock, SKU_B, "m3")
        action(dock, "return_grade", "m4", reason="wrong_item")
        assert action(dock, "return_done", "m5")["ok"]

        fast = WebhookSettings(
            retry_base_seconds=0.02, retry_max_seconds=0.1, timeout_seconds=2,
            poll_seconds=0.01, allowed_hosts=["127.0.0.1"],
        )  # fmt: skip
        deliverer = Deliverer(store, fast)
        deadline = time.monotonic() + 20
        while not receiver.taken():
            assert time.monotonic() < deadline, webhooks.list_deliveries(store)
            if not deliverer.run_once():
                time.sleep(0.01)
        hit = receiver.taken()[0]
        payload = Webhook(SECRET).verify(hit.body, hit.headers)  # signed as every webhook
        assert payload["type"] == "return.received"
        data = payload["data"]
        assert (data["id"], data["rma"]) == (oid, rma["rma"])
        assert data["lines"][0]["scrapped"] == 1 and data["lines"][0]["reasons"] == ["wrong_item"]
    finally:
        receiver.down()

    mailer = Mailer(store, floor_settings.email)
    assert mailer.run_once() == 1
    msg = sink.messages[-1]
    assert msg["To"] == EMAIL
    assert "we received your return" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert rma["rma"] in text and "Red pen" in text and "not resellable (wrong_item)" in text


def test_a_return_held_by_a_silent_handheld_goes_back_for_another(floor):
    app, socketio, store, tokens = floor
    oid, trackings = _shipped_with_email(store, "R4", 1)
    rmas.authorise(store, oid, [("SKU-B", 1)], "api", "test")
    first = connect(app, socketio, tokens["picker"])
    action(first, "return", "h1")
    assert scan(first, trackings[0], "h2")["code"] == "return_open"
    second = connect(app, socketio, tokens["packer"])
    action(second, "return", "h3")
    assert scan(second, trackings[0], "h4")["code"] == "return_held"
    # The first handheld's link has been down longer than the lease.
    with store.write():
        store.execute(
            "UPDATE devices SET connected = 0, last_seen = '2000-01-01T00:00:00+00:00' "
            "WHERE name = 'picker-e1'"
        )
    assert receiving.release_silent(store, lease_seconds=60) == 1
    assert scan(second, trackings[0], "h5")["code"] == "return_open"
    assert (
        store.one("SELECT return_mode FROM devices WHERE name = 'picker-e1'")["return_mode"] is None
    )


def test_return_done_before_a_parcel_says_the_mode_was_left(floor):
    """docs/protocol.md, Returns: CMD-RETURN-DONE before a parcel was scanned just leaves
    return mode (`return_left`); the screen it sends says so, not "scan the parcel"."""
    app, socketio, store, tokens = floor
    dock = connect(app, socketio, tokens["picker"])
    assert action(dock, "return", "l1")["ok"]
    assert action(dock, "return_done", "l2")["ok"]
    shown = last_state(dock)
    assert shown["state"]["screen"] != "return_open"
    assert shown["message"] == "Return mode left: no parcel was scanned"
    refused = action(dock, "return_done", "l3")
    assert refused["error"]["code"] == "not_returning"  # it was left


def test_a_card_starting_another_dock_mode_mid_return_is_refused_and_changes_nothing(floor):
    app, socketio, store, tokens = floor
    oid, trackings = _shipped_with_email(store, "R9", 1)
    rmas.authorise(store, oid, [("SKU-B", 1)], "api", "test")
    dock = connect(app, socketio, tokens["packer"])
    assert action(dock, "return", "m1")["ok"]
    assert scan(dock, trackings[0], "m2")["code"] == "return_open"
    assert scan(dock, SKU_B, "m3")["code"] == "return_item_ok"
    modes = "SELECT return_mode, transfer_mode, receiving, dock FROM devices WHERE id = ?"
    device_id = store.one("SELECT device_id FROM rmas")["device_id"]
    before = store.one(modes, (device_id,))
    for i, (card, start) in enumerate([("CMD-TRANSFER", "transfer"), ("CMD-RECEIVE", "receive"),
                                       ("CMD-DOCK", "dock")]):  # fmt: skip
        ack = action(dock, start, f"m4-{i}")
        assert ack["error"] == {
            "code": "bench_busy",
            "message": f"Close the return first (CMD-RETURN-DONE), then scan {card}",
        }
        assert store.one(modes, (device_id,)) == before
    assert current_state(store, device_id).screen == "return_grade"
    assert action(dock, "return_grade", "m5", reason="damaged")["ok"]
    assert action(dock, "return_done", "m6")["ok"]
    assert last_state(dock)["state"]["screen"] == "pack_start"  # not a mode hidden behind it
    # The other way round: a handheld holding a transfer is not taken into return mode.
    assert action(dock, "transfer", "m7")["ok"]
    ack = action(dock, "return", "m8")
    assert ack["error"]["code"] == "bench_busy", ack
    assert ack["error"]["message"] == (
        "Close the transfer's receipt first (CMD-TRANSFER-DONE), then scan CMD-RETURN"
    )
    assert current_state(store, device_id).screen == "transfer_open"
