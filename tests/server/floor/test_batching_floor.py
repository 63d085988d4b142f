"""Cluster carts on the floor: carts planned ahead, urgent orders alone, zones, packing per tote;
the planner computes a cart outside any write and writes it only if nothing changed under it."""

from __future__ import annotations

import pytest
from floorkit import connect, last_state, place, plan, scan

from server.core.schemas import CatalogueIn
from server.floor import planning
from server.inventory import catalogue
from server.people import auth

# A bin in zone B of the east warehouse, with green tea in it.
ZONE_B = {
    "locations": [
        {
            "warehouse": "WH-EAST",
            "code": "E-05-01",
            "barcode": "LE-05-01",
            "zone": "B",
            "aisle": 5,
            "bay": 1,
        }
    ],
    "stock": [{"warehouse": "WH-EAST", "location": "E-05-01", "sku": "SKU-C", "on_hand": 9}],
}


@pytest.fixture
def floor_store(floor_store):
    catalogue.load(floor_store, CatalogueIn.model_validate(ZONE_B))
    return floor_store


def screen(c) -> dict:
    """What the handheld shows now."""
    return last_state(c)["state"]


def test_a_cart_of_orders_picked_into_their_own_totes_then_packed_tote_by_tote(floor):
    app, socketio, store, tokens = floor
    a = place(store, "shop-a", [("SKU-B", 1)])
    b = place(store, "shop-b", [("SKU-B", 1), ("SKU-A", 1)])
    assert (
        store.one("SELECT COUNT(*) AS n FROM pick_lists")["n"] == 2
    )  # one list per order, until planned onto a cart
    plan(store)  # what the server's planner does as lists arrive
    picker = connect(app, socketio, tokens["picker"])
    state = screen(picker)
    assert state["screen"] == "pick_tote" and state["orders"] == [a, b]
    assert store.one("SELECT COUNT(*) AS n FROM pick_lists")["n"] == 1  # batched onto one cart
    assert scan(picker, "TOTE-1", "1")["state"]["order_id"] == b
    state = scan(picker, "TOTE-2", "2")["state"]
    assert state["totes"] == {a: "TOTE-1", b: "TOTE-2"} and state["screen"] == "pick_location"
    mid = 2
    while state["screen"] != "idle":
        mid += 1
        if state["screen"] == "pick_put":
            wrong = next(t for t in ("TOTE-1", "TOTE-2") if t not in state["expect"]["barcodes"])
            assert scan(picker, wrong, f"w{mid}")["code"] == "wrong_tote"
        reply = scan(picker, state["expect"]["barcodes"][0], str(mid))
        assert reply["ok"], reply
        state = reply["state"]
    assert reply["code"] == "list_done"
    # Every unit went into its own order's tote, and left its bin.
    assert store.one("SELECT SUM(put) AS n FROM pick_steps")["n"] == 3
    assert store.one(
        "SELECT on_hand, reserved FROM stock WHERE sku = 'SKU-B' AND location_id = "
        "(SELECT id FROM locations WHERE code = 'E-01-01')"
    ) == {"on_hand": 8, "reserved": 0}

    packer = connect(app, socketio, tokens["packer"])
    assert set(screen(packer)["expect"]["barcodes"]) == {"TOTE-1", "TOTE-2"}
    r = scan(packer, "TOTE-2", "p1")
    assert r["ok"] and r["state"]["order_id"] == b and r["state"]["progress"]["total"] == 2
    assert scan(packer, "0012345678905", "p2")["ok"]
    r = scan(packer, "4006381333931", "p3")
    tracking = r["state"]["expect"]["barcodes"][0]
    r = scan(packer, tracking, "p4")
    assert r["ok"] and r["state"]["expect"]["barcodes"] == ["TOTE-1"]  # the other tote still waits
    assert store.one("SELECT status FROM pick_lists")["status"] == "packing"
    assert scan(packer, "TOTE-1", "p5")["ok"]
    r = scan(packer, "0012345678905", "p6")
    r = scan(packer, r["state"]["expect"]["barcodes"][0], "p7")
    assert r["code"] == "label_ok"
    assert store.one("SELECT status FROM pick_lists")["status"] == "packed"
    assert {o["status"] for o in store.all("SELECT status FROM orders")} == {"packed"}


