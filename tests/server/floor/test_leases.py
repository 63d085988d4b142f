"""Task leases: a silent picker's list goes back to the queue at the step reached."""

from __future__ import annotations

import pytest
from floorkit import action, connect, expire_leases, last_state, place, scan, states

from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS


@pytest.fixture
def floor_settings(floor_settings):
    floor_settings.device.lease_seconds = 3600  # the background check must not interfere
    return floor_settings


def test_silent_pickers_list_goes_to_the_next_picker_from_the_step_reached(floor):
    app, socketio, store, tokens = floor
    oid = place(store, "shop-1", [("SKU-B", 2)])
    first = connect(app, socketio, tokens["picker"])
    assert scan(first, "TOTE-1", "a")["ok"] and scan(first, "LE-01-01", "b")["ok"]
    assert scan(first, "0012345678905", "c")["ok"]
    first.disconnect(NS)

    # A connected picker keeps its list however long; only silence releases it.
    assert expire_leases(floor, 3600) == 0
    store.execute(
        "UPDATE devices SET last_seen = '2000-01-01T00:00:00+00:00' WHERE name = 'picker-e1'"
    )
    second_token = auth.create_device(store, "picker-e2", "picker", "WH-EAST")
    second = connect(app, socketio, second_token)
    assert states(second)[-1]["state"]["screen"] == "idle"
    assert expire_leases(floor, 60) == 1
    state = states(second)[-1]["state"]
    # Taken over where it was left: first fetch the cart holding TOTE-1 (1 of 2 in it) ...
    assert state["screen"] == "pick_tote" and state["fetch_cart"]
    assert state["expect"]["barcodes"] == ["TOTE-1"] and "Fetch the cart" in state["instruction"]
    assert state["progress"] == {"done": 1, "total": 2}
    assert scan(second, "TOTE-9", "x1")["code"] == "not_this_cart"
    r = scan(second, "TOTE-1", "x2")
    assert r["code"] == "cart_found"
    # ... then back to the bin for the last unit.
    assert r["state"]["screen"] == "pick_location" and r["state"]["tote"] == "TOTE-1"
    assert scan(second, "LE-01-01", "x3")["ok"]
    assert (
        store.one(
            "SELECT event FROM order_events WHERE order_id = ? ORDER BY id DESC LIMIT 1", (oid,)
        )["event"]
        == "pick_started"
    )

    # The late picker is told, and its late scan picks nothing.
    late = connect(app, socketio, tokens["picker"])
    got = states(late)
    assert any("went back to the queue" in e["message"] for e in got)
    assert got[-1]["state"]["screen"] == "idle"
    r = scan(late, "0012345678905", "d")
    assert not r["ok"]
    assert store.one("SELECT SUM(picked) AS n FROM pick_steps")["n"] == 1
    assert scan(second, "0012345678905", "e")["code"] == "list_done"


def test_logging_out_gives_the_list_back_and_logging_in_takes_work_again(floor):
    app, socketio, store, tokens = floor
    hub = floor.hub
    place(store, "shop-1", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    assert scan(picker, "TOTE-1", "a")["ok"] and scan(picker, "LE-01-01", "b")["ok"]
    assert action(picker, "logout", "c")["ok"]
    got = last_state(picker)
    assert got["state"]["screen"] == "idle" and "CMD-LOGIN" in got["state"]["instruction"]
    assert "went back to the queue" in got["message"]
    assert store.one("SELECT status, device_id FROM pick_lists") == {
        "status": "open",
        "device_id": None,
    }
    hub.offer_work("WH-EAST")  # a logged-out picker is offered nothing
    assert store.one("SELECT status FROM pick_lists")["status"] == "open"
    assert action(picker, "login", "d")["ok"]
    state = last_state(picker)["state"]
    assert state["screen"] == "pick_tote" and state["expect"]["barcodes"] == ["TOTE-1"]
    assert scan(picker, "TOTE-1", "e")["state"]["screen"] == "pick_location"  # the step reached
