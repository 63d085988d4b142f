"""Shift start: a connect finds its device's links by key, and its first screen is kept."""

from __future__ import annotations

from floorkit import connect, place, scan, settle, states

from server.floor import screens, views
from server.floor.domain import picking
from shared.protocol import DEVICE_NAMESPACE as NS


def _namespace(socketio):
    return socketio.server.namespace_handlers[NS]


def _links_match(ns) -> None:
    """The per-device index is exactly the inverse of the sid -> device map."""
    inverse: dict[int, set[str]] = {}
    for sid, did in ns.devices.items():
        inverse.setdefault(did, set()).add(sid)
    assert ns.links == inverse


def test_links_stay_keyed_by_device_through_takeovers(floor):
    app, socketio, store, tokens = floor
    ns = _namespace(socketio)
    picker_id = store.one("SELECT id FROM devices WHERE role = 'picker'")["id"]
    packer = connect(app, socketio, tokens["packer"])
    links = [connect(app, socketio, tokens["picker"]) for _ in range(3)]
    settle()
    # Each newer link took over: only the last is held, the packer's untouched.
    assert [c.is_connected(NS) for c in links] == [False, False, True]
    assert packer.is_connected(NS)
    assert len(ns.links[picker_id]) == 1
    _links_match(ns)
    assert store.one("SELECT connected FROM devices WHERE id = ?", (picker_id,))["connected"] == 1
    links[-1].disconnect(NS)
    settle()
    assert picker_id not in ns.links and picker_id not in ns.hub.sent
    _links_match(ns)
    assert store.one("SELECT connected FROM devices WHERE id = ?", (picker_id,))["connected"] == 0
    # A revoke's cut finds the link through the index too.
    picker = connect(app, socketio, tokens["picker"])
    store.execute("UPDATE devices SET revoked = 1 WHERE id = ?", (picker_id,))
    ns.cut_stale_links([picker_id])
    settle()
    assert not picker.is_connected(NS) and packer.is_connected(NS)
    _links_match(ns)


def test_first_screen_is_kept_and_a_changed_list_is_drawn_again(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 1), ("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    did = store.one("SELECT id FROM devices WHERE role = 'picker'")["id"]
    head = views.assigned_head(store, did)
    assert head is not None, "the picker got its list on connect"
    first = states(picker)[-1]["state"]
    kept = views.cached_screen(store, did, head)
    fresh = picking.screen(views.load(store, head["id"], head))
    assert kept is not None and kept == fresh and first == fresh.model_dump(mode="json")
    assert scan(picker, "TOTE-1", "m1")["state"] == screens.current_state(store, did).model_dump(
        mode="json"
    )
    seen = max([0, *(e["seq"] for e in states(picker))])
    picker.disconnect(NS)
    settle()
    # Changed while it was away (a supervisor walked it to the bin): the reconnect's screen
    # is read again, not the kept one.
    step = store.one(
        "SELECT id FROM pick_steps WHERE pick_list_id = ? ORDER BY seq LIMIT 1", (head["id"],)
    )
    store.execute("UPDATE pick_steps SET at_location = 1 WHERE id = ?", (step["id"],))
    again = connect(app, socketio, tokens["picker"], last_seen_seq=seen)
    shown = states(again)[-1]["state"]
    assert shown["screen"] == "pick_item"
    assert shown == picking.screen(views.load(store, head["id"])).model_dump(mode="json")