def test_an_urgent_order_never_waits_behind_a_batch(floor):
    app, socketio, store, tokens = floor
    normal = [place(store, f"n{i}", [("SKU-B", 1)]) for i in range(3)]
    urgent = place(store, "rush", [("SKU-A", 1)], priority=9)
    picker = connect(app, socketio, tokens["picker"])
    assert screen(picker)["orders"] == [urgent]
    auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    plan(store)
    second = connect(app, socketio, auth.create_device(store, "picker-e3", "picker", "WH-EAST"))
    assert screen(second)["orders"] == normal


def test_a_picker_bound_to_a_zone_gets_only_work_there(floor):
    app, socketio, store, tokens = floor
    place(store, "in-a", [("SKU-B", 1)])
    in_b = place(store, "in-b", [("SKU-C", 2)])
    zoned = connect(
        app, socketio, auth.create_device(store, "picker-b", "picker", "WH-EAST", zones="B")
    )
    assert screen(zoned)["orders"] == [in_b]
    single = connect(
        app, socketio, auth.create_device(store, "picker-1", "picker", "WH-EAST", cart_totes=1)
    )
    assert len(screen(single)["orders"]) == 1


# -- compute outside the write, write only if nothing changed ----------------------


@pytest.fixture
def six_fresh_lists(floor_store, floor_tokens):
    """Six one-unit orders in WH-EAST, each its own fresh list; one picker with a 6-tote cart."""
    return [place(floor_store, f"p-{i}", [("SKU-B", 1)]) for i in range(6)]


def picker_kind(store) -> dict:
    (k,) = planning._kinds(store, "WH-EAST")
    return k


def lists(store) -> list[dict]:
    return store.all("SELECT id, status, planned FROM pick_lists ORDER BY id")


def test_a_cart_is_computed_without_writing_anything(floor_store, six_fresh_lists):
    before = lists(floor_store)
    plan = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    assert plan is not None and len(plan.members) == 6 and len(plan.order) == 6
    assert not floor_store.conn.in_transaction
    assert lists(floor_store) == before


def test_a_list_taken_under_the_planner_makes_it_compute_again(floor_store, six_fresh_lists):
    plan = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    taken = plan.members[2]
    # A hand-out takes one of the lists between compute and write.
    floor_store.execute("UPDATE pick_lists SET status = 'assigned' WHERE id = ?", (taken,))
    before = lists(floor_store)
    assert planning.write_cart(floor_store, plan) == "changed"
    assert lists(floor_store) == before  # nothing written
    # Computed again, the cart leaves the taken list alone.
    assert planning.plan_ahead(floor_store, "WH-EAST", per_picker=1.0) == 1
    (cart,) = floor_store.all("SELECT id FROM pick_lists WHERE planned IS NOT NULL")
    totes = floor_store.all(
        "SELECT pick_list_id FROM pick_list_totes WHERE pick_list_id = ?", (cart["id"],)
    )
    assert len(totes) == 5
    assert floor_store.one("SELECT status FROM pick_lists WHERE id = ?", (taken,)) == {
        "status": "assigned"
    }


def test_a_step_changed_under_the_planner_makes_it_compute_again(floor_store, six_fresh_lists):
    plan = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    # A short pick moved a step of a member to another bin (the list's version moves).
    floor_store.execute(
        "UPDATE pick_steps SET qty = qty WHERE pick_list_id = ?", (plan.members[-1],)
    )
    assert planning.write_cart(floor_store, plan) == "changed"


