"""Customer service on an order, on the board (/board/api) and over REST (/api): search, change
the address (re-allocated when the nearest warehouse changes), cancel, re-ship a lost parcel,
resend a mail. Each action offered only when it applies, refused in words otherwise, audited;
bad input changes nothing."""

from __future__ import annotations

from floorkit import (
    NS,
    action,
    address,
    connect,
    last_state,
    pack_tote,
    place,
    scan,
)
from mailkit import EMAIL, move, order_with_parcel
from trackkit import pens_in_the_west, ship

from server.core.schemas import CatalogueIn
from server.floor.domain.floor import pick_list_ref
from server.inventory import catalogue as catalogue_service
from server.inventory import shipments
from server.inventory.reshipping import URGENT
from server.inventory.stock import accounts
from server.notify import customer_view, webhooks
from server.people import auth

API = "/board/api"
EAST, WEST = (40.0, -75.0), (34.0, -118.0)  # near WH-EAST (New York), near WH-WEST (LA)


def _audit(store) -> list[tuple[str, str, str]]:
    return [
        (r["actor"], r["action"], r["target"])
        for r in store.all("SELECT actor, action, target FROM audit_log ORDER BY id")
    ]


def _unchanged(store):
    """What an action could touch, to compare before and after a refusal."""
    return (
        store.all("SELECT id, status, ship_to, warehouse FROM orders ORDER BY id"),
        store.all("SELECT id, status, lost_at FROM packages ORDER BY id"),
        store.all("SELECT id, status FROM customer_mails ORDER BY id"),
        store.all(
            "SELECT location_id, sku, on_hand, reserved FROM stock ORDER BY location_id, sku"
        ),
        store.all("SELECT id, picked, package_id FROM reservations ORDER BY id"),
        store.all("SELECT id FROM stock_moves"),
        store.all("SELECT id FROM audit_log"),
    )


def test_search_finds_an_order_as_a_customer_names_it(floor, web, rest):
    store = floor.store
    oid = order_with_parcel(store, shop_number="#1043", tracking="SF0000077777")
    other = place(store, "shop-2", [("SKU-B", 1)])  # Grace Hopper too, no e-mail
    for q, matched, found in [
        ("grace", "customer", {oid, other}),
        ("GRACE HOPPER", "customer", {oid, other}),
        (EMAIL.upper(), "e-mail", {oid}),
        ("1043", "shop number", {oid}),
        ("#1043", "shop number", {oid}),
        ("sf0000077777", "tracking number", {oid}),
        ("sku-b", "SKU", {other}),
    ]:
        r = web.get(f"{API}/search", query_string={"q": q})
        assert r.status_code == 200, r.get_json()
        got = r.get_json()["orders"]
        assert {o["id"] for o in got} == found, q
        assert all(o["matched"] == matched for o in got), (q, got)
    assert [o["id"] for o in web.get(f"{API}/search?q=grace").get_json()["orders"]] == sorted(
        {oid, other}, reverse=True
    )  # newest first
    assert web.get(f"{API}/search?q=nobody").get_json()["orders"] == []
    r = rest.get("/api/search", query_string={"q": "hopper@"})  # the word "hopper"
    assert r.status_code == 200 and {o["id"] for o in r.get_json()["orders"]} == {oid, other}
    assert rest.get("/api/search", query_string={"q": "1043"}).get_json()["orders"][0]["id"] == oid
    # Bad input: a clear 4xx in words.
    assert "say what to search for" in web.get(f"{API}/search?q=%20").get_json()["error"]
    assert "unknown parameter" in web.get(f"{API}/search?q=a&x=1").get_json()["error"]
    assert web.get(f"{API}/search", query_string={"q": "x" * 201}).status_code == 400
    assert rest.get("/api/search").status_code == 422


def _found(web, q: str) -> dict[str, str]:
    r = web.get(f"{API}/search", query_string={"q": q})
    assert r.status_code == 200, r.get_json()
    return {o["id"]: o["matched"] for o in r.get_json()["orders"]}


