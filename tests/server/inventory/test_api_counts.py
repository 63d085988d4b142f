"""Cycle counts over REST on a real SQLite file: asked, handed in, recounted, approved."""

from __future__ import annotations

from floorkit import board_web, place

from server.inventory import counts


def _ask(client, headers, location="E-01-01", warehouse="WH-EAST"):
    return client.post(
        "/api/counts", json={"warehouse": warehouse, "location": location}, headers=headers
    )


def _count(client, headers, task_id, worker, lines):
    return client.post(
        f"/api/counts/{task_id}/count", json={"worker": worker, "lines": lines}, headers=headers
    )


def _on_hand(store, location, sku):
    row = store.one(
        "SELECT s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ?",
        (location, sku),
    )
    return row["on_hand"] if row else 0


def test_a_count_asked_twice_for_a_bin_is_one_task(client, headers, catalogue):
    r = _ask(client, headers)
    assert r.status_code == 201, r.json
    task = r.json
    assert (task["source"], task["stage"], task["status"]) == ("supervisor", "count", "open")
    again = _ask(client, headers)
    assert again.status_code == 200 and again.json["id"] == task["id"]
    assert (
        client.get("/api/counts?status=open", headers=headers).json["counts"][0]["id"] == task["id"]
    )


def test_an_unknown_bin_is_refused_and_nothing_is_made(client, headers, catalogue, rows):
    r = _ask(client, headers, location="E-99-99")
    assert r.status_code == 422 and r.json["error"] == "invalid_count"
    assert "unknown location E-99-99" in r.json["message"]
    assert _ask(client, headers, warehouse="WH-NOPE").status_code == 422
    assert rows("count_tasks") == 0


def test_a_count_within_tolerance_sets_the_bin_at_once(client, headers, catalogue, store):
    counts.SETTINGS["tolerance"] = counts.rules.Tolerance(units=1)
    try:
        task_id = _ask(client, headers).json["id"]
        r = _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": 9}])
        assert r.status_code == 200 and r.json["outcome"] == "adjusted"
    finally:
        counts.SETTINGS["tolerance"] = counts.rules.Tolerance()
    assert _on_hand(store, "E-01-01", "SKU-B") == 9
    move = store.one("SELECT kind, qty, reason FROM stock_moves ORDER BY id DESC LIMIT 1")
    assert move == {"kind": "correction", "qty": -1, "reason": f"cycle count {task_id}"}
    assert store.one("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")["action"] == (
        "count_adjusted"
    )
    done = client.get(f"/api/counts/{task_id}", headers=headers).json
    assert (done["status"], done["outcome"]) == ("done", "adjusted")
    assert done["lines"] == [
        {"round": 1, "sku": "SKU-B", "lot": "", "expected": 10, "counted": 9, "worker": "ann"}
    ]


def test_a_variance_asks_a_recount_by_another_worker_then_an_approval(
    client, headers, catalogue, store, rows
):
    task_id = _ask(client, headers).json["id"]
    r = _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": 7}])
    assert r.json["outcome"] == "recount"
    assert _on_hand(store, "E-01-01", "SKU-B") == 10  # nothing moves before the recount
    lines_before = rows("count_lines")
    same = _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": 7}])
    assert same.status_code == 409 and "another worker" in same.json["message"]
    assert rows("count_lines") == lines_before
    r = _count(client, headers, task_id, "bob", [{"sku": "SKU-B", "qty": 7}])
    assert r.json["outcome"] == "approval"
    assert (
        client.get("/api/counts?stage=approval", headers=headers).json["counts"][0]["id"] == task_id
    )
    r = client.post(f"/api/counts/{task_id}/approve", headers=headers)
    assert r.status_code == 200, r.json
    assert (r.json["outcome"], r.json["decided_by"]) == ("approved", "key:tests")
    assert _on_hand(store, "E-01-01", "SKU-B") == 7
    moves = rows("stock_moves")
    twice = client.post(f"/api/counts/{task_id}/approve", headers=headers)
    assert twice.status_code == 409 and "not waiting for approval" in twice.json["message"]
    assert client.post(f"/api/counts/{task_id}/reject", headers=headers).status_code == 409
    assert rows("stock_moves") == moves and _on_hand(store, "E-01-01", "SKU-B") == 7
    accuracy = client.get("/api/counts/accuracy", headers=headers).json
    assert accuracy["bins"] == [
        {"warehouse": "WH-EAST", "location": "E-01-01", "counts": 1, "accurate": 0, "accuracy": 0.0}
    ]
    assert accuracy["skus"][0] == {
        "sku": "SKU-B", "lines": 1, "accurate": 0, "units_off": 3, "accuracy": 0.0
    }  # fmt: skip


def test_a_rejected_recount_leaves_the_bin(client, headers, catalogue, store):
    task_id = _ask(client, headers).json["id"]
    _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": 2}])
    _count(client, headers, task_id, "bob", [{"sku": "SKU-B", "qty": 2}])
    r = client.post(f"/api/counts/{task_id}/reject", headers=headers)
    assert r.json["outcome"] == "rejected" and _on_hand(store, "E-01-01", "SKU-B") == 10


