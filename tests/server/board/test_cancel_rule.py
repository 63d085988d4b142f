"""One cancel rule for REST (`POST /api/orders/<id>/cancel`) and the board's order page: over a
table of order states both refuse with the same sentence or both cancel the same units; with a
parcel at the carrier, "cancel the rest" (which units, said); a re-ship that waits for stock
says so, and once cancelled with the rest its lost parcel may be re-shipped again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from floorkit import NS, action, connect, last_state, pack_tote, place, plan, scan
from trackkit import ship, ship_order

from server.capture.orders import next_number
from server.core.clock import now
from server.core.schemas import CatalogueIn, CorrectionIn
from server.inventory import allocate, shipments, stock
from server.inventory import catalogue as catalogue_service
from server.inventory.stock import accounts
from server.notify import customer_view
from server.shipping.domain.labels import make_tracking
from shared.barcodes import make_sscc

API = "/board/api"


def _ship_from(store, oid: str, warehouse: str) -> str:
    """The order's shipment in `warehouse` picked, packed in one box and handed over; returns
    its tracking number."""
    plan(store)
    with store.write():
        sid = store.one(
            "SELECT id FROM shipments WHERE order_id = ? AND warehouse = ? AND status = 'allocated'",
            (oid, warehouse),
        )["id"]
        store.execute(
            "UPDATE pick_steps SET picked = qty WHERE reservation_id IN "
            "(SELECT id FROM reservations WHERE shipment_id = ?)",
            (sid,),
        )
        list_id = store.one(
            "SELECT ps.pick_list_id FROM pick_steps ps JOIN reservations r "
            "ON r.id = ps.reservation_id WHERE r.shipment_id = ?",
            (sid,),
        )["pick_list_id"]
        tracking = make_tracking("SF", next_number(store, "tracking"))
        store.execute(
            """INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status,
               zpl, created_at, confirmed_at, shipment_id, carrier)
               VALUES (?, ?, ?, ?, 20, 'confirmed', '^XA^XZ', ?, ?, ?, 'local')""",
            (oid, list_id, make_sscc(0, "0614141", next_number(store, "sscc")), tracking,
             now(), now(), sid),
        )  # fmt: skip
    shipments.ship(store, sid)
    return tracking


def _lost(store, tracking: str) -> int:
    return store.one("SELECT id FROM packages WHERE tracking = ?", (tracking,))["id"]


# Each state: (name, builds an order in that state and returns its id, what the page says of
# a cancel: None when the whole order is cancelled, else "rest: <words>" or the refusal).
def _fresh(floor, web, ref):
    return place(floor.store, ref, [("SKU-B", 1)])


def _picked(floor, web, ref):
    oid = place(floor.store, ref, [("SKU-B", 1)])
    plan(floor.store)
    with floor.store.write():
        floor.store.execute("UPDATE pick_steps SET picked = qty WHERE order_id = ?", (oid,))
        shipments.refresh(floor.store, oid, "picked")
    return oid


def _packed(floor, web, ref):
    oid = place(floor.store, ref, [("SKU-B", 1)])
    ship_order(floor.store, oid, leave=False)
    return oid


def _partly_shipped(floor, web, ref):
    # SKU-C is in WH-WEST only: the order splits, WH-EAST's parcel leaves, WH-WEST's is on the
    # floor and 2 units wait for stock.
    oid = place(floor.store, ref, [("SKU-B", 1), ("SKU-C", 5)], allow_partial=True)
    _ship_from(floor.store, oid, "WH-EAST")
    return oid


def _all_shipped(floor, web, ref):
    return ship(floor.store, ref)[0]


def _cancelled(floor, web, ref):
    oid = place(floor.store, ref, [("SKU-B", 1)])
    assert web.post(f"{API}/orders/{oid}/cancel", json={}).status_code == 200
    return oid


def _reship_open(floor, web, ref):
    oid, (tracking,) = ship(floor.store, ref)
    assert (
        web.post(f"{API}/packages/{_lost(floor.store, tracking)}/reship", json={}).status_code
        == 200
    )
    return oid


def _reship_open_beside_a_parcel(floor, web, ref):
    oid, (one, _two) = ship(floor.store, ref, packages=2)
    assert web.post(f"{API}/packages/{_lost(floor.store, one)}/reship", json={}).status_code == 200
    return oid


def _tracking(store, oid: str, n: int = 0) -> str:
    return store.all("SELECT tracking FROM packages WHERE order_id = ? ORDER BY id", (oid,))[n][
        "tracking"
    ]


STATES: list[tuple[str, Callable, Callable[[object, str], tuple[str | None, str | None]]]] = [
    ("fresh", _fresh, lambda s, o: (None, None)),
    ("picked", _picked, lambda s, o: (None, None)),
    ("packed", _packed, lambda s, o: (None, None)),
    ("partly shipped", _partly_shipped, lambda s, o: (None, (
        f"cancels the rest of order {o}: 3 x SKU-C on the floor in WH-WEST; 2 x SKU-C waiting "
        "for stock; the parcel with the carrier goes on"))),
    ("all shipped", _all_shipped,
     lambda s, o: (f"order {o} has shipped: it can no longer be cancelled", None)),
    ("cancelled", _cancelled, lambda s, o: (f"order {o} is already cancelled", None)),
    ("re-ship open", _reship_open, lambda s, o: (None, None)),
    ("re-ship open beside a parcel", _reship_open_beside_a_parcel, lambda s, o: (None, (
        f"cancels the rest of order {o}: the re-ship of lost parcel {_tracking(s, o)}: "
        "2 x SKU-B on the floor in WH-EAST; the parcel with the carrier goes on"))),
]  # fmt: skip


@pytest.mark.parametrize("name,build,expect", STATES, ids=[s[0] for s in STATES])
def test_rest_and_the_board_agree_on_every_order_state(floor, web, rest, name, build, expect):
    store = floor.store
    # The same state twice: REST cancels one, the board the other.
    ref = name.replace(" ", "-")
    a, b = build(floor, web, f"{ref}-a"), build(floor, web, f"{ref}-b")
    why, rest_words = expect(store, a)
    view = web.get(f"{API}/orders/{a}").get_json()
    assert (view["actions"]["cancel"], view["actions"]["cancel_rest"]) == (why, rest_words)
    view_b = web.get(f"{API}/orders/{b}").get_json()
    assert view_b["actions"]["cancel"] == expect(store, b)[0]
    r_rest = rest.post(f"/api/orders/{a}/cancel", json={"reason": "asked"})
    r_web = web.post(f"{API}/orders/{b}/cancel", json={"reason": "asked"})
    if why is not None and name != "cancelled":
        assert r_rest.status_code == 409 and r_rest.get_json()["message"] == why
        assert r_web.status_code == 409 and r_web.get_json()["error"] == expect(store, b)[0]
        return
    if name == "cancelled":  # REST: cancelling again changes nothing; the board: refused
        assert r_rest.status_code == 200 and r_rest.get_json()["status"] == "cancelled"
        assert r_web.status_code == 409 and r_web.get_json()["error"] == expect(store, b)[0]
        return
    assert r_rest.status_code == 200, r_rest.get_json()
    assert r_web.status_code == 200, r_web.get_json()
    status_a = store.one("SELECT status FROM orders WHERE id = ?", (a,))["status"]
    status_b = store.one("SELECT status FROM orders WHERE id = ?", (b,))["status"]
    assert status_a == status_b
    assert r_web.get_json()["rest_only"] == (rest_words is not None)
    if rest_words is None:
        assert status_a == "cancelled"
        assert r_web.get_json()["said"].startswith(f"cancels order {b}: ")
    else:  # the parcel with the carrier goes on: the order follows it, nothing waits
        assert status_a == "shipped"
        assert r_web.get_json()["said"] == expect(store, b)[1]
        for oid in (a, b):
            assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 0
            assert not store.all(
                "SELECT id FROM shipments WHERE order_id = ? AND status IN ('allocated', 'packed')",
                (oid,),
            )
        view = web.get(f"{API}/orders/{a}").get_json()
        assert view["actions"]["cancel"] == f"order {a} has shipped: it can no longer be cancelled"
        assert view["timeline"][-1]["says"].startswith(
            "The rest of the order cancelled; its parcels with the carrier go on: "
        )
    for sku in ("SKU-B", "SKU-C"):
        (acc,) = accounts(store, sku)
        assert acc.holds(), acc


def test_the_rest_cancelled_waits_no_more_when_stock_comes(floor, web, rest):
    store = floor.store
    oid = _partly_shipped(floor, web, "rest-1")
    r = rest.post(f"/api/orders/{oid}/cancel", json={})
    assert r.status_code == 200 and r.get_json()["status"] == "shipped"
    # REST's answer says which units were cancelled: all five teas (3 on the floor, 2 waiting).
    assert [(ln["sku"], ln["qty"], ln["cancelled"]) for ln in r.get_json()["lines"]] == [
        ("SKU-B", 1, 0), ("SKU-C", 5, 5),
    ]  # fmt: skip
    assert r.get_json()["backordered"] == 0
    # The customer's tracking page lists what comes: the pen, not the cancelled teas.
    assert customer_view.by_order(store, oid)["items"] == [{"qty": 1, "name": "Red pen"}]
    catalogue_service.load(store, CatalogueIn.model_validate({
        "stock": [{"warehouse": "WH-WEST", "location": "W-02-01", "sku": "SKU-C", "on_hand": 9}],
    }))  # fmt: skip
    allocate.allocate_pending(store, {"SKU-C"})
    assert not store.all(
        "SELECT id FROM shipments WHERE order_id = ? AND status = 'allocated'", (oid,)
    )
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "shipped"


def _short_everywhere(floor, web, ref: str) -> tuple[str, str, int]:
    """An order of two pens shipped in two parcels; one is lost and re-shipped (its shipment's
    two pens: a lost parcel's units are its shipment's), and the picker
    finds E-01-01 empty with no other warehouse holding pens: the re-ship waits for stock."""
    store = floor.store
    oid, (one, _two) = ship(store, ref, packages=2)
    lost = _lost(store, one)
    assert web.post(f"{API}/packages/{lost}/reship", json={}).status_code == 200
    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    assert last_state(picker)["state"]["order_id"] == oid
    assert scan(picker, "TOTE-81", "w1")["ok"] and scan(picker, "LE-01-01", "w2")["ok"]
    assert action(picker, "short", "w3", found=0, reason="empty")["ok"]
    picker.disconnect(NS)
    return oid, one, lost


def _found(store, n: int) -> None:
    """A count finds `n` pens in E-01-01 (the bin the re-ship found empty)."""
    stock.correct(store, CorrectionIn(warehouse="WH-EAST", location="E-01-01", sku="SKU-B",
                                      on_hand=n, reason="counted"))  # fmt: skip


def test_a_reship_waiting_for_stock_says_so_and_once_cancelled_goes_again(floor, web, rest):
    store = floor.store
    oid, tracking, lost = _short_everywhere(floor, web, "wait-1")
    assert store.one("SELECT outcome FROM short_picks") == {"outcome": "backordered"}
    waits = (
        f"parcel {tracking} is already marked lost: its re-ship waits for stock (2 x SKU-B on "
        "no shelf that could take it); it goes to the floor when the stock comes in"
    )
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert lost not in view["actions"]["reship"]
    assert view["actions"]["lost"] == {str(lost): "its re-ship waits for stock (2 x SKU-B)"}
    r = rest.post(f"/api/packages/{lost}/reship", json={})
    assert r.status_code == 409 and r.get_json()["message"] == waits
    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 409 and r.get_json()["error"] == waits
    # The rest of the order is the re-ship's unit that waits: cancelled, the parcel may go again.
    assert view["actions"]["cancel_rest"] == (
        f"cancels the rest of order {oid}: 2 x SKU-B waiting for stock; the parcel with the "
        "carrier goes on"
    )
    r = web.post(f"{API}/orders/{oid}/cancel", json={"reason": "customer will wait"})
    assert r.status_code == 200 and r.get_json()["rest_only"] is True
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["order"]["status"] == "shipped"
    assert view["actions"]["lost"] == {str(lost): "its re-ship was cancelled"}
    assert view["actions"]["reship"] == [lost, _lost(store, _tracking(store, oid, 1))]
    # Stock comes in; the supervisor re-ships the lost parcel again, over REST.
    _found(store, 4)
    r = rest.post(f"/api/packages/{lost}/reship", json={})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["units"] == {"SKU-B": 2} and body["status"] == "allocated"
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 0
    assert store.one("SELECT SUM(cancelled) AS n FROM order_lines WHERE order_id = ?", (oid,)) == {
        "n": 0
    }
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["reship"] == [
        _lost(store, _tracking(store, oid, 1))
    ]
    # The audit shows the first re-ship, the cancel of the rest and the second re-ship.
    audit = store.all("SELECT actor, action, target FROM audit_log ORDER BY id")
    assert [(a["action"], a["target"]) for a in audit] == [
        ("reship", f"package:{lost}"), ("cancel", oid), ("reship", f"package:{lost}"),
    ]  # fmt: skip
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds(), sku_b


def test_units_a_reship_waited_for_go_as_that_reship_when_stock_comes(floor, web):
    store = floor.store
    oid, tracking, lost = _short_everywhere(floor, web, "wait-2")
    _found(store, 3)
    allocate.allocate_pending(store, {"SKU-B"})
    sh = store.one(
        "SELECT id, reship_of FROM shipments WHERE order_id = ? AND status = 'allocated'", (oid,)
    )
    assert sh["reship_of"] == lost
    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 409 and r.get_json()["error"] == (
        f"parcel {tracking} is already marked lost: its re-ship is on the floor, not yet packed"
    )


def test_a_reship_cancelled_with_its_order_is_not_sent_again(floor, web, rest):
    store = floor.store
    oid, (tracking,) = ship(store, "gone-1")
    lost = _lost(store, tracking)
    assert web.post(f"{API}/packages/{lost}/reship", json={}).status_code == 200
    assert rest.post(f"/api/orders/{oid}/cancel", json={}).status_code == 200
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "cancelled"
    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 409
    assert r.get_json()["error"] == f"order {oid} is cancelled: parcel {tracking} is not sent again"


def test_a_packed_reship_cancelled_with_the_rest_may_go_again(floor, web, rest):
    store = floor.store
    oid = place(store, "packed-1", [("SKU-B", 1), ("SKU-C", 1)])
    pen, _tea = _ship_from(store, oid, "WH-EAST"), _ship_from(store, oid, "WH-WEST")
    lost = _lost(store, pen)
    assert web.post(f"{API}/packages/{lost}/reship", json={}).status_code == 200
    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    state = last_state(picker)["state"]
    assert state["order_id"] == oid
    assert scan(picker, "TOTE-91", "p1")["ok"] and scan(picker, "LE-01-01", "p2")["ok"]
    assert scan(picker, "0012345678905", "p3")["code"] == "list_done"
    picker.disconnect(NS)
    new = _lost(store, pack_tote(floor, floor.tokens["packer"], "TOTE-91", "0012345678905"))
    assert store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,))["replaced_by"] == new
    # Packed, not handed over: the rest of the order is that re-ship's box.
    r = rest.post(f"/api/orders/{oid}/cancel", json={"reason": "refunded"})
    assert r.status_code == 200 and r.get_json()["status"] == "shipped"
    assert (
        store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,))["replaced_by"] is None
    )
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["actions"]["lost"] == {str(lost): "its re-ship was cancelled"}
    assert lost in view["actions"]["reship"]
    # The cancelled box no longer stands in for the lost parcel on the order page either.
    labels = {label["id"]: label for label in view["labels"]}
    assert labels[lost]["replacements"] == [] and labels[new]["replaces"] is None
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds() and sku_b.awaiting_putaway == 1, sku_b