def test_search_finds_any_word_and_part_of_a_name_or_e_mail(floor, web, rest):
    store = floor.store
    mj = place(
        store, "w-1", [("SKU-A", 1)],
        ship_to=address("Mary-Jane van der Smith"), email="MJ.Smith@Post.example.org",
    )  # fmt: skip
    jo = place(store, "w-2", [("SKU-A", 1)], ship_to=address("Jo Smithers"), email="jo@b.io")
    ada = place(store, "w-3", [("SKU-A", 1)], ship_to=address("Ada Lovelace"))
    zoe = place(store, "w-4", [("SKU-A", 1)], ship_to=address("Zoë Ångström"))
    for q, found in [
        ("smith", {mj: "customer", jo: "customer"}),  # any word, from its beginning
        ("SMITH", {mj: "customer", jo: "customer"}),  # any case
        ("jane", {mj: "customer"}),  # a word after a hyphen
        ("der", {mj: "customer"}),  # a middle word
        ("mith", {mj: "customer", jo: "customer"}),  # part of a word
        ("ithers", {jo: "customer"}),
        ("lace", {ada: "customer"}),
        ("smith mary", {mj: "customer"}),  # every word, in any order
        ("jo smith", {jo: "customer"}),  # "jo" a word's beginning, "smith" another's
        ("post.example", {mj: "e-mail"}),  # part of an e-mail
        ("mj.smith@post", {mj: "e-mail"}),  # the e-mail from its beginning
        ("example.org", {mj: "e-mail"}),
        ("b.io", {jo: "e-mail"}),
        ("ith", {mj: "customer", jo: "customer"}),  # an ending of three letters
        ("ce", {}),  # an ending of two letters is not a term ("lovelace")
        ("lovelace smith", {}),
        ("ÅNGSTRÖM", {zoe: "customer"}),  # any case, beyond ASCII
        ("zoë", {zoe: "customer"}),
        ("ström", {zoe: "customer"}),
    ]:
        assert _found(web, q) == found, q
    # A new name is found at once, the old one no more.
    r = web.post(f"{API}/orders/{ada}/address", json={"ship_to": address("Ada Byron-King")})
    assert r.status_code == 200, r.get_json()
    assert _found(web, "lovelace") == {} and _found(web, "byron") == {ada: "customer"}
    assert _found(web, "king") == {ada: "customer"}
    assert {o["id"] for o in rest.get("/api/search?q=YRON").get_json()["orders"]} == {ada}


def test_address_changes_before_picking_and_moves_the_order_to_the_nearest_warehouse(
    floor, web, rest
):
    store = floor.store
    oid = place(store, "shop-1", [("SKU-A", 1)], *EAST)
    assert store.one("SELECT warehouse FROM orders WHERE id = ?", (oid,))["warehouse"] == "WH-EAST"
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["actions"]["change_address"] is None and view["actions"]["cancel"] is None

    # Bad input changes nothing: an address without a city, a field the route does not take.
    before = _unchanged(store)
    r = web.post(f"{API}/orders/{oid}/address", json={"ship_to": {"name": "A", "line1": "x"}})
    assert r.status_code == 400 and "city" in r.get_json()["error"]
    r = web.post(f"{API}/orders/{oid}/address", json={"ship_to": address(), "zip": 1})
    assert r.status_code == 400 and "unknown field" in r.get_json()["error"]
    assert (
        web.post(f"{API}/orders/SO-999999/address", json={"ship_to": address()}).status_code == 404
    )
    assert _unchanged(store) == before

    moved = address("Grace Hopper", *WEST)
    r = web.post(f"{API}/orders/{oid}/address", json={"ship_to": moved})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() | {"ok": True} == {
        "ok": True, "order": oid, "changed": True, "reallocated": True,
        "was_nearest": "WH-EAST", "nearest": "WH-WEST", "warehouse": "WH-WEST",
    }  # fmt: skip
    reserved = {
        (r["location_id"], r["reserved"])
        for r in store.all("SELECT location_id, reserved FROM stock WHERE sku = 'SKU-A'")
    }
    east, west = (
        store.one("SELECT id FROM locations WHERE code = ?", (c,))["id"]
        for c in ("E-02-02", "W-01-02")
    )
    assert reserved == {(east, 0), (west, 1)}
    steps = store.all("SELECT p.warehouse FROM pick_steps s JOIN pick_lists p ON "
                      "p.id = s.pick_list_id WHERE s.order_id = ?", (oid,))  # fmt: skip
    assert steps == [{"warehouse": "WH-WEST"}]
    events = [e["event"] for e in web.get(f"{API}/orders/{oid}").get_json()["timeline"]]
    assert events[-3:] == ["ship_to_changed", "allocated", "reallocated"]
    assert _audit(store) == [("sam", "change address", oid)]

    # Over REST, the same rules: a new street near the same warehouse is not re-allocated.
    r = rest.post(f"/api/orders/{oid}/address", json={"ship_to": {**moved, "line1": "2 Elm"}})
    assert r.status_code == 200 and r.get_json()["reallocated"] is False, r.get_json()

    # Once a picker has the list, the address can no longer change: refused in words.
    with store.write():
        store.execute(
            "UPDATE pick_lists SET status = 'assigned' WHERE id IN "
            "(SELECT pick_list_id FROM pick_steps WHERE order_id = ?)",
            (oid,),
        )
    before = _unchanged(store)
    r = web.post(f"{API}/orders/{oid}/address", json={"ship_to": address("X", *EAST)})
    assert r.status_code == 409
    assert (
        r.get_json()["error"]
        == f"picking of order {oid} has started: its address can no longer change"
    )
    assert rest.post(f"/api/orders/{oid}/address", json={"ship_to": address()}).status_code == 409
    assert _unchanged(store) == before
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["change_address"] is not None


