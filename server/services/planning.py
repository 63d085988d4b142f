"""Turning reservations into pick lists: which steps go on which list, in walking order."""

from __future__ import annotations

from server.domain.routing import s_shape_key
from server.services.clock import now
from server.store import Store


def list_for_order(store: Store, order_id: str, shipment_id: int | None = None) -> int:
    """One pick list holding an order's reservations (of one shipment if given), in walking order (inside a write)."""
    order = store.one("SELECT warehouse, priority FROM orders WHERE id = ?", (order_id,))
    warehouse, where, key = order["warehouse"], "r.order_id = ?", order_id
    if shipment_id is not None:  # a split order: one list per shipment, each in its warehouse
        warehouse = store.one("SELECT warehouse FROM shipments WHERE id = ?", (shipment_id,))
        warehouse, where, key = warehouse["warehouse"], "r.shipment_id = ?", shipment_id
    list_id = store.execute(
        "INSERT INTO pick_lists (warehouse, status, priority, created_at) VALUES (?, 'open', ?, ?)",
        (warehouse, order["priority"], now()),
    ).lastrowid
    rows = store.all(
        f"""SELECT r.id, r.location_id, r.sku, r.qty, l.aisle, l.bay, l.level
           FROM reservations r JOIN locations l ON l.id = r.location_id WHERE {where}""",
        (key,),
    )
    rows.sort(key=lambda r: (s_shape_key(r["aisle"], r["bay"], r["level"]), r["sku"]))
    for seq, r in enumerate(rows, start=1):
        store.execute(
            """INSERT INTO pick_steps (pick_list_id, seq, order_id, reservation_id, location_id, sku, qty)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (list_id, seq, order_id, r["id"], r["location_id"], r["sku"], r["qty"]),
        )
    return list_id
