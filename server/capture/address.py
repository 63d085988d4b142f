"""A customer's new ship-to address, from the shop (Shopify's `orders/updated`) or from
customer service on the board and over REST.

Workflow: the address is taken only before picking starts (no unit picked, no list of the
order handed to a picker); after that it is refused, and the shop's change is noted on the
timeline. The new address is placed on the map as a new order's is. When the warehouse
nearest to it is not the one nearest the old address, what the order holds is given back
to its bins (its unstarted pick lists lose its steps) and the order is allocated again
from the new address, in the same transaction: the timeline says `reallocated` with both
warehouses. An order that holds nothing yet is allocated from the new address when its
turn comes.
"""

from __future__ import annotations

import json
from typing import Any

from server.capture import geocode, orders, search
from server.core.schemas import AddressIn
from server.inventory import allocate, shipments
from server.inventory.domain.allocation import Site, rank_sites
from server.store import Store
from server.store.db import dumps

EARLY = ("received", "backordered", "partially_allocated", "allocated")  # picking not started
HOLDING = ("partially_allocated", "allocated")  # stock reserved for it


def picking_started(store: Store, order_id: str, status: str) -> bool:
    """True once any unit of the order is picked or a list of it went to a picker."""
    return status not in EARLY or bool(
        store.one(
            """SELECT 1 FROM pick_steps s JOIN pick_lists p ON p.id = s.pick_list_id
               WHERE s.order_id = ? AND (s.picked > 0 OR p.status != 'open') LIMIT 1""",
            (order_id,),
        )
    )


def _nearest(store: Store, lat: float | None, lon: float | None) -> str | None:
    """The warehouse nearest to a point (None: the point is unknown)."""
    if lat is None or lon is None:
        return None
    sites = [Site(r["code"], r["lat"], r["lon"]) for r in store.all(
        "SELECT code, lat, lon FROM warehouses WHERE lat IS NOT NULL AND lon IS NOT NULL"
    )]  # fmt: skip
    ranked = rank_sites(sites, lat, lon)
    return ranked[0][1].code if ranked else None


def change(store: Store, order_id: str, address: AddressIn, by: str) -> dict[str, Any]:
    """Give an order a new ship-to (inside a write; the caller checked picking has not
    started); returns {"changed", "reallocated"} and, when re-allocated, the warehouses
    nearest before and now and the one holding the order ("warehouse")."""
    row = store.one("SELECT status, ship_to, lat, lon FROM orders WHERE id = ?", (order_id,))
    before = AddressIn.model_validate(json.loads(row["ship_to"]))
    if address == before:
        return {"changed": False, "reallocated": False}
    new = address.model_dump()
    placed = geocode.place(new)
    was_near = _nearest(store, row["lat"], row["lon"])
    now_near = _nearest(store, placed.lat, placed.lon)
    store.execute(
        "UPDATE orders SET ship_to = ?, lat = ?, lon = ?, geocoded = ?, customer = ? WHERE id = ?",
        (dumps(new), placed.lat, placed.lon, placed.source, new["name"].lower(), order_id),
    )
    email = store.one("SELECT email FROM orders WHERE id = ?", (order_id,))["email"]
    search.index_order(store, order_id, new["name"], email)
    orders.record(
        store, order_id, row["status"], "ship_to_changed",
        ship_to=new, was=before.model_dump(), geocoded=placed.source, by=by,
    )  # fmt: skip
    if row["status"] not in HOLDING or was_near == now_near:
        return {"changed": True, "reallocated": False}
    _give_back(store, order_id)
    allocate.allocate_orders(store, [order_id])
    held = store.one("SELECT warehouse, status FROM orders WHERE id = ?", (order_id,))
    orders.record(
        store, order_id, held["status"], "reallocated",
        was_nearest=was_near, nearest=now_near, warehouse=held["warehouse"],
    )  # fmt: skip
    return {
        "changed": True, "reallocated": True, "was_nearest": was_near, "nearest": now_near,
        "warehouse": held["warehouse"],
    }  # fmt: skip


def _give_back(store: Store, order_id: str) -> None:
    """Everything the order holds back to its bins; it waits for all its units again."""
    for sh in store.all(
        "SELECT id FROM shipments WHERE order_id = ? AND status = 'allocated'", (order_id,)
    ):
        for r in store.all("SELECT id FROM reservations WHERE shipment_id = ?", (sh["id"],)):
            r = shipments.settle(store, r["id"])
            left = r["qty"] - r["picked"] - r["released"]
            if left:
                shipments.release(store, r["id"], left)
    shipments.recount(store, order_id)  # empty shipments cancelled, waiting units counted
