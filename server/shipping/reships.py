"""A re-ship packed: the package a pack station made for a lost parcel's re-ship is linked to it.

Workflow: a supervisor re-ships a parcel the carrier lost (server/board/service.py); its units
are reserved and go to the floor as an urgent pick list of a shipment that names the lost
parcel (`shipments.reship_of`, server/inventory/reshipping.py). A picker picks it, a packer
verifies it and the pack station makes and prints the label as for any order
(`packages.create`); in that same write, this module links the two parcels: the lost one
points at the new one (`replaced_by`), the new one's reservations name it (so a parcel sent
in place of a lost one that is lost too is re-shipped with exactly its units), the order's
timeline says so, and the shop gets `parcel.reshipped` with both tracking numbers. The shop
hears it here, at packing, rather than at the click: only now does the new parcel have a
tracking number.

A re-ship short-picked in its warehouse goes on from another (`reshipping.carry_on`): then
two new parcels replace one lost one, each labelled where it is packed. Each is linked here
the same way and each gets its own `parcel.reshipped`, naming the lost parcel and, in
`replacements`, every new parcel labelled for it so far (this one last), and in `to_come`
how many of its re-ship's shipments are still on the floor unlabelled. The lost parcel's
`replaced_by` is the first of them and stays so: the board lists them all
(`server/board/order_view.py`).
"""

from __future__ import annotations

from typing import Any

from server.core.clock import now
from server.notify import webhooks
from server.store import Store
from server.store.db import dumps


def link(store: Store, package_id: int) -> int | None:
    """If package `package_id` is a lost parcel's re-ship, link the two and tell the shop
    (inside the write that made it); returns the lost package, else None."""
    row = store.one(
        "SELECT p.order_id, p.tracking, p.sscc, p.carrier, p.service, p.shipment_id, "
        "s.reship_of, s.warehouse, lost.tracking AS lost_tracking FROM packages p "
        "JOIN shipments s ON s.id = p.shipment_id "
        "LEFT JOIN packages lost ON lost.id = s.reship_of WHERE p.id = ?",
        (package_id,),
    )
    if row is None or row["reship_of"] is None:
        return None
    lost = row["reship_of"]
    store.execute(  # the first new parcel; a later one of a split re-ship leaves it
        "UPDATE packages SET replaced_by = ? WHERE id = ? AND replaced_by IS NULL",
        (package_id, lost),
    )
    store.execute(
        "UPDATE reservations SET package_id = ? WHERE shipment_id = ? AND package_id IS NULL",
        (package_id, row["shipment_id"]),
    )
    detail = {
        "package": package_id,
        "tracking": row["lost_tracking"],
        "new_tracking": row["tracking"],
        "warehouse": row["warehouse"],
    }
    store.execute(
        "INSERT INTO order_events (order_id, at, status, event, detail) "
        "SELECT id, ?, status, 'parcel_reshipped', ? FROM orders WHERE id = ?",
        (now(), dumps(detail), row["order_id"]),
    )
    webhooks.enqueue_event(store, row["order_id"], "parcel.reshipped", {
        "lost": {"id": lost, "tracking": row["lost_tracking"]},
        "package": {
            "id": package_id, "tracking": row["tracking"], "sscc": row["sscc"],
            "carrier": row["carrier"], "service": row["service"],
        },
        "warehouse": row["warehouse"],
        "replacements": replacements(store, lost),
        "to_come": to_come(store, lost),
    })  # fmt: skip
    return lost


def replacements(store: Store, lost: int) -> list[dict[str, Any]]:
    """Every new parcel labelled in place of the lost parcel `lost`, oldest first: one, or
    one per warehouse when a short pick split its re-ship (inside a read or write)."""
    return store.all(
        "SELECT p.id, p.tracking FROM packages p JOIN shipments s ON s.id = p.shipment_id "
        "WHERE s.reship_of = ? ORDER BY p.id",
        (lost,),
    )


def to_come(store: Store, lost: int) -> int:
    """The lost parcel's re-ship shipments still on the floor with no label yet (another
    warehouse took over the rest of a short-picked re-ship): new parcels still to come."""
    return store.one(
        "SELECT COUNT(*) AS n FROM shipments s WHERE s.reship_of = ? AND s.status = 'allocated' "
        "AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.shipment_id = s.id)",
        (lost,),
    )["n"]
