"""A re-ship on the floor (server/shipping/reships.py, server/inventory/reshipping.py): the
picker's and the packer's screens say it is one ("RE-SHIP of <lost tracking>", `reships`),
as a fresh read of the screen does; a re-ship split across two warehouses by a short pick
tells the shop of each new parcel, names the lost one each time, keeps the first as the lost
parcel's `replaced_by` and lists both on the board's order page. Both databases."""

from __future__ import annotations

import pytest
from floorkit import NS, action, board_web, connect, last_state, pack_tote, place, received, scan
from trackkit import pens_in_the_west, ship, ship_order

from server.floor import screens
from server.inventory import shipments
from server.inventory.stock import accounts
from server.notify import customer_view, webhooks
from server.people import auth

API = "/board/api"
PEN = "0012345678905"  # SKU-B's barcode


@pytest.fixture
def web(floor):
    return board_web(floor.app, "sam")


def _device(store, name: str) -> int:
    return store.one("SELECT id FROM devices WHERE name = ?", (name,))["id"]


def _fresh(store, name: str) -> dict:
    """The device's screen as a fresh read from the database draws it, as sent."""
    with store.read():
        state = screens.current_state(store, _device(store, name))
    return state.model_dump(mode="json")


def _lost_parcel(store, ref: str) -> tuple[str, int, str]:
    oid, (tracking,) = ship(store, ref)
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    return oid, lost, tracking


def test_the_picker_and_the_packer_see_that_the_list_is_a_reship(floor, web):
    store = floor.store
    oid, lost, tracking = _lost_parcel(store, "shop-31")
    rush = place(store, "shop-rush", [("SKU-A", 1)], priority=9)
    assert web.post(f"{API}/packages/{lost}/reship", json={}).status_code == 200

    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    state = last_state(picker)["state"]
    assert (state["screen"], state["order_id"]) == ("pick_tote", oid)
    assert state["reships"] == {oid: tracking}
    assert state == _fresh(store, "picker-e1")
    seen = [state["screen"]]
    for n in range(10):
        code = "TOTE-81" if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        reply = scan(picker, code, f"p{n}")
        assert reply["ok"], reply
        state = reply["state"]
        if reply["code"] == "list_done":
            break
        # Every screen of the list says so, and is the screen a fresh read draws.
        assert state["reships"] == {oid: tracking}, state
        assert state == _fresh(store, "picker-e1")
        seen.append(state["screen"])
    assert seen == ["pick_tote", "pick_location", "pick_item"]
    # The next list, an ordinary order's, carries no re-ship (the field is left out).
    nxt = _fresh(store, "picker-e1")
    assert nxt["order_id"] == rush and "reships" not in nxt
    picker.disconnect(NS)

    packer = connect(floor.app, floor.socketio, floor.tokens["packer"])
    assert "reships" not in last_state(packer)["state"]  # an empty bench
    verify = scan(packer, "TOTE-81", "k0")["state"]
    assert verify["screen"] == "pack_verify" and verify["reships"] == {oid: tracking}
    assert verify == _fresh(store, "packer-e1")
    label = scan(packer, PEN, "k1")["state"]
    assert label["screen"] == "pack_label" and label["reships"] == {oid: tracking}
    assert label == _fresh(store, "packer-e1")
    job = received(packer, "print")[-1]["job_id"]
    packer.emit("print_result", {"id": "k-pr", "job_id": job, "ok": True}, namespace=NS,
                callback=True)  # fmt: skip
    assert scan(packer, label["expect"]["barcodes"][0], "k2")["ok"]
    assert "reships" not in _fresh(store, "packer-e1")  # the bench is empty again
    packer.disconnect(NS)