def _picked(floor, token: str, tote: str) -> dict:
    """A handheld takes the list it is handed and picks it into `tote` (the next list it is
    handed then waits); returns the first screen it showed."""
    picker = connect(floor.app, floor.socketio, token)
    first = state = last_state(picker)["state"]
    for n in range(20):
        code = tote if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        reply = scan(picker, code, f"{tote}-{n}")
        assert reply["ok"], reply
        if reply["code"] == "list_done":
            break
        state = reply["state"]
    picker.disconnect(NS)
    return first


def _bin(store, code: str, sku: str = "SKU-B") -> dict:
    return store.one(
        "SELECT on_hand, reserved FROM stock WHERE sku = ? AND location_id = "
        "(SELECT id FROM locations WHERE code = ?)",
        (sku, code),
    )


def test_a_lost_parcel_goes_to_the_floor_is_picked_first_packed_and_the_shop_is_told(
    floor, web, rest
):
    store = floor.store
    webhooks.subscribe(store, "https://shop.example.com/hooks", ["parcel.reshipped"])
    oid, (tracking,) = ship(store, "shop-9")
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds() and sku_b.carrier_lost == 0
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["actions"]["reship"] == [lost]
    assert view["actions"]["cancel"] == f"order {oid} has shipped: it can no longer be cancelled"
    assert view["actions"]["change_address"] is not None
    # What the page does not offer, the server refuses with the same words; bad input too.
    before = _unchanged(store)
    r = web.post(f"{API}/orders/{oid}/cancel", json={})
    assert r.status_code == 409 and r.get_json()["error"] == view["actions"]["cancel"]
    r = web.post(f"{API}/packages/{lost}/reship", json={"device": "packer-e1"})
    assert r.status_code == 400
    assert r.get_json()["error"] == "unknown field(s) device: this takes no fields"
    r = rest.post(f"/api/packages/{lost}/reship", json={"device": "packer-e1"})
    assert r.status_code == 422 and "device" in str(r.get_json())
    r = web.post(f"{API}/packages/999999/reship", json={})
    assert r.status_code == 404 and r.get_json()["error"] == "no package 999999"
    assert _unchanged(store) == before
    # Ordinary work waits on the floor, even the most urgent order.
    rush = place(store, "shop-rush", [("SKU-A", 1)], priority=9)
    e0101 = _bin(store, "E-01-01")

    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # The parcel's unit is reserved in WH-EAST's bin, not yet taken: a picker takes it.
    assert body["units"] == {"SKU-B": 1} and body["warehouse"] == "WH-EAST"
    assert body["said"] == (
        "WH-EAST ships the new parcel, as it shipped the lost one; its units go to the floor "
        f"as an urgent pick list ({pick_list_ref(body['pick_list'])}), and its label is printed "
        "when it is packed at a pack station of WH-EAST"
    )
    assert _bin(store, "E-01-01") == {**e0101, "reserved": e0101["reserved"] + 1}
    pl = store.one("SELECT status, priority, warehouse FROM pick_lists WHERE id = ?",
                   (body["pick_list"],))  # fmt: skip
    assert pl == {"status": "open", "priority": URGENT, "warehouse": "WH-EAST"}
    assert (
        store.one("SELECT lost_at, replaced_by FROM packages WHERE id = ?", (lost,))["replaced_by"]
        is None
    )
    assert store.one("SELECT lost_at FROM packages WHERE id = ?", (lost,))["lost_at"]
    assert store.one("SELECT COUNT(*) AS n FROM packages WHERE order_id = ?", (oid,))["n"] == 1
    (after,) = accounts(store, "SKU-B")
    assert after.holds(), after
    assert (after.shipped, after.carrier_lost, after.received) == (
        sku_b.shipped - 1, 1, sku_b.received,
    )  # fmt: skip
    # The lost parcel no longer counts: the order is work on the floor again.
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["order"]["status"] == "allocated" == body["status"]
    assert view["actions"]["reship"] == []
    assert view["timeline"][-1]["says"].startswith("Parcel lost by the carrier")
    assert webhooks.list_deliveries(store, order_id=oid) == []  # no new tracking number yet
    assert _audit(store) == [("sam", "reship", f"package:{lost}")]
    # A second re-ship while the first is on the floor is refused in words.
    before = _unchanged(store)
    r = rest.post(f"/api/packages/{lost}/reship", json={})
    assert r.status_code == 409
    assert r.get_json()["message"] == (
        f"parcel {tracking} is already marked lost: its re-ship is on the floor, not yet packed"
    )
    assert _unchanged(store) == before

    # The picker is handed the re-ship before the priority 9 order.
    first = _picked(floor, floor.tokens["picker"], "TOTE-71")
    assert first["order_id"] == oid, first
    assert _bin(store, "E-01-01") == {"on_hand": e0101["on_hand"] - 1,
                                      "reserved": e0101["reserved"]}  # fmt: skip
    (picked,) = accounts(store, "SKU-B")
    assert picked.holds() and picked.in_totes == 1, picked
    assert store.one("SELECT status FROM orders WHERE id = ?", (rush,))["status"] == "picking"

    new_tracking = pack_tote(floor, floor.tokens["packer"], "TOTE-71", "0012345678905")
    new = store.one("SELECT * FROM packages WHERE tracking = ?", (new_tracking,))
    assert new["tracking"] != tracking and new["status"] == "confirmed"
    assert store.one("SELECT reship_of FROM shipments WHERE id = ?", (new["shipment_id"],)) == {
        "reship_of": lost
    }
    assert store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,)) == {
        "replaced_by": new["id"]
    }
    job = store.one("SELECT d.name, j.status FROM print_jobs j JOIN devices d "
                    "ON d.id = j.device_id WHERE j.package_id = ?", (new["id"],))  # fmt: skip
    assert job == {"name": "packer-e1", "status": "printed"}
    told = webhooks.list_deliveries(store, order_id=oid)
    assert [d["event"] for d in told] == ["parcel.reshipped"]
    data = told[0]["payload"]["data"]
    assert data["lost"] == {"id": lost, "tracking": tracking}
    assert data["package"]["tracking"] == new_tracking and data["warehouse"] == "WH-EAST"
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["order"]["status"] == "packed"
    assert [e["says"] for e in view["timeline"]][-2:] == [
        f"New parcel labelled in place of the lost one: tracking {tracking}, new tracking "
        f"{new_tracking}, package {new['id']}, from WH-EAST",
        f"Packed and labelled: tracking {new_tracking}, package {new['id']}",
    ]
    assert view["actions"]["reship"] == []  # the new parcel has not left yet
    assert web.get(f"{API}/packages/{new['id']}/label.png").mimetype == "image/png"
    # The customer's tracking page (and mails) name the new parcel, not the lost one.
    assert [p["tracking"] for p in customer_view.by_order(store, oid)["parcels"]] == [new_tracking]
    assert shipments.ship(store, new["shipment_id"]) == "shipped"
    (shipped,) = accounts(store, "SKU-B")
    assert shipped.holds(), shipped
    assert (shipped.shipped, shipped.carrier_lost, shipped.in_totes) == (sku_b.shipped, 1, 0)
    # Handed over, the new parcel is with the carrier: it may be re-shipped in turn if lost.
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["reship"] == [new["id"]]

    r = rest.post(f"/api/packages/{lost}/reship", json={})
    assert r.status_code == 409
    assert r.get_json()["message"] == f"parcel {tracking} is already marked lost and was sent again"


