"""Every statement a device's work runs uses an index: none reads a whole table.

The floor is driven as handhelds drive it (connect, a cluster cart picked to the
end with wrong scans, the next list handed out, packing with the label printed
and scanned, `seen`), every statement SQLite runs is recorded, and each one's
`EXPLAIN QUERY PLAN` must not contain a full scan (`SCAN table`, with or without
a covering index: both read every row) of a table that grows with the floor.
"""

from __future__ import annotations

import re

import pytest
from floorkit import connect, emit, place, plan, received, scan, settle, states

pytestmark = pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN and statement trace")

# Tables whose size is set by the site's layout, not by its traffic: a handful of rows.
SMALL_TABLES = {"warehouses", "channels", "counters"}
FULL_SCAN = re.compile(r"^SCAN (\w+)")


def _statements(store) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    return seen


def _plan(store, sql: str) -> list[str]:
    return [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]


def _work_the_floor(floor) -> None:
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    first = states(picker)
    state = first[-1]["state"]
    n, totes = 0, iter(f"TOTE-{k}" for k in range(1, 20))
    while state["screen"] != "idle" and n < 60:
        n += 1
        if n % 5 == 0:
            scan(picker, "WRONG-0000", f"w{n}")
        barcode = next(totes) if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        state = scan(picker, barcode, f"s{n}")["state"]
    assert emit(picker, "seen", {"id": "seen-1", "seq": first[-1]["seq"]})["ok"]
    packer = connect(app, socketio, tokens["packer"])
    state = states(packer)[-1]["state"]
    for k in range(40):
        if state["screen"] == "pack_label":
            for job in received(packer, "print"):
                emit(
                    packer,
                    "print_result",
                    {"id": f"pr{job['job_id']}", "job_id": job["job_id"], "ok": True},
                )
        if not state["expect"]["barcodes"]:
            break
        state = scan(packer, state["expect"]["barcodes"][0], f"p{k}")["state"]
    settle()


def test_no_statement_on_a_devices_path_reads_a_whole_table(floor):
    app, socketio, store, tokens = floor
    for i in range(4):
        place(store, f"o{i}", [("SKU-B", 1), ("SKU-A", 1)] if i % 2 else [("SKU-B", 2)])
    plan(store)
    statements = _statements(store)
    try:
        _work_the_floor(floor)
    finally:
        store.conn.set_trace_callback(None)
    queries = sorted(
        {s.strip() for s in statements if re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)", s)}
    )
    assert len(queries) > 30  # the floor really ran
    scans = {}
    for sql in queries:
        for detail in _plan(store, sql):
            m = FULL_SCAN.match(detail)
            if m and m[1] not in SMALL_TABLES:
                scans[sql[:160]] = detail
    assert scans == {}


def test_close_out_and_the_dock_read_no_whole_table(floor):
    from floorkit import action, pick_and_pack

    from server.board import board
    from server.shipping import manifests

    app, socketio, store, tokens = floor
    boxes = [
        pick_and_pack(floor, f"d{i}", f"TOTE-{i}", "0012345678905", "LE-01-01") for i in (1, 2)
    ]
    statements = _statements(store)
    try:
        manifests.closeout(store, "local", "WH-EAST")
        dock = connect(app, socketio, tokens["packer"])
        assert action(dock, "dock", "d1")["ok"]
        scan(dock, "CARRIER-LOCAL", "d2")
        assert scan(dock, boxes[0]["tracking"], "d3")["code"] == "dock_loaded"
        assert scan(dock, boxes[0]["sscc"], "d4")["code"] == "dock_already_loaded"
        assert scan(dock, "SF0000000001", "d5")["code"] == "dock_misread"
        assert action(dock, "dock_done", "d6")["ok"]
    finally:
        store.conn.set_trace_callback(None)
    # The board's missing packages read only the rows flagged missing (a partial index).
    for sql in (
        "SELECT * FROM manifest_packages mp WHERE mp.missing = 1",
        "SELECT COUNT(*) FROM manifest_packages mp WHERE mp.missing = 1",
    ):
        assert "manifest_packages_missing" in " ".join(_plan(store, sql))
    with store.read():
        assert board.counts(store)["missing_packages"] == 1
    queries = {s.strip() for s in statements if re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)", s)}
    scans = {}
    for sql in queries:
        for detail in _plan(store, sql):
            m = FULL_SCAN.match(detail)
            if m and m[1] not in SMALL_TABLES and m[1] != "CONSTANT":  # SCAN CONSTANT ROW
                scans[sql[:200]] = detail
    assert scans == {}