def test_a_cart_planned_by_another_planner_meanwhile_is_enough(floor_store, six_fresh_lists):
    plan = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    other = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    assert planning.write_cart(floor_store, other) == "planned"
    assert planning.write_cart(floor_store, plan) == "enough"
    assert len(floor_store.all("SELECT id FROM pick_lists WHERE planned IS NOT NULL")) == 1


def test_a_planner_that_keeps_losing_gives_up_for_now(floor_store, six_fresh_lists):
    def hand_one_out(plan: planning.CartPlan) -> None:
        floor_store.execute(
            "UPDATE pick_lists SET status = 'assigned' WHERE id = ?", (plan.members[0],)
        )

    # Every write loses to a hand-out: after RETRIES it stops rather than spin.
    assert planning.plan_ahead(floor_store, "WH-EAST", before_write=hand_one_out) == 0
    left = floor_store.one("SELECT COUNT(*) AS n FROM pick_lists WHERE status = 'open'")["n"]
    assert left == 6 - (planning.RETRIES + 1)


def test_a_second_picker_kind_gets_its_own_cart(floor_store, six_fresh_lists):
    auth.create_device(floor_store, "picker-e2", "picker", "WH-EAST", cart_totes=2)
    assert planning.plan_ahead(floor_store, "WH-EAST", budget=10, per_picker=1.0) == 2
    planned = floor_store.all("SELECT planned FROM pick_lists WHERE planned IS NOT NULL")
    assert sorted(r["planned"] for r in planned) == ["2/", "6/"]


@pytest.mark.sqlite_only("SQLite's synchronous level: PostgreSQL syncs inside its COMMIT")
def test_a_cart_is_written_without_waiting_for_the_disk_and_the_store_keeps_its_level(
    floor_store, six_fresh_lists
):
    """At FULL the fsync inside the cart's COMMIT held the site's write lock 4-12 ms a cart,
    the serving process's scans waiting behind it; a cart is the planner's own conclusion."""
    plan = planning.compute_cart(floor_store, "WH-EAST", picker_kind(floor_store), 1.0)
    level = floor_store.conn.execute("PRAGMA synchronous").fetchone()[0]
    seen: list[str] = []
    floor_store.conn.set_trace_callback(seen.append)
    try:
        assert planning.write_cart(floor_store, plan) == "planned"
    finally:
        floor_store.conn.set_trace_callback(None)
    begin = seen.index("BEGIN IMMEDIATE")
    assert "PRAGMA synchronous=NORMAL" in seen[:begin], seen
    assert f"PRAGMA synchronous={level}" in seen[seen.index("COMMIT") :], seen
    assert floor_store.conn.execute("PRAGMA synchronous").fetchone()[0] == level


def test_the_worker_leaves_the_write_lock_free_between_two_carts(floor, monkeypatch):
    """After a storm of hand-outs the planner wrote carts back to back and the serving
    process's group commit waited for several of them: the worker now pauses between carts."""
    from server.runtime import background

    for i in range(12):
        place(floor.store, f"w-{i}", [("SKU-B", 1)])
    events: list[str] = []
    real_write = planning.write_cart

    def write(store, plan):
        events.append("cart")
        return real_write(store, plan)

    real_plan = planning.plan_ahead
    monkeypatch.setattr(planning, "write_cart", write)
    # Three carts ahead for the one picker (a floor's quarter of a cart per picker is 1 here).
    monkeypatch.setattr(planning, "plan_ahead", lambda *a, **k: real_plan(*a, **k, per_picker=3))
    monkeypatch.setattr(background.gevent, "sleep", lambda s=0: events.append(f"sleep {s}"))
    worker = background.Worker(floor.store, floor.app.config["SETTINGS"])
    assert worker.plan_once() >= 2
    gap = f"sleep {background.PLAN_GAP_SECONDS}"
    carts = [i for i, e in enumerate(events) if e == "cart"]
    for a, b in zip(carts, carts[1:], strict=False):
        assert gap in events[a:b], events
