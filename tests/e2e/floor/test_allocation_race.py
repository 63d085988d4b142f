"""No over-promising under a real race: OS processes fight for scarce stock.

1. Eight client processes, each with its own HTTP session, POST one-unit orders
   to the real server at the same moment: exactly as many units are granted as
   exist, none twice.
2. Eight processes run `allocate_pending` on the same database, each with its
   own connection: the single writer (SQLite's BEGIN IMMEDIATE, PostgreSQL's
   advisory write lock) and the guarded UPDATEs hold across processes, and no
   order is allocated twice.

Both run on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest
import requests
from floorkit import address

from server.capture import orders
from server.core.schemas import CatalogueIn, OrderIn
from server.inventory import allocate, catalogue
from server.people import auth
from server.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.e2e_postgresql, pytest.mark.server_alone]
PROCS = 8
ORDERS_EACH = 5
SKUS = ["R1", "R2", "R3"]
# 10 units in all, over several bins, two warehouses, one SKU lot-tracked.
STOCK = [
    ("WH-EAST", "E-1", "R1", 2, ""),
    ("WH-WEST", "W-1", "R1", 1, ""),
    ("WH-EAST", "E-2", "R2", 1, "LOT-A"),
    ("WH-EAST", "E-2", "R2", 1, "LOT-B"),
    ("WH-WEST", "W-2", "R2", 1, "LOT-A"),
    ("WH-EAST", "E-3", "R3", 1, ""),
    ("WH-WEST", "W-3", "R3", 1, ""),
    ("WH-WEST", "W-1", "R3", 2, ""),
]
UNITS = sum(row[3] for row in STOCK)


def seed(db: str, west_capacity: int | None = None) -> str:
    """The scarce catalogue in a fresh database; returns an API key."""
    store = open_store(db)
    whs = [("WH-EAST", 40.7, -74.0), ("WH-WEST", 34.0, -118.2)]
    cat = {
        "warehouses": [
            {"code": c, "name": c, "address": address(c), "lat": la, "lon": lo}
            | ({"daily_capacity": west_capacity} if c == "WH-WEST" else {})
            for c, la, lo in whs
        ],
        "locations": [
            {"warehouse": wh, "code": f"{wh[3]}-{n}", "aisle": n, "bay": 1}
            for wh, _, _ in whs
            for n in (1, 2, 3)
        ],
        "products": [{"sku": s, "name": s} for s in SKUS],
        "stock": [
            {"warehouse": wh, "location": loc, "sku": sku, "on_hand": n, "lot": lot}
            | ({"expires": "2031-01-01"} if lot else {})
            for wh, loc, sku, n, lot in STOCK
        ],
    }
    catalogue.load(store, CatalogueIn.model_validate_json(json.dumps(cat)))
    key = auth.create_api_key(store, "race")
    store.close()
    return key


def order_body(proc: int, n: int) -> dict:
    lat, lon = ((42.3, -71.0), (37.7, -122.4))[(proc + n) % 2]
    return {
        "order_id": f"race-{proc}-{n}",
        "lines": [{"sku": SKUS[(proc * ORDERS_EACH + n) % len(SKUS)], "qty": 1}],
        "ship_to": address(f"Racer {proc}", lat, lon),
    }


def post_orders(base: str, key: str, proc: int, barrier, out) -> None:
    """One client process: its own session, every order as fast as it can after the barrier."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    barrier.wait(timeout=30)
    got = []
    for n in range(ORDERS_EACH):
        r = session.post(f"{base}/api/orders", json=order_body(proc, n), timeout=30)
        got.append((r.status_code, r.json()["id"], r.json()["status"]))
    out.put(got)


def run_pending(db: str, barrier, out) -> None:
    """One allocator process: its own connection, small batches so the processes interleave."""
    store = open_store(db, synchronous="NORMAL", migrate=False)
    barrier.wait(timeout=30)
    counts = allocate.allocate_pending(store, batch=2)
    store.close()
    out.put(counts)