def test_a_reship_split_across_two_warehouses_tells_the_shop_of_each_new_parcel(floor, web):
    store = floor.store
    pens_in_the_west(store)
    # The lost parcel held two pens; the shelf says WH-EAST has them, the bin holds one.
    oid = place(store, "shop-32", [("SKU-B", 2)])
    (tracking,) = ship_order(store, oid)
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    mails = store.one("SELECT COUNT(*) AS n FROM customer_mails WHERE order_id = ?", (oid,))["n"]
    body = web.post(f"{API}/packages/{lost}/reship", json={}).get_json()
    assert (body["warehouse"], body["units"]) == ("WH-EAST", {"SKU-B": 2}), body
    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    assert last_state(picker)["state"]["reships"] == {oid: tracking}
    assert scan(picker, "TOTE-82", "s1")["ok"] and scan(picker, "LE-01-01", "s2")["ok"]
    assert scan(picker, PEN, "s3")["ok"]  # one pen in the tote, the bin is empty now
    short = action(picker, "short", "s4", found=0, reason="empty")
    assert short["ok"], short
    picker.disconnect(NS)
    assert store.one("SELECT outcome FROM short_picks") == {"outcome": "other_warehouse"}
    west = store.one(
        "SELECT id, reship_of FROM shipments WHERE order_id = ? AND warehouse = 'WH-WEST'",
        (oid,),
    )
    assert west["reship_of"] == lost

    # WH-EAST packs the pen it picked: the first new parcel.
    first = pack_tote(floor, floor.tokens["packer"], "TOTE-82", PEN)
    first_id = store.one("SELECT id FROM packages WHERE tracking = ?", (first,))["id"]
    assert store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,)) == {
        "replaced_by": first_id
    }
    # WH-WEST picks and packs the other: the second, for the same lost parcel.
    w_picker = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    w_packer = auth.create_device(store, "packer-w1", "packer", "WH-WEST")
    picker = connect(floor.app, floor.socketio, w_picker)
    state = last_state(picker)["state"]
    assert (state["order_id"], state["reships"]) == (oid, {oid: tracking})
    for n, code in enumerate(("TOTE-83", "LW-03-01", PEN)):
        assert scan(picker, code, f"w{n}")["ok"]
    picker.disconnect(NS)
    second = pack_tote(floor, w_packer, "TOTE-83", PEN)
    second_id = store.one("SELECT id FROM packages WHERE tracking = ?", (second,))["id"]

    # The lost parcel points at the first new parcel; each new one names the lost one.
    assert store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,)) == {
        "replaced_by": first_id
    }
    told = webhooks.list_deliveries(store, order_id=oid)
    told = sorted(told, key=lambda d: d["payload"]["data"]["package"]["id"])
    assert [d["event"] for d in told] == ["parcel.reshipped", "parcel.reshipped"]
    assert [d["payload"]["data"]["lost"] for d in told] == [{"id": lost, "tracking": tracking}] * 2
    assert [
        (d["payload"]["data"]["package"]["tracking"], d["payload"]["data"]["warehouse"])
        for d in told
    ] == [(first, "WH-EAST"), (second, "WH-WEST")]
    # Each says which new parcels replace the lost one so far: the shop sees the second is
    # more of the same parcel, not a correction of the first.
    assert [d["payload"]["data"]["replacements"] for d in told] == [
        [{"id": first_id, "tracking": first}],
        [{"id": first_id, "tracking": first}, {"id": second_id, "tracking": second}],
    ]
    # The first says one more is to come; the second that it is the last.
    assert [d["payload"]["data"]["to_come"] for d in told] == [1, 0]
    # The board's order page lists every replacement parcel, each naming the lost one.
    view = web.get(f"{API}/orders/{oid}").get_json()
    labels = {label["id"]: label for label in view["labels"]}
    assert labels[lost]["replacements"] == [first_id, second_id]
    assert labels[first_id]["replaces"] == lost and labels[second_id]["replaces"] == lost
    says = [e["says"] for e in view["timeline"] if e["event"] == "parcel_reshipped"]
    assert len(says) == 2 and all(tracking in s for s in says)
    # The customer's page names both new parcels, never the lost one.
    parcels = [p["tracking"] for p in customer_view.by_order(store, oid)["parcels"]]
    assert parcels == [first, second]
    # The customer hears "shipped" once, when the last new parcel leaves, naming both.
    first_ship, second_ship = (
        store.one("SELECT shipment_id FROM packages WHERE id = ?", (i,))["shipment_id"]
        for i in (first_id, second_id)
    )
    assert shipments.ship(store, first_ship) == "packed"
    assert store.one("SELECT COUNT(*) AS n FROM customer_mails WHERE order_id = ?",
                     (oid,))["n"] == mails  # fmt: skip
    assert shipments.ship(store, second_ship) == "shipped"
    sent = store.all("SELECT kind FROM customer_mails WHERE order_id = ? ORDER BY id", (oid,))
    assert [m["kind"] for m in sent[mails:]] == ["shipped"]
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds() and sku_b.carrier_lost == 2, sku_b
