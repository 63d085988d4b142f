"""Reserve stock for orders and turn each reservation into a pick list."""

from __future__ import annotations

from collections import defaultdict

from server.domain import allocation
from server.domain.routing import s_shape_key
from server.services import planning
from server.services.orders import record
from server.store import Store


class StockRace(RuntimeError):
    """A bin had less free stock than planned: the transaction is rolled back."""


def allocate_order(store: Store, order_id: str) -> str:
    """Allocate one order if it waits for stock; returns its status afterwards."""
    with store.write():
        order = store.one(
            "SELECT id, status, lat, lon, priority FROM orders WHERE id = ?", (order_id,)
        )
        if order is None:
            raise KeyError(order_id)
        if order["status"] not in ("received", "backordered"):
            return order["status"]
        lines = [
            allocation.Line(r["line_no"], r["sku"], r["qty"])
            for r in store.all(
                "SELECT line_no, sku, qty FROM order_lines WHERE order_id = ? ORDER BY line_no",
                (order_id,),
            )
        ]
        sites = [
            allocation.Site(r["code"], r["lat"], r["lon"])
            for r in store.all("SELECT code, lat, lon FROM warehouses")
        ]
        skus = sorted({line.sku for line in lines})
        bins: dict[str, list[allocation.Bin]] = defaultdict(list)
        for r in store.all(
            f"""SELECT l.warehouse, s.location_id, s.sku, s.on_hand - s.reserved AS free,
                       l.aisle, l.bay, l.level
                FROM stock s JOIN locations l ON l.id = s.location_id
                WHERE s.sku IN ({",".join("?" * len(skus))}) AND s.on_hand > s.reserved""",
            tuple(skus),
        ):
            walk = s_shape_key(r["aisle"], r["bay"], r["level"])
            bins[r["warehouse"]].append(allocation.Bin(r["location_id"], r["sku"], r["free"], walk))
        plan = allocation.allocate(lines, sites, bins, order["lat"], order["lon"])
        if plan is None:
            if order["status"] != "backordered":
                record(
                    store,
                    order_id,
                    "backordered",
                    "backordered",
                    reason="no warehouse can ship it complete",
                )
            return "backordered"
        _reserve(store, order_id, plan)
        planning.list_for_order(store, order_id)
        record(
            store,
            order_id,
            "allocated",
            "allocated",
            warehouse=plan.warehouse,
            distance_km=round(plan.distance_km, 1),
        )
        return "allocated"


def _reserve(store: Store, order_id: str, plan: allocation.Allocation) -> None:
    """Reserve the planned bins for an order (inside a write)."""
    store.execute("UPDATE orders SET warehouse = ? WHERE id = ?", (plan.warehouse, order_id))
    for take in plan.takes:
        # The WHERE clause is the guard: it never lets reserved pass on_hand.
        cur = store.execute(
            "UPDATE stock SET reserved = reserved + ? WHERE location_id = ? AND sku = ? "
            "AND on_hand - reserved >= ?",
            (take.qty, take.location_id, take.sku, take.qty),
        )
        if cur.rowcount != 1:
            raise StockRace(f"bin {take.location_id} has less than {take.qty} of {take.sku} free")
        store.execute(
            "INSERT INTO reservations (order_id, line_no, location_id, sku, qty) VALUES (?, ?, ?, ?, ?)",
            (order_id, take.line_no, take.location_id, take.sku, take.qty),
        )


def pending_order_ids(store: Store) -> list[str]:
    """Orders waiting for stock, most urgent first: priority, promised-by, arrival."""
    rows = store.all(
        """SELECT id FROM orders WHERE status IN ('received', 'backordered')
           ORDER BY priority DESC, promised_by IS NULL, promised_by, created_at, id"""
    )
    return [r["id"] for r in rows]


def allocate_pending(store: Store) -> dict[str, int]:
    """Allocate every waiting order in turn; returns counts by resulting status."""
    counts: dict[str, int] = defaultdict(int)
    for order_id in pending_order_ids(store):
        counts[allocate_order(store, order_id)] += 1
    return dict(counts)