def test_an_approved_count_re_allocates_what_the_bin_no_longer_holds(
    client, headers, catalogue, store
):
    order = place(store, "mugs", [("SKU-A", 4)])  # reserved in E-02-02 (5 on hand)
    task_id = _ask(client, headers, location="E-02-02").json["id"]
    _count(client, headers, task_id, "ann", [{"sku": "SKU-A", "qty": 1}])
    _count(client, headers, task_id, "bob", [{"sku": "SKU-A", "qty": 1}])
    assert client.post(f"/api/counts/{task_id}/approve", headers=headers).status_code == 200
    stock = store.one(
        "SELECT on_hand, reserved FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'E-02-02'"
    )
    assert stock == {"on_hand": 1, "reserved": 1}
    # The three units the bin lost are released: the order waits for them (a backorder).
    assert store.one("SELECT status FROM orders WHERE id = ?", (order,))["status"] == "backordered"
    held = store.one(
        "SELECT SUM(qty - released) AS n FROM reservations WHERE order_id = ?", (order,)
    )
    assert held["n"] == 1


def test_bad_counts_are_refused_and_change_nothing(client, headers, catalogue, rows):
    task_id = _ask(client, headers).json["id"]
    before = (rows("count_lines"), rows("stock_moves"), rows("audit_log"))
    negative = _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": -1}])
    assert negative.status_code == 422
    unknown = _count(client, headers, task_id, "ann", [{"sku": "NOPE", "qty": 1}])
    assert unknown.status_code == 422 and "unknown SKU NOPE" in unknown.json["message"]
    assert _count(client, headers, 999, "ann", []).status_code == 404
    early = client.post(f"/api/counts/{task_id}/approve", headers=headers)
    assert early.status_code == 409 and "it is at count" in early.json["message"]
    assert (rows("count_lines"), rows("stock_moves"), rows("audit_log")) == before


def test_lines_adding_up_to_more_than_a_bin_holds_are_refused(
    client, headers, catalogue, store, rows
):
    # Each line is within MAX_UNITS, but one SKU and lot counted twice adds up past it: a
    # too large quantity is refused (docs/counts.md "Bad input"), the task left at count.
    task_id = _ask(client, headers).json["id"]
    before = (rows("count_lines"), rows("stock_moves"), rows("audit_log"))
    big = [{"sku": "SKU-B", "qty": 1_000_000_000}, {"sku": "SKU-B", "qty": 1}]
    r = _count(client, headers, task_id, "ann", big)
    assert r.status_code == 422 and r.json["error"] == "invalid_count", r.json
    assert "more than a bin holds" in r.json["message"]
    assert (rows("count_lines"), rows("stock_moves"), rows("audit_log")) == before
    task = client.get(f"/api/counts/{task_id}", headers=headers).json
    assert (task["stage"], task["first_worker"]) == ("count", None)


def test_the_schedule_counts_the_most_picked_bins_first_and_once(client, headers, catalogue, store):
    store.execute(
        "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty) "
        "SELECT ?, 'pick', id, 'SKU-A', '', -1 FROM locations WHERE code = 'E-02-02'",
        (counts.now(),),
    )
    r = client.post("/api/counts/schedule", json={"warehouse": "WH-EAST"}, headers=headers)
    assert r.status_code == 200 and r.json == {
        "created": 4,
        "by_class": {"A": 1, "B": 1, "C": 2},
        "warehouses": ["WH-EAST"],
    }
    a = [t for t in counts.tasks(store) if t["reason"] == "schedule: class A"]
    assert [t["location"] for t in a] == ["E-02-02"] and a[0]["source"] == "schedule"
    again = client.post("/api/counts/schedule", json={"warehouse": "WH-EAST"}, headers=headers)
    assert again.json["created"] == 0
    bad = client.post("/api/counts/schedule", json={"warehouse": "WH-NOPE"}, headers=headers)
    assert bad.status_code == 422


def test_the_board_shows_a_count_waiting_and_decides_it_once(client, headers, catalogue, app):
    task_id = _ask(client, headers).json["id"]
    _count(client, headers, task_id, "ann", [{"sku": "SKU-B", "qty": 8}])
    _count(client, headers, task_id, "bob", [{"sku": "SKU-B", "qty": 8}])
    board = board_web(app)
    items = board.get("/board/api/exceptions").json
    item = next(i for i in items if i["key"] == f"count:{task_id}")
    assert item["count_stage"] == "approval" and "waits for approval" in item["title"]
    assert item["detail"] == "SKU-B: 8 counted, 10 held"
    r = board.post(f"/board/api/counts/{task_id}/approve")
    assert r.status_code == 200 and r.json["outcome"] == "approved"
    again = board.post(f"/board/api/counts/{task_id}/reject")
    assert again.status_code == 409 and "not waiting for approval" in again.json["error"]
    assert board.post("/board/api/counts/999/approve").status_code == 404
    done = client.get(f"/api/counts/{task_id}", headers=headers).json
    assert (done["outcome"], done["decided_by"]) == ("approved", "sup")
    assert not any(i["key"] == f"count:{task_id}" for i in board.get("/board/api/exceptions").json)
