"""Cancelling an order: what is reserved goes back to its bins, what is picked gets put away.

Workflow: the shop (or a supervisor) cancels. Units still on the shelf are
released at once and their pick steps disappear from the lists; units already
in a tote (or a packed box) become put-away tasks naming the tote and the bin
they came from. A shipment that left the building cannot be cancelled.
"""

from __future__ import annotations

from typing import Any

from server.capture.orders import find, record
from server.core.clock import now
from server.inventory import allocate, shipments
from server.store import Store


class CannotCancel(ValueError):
    """The order has shipped: it is too late to cancel."""


def cancel_order(
    store: Store, order_id: str, reason: str = "", channel: str | None = None
) -> dict[str, Any]:
    """Cancel an order (by our id or the shop's, in `channel` if given: `orders.find`);
    returns what was released and put away."""
    skus: set[str] = set()
    with store.write():
        oid = find(store, order_id, channel)  # KeyError, AmbiguousOrder
        order = store.one("SELECT id, status FROM orders WHERE id = ?", (oid,))
        if order["status"] == "cancelled":
            return {"order": oid, "already": True, "released": 0, "putaway_tasks": []}
        open_ships = store.all(
            "SELECT id, warehouse, day FROM shipments WHERE order_id = ? AND status IN ('allocated', 'packed')",
            (oid,),
        )
        if order["status"] == "shipped" or (
            not open_ships
            and store.one(
                "SELECT 1 FROM shipments WHERE order_id = ? AND status = 'shipped'", (oid,)
            )
        ):
            raise CannotCancel(f"order {oid} has shipped")
        released, tasks = 0, []
        for sh in open_ships:
            picked_here = 0
            for r in store.all("SELECT id FROM reservations WHERE shipment_id = ?", (sh["id"],)):
                r = shipments.settle(store, r["id"])
                left = r["qty"] - r["picked"] - r["released"]
                if left:
                    shipments.release(store, r["id"], left)
                    released += left
                    skus.add(r["sku"])
                if r["picked"]:
                    tasks.append(_putaway(store, sh["warehouse"], r, reason))
                    picked_here += r["picked"]
            if not picked_here:  # no work was done: the day's slot goes back to the warehouse
                store.execute(
                    "UPDATE warehouse_days SET orders = orders - 1 WHERE warehouse = ? AND day = ? AND orders > 0",
                    (sh["warehouse"], sh["day"]),
                )
            store.execute(
                "UPDATE shipments SET status = 'cancelled', updated_at = ? WHERE id = ?",
                (now(), sh["id"]),
            )
        store.execute("UPDATE orders SET waiting = 0 WHERE id = ?", (oid,))
        record(
            store,
            oid,
            "cancelled",
            "cancelled",
            reason=reason,
            released=released,
            putaway_tasks=tasks,
        )
        # Lists of this order with only picked units left are closed (their totes go to put-away).
        for pl in store.all(
            "SELECT DISTINCT pick_list_id FROM pick_steps WHERE order_id = ?", (oid,)
        ):
            shipments.tidy_list(store, pl["pick_list_id"])
    # What it gave back may serve orders that wait for it.
    allocation = allocate.allocate_pending(store, skus) if skus else {}
    return {
        "order": oid,
        "already": False,
        "released": released,
        "putaway_tasks": tasks,
        "allocation": allocation,
    }


def _putaway(store: Store, warehouse: str, r: dict[str, Any], reason: str) -> int:
    """A put-away task for a reservation's picked units, back to the bin they came from."""
    tote = store.one(
        "SELECT p.tote FROM pick_steps ps JOIN pick_lists p ON p.id = ps.pick_list_id "
        "WHERE ps.reservation_id = ? AND p.tote IS NOT NULL LIMIT 1",
        (r["id"],),
    )
    expires = store.one(
        "SELECT expires FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
        (r["location_id"], r["sku"], r["lot"]),
    )
    return store.execute(
        """INSERT INTO putaway_tasks (warehouse, order_id, location_id, sku, lot, expires, qty, tote,
           reason, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)""",
        (
            warehouse,
            r["order_id"],
            r["location_id"],
            r["sku"],
            r["lot"],
            expires["expires"] if expires else None,
            r["picked"],
            tote["tote"] if tote else None,
            f"cancelled order {r['order_id']}" + (f": {reason}" if reason else ""),
            now(),
        ),
    ).lastrowid
