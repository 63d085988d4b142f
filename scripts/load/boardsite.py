"""Open orders in bulk for the board at full size: tens of thousands of allocated orders,
each on its own queued pick list, written with a few INSERT ... SELECT statements in one
transaction (60,000 take a few seconds, where capture and allocation one by one take minutes).

The rows are what capture, allocation and planning would leave (order, line, reservation
with its stock reserved, pick list, step), so the server, the board and a handheld find
an ordinary site. Orders are `SO-...` numbered after any already there, their shop ids
`B-0000001`..., their shop numbers `#B1`...; a tenth are already late, a tenth due within
the hour. SQLite only (the load runs and the e2e tests run on SQLite).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

# One row per n in 1..:count, from a recursive CTE (no Python loop over the rows).
NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"


def add_open_orders(db_path: Path, count: int, warehouse: str = "WH-1") -> float:
    """Add `count` allocated orders on queued single-order pick lists; the seconds it took."""
    started = time.perf_counter()
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN IMMEDIATE")
        base = db.execute("SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'order'")
        first_order = base.fetchone()[0]
        first_list = db.execute("SELECT COALESCE(MAX(id), 0) FROM pick_lists").fetchone()[0]
        first_res = db.execute("SELECT COALESCE(MAX(id), 0) FROM reservations").fetchone()[0]
        stock = db.execute(
            """SELECT s.location_id, s.sku FROM stock s JOIN locations l ON l.id = s.location_id
               WHERE l.warehouse = ? AND s.on_hand - s.reserved > ? ORDER BY s.sku""",
            (warehouse, count),
        ).fetchall()
        if not stock:
            raise ValueError(f"no stock in {warehouse} deep enough for {count} orders")
        db.execute("CREATE TEMP TABLE bulk_stock (k INTEGER PRIMARY KEY, location_id, sku)")
        db.executemany(
            "INSERT INTO bulk_stock VALUES (?, ?, ?)",
            [(k, loc, sku) for k, (loc, sku) in enumerate(stock)],
        )
        args = {
            "count": count,
            "o": first_order,
            "l": first_list,
            "r": first_res,
            "skus": len(stock),
            "wh": warehouse,
        }
        # Promises: one in ten late (an hour ago), one in ten within the hour, the rest tomorrow.
        db.execute(
            f"""{NUMBERS}
            INSERT INTO orders (id, channel, external_id, body_hash, status, priority, promised_by,
                ship_to, lat, lon, warehouse, created_at, updated_at, shop_number, geocoded)
            SELECT printf('SO-%06d', :o + i), 'api', printf('B-%07d', i), 'bulk', 'allocated',
                   CASE WHEN i % 50 = 0 THEN 5 ELSE 0 END,
                   strftime('%Y-%m-%dT%H:%M:%SZ', 'now',
                            CASE i % 10 WHEN 0 THEN '-1 hours' WHEN 1 THEN '+30 minutes'
                                 ELSE '+1 days' END),
                   '{{"name": "Customer", "line1": "1 Dock Road", "city": "Newark",
                     "postcode": "07102", "country": "US"}}',
                   40.7, -74.1, :wh,
                   strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours'),
                   strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours'), printf('#B%d', i), 'given'
            FROM n""",
            args,
        )
        db.execute(
            f"""{NUMBERS}
            INSERT INTO order_lines (order_id, line_no, sku, qty)
            SELECT printf('SO-%06d', :o + i), 1, b.sku, 1 FROM n
            JOIN bulk_stock b ON b.k = i % :skus""",
            args,
        )
        db.execute(
            f"""{NUMBERS}
            INSERT INTO reservations (id, order_id, line_no, location_id, sku, qty)
            SELECT :r + i, printf('SO-%06d', :o + i), 1, b.location_id, b.sku, 1 FROM n
            JOIN bulk_stock b ON b.k = i % :skus""",
            args,
        )
        db.execute(
            f"""{NUMBERS}
            INSERT INTO pick_lists (id, warehouse, status, priority, created_at, zones)
            SELECT :l + i, :wh, 'open', CASE WHEN i % 50 = 0 THEN 5 ELSE 0 END,
                   strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours'), '' FROM n""",
            args,
        )
        db.execute(
            f"""{NUMBERS}
            INSERT INTO pick_steps (pick_list_id, seq, order_id, reservation_id, location_id,
                                    sku, qty)
            SELECT :l + i, 1, printf('SO-%06d', :o + i), :r + i, b.location_id, b.sku, 1 FROM n
            JOIN bulk_stock b ON b.k = i % :skus""",
            args,
        )
        db.execute(
            """UPDATE stock SET reserved = reserved + (
                 SELECT COUNT(*) FROM reservations r WHERE r.id > :r
                 AND r.location_id = stock.location_id AND r.sku = stock.sku)
               WHERE (location_id, sku) IN (SELECT location_id, sku FROM bulk_stock)""",
            args,
        )
        db.execute(
            "INSERT INTO counters (name, value) VALUES ('order', :v) "
            "ON CONFLICT (name) DO UPDATE SET value = :v",
            {"v": first_order + count},
        )
        db.execute("DROP TABLE bulk_stock")
        db.execute("COMMIT")
    finally:
        db.close()
    return time.perf_counter() - started
