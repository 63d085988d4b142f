"""The board's "Cycle counts" panel, in process: accuracy overall, the least accurate bins and
SKUs, open tasks by stage and the recounts waiting for approval, as the board fetches them."""

from __future__ import annotations

from floorkit import board_web

from server.inventory import counts


def _count(store, location: str, found: dict[tuple[str, str], int], *workers: str) -> int:
    """Ask for the bin to be counted and hand in one count per worker; returns the task."""
    task, _ = counts.create(store, "WH-EAST", location, "test")
    for worker in workers:
        with store.write():
            counts.hand_in(store, task["id"], found, worker)
    return task["id"]


def test_the_panel_shows_accuracy_the_worst_and_what_waits(floor):
    store = floor.store
    _count(store, "E-01-01", {("SKU-B", ""): 10}, "ann")  # matched
    off = _count(store, "E-02-02", {("SKU-A", ""): 4}, "ann", "bob")  # 5 held: waits
    counts.create(store, "WH-EAST", "E-01-02", "test")  # asked, not counted yet
    board = board_web(floor.app)

    p = board.get("/board/api/cycle-counts").json
    assert (p["counts"], p["accurate"], p["accuracy"]) == (2, 1, 0.5)
    assert (p["bins_counted"], p["skus_counted"]) == (2, 2)
    assert p["worst_bins"] == [
        {"warehouse": "WH-EAST", "location": "E-02-02", "counts": 1, "accurate": 0, "accuracy": 0.0}
    ]
    assert p["worst_skus"] == [
        {"sku": "SKU-A", "lines": 1, "accurate": 0, "units_off": 1, "accuracy": 0.0}
    ]
    assert p["open"] == {"count": 1, "recount": 0, "approval": 1}
    (waiting,) = p["waiting"]
    assert (waiting["id"], waiting["location"]) == (off, "E-02-02")
    assert (waiting["first_worker"], waiting["second_worker"]) == ("ann", "bob")
    assert waiting["lines"] == [{"sku": "SKU-A", "lot": "", "expected": 5, "counted": 4}]

    # Decided on the board: it waits no more, and the accuracy of first counts stays.
    assert board.post(f"/board/api/counts/{off}/reject").status_code == 200
    p = board.get("/board/api/cycle-counts").json
    assert p["waiting"] == [] and p["open"] == {"count": 1, "recount": 0, "approval": 0}
    assert p["accuracy"] == 0.5

    # One warehouse only; one with no count yet has no accuracy to show.
    west = board.get("/board/api/cycle-counts?warehouse=WH-WEST").json
    assert (west["counts"], west["accuracy"], west["worst_bins"]) == (0, None, [])
    assert west["open"] == {"count": 0, "recount": 0, "approval": 0}
    assert floor.app.test_client().get("/board/api/cycle-counts").status_code == 401