def test_a_reship_short_picked_to_an_empty_bin_goes_on_from_another_warehouse(floor, web):
    store = floor.store
    pens_in_the_west(store)
    oid, (tracking,) = ship(store, "shop-14")
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    body = web.post(f"{API}/packages/{lost}/reship", json={}).get_json()
    assert body["warehouse"] == "WH-EAST"
    # E-01-01, WH-EAST's only bin of pens, is empty when the picker gets there.
    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    assert last_state(picker)["state"]["order_id"] == oid
    assert scan(picker, "TOTE-73", "s1")["ok"] and scan(picker, "LE-01-01", "s2")["ok"]
    assert action(picker, "short", "s3", found=0, reason="empty")["ok"]
    picker.disconnect(NS)
    assert store.one("SELECT outcome FROM short_picks") == {"outcome": "other_warehouse"}
    # The rest goes on as the re-ship from WH-WEST: naming the lost parcel, as urgent.
    west = store.one(
        "SELECT s.id, s.reship_of, p.priority FROM shipments s JOIN reservations r "
        "ON r.shipment_id = s.id JOIN pick_steps ps ON ps.reservation_id = r.id "
        "JOIN pick_lists p ON p.id = ps.pick_list_id WHERE s.order_id = ? AND s.warehouse = ?",
        (oid, "WH-WEST"),
    )
    assert (west["reship_of"], west["priority"]) == (lost, URGENT)
    assert store.one("SELECT status FROM shipments WHERE id = ?", (body["shipment"],)) == {
        "status": "cancelled"
    }
    w_picker = auth.create_device(store, "picker-w1", "picker", "WH-WEST")
    w_packer = auth.create_device(store, "packer-w1", "packer", "WH-WEST")
    assert _picked(floor, w_picker, "TOTE-74")["order_id"] == oid
    new_tracking = pack_tote(floor, w_packer, "TOTE-74", "0012345678905")
    new = store.one("SELECT id, shipment_id FROM packages WHERE tracking = ?", (new_tracking,))
    assert new["shipment_id"] == west["id"]
    assert store.one("SELECT replaced_by FROM packages WHERE id = ?", (lost,)) == {
        "replaced_by": new["id"]
    }
    (told,) = webhooks.list_deliveries(store, order_id=oid)
    assert told["payload"]["data"]["warehouse"] == "WH-WEST"
    assert told["payload"]["data"]["lost"]["tracking"] == tracking
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds() and sku_b.carrier_lost == 1, sku_b


