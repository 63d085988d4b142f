"""Short picks: the bin is corrected and counted, the missing units come from elsewhere."""

from __future__ import annotations

from dbkit import rows
from floorkit import action, big, connect, drawn, last_state, place, scan, words

from server.core.schemas import CatalogueIn
from server.inventory import catalogue


def short(c, mid, found=0, reason="empty"):
    return action(c, "short", mid, found=found, reason=reason)


def stock(store, loc, sku):
    return store.one(
        "SELECT s.on_hand, s.reserved FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ?",
        (loc, sku),
    )


def test_short_refilled_from_another_bin_of_the_same_warehouse(floor):
    app, socketio, store, tokens = floor
    extra = {
        "stock": [{"warehouse": "WH-EAST", "location": "E-01-02", "sku": "SKU-A", "on_hand": 1}]
    }
    catalogue.load(store, CatalogueIn.model_validate(extra))
    oid = place(store, "shop-1", [("SKU-A", 2)])
    picker = connect(app, socketio, tokens["picker"])
    assert scan(picker, "TOTE-1", "1")["ok"]
    state = scan(picker, "LE-02-02", "2")["state"]  # E-02-02 fills the line: it was chosen
    assert state["step"]["location"] == "E-02-02"
    assert scan(picker, "4006381333931", "3")["ok"]
    ack = short(picker, "4", found=0)
    assert ack["ok"], ack
    state = last_state(picker)
    assert (
        state["state"]["screen"] == "pick_location"
        and state["state"]["step"]["location"] == "E-01-02"
    )
    assert "E-01-02" in state["message"]
    assert stock(store, "E-02-02", "SKU-A") == {"on_hand": 0, "reserved": 0}
    assert store.one("SELECT COUNT(*) AS n FROM count_tasks WHERE status = 'open'")["n"] == 1
    assert store.one("SELECT outcome, wanted, found FROM short_picks") == {
        "outcome": "same_warehouse",
        "wanted": 1,
        "found": 0,
    }
    assert scan(picker, "LE-01-02", "5")["ok"]
    assert scan(picker, "4006381333931", "6")["code"] == "list_done"
    assert stock(store, "E-01-02", "SKU-A") == {"on_hand": 0, "reserved": 0}
    assert store.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"] == "picked"
    # A repeated message id is the same short pick, counted once.
    assert short(picker, "4")["ok"] and store.one("SELECT COUNT(*) AS n FROM short_picks")["n"] == 1


def test_short_sent_to_another_warehouse_as_a_new_shipment(floor):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-A", 2)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    scan(picker, "LE-02-02", "2")
    assert short(picker, "3", found=0, reason="damaged")["ok"]
    assert store.one("SELECT outcome FROM short_picks")["outcome"] == "other_warehouse"
    ships = store.all(
        "SELECT warehouse, status FROM shipments WHERE order_id = ? ORDER BY id", (oid,)
    )
    assert [s["warehouse"] for s in ships if s["status"] != "cancelled"] == ["WH-WEST"]
    assert last_state(picker)["state"]["screen"] == "idle"  # nothing left on the east list


def test_short_with_nothing_anywhere_waits_and_bad_shorts_change_nothing(floor):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    r = short(picker, "2")
    assert not r["ok"] and r["error"]["code"] == "not_short"  # not at the bin yet
    scan(picker, "LE-01-01", "3")
    r = short(picker, "4", found=5)
    assert not r["ok"] and r["error"]["code"] == "not_short"  # found enough
    assert store.one("SELECT COUNT(*) AS n FROM short_picks")["n"] == 0
    assert stock(store, "E-01-01", "SKU-B") == {"on_hand": 10, "reserved": 2}
    assert short(picker, "5", found=1)["ok"]
    assert store.one("SELECT outcome FROM short_picks")["outcome"] in ("backordered", "waiting")
    assert stock(store, "E-01-01", "SKU-B")["on_hand"] == 1
    assert store.one("SELECT waiting FROM orders WHERE id = ?", (oid,))["waiting"] == 1
    state = last_state(picker)["state"]
    assert state["screen"] == "pick_item" and state["step"]["qty"] == 1


def test_supervisors_see_every_short_pick(floor):
    app, socketio, store, tokens = floor
    from server.people import auth as auth_service

    place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    scan(picker, "LE-01-01", "2")
    assert short(picker, "3", found=1, reason="damaged")["ok"]
    key = auth_service.create_api_key(store, "sup")
    got = app.test_client().get("/api/short-picks", headers={"X-API-Key": key}).get_json()
    (row,) = got["short_picks"]
    assert (row["location"], row["wanted"], row["found"], row["reason"], row["device"]) == (
        "E-01-01",
        2,
        1,
        "damaged",
        "picker-e1",
    )
    from server.board.board import snapshot

    snap = snapshot(store)
    assert snap["short_picks"][0]["sku"] == "SKU-B" and snap["counts"]["bins_to_count"] == 1


