"""Load warehouses, locations, products and stock (REST and importer)."""

from __future__ import annotations

from server.schemas import CatalogueIn
from server.store import Store
from server.store.db import dumps


class CatalogueError(ValueError):
    """A catalogue load that refers to things that do not exist."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def load(store: Store, cat: CatalogueIn) -> dict[str, int]:
    """Upsert everything in one transaction; any problem changes nothing."""
    counts = {"warehouses": 0, "locations": 0, "products": 0, "stock": 0}
    with store.write() as db:
        problems: list[tuple[str, str]] = []
        for w in cat.warehouses:
            db["warehouses"].upsert(
                {
                    "code": w.code,
                    "name": w.name,
                    "address": dumps(w.address.model_dump()),
                    "lat": w.lat,
                    "lon": w.lon,
                },
                pk="code",
            )
            counts["warehouses"] += 1
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
                """INSERT INTO locations (warehouse, code, barcode, zone, aisle, bay, level)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (warehouse, code) DO UPDATE SET barcode = excluded.barcode,
                   zone = excluded.zone, aisle = excluded.aisle, bay = excluded.bay, level = excluded.level""",
                (loc.warehouse, loc.code, barcode, loc.zone, loc.aisle, loc.bay, loc.level),
            )
            counts["locations"] += 1
        for i, p in enumerate(cat.products):
            db["products"].upsert(
                p.model_dump(exclude={"barcodes"}),
                pk="sku",
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
                "SELECT reserved FROM stock WHERE location_id = ? AND sku = ?",
                (loc_row["id"], s.sku),
            )
            if row and row["reserved"] > s.on_hand:
                problems.append(
                    (f"stock[{i}].on_hand", f"{row['reserved']} already reserved in {s.location}")
                )
                continue
            store.execute(
                """INSERT INTO stock (location_id, sku, on_hand) VALUES (?, ?, ?)
                   ON CONFLICT (location_id, sku) DO UPDATE SET on_hand = excluded.on_hand""",
                (loc_row["id"], s.sku, s.on_hand),
            )
            counts["stock"] += 1
        if problems:
            raise CatalogueError(problems)
    return counts