def test_cancelling_the_order_cancels_its_reship_on_the_floor(floor, web):
    store = floor.store
    oid, _ = ship(store, "shop-13")
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    e0101 = _bin(store, "E-01-01")
    body = web.post(f"{API}/packages/{lost}/reship", json={}).get_json()
    # A new priority for the order leaves its re-ship's list above ordinary work.
    assert web.post(f"{API}/orders/{oid}/priority", json={"priority": 2}).status_code == 200
    assert store.one("SELECT priority FROM pick_lists WHERE id = ?", (body["pick_list"],)) == {
        "priority": URGENT
    }
    # Only the lost parcel left with a carrier: the order may be cancelled now.
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["cancel"] is None
    r = web.post(f"{API}/orders/{oid}/cancel", json={"reason": "refunded"})
    assert r.status_code == 200, r.get_json()
    assert store.one("SELECT id FROM pick_lists WHERE id = ?", (body["pick_list"],)) is None
    assert store.one("SELECT status FROM shipments WHERE id = ?", (body["shipment"],)) == {
        "status": "cancelled"
    }
    assert _bin(store, "E-01-01") == e0101  # the reserved unit went back to its bin
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "cancelled"
    (sku_b,) = accounts(store, "SKU-B")
    assert sku_b.holds() and sku_b.carrier_lost == 1, sku_b


def test_a_reship_without_the_units_on_the_shelves_is_refused_and_changes_nothing(floor, web):
    store = floor.store
    oid, (tracking,) = ship(store, "shop-10")
    lost = store.one("SELECT id FROM packages WHERE order_id = ?", (oid,))["id"]
    with store.write():  # WH-EAST's SKU-B all promised to others (WH-WEST's is not taken)
        store.execute(
            "UPDATE stock SET reserved = on_hand WHERE sku = 'SKU-B' AND location_id IN "
            "(SELECT id FROM locations WHERE warehouse = 'WH-EAST')"
        )
    before = _unchanged(store)
    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 409
    assert r.get_json()["error"] == (
        "no warehouse has the lost parcel's units on its shelves (WH-EAST 1 x SKU-B short; "
        "WH-WEST 1 x SKU-B short); nothing was re-shipped"
    )
    assert _unchanged(store) == before
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["reship"] == [lost]