def ask(c, mid, reason=None):
    """CMD-SHORT at the bin: a short with no count yet."""
    return action(c, "short", mid, **({"reason": reason} if reason else {}))


def untouched(store) -> dict:
    return {
        "stock": rows(store, "stock"),
        "steps": store.all("SELECT * FROM pick_steps ORDER BY id"),
        "shorts": store.one("SELECT COUNT(*) AS n FROM short_picks")["n"],
        "counts": store.one("SELECT COUNT(*) AS n FROM count_tasks")["n"],
    }


def test_cmd_short_asks_for_the_count_and_says_what_will_happen_first(floor):
    app, socketio, store, tokens = floor
    extra = {
        "stock": [{"warehouse": "WH-EAST", "location": "E-01-02", "sku": "SKU-A", "on_hand": 4}]
    }
    catalogue.load(store, CatalogueIn.model_validate(extra))
    place(store, "shop-1", [("SKU-A", 3)])
    picker = connect(app, socketio, tokens["picker"])
    here = scan(picker, "TOTE-1", "1")["state"]["step"]["location"]  # a bin that fills the line
    other = {"E-01-02": "E-02-02", "E-02-02": "E-01-02"}[here]
    assert scan(picker, f"L{here}", "2")["state"]["screen"] == "pick_item"
    before = untouched(store)
    assert ask(picker, "3")["ok"]
    # Nothing changed yet: the bin is not zeroed on one scan.
    assert untouched(store) == before
    got = last_state(picker)["state"]
    assert got["screen"] == "pick_short" and got["step"]["location"] == here
    assert "How many" in got["instruction"] and "CMD-COUNT-" in got["instruction"]
    assert "CMD-SHORT" in got["instruction"]
    assert "3" in got["detail"] and other in got["detail"]  # the rest: from the other bin
    # The answer: 1 in the bin.
    assert short(picker, "4", found=1)["ok"]
    assert store.one("SELECT wanted, found, outcome FROM short_picks") == {
        "wanted": 3,
        "found": 1,
        "outcome": "same_warehouse",
    }
    assert stock(store, here, "SKU-A")["on_hand"] == 1


def test_the_ask_says_when_the_rest_ships_from_another_warehouse_or_waits(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 2), ("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    state = scan(picker, "LE-01-01", "2")["state"]
    assert state["step"]["sku"] == "SKU-B"
    assert ask(picker, "3")["ok"]
    detail = last_state(picker)["state"]["detail"]
    assert "backorder" in detail.lower() or "wait" in detail.lower(), detail
    # Scanning the item after all carries on picking: the ask is dropped, nothing shorted.
    r = scan(picker, "0012345678905", "4")
    assert r["ok"] and r["state"]["screen"] in ("pick_item", "pick_location")
    assert store.one("SELECT COUNT(*) AS n FROM short_picks")["n"] == 0
    r = scan(picker, "0012345678905", "5")
    assert r["state"]["step"]["sku"] == "SKU-A"
    scan(picker, "LE-02-02", "6")
    assert ask(picker, "7")["ok"]
    detail = last_state(picker)["state"]["detail"]
    assert "WH-WEST" in detail, detail


def test_an_ask_away_from_the_bin_is_refused(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    r = ask(picker, "2")
    assert not r["ok"] and r["error"]["code"] == "not_short"


def test_after_a_short_pick_the_footer_and_the_headline_agree(floor):
    app, socketio, store = floor.app, floor.socketio, floor.store
    extra = {
        "stock": [{"warehouse": "WH-EAST", "location": "E-01-02", "sku": "SKU-B", "on_hand": 4}]
    }
    catalogue.load(store, CatalogueIn.model_validate(extra))
    place(store, "shop-1", [("SKU-B", 1), ("SKU-A", 1)])
    picker = connect(app, socketio, floor.tokens["picker"])
    assert scan(picker, "TOTE-1", "1")["state"]["step"]["location"] == "E-01-01"
    assert scan(picker, "LE-01-01", "2")["ok"]
    assert action(picker, "short", "3")["ok"]  # no count: the question first
    asked = last_state(picker)
    assert asked["state"]["screen"] == "pick_short"
    assert "If it is empty: the other 1 comes from bin E-01-02" in asked["state"]["detail"]
    assert action(picker, "short", "4", found=0, reason="empty")["ok"]
    after = last_state(picker)
    assert after["state"]["step"]["location"] == "E-02-02"  # the refill bin is last on the route
    seen = drawn(after["state"], None, after["message"])
    assert big("E-02-02") in seen
    assert "Next: the other" not in seen and "the rest from" not in seen
    assert "Later in this list the other 1 comes from bin E-01-02" in words(seen)
    assert scan(picker, "LE-02-02", "5")["ok"]
    assert scan(picker, "4006381333931", "6")["state"]["step"]["location"] == "E-01-02"
