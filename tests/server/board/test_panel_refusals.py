"""The board's panel routes and body-less actions refuse what they do not take, in words, and
change nothing (docs/protocol.md, "Board actions"): a query parameter other than `warehouse`,
a warehouse the site does not have, a field in a body that takes none."""

from __future__ import annotations

from server.inventory import counts


def test_the_panels_refuse_another_parameter_and_an_unknown_warehouse(floor, web):
    for panel in ("/board/api/cycle-counts", "/board/api/replenishment-moves"):
        assert web.get(panel).status_code == 200
        assert web.get(panel + "?warehouse=WH-EAST").status_code == 200
        r = web.get(panel + "?warehous=WH-EAST")
        assert r.status_code == 400, panel
        assert r.json == {"error": "unknown parameter(s) warehous: this takes warehouse"}
        r = web.get(panel + "?warehouse=WH-NOPE")
        assert (r.status_code, r.json) == (404, {"error": "unknown warehouse WH-NOPE"}), panel


def test_a_count_decision_with_a_field_is_refused_and_the_count_still_waits(floor, web):
    store = floor.store
    task, _ = counts.create(store, "WH-EAST", "E-02-02", "test")
    for worker in ("ann", "bob"):
        with store.write():
            counts.hand_in(store, task["id"], {("SKU-A", ""): 4}, worker)

    r = web.post(f"/board/api/counts/{task['id']}/approve", json={"force": True})
    assert r.status_code == 400
    assert r.json["error"].startswith("unknown field(s) force")
    assert web.get("/board/api/cycle-counts").json["open"]["approval"] == 1
    assert web.post(f"/board/api/counts/{task['id']}/approve", json={}).status_code == 200
    assert web.get("/board/api/cycle-counts").json["open"]["approval"] == 0


def test_marking_a_queue_item_with_a_field_is_refused(floor, web):
    r = web.post("/board/api/exceptions/help:1/acknowledge", json={"note": "on my way"})
    assert r.status_code == 400
    assert r.json["error"].startswith("unknown field(s) note")