def test_a_reship_the_shipping_warehouse_cannot_fill_comes_from_the_nearest_that_can(
    floor, web, rest
):
    store = floor.store
    # A third warehouse in Chicago, nearer the New York customer than Los Angeles; both hold
    # SKU-B on a pick face.
    catalogue_service.load(store, CatalogueIn.model_validate({
        "warehouses": [{"code": "WH-MID", "name": "WH-MID DC", "address": address("WH-MID DC"),
                        "lat": 41.88, "lon": -87.63}],
        "locations": [{"warehouse": "WH-MID", "code": "M-01-01", "barcode": "LM-01-01"},
                      {"warehouse": "WH-WEST", "code": "W-03-01", "barcode": "LW-03-01"}],
        "stock": [{"warehouse": "WH-MID", "location": "M-01-01", "sku": "SKU-B", "on_hand": 3},
                  {"warehouse": "WH-WEST", "location": "W-03-01", "sku": "SKU-B", "on_hand": 5}],
    }))  # fmt: skip
    webhooks.subscribe(store, "https://shop.example.com/hooks", ["parcel.reshipped"])
    oid, (tracking,) = ship(store, "shop-11", packages=1)
    _, (t2,) = ship(store, "shop-12", packages=1)
    lost = store.one("SELECT id FROM packages WHERE tracking = ?", (tracking,))["id"]
    with store.write():  # WH-EAST's SKU-B all promised to others
        store.execute(
            "UPDATE stock SET reserved = on_hand WHERE sku = 'SKU-B' AND location_id IN "
            "(SELECT id FROM locations WHERE warehouse = 'WH-EAST')"
        )
    (sku_b,) = accounts(store, "SKU-B")
    r = web.post(f"{API}/packages/{lost}/reship", json={})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    said = (
        "WH-EAST, which shipped the lost parcel, has not its units on its shelves "
        "(1 x SKU-B short): WH-MID, the nearest warehouse to the customer that has them, "
        "ships the new parcel"
    )
    assert body["warehouse"] == "WH-MID" and body["units"] == {"SKU-B": 1}
    assert body["said"].startswith(said + "; its units go to the floor as an urgent pick list")
    assert body["said"].endswith("printed when it is packed at a pack station of WH-MID")
    assert _bin(store, "M-01-01") == {"on_hand": 3, "reserved": 1}
    assert store.one("SELECT warehouse, status, reship_of FROM shipments WHERE id = ?",
                     (body["shipment"],)) == {"warehouse": "WH-MID", "status": "allocated",
                                              "reship_of": lost}  # fmt: skip
    (after,) = accounts(store, "SKU-B")
    assert after.holds(), after
    assert (after.shipped, after.carrier_lost) == (sku_b.shipped - 1, sku_b.carrier_lost + 1)
    audit = store.one("SELECT detail FROM audit_log WHERE action = 'reship'")["detail"]
    assert '"warehouse": "WH-MID"' in audit

    # WH-MID's picker and pack station do the work; WH-EAST's pack station may not pack it.
    mid_picker = auth.create_device(store, "picker-m1", "picker", "WH-MID")
    mid_packer = auth.create_device(store, "packer-m1", "packer", "WH-MID")
    assert _picked(floor, mid_picker, "TOTE-72")["order_id"] == oid
    assert _bin(store, "M-01-01") == {"on_hand": 2, "reserved": 0}
    east = connect(floor.app, floor.socketio, floor.tokens["packer"])
    before = _unchanged(store)
    r = scan(east, "TOTE-72", "east-1")
    assert (r["ok"], r["code"], r["message"]) == (
        False, "other_warehouse",
        "TOTE-72 holds work of WH-MID: pack it at a pack station of WH-MID",
    ), r  # fmt: skip
    east.disconnect(NS)
    assert _unchanged(store) == before
    new_tracking = pack_tote(floor, mid_packer, "TOTE-72", "0012345678905")
    told = webhooks.list_deliveries(store, order_id=oid)
    assert told[0]["payload"]["data"]["warehouse"] == "WH-MID"
    assert told[0]["payload"]["data"]["package"]["tracking"] == new_tracking

    # WH-MID keeps 2 as safety stock: the second lost parcel comes from WH-WEST, over REST.
    with store.write():
        store.execute(
            "INSERT INTO safety_stock (warehouse, sku, qty) VALUES ('WH-MID', 'SKU-B', 2)"
        )
    second = store.one("SELECT id FROM packages WHERE tracking = ?", (t2,))["id"]
    r = rest.post(f"/api/packages/{second}/reship", json={})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["warehouse"] == "WH-WEST" and "WH-WEST, the nearest" in r.get_json()["said"]
    assert _bin(store, "W-03-01") == {"on_hand": 5, "reserved": 1}
    (last,) = accounts(store, "SKU-B")
    assert last.holds(), last


