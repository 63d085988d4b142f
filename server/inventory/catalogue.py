"""Load warehouses, locations, products and stock (REST and importer)."""

from __future__ import annotations

from typing import Any

from server.core.clock import now
from server.core.schemas import CatalogueIn
from server.store import Store
from server.store.db import dumps
from shared.barcodes import ScanData
from shared.picking import gtin_key


class CatalogueError(ValueError):
    """A catalogue load that refers to things that do not exist."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def load(store: Store, cat: CatalogueIn) -> dict[str, int]:
    """Upsert everything in one transaction; any problem changes nothing."""
    counts = {"warehouses": 0, "locations": 0, "products": 0, "stock": 0}
    if cat.channels:  # only when given, so answers without channels keep their shape
        counts["channels"] = 0
    with store.write():
        problems: list[tuple[str, str]] = []
        for w in cat.warehouses:
            store.execute(
                "INSERT INTO warehouses (code, name, address, lat, lon, daily_capacity) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "address = excluded.address, lat = excluded.lat, lon = excluded.lon, "
                "daily_capacity = excluded.daily_capacity",
                (w.code, w.name, dumps(w.address.model_dump()), w.lat, w.lon, w.daily_capacity),
            )
            counts["warehouses"] += 1
        for c in cat.channels:
            store.execute(
                "INSERT INTO channels (code, allow_split, allow_partial) VALUES (?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET allow_split = excluded.allow_split, "
                "allow_partial = excluded.allow_partial",
                (c.code, int(c.allow_split), int(c.allow_partial)),
            )
            counts["channels"] += 1
        known_wh = {r["code"] for r in store.all("SELECT code FROM warehouses")}
        for i, loc in enumerate(cat.locations):
            if loc.warehouse not in known_wh:
                problems.append((f"locations[{i}].warehouse", f"unknown warehouse {loc.warehouse}"))
                continue
            barcode = loc.barcode or loc.code
            clash = store.one("SELECT warehouse, code FROM locations WHERE barcode = ?", (barcode,))
            if clash and (clash["warehouse"], clash["code"]) != (loc.warehouse, loc.code):
                problems.append(
                    (f"locations[{i}].barcode", f"barcode {barcode} already names {clash['code']}")
                )
                continue
            store.execute(
                """INSERT INTO locations (warehouse, code, barcode, zone, aisle, bay, level, role)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (warehouse, code) DO UPDATE SET barcode = excluded.barcode,
                   zone = excluded.zone, aisle = excluded.aisle, bay = excluded.bay,
                   level = excluded.level, role = excluded.role""",
                (
                    loc.warehouse,
                    loc.code,
                    barcode,
                    loc.zone,
                    loc.aisle,
                    loc.bay,
                    loc.level,
                    loc.role,
                ),
            )
            counts["locations"] += 1
        for i, p in enumerate(cat.products):
            row = p.model_dump(exclude={"barcodes"})
            store.execute(
                f"INSERT INTO products ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
                "ON CONFLICT (sku) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in row if c != "sku"),
                tuple(row.values()),
            )
            for code in p.barcodes:
                owner = store.one("SELECT sku FROM product_barcodes WHERE barcode = ?", (code,))
                if owner and owner["sku"] != p.sku:
                    problems.append(
                        (
                            f"products[{i}].barcodes",
                            f"barcode {code} already belongs to {owner['sku']}",
                        )
                    )
                    continue
                store.execute(
                    "INSERT OR IGNORE INTO product_barcodes (barcode, sku) VALUES (?, ?)",
                    (code, p.sku),
                )
            counts["products"] += 1
        for i, w in enumerate(cat.warehouses):  # after products: safety stock names SKUs
            for j, ss in enumerate(w.safety_stock):
                if store.one("SELECT 1 FROM products WHERE sku = ?", (ss.sku,)) is None:
                    problems.append(
                        (f"warehouses[{i}].safety_stock[{j}].sku", f"unknown SKU {ss.sku}")
                    )
                    continue
                _set_safety(store, w.code, ss.sku, ss.qty)
        for i, s in enumerate(cat.stock):
            loc_row = store.one(
                "SELECT id FROM locations WHERE warehouse = ? AND code = ?",
                (s.warehouse, s.location),
            )
            if loc_row is None:
                problems.append(
                    (f"stock[{i}].location", f"unknown location {s.warehouse}/{s.location}")
                )
                continue
            if store.one("SELECT 1 FROM products WHERE sku = ?", (s.sku,)) is None:
                problems.append((f"stock[{i}].sku", f"unknown SKU {s.sku}"))
                continue
            row = store.one(
                "SELECT on_hand, reserved FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
                (loc_row["id"], s.sku, s.lot),
            )
            if row and row["reserved"] > s.on_hand:
                problems.append(
                    (f"stock[{i}].on_hand", f"{row['reserved']} already reserved in {s.location}")
                )
                continue
            expires = s.expires.isoformat() if s.expires else None
            store.execute(
                """INSERT INTO stock (location_id, sku, lot, expires, on_hand) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (location_id, sku, lot) DO UPDATE SET on_hand = excluded.on_hand,
                   expires = COALESCE(excluded.expires, stock.expires)""",
                (loc_row["id"], s.sku, s.lot, expires, s.on_hand),
            )
            delta = s.on_hand - (row["on_hand"] if row else 0)
            if delta:  # the ledger keeps the catalogue's change too: the unit accounting reads it
                store.execute(
                    "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty, ref) "
                    "VALUES (?, 'receipt', ?, ?, ?, ?, 'catalogue')",
                    (now(), loc_row["id"], s.sku, s.lot, delta),
                )
            if s.safety_stock is not None:
                _set_safety(store, s.warehouse, s.sku, s.safety_stock)
            counts["stock"] += 1
        if problems:
            raise CatalogueError(problems)
    return counts


def _set_safety(store: Store, warehouse: str, sku: str, qty: int) -> None:
    """Set (or with 0 remove) a warehouse's safety stock of a SKU (inside a write)."""
    if qty == 0:
        store.execute("DELETE FROM safety_stock WHERE warehouse = ? AND sku = ?", (warehouse, sku))
        return
    store.execute(
        "INSERT INTO safety_stock (warehouse, sku, qty) VALUES (?, ?, ?) "
        "ON CONFLICT (warehouse, sku) DO UPDATE SET qty = excluded.qty",
        (warehouse, sku, qty),
    )


def scanned_product(store: Store, text: str, data: ScanData) -> dict[str, Any] | None:
    """The product (`sku`, `name`) a scan names: by its SKU, one of its barcodes, or its
    GTIN however many leading zeros either side carries (counts and returns take an item
    this way; picking checks the item it expects instead). The barcode is padded to 14
    digits by taking the last 14 of 14 zeros and it, with a `substr` both databases read
    alike (PostgreSQL reads a negative start as before the first character, not from the end)."""
    keys = {text, gtin_key(text), *([gtin_key(data.gtin)] if data.gtin else [])}
    marks = ",".join("?" * len(keys))
    return store.one(
        f"""SELECT p.sku, p.name FROM products p LEFT JOIN product_barcodes b ON b.sku = p.sku
            WHERE p.sku IN ({marks}) OR b.barcode IN ({marks})
               OR (length(b.barcode) IN (8, 12, 13, 14)
                   AND substr('00000000000000' || b.barcode, length(b.barcode) + 1) IN ({marks}))
            LIMIT 1""",
        (*keys, *keys, *keys),
    )