def race(target, args_of) -> list:
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(PROCS), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier, out)) for i in range(PROCS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


def check_stock(db: str) -> None:
    """Per bin and lot: 0 <= reserved <= on hand, reserved == what reservations hold; all granted."""
    store = open_store(db, migrate=False)
    rows = store.all(
        """SELECT s.location_id, s.sku, s.lot, s.on_hand, s.reserved,
                  (SELECT COALESCE(SUM(qty - picked - released), 0) FROM reservations r
                   WHERE r.location_id = s.location_id AND r.sku = s.sku AND r.lot = s.lot) AS held,
                  (SELECT COALESCE(SUM(qty), 0) FROM reservations r
                   WHERE r.location_id = s.location_id AND r.sku = s.sku AND r.lot = s.lot) AS granted
           FROM stock s"""
    )
    assert len(rows) == len(STOCK)
    for r in rows:
        assert 0 <= r["reserved"] <= r["on_hand"], r
        assert r["reserved"] == r["held"] == r["granted"], r
    assert sum(r["reserved"] for r in rows) == UNITS  # all of it granted, none twice
    per_order = store.all(
        "SELECT order_id, SUM(qty) AS n, COUNT(DISTINCT shipment_id) AS ships FROM reservations "
        "GROUP BY order_id"
    )
    assert len(per_order) == UNITS and all(o["n"] == 1 and o["ships"] == 1 for o in per_order)
    assert store.one("SELECT COUNT(*) AS n FROM shipments")["n"] == UNITS
    store.close()


def test_eight_clients_race_for_ten_units(tmp_path, server_proc, database_url):
    data = tmp_path / "data"
    key = seed(database_url)
    base = server_proc(data, env={"SCANFLOOR_DATABASE_URL": database_url})
    results = race(post_orders, lambda i: (base, key, i))
    answers = [a for got in results for a in got]
    assert len(answers) == PROCS * ORDERS_EACH and {a[0] for a in answers} == {201}
    statuses = [a[2] for a in answers]
    assert statuses.count("allocated") == UNITS
    assert statuses.count("backordered") == PROCS * ORDERS_EACH - UNITS
    check_stock(database_url)
    stock = requests.get(f"{base}/api/stock", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert sum(r["free"] for r in stock.json()["stock"]) == 0


def test_eight_allocator_processes_on_one_database(database_url):
    db = database_url
    seed(db, west_capacity=3)
    store = open_store(db)
    with store.write():  # captured, not yet allocated: the allocators race for all of them
        for p in range(PROCS):
            for n in range(ORDERS_EACH):
                orders.capture(store, OrderIn.model_validate(order_body(p, n)))
    store.close()
    results = race(run_pending, lambda i: (db,))
    # The west may take only 3 orders today: 5 from the east, 3 from the west.
    granted = 5 + 3
    store = open_store(db, migrate=False)
    # Each order was allocated in exactly one process: one event, one shipment.
    events = store.one("SELECT COUNT(*) AS n FROM order_events WHERE event = 'allocated'")["n"]
    assert events == granted
    west = store.one("SELECT orders FROM warehouse_days WHERE warehouse = 'WH-WEST'")
    assert west["orders"] == 3
    assert store.one("SELECT SUM(reserved) AS n FROM stock")["n"] == granted
    store.close()
    assert sum(c.get("allocated", 0) for c in results) == granted
    check_stock_capped(db)


def check_stock_capped(db: str) -> None:
    """Like check_stock, but the west's capacity may leave some of its units unpromised."""
    store = open_store(db, migrate=False)
    for r in store.all(
        """SELECT s.on_hand, s.reserved,
                  (SELECT COALESCE(SUM(qty), 0) FROM reservations r WHERE r.location_id = s.location_id
                   AND r.sku = s.sku AND r.lot = s.lot) AS granted FROM stock s"""
    ):
        assert 0 <= r["reserved"] == r["granted"] <= r["on_hand"], r
    twice = store.one(
        "SELECT COUNT(*) AS n FROM (SELECT order_id FROM shipments GROUP BY order_id "
        "HAVING COUNT(*) > 1) AS twice"
    )
    assert twice["n"] == 0
    store.close()