def test_a_customer_mail_is_sent_again_as_a_new_mail_of_its_kind(floor, web, rest):
    store = floor.store
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    mail = store.one("SELECT id, kind FROM customer_mails WHERE order_id = ?", (oid,))
    assert mail["kind"] == "shipped"
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert view["actions"]["resend_mail"] == []  # written while e-mail is off: never sent
    before = _unchanged(store)
    r = web.post(f"{API}/mails/{mail['id']}/resend")
    assert r.status_code == 409
    assert r.get_json()["error"] == "the shipped mail was never sent (e-mail was turned off)"
    assert web.post(f"{API}/mails/999999/resend").status_code == 404
    assert web.post(f"{API}/mails/{mail['id']}/resend", json={"x": 1}).status_code == 400
    assert _unchanged(store) == before

    with store.write():  # the mailer sent it
        store.execute("UPDATE customer_mails SET status = 'sent' WHERE id = ?", (mail["id"],))
    assert web.get(f"{API}/orders/{oid}").get_json()["actions"]["resend_mail"] == [mail["id"]]
    r = web.post(f"{API}/mails/{mail['id']}/resend")
    assert r.status_code == 200, r.get_json()
    again = store.all("SELECT id, kind, recipient FROM customer_mails WHERE order_id = ? "
                      "ORDER BY id", (oid,))  # fmt: skip
    assert [(m["kind"], m["recipient"]) for m in again] == [("shipped", EMAIL)] * 2
    assert r.get_json()["mail"] == again[1]["id"]
    assert _audit(store) == [("sam", "resend mail", oid)]
    r = rest.post(f"/api/mails/{mail['id']}/resend")
    assert r.status_code == 200 and r.get_json()["kind"] == "shipped", r.get_json()
    view = web.get(f"{API}/orders/{oid}").get_json()
    assert [m["kind"] for m in view["order"]["customer_mails"]] == ["shipped"] * 3


def test_the_migration_gives_orders_taken_before_it_their_search_terms(tmp_path):
    from server.capture import search as searching
    from server.store import open_store
    from server.store.migrations import MIGRATIONS

    store = open_store(tmp_path / "old.db", migrate=False)
    with store.write():
        MIGRATIONS.apply(store.db, stop_before="0036_reorder_policies_search_terms")
        for oid, name, email in [
            ("SO-000001", "Mary-Jane Smith", "MJ@Post.example.org"),
            ("SO-000002", "Jo Smithers", None),
        ]:
            store.execute(
                "INSERT INTO orders (id, channel, external_id, body_hash, status, ship_to, "
                "created_at, updated_at, email, customer) VALUES (?, 'web', ?, 'h', 'received', "
                "?, '2026-01-01', '2026-01-01', ?, ?)",
                (oid, oid, f'{{"name": "{name}"}}', email, name.lower()),
            )
    assert "0036_reorder_policies_search_terms" in store.migrate()
    with store.read():
        found = searching.search(store, "mith")
        assert {o["id"] for o in found["orders"]} == {"SO-000001", "SO-000002"}
        assert [o["id"] for o in searching.search(store, "post.example")["orders"]] == ["SO-000001"]
    # The migration's rule is the search module's.
    terms = {
        r["term"] for r in store.all("SELECT term FROM order_terms WHERE order_id = 'SO-000001'")
    }
    assert terms == searching.terms("Mary-Jane Smith", "MJ@Post.example.org")
    store.close()
