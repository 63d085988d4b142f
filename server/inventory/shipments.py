"""Shipments and the units in them: who pays for what, how an order's status follows.

A reservation holds `qty` units of one bin for one shipment. Of those, `picked`
have left the bin (into a tote) and `released` went back to the bin unpicked
(cancel, stock correction); the rest, `qty - picked - released`, is what the
bin's `reserved` counts. So per bin and lot, always:
`stock.reserved == SUM(qty - picked - released)`. A line is covered by
`SUM(qty - released)` of its reservations; `orders.waiting` is what is not.

Order statuses (documented on OrderOut): received -> backordered (nothing
reserved) | partially_allocated (some lines wait) | allocated (every unit
reserved) -> picking -> picked -> packed (every shipment packed) -> shipped -> in_transit | out_for_delivery |
exception -> delivered | returned (the carriers' tracking events, once every
shipment has shipped: `carried_status`, rules in server/shipping/domain/tracking.py);
cancelled at any point before shipping (with a parcel at a carrier, only the rest is
cancelled: its units counted on `order_lines.cancelled`, server/capture/cancel.py, and the
order follows its parcels).

An order that may not ship in part (its own `allow_partial`, else its
channel's, else no) and still has units no reservation covers (a short pick
found them in stock nowhere) is *held*: backordered, whatever it has picked
waits in its tote, and packing refuses it, until the rest is allocated.
"""

from __future__ import annotations

from typing import Any

from server.capture.orders import record
from server.core.clock import now
from server.inventory import replenishment
from server.inventory.domain.allocation import Policy
from server.shipping.domain import tracking
from server.store import Store

# What a channel without a row in `channels` accepts: split rather than wait,
# but never ship part of an order unless the shop said so.
DEFAULT_POLICY = Policy(allow_split=True, allow_partial=False)
LIVE = ("allocated", "packed", "shipped")  # shipment statuses that hold or held stock


class ShipmentError(ValueError):
    """A shipment cannot do what was asked (ship with units still unpicked)."""


def policy_for(
    channel: dict[str, Any] | None, allow_split: int | None, allow_partial: int | None
) -> Policy:
    """The order's own choice where it made one, else its channel's, else the default."""
    base = (
        Policy(bool(channel["allow_split"]), bool(channel["allow_partial"]))
        if channel
        else DEFAULT_POLICY
    )
    return Policy(
        base.allow_split if allow_split is None else bool(allow_split),
        base.allow_partial if allow_partial is None else bool(allow_partial),
    )


# SQL: a reservation row `r` whose units still cover its line (not those of a parcel the carrier
# lost: the customer is owed them again, and a re-ship's reservations cover them).
COVERS = (
    "NOT EXISTS (SELECT 1 FROM packages lp WHERE lp.id = r.package_id AND lp.lost_at IS NOT NULL)"
)


def waiting_units(store: Store, order_id: str) -> int:
    """Units of an order that no reservation covers (and that were not cancelled)."""
    row = store.one(
        f"""SELECT (SELECT COALESCE(SUM(qty - cancelled), 0) FROM order_lines WHERE order_id = ?)
                - (SELECT COALESCE(SUM(r.qty - r.released), 0) FROM reservations r
                   WHERE r.order_id = ? AND {COVERS}) AS n""",
        (order_id, order_id),
    )
    return row["n"]


# SQL: an order row `o` that may not ship in part (its own choice, else its channel's, else no).
COMPLETE_ONLY = (
    "COALESCE(o.allow_partial, (SELECT c.allow_partial FROM channels c WHERE c.code = o.channel), "
    f"{int(DEFAULT_POLICY.allow_partial)}) = 0"
)


def held_units(store: Store, order_id: str) -> int:
    """Units a held order still waits for (0: not held), from `orders.waiting`."""
    row = store.one(
        f"SELECT o.waiting FROM orders o WHERE o.id = ? AND o.waiting > 0 "
        f"AND o.status != 'cancelled' AND {COMPLETE_ONLY}",
        (order_id,),
    )
    return row["waiting"] if row else 0


def derive_status(store: Store, order_id: str) -> str:
    """The status an order's shipments and waiting units add up to."""
    order = store.one("SELECT status, waiting FROM orders WHERE id = ?", (order_id,))
    if order["status"] == "cancelled":
        return "cancelled"
    ships = [
        r["status"]
        for r in store.all(
            "SELECT status FROM shipments WHERE order_id = ? AND status != 'cancelled'",
            (order_id,),
        )
    ]
    if order["waiting"] > 0:
        if ships and not held_units(store, order_id):
            return "partially_allocated"
        return "backordered"  # nothing reserved, or held: it waits for the rest to ship whole
    if not ships:
        return order["status"]
    if all(s == "shipped" for s in ships):
        return carried_status(store, order_id)
    if all(s in ("packed", "shipped") for s in ships):
        return "packed"
    if order["status"] in ("picking", "picked"):
        return order["status"]  # the floor's progress on the open shipment
    return "allocated"


def carried_status(store: Store, order_id: str) -> str:
    """A shipped order's status from its packages' tracking events (`shipped` before any);
    a parcel marked lost counts no more (the one re-shipped in its place does)."""
    rows = store.all(
        """SELECT p.id, e.at, e.type FROM packages p
           JOIN shipments s ON s.id = p.shipment_id AND s.status = 'shipped'
           LEFT JOIN tracking_events e ON e.package_id = p.id
           WHERE p.order_id = ? AND p.lost_at IS NULL ORDER BY p.id, e.id""",
        (order_id,),
    )
    events: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        seen = events.setdefault(r["id"], [])
        if r["type"] is not None:
            seen.append((r["at"], r["type"]))
    return tracking.order_status([tracking.package_state(e) for e in events.values()])


def refresh(store: Store, order_id: str, event: str, **detail: Any) -> str:
    """Recount what waits, derive the status and add the event to the timeline (inside a write)."""
    recount(store, order_id)
    status = derive_status(store, order_id)
    record(store, order_id, status, event, **detail)
    return status


def recount(store: Store, order_id: str) -> None:
    """Cancel the order's shipments left with nothing reserved and recount the units it waits
    for (inside a write); its status is the caller's to set."""
    for sh in store.all(
        """SELECT id, warehouse, day FROM shipments s WHERE order_id = ? AND status = 'allocated'
           AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.shipment_id = s.id
                           AND r.qty > r.released)""",
        (order_id,),
    ):  # every unit went back: the shipment is gone, and with it its slot of the day
        store.execute(
            "UPDATE shipments SET status = 'cancelled', updated_at = ? WHERE id = ?",
            (now(), sh["id"]),
        )
        store.execute(
            "UPDATE warehouse_days SET orders = orders - 1 WHERE warehouse = ? AND day = ? "
            "AND orders > 0",
            (sh["warehouse"], sh["day"]),
        )
    store.execute(
        "UPDATE orders SET waiting = ? WHERE id = ? AND status != 'cancelled'",
        (waiting_units(store, order_id), order_id),
    )


def settle(store: Store, reservation_id: int) -> dict[str, Any]:
    """Catch the stock up with units the floor marked picked on the steps (inside a write)."""
    r = store.one(
        """SELECT r.*, COALESCE((SELECT SUM(picked) FROM pick_steps WHERE reservation_id = r.id), 0)
                  AS step_picked FROM reservations r WHERE r.id = ?""",
        (reservation_id,),
    )
    behind = min(r["step_picked"], r["qty"] - r["released"]) - r["picked"]
    if behind > 0:
        _move_out(store, r, behind)
        _count_picked(store, r["id"], behind)
        r["picked"] += behind
    return r


def take(store: Store, reservation_id: int, qty: int) -> None:
    """Units of a reservation leave their bin into a tote: on hand and reserved both drop (inside a write)."""
    r = store.one("SELECT * FROM reservations WHERE id = ?", (reservation_id,))
    if qty <= 0 or qty > r["qty"] - r["picked"] - r["released"]:
        raise ShipmentError(f"reservation {reservation_id} has not {qty} units left to pick")
    _move_out(store, r, qty)
    _count_picked(store, reservation_id, qty)


# A unit of the reservation a pick step takes from leaves it, if the reservation has it left
# to pick: the read and the write in one statement, which also says where the unit was (bin,
# SKU, lot, order) and whether the bin is a face with limits for the SKU (else the
# replenishment check after the pick has nothing to look at).
_TAKE_FOR_STEP = """UPDATE reservations SET picked = picked + ?
    WHERE id = (SELECT reservation_id FROM pick_steps WHERE id = ?)
      AND qty - picked - released >= ?
    RETURNING id, order_id, location_id, sku, lot,
      EXISTS (SELECT 1 FROM face_limits f WHERE f.location_id = reservations.location_id
              AND f.sku = reservations.sku) AS face_limited"""


def take_for_step(store: Store, step_id: int, qty: int) -> None:
    """`take` for the reservation of a pick step (inside a write): the reservation counts
    the units picked in the statement that finds it, then they leave the bin."""
    r = store.one(_TAKE_FOR_STEP, (qty, step_id, qty)) if qty > 0 else None
    if r is None:
        raise ShipmentError(f"pick step {step_id} has not {qty} units left to pick")
    _move_out(store, r, qty)


def _count_picked(store: Store, reservation_id: int, n: int) -> None:
    store.execute("UPDATE reservations SET picked = picked + ? WHERE id = ?", (n, reservation_id))


def _move_out(store: Store, r: dict[str, Any], n: int) -> None:
    """n reserved units of reservation `r` leave its bin: on hand and reserved drop, a stock
    move says so, and a face left below its min gets a move. The caller counts them picked
    on the reservation (`take_for_step` in the statement that finds it)."""
    cur = store.execute(
        "UPDATE stock SET on_hand = on_hand - ?, reserved = reserved - ? "
        "WHERE location_id = ? AND sku = ? AND lot = ? AND reserved >= ?",
        (n, n, r["location_id"], r["sku"], r["lot"], n),
    )
    if cur.rowcount != 1:
        raise ShipmentError(f"bin {r['location_id']} does not hold {n} reserved {r['sku']}")
    store.execute(
        "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty, ref) "
        "VALUES (?, 'pick', ?, ?, ?, ?, ?)",
        (now(), r["location_id"], r["sku"], r["lot"], -n, r["order_id"]),
    )
    if r.get("face_limited", True):  # the face may now be below its min
        replenishment.check(store, r["location_id"], r["sku"])


def release(store: Store, reservation_id: int, n: int) -> None:
    """Give n unpicked units of a reservation back to its bin and take them off the pick steps (inside a write)."""
    r = store.one("SELECT * FROM reservations WHERE id = ?", (reservation_id,))
    if n <= 0:
        return
    cur = store.execute(
        "UPDATE stock SET reserved = reserved - ? WHERE location_id = ? AND sku = ? AND lot = ? "
        "AND reserved >= ?",
        (n, r["location_id"], r["sku"], r["lot"], n),
    )
    if cur.rowcount != 1:
        raise ShipmentError(f"bin {r['location_id']} does not hold {n} reserved {r['sku']}")
    store.execute("UPDATE reservations SET released = released + ? WHERE id = ?", (n, r["id"]))
    left = n
    for step in store.all(
        "SELECT id, pick_list_id, qty, picked FROM pick_steps WHERE reservation_id = ? "
        "ORDER BY seq DESC",
        (reservation_id,),
    ):
        cut = min(left, step["qty"] - step["picked"])
        if cut <= 0:
            continue
        if step["qty"] - cut == 0:
            store.execute("DELETE FROM pick_steps WHERE id = ?", (step["id"],))
        else:
            store.execute("UPDATE pick_steps SET qty = qty - ? WHERE id = ?", (cut, step["id"]))
        tidy_list(store, step["pick_list_id"])
        left -= cut


def tidy_list(store: Store, list_id: int) -> None:
    """Close a list that has nothing left to do for live orders (inside a write)."""
    # An order with no step left on a cart no longer needs its tote there.
    store.execute(
        "DELETE FROM pick_list_totes WHERE pick_list_id = ? "
        "AND order_id NOT IN (SELECT order_id FROM pick_steps WHERE pick_list_id = ?)",
        (list_id, list_id),
    )
    left = store.one(
        """SELECT COUNT(*) AS steps, COUNT(*) FILTER (WHERE ps.put < ps.qty) AS open,
                  COUNT(*) FILTER (WHERE o.status != 'cancelled') AS live
           FROM pick_steps ps JOIN orders o ON o.id = ps.order_id WHERE ps.pick_list_id = ?""",
        (list_id,),
    )
    if left["steps"] == 0:
        # Never started: it goes. Started: it is closed, which frees its tote and its picker.
        store.execute("DELETE FROM pick_lists WHERE id = ? AND status = 'open'", (list_id,))
    elif left["open"]:
        return
    elif left["live"]:  # what is left is picked: it goes to packing, as a finished list does
        store.execute(
            "UPDATE pick_lists SET status = 'picked', picked_at = ? WHERE id = ? AND status = 'assigned'",
            (now(), list_id),
        )
        return
    store.execute(
        "UPDATE pick_lists SET status = 'packed', packed_at = ? WHERE id = ? "
        "AND status IN ('open', 'assigned', 'picked')",
        (now(), list_id),
    )


def ship(store: Store, shipment_id: int) -> str:
    """The shipment left the building with every unit picked; returns the order's status."""
    with store.write():
        sh = store.one("SELECT order_id, status FROM shipments WHERE id = ?", (shipment_id,))
        if sh is None:
            raise KeyError(shipment_id)
        if sh["status"] == "shipped":
            return derive_status(store, sh["order_id"])
        if sh["status"] == "cancelled":
            raise ShipmentError(f"shipment {shipment_id} was cancelled")
        units = 0
        for r in store.all("SELECT id FROM reservations WHERE shipment_id = ?", (shipment_id,)):
            r = settle(store, r["id"])
            if r["qty"] - r["picked"] - r["released"]:
                raise ShipmentError(f"shipment {shipment_id} still has units to pick")
            units += r["picked"]
        store.execute(
            "UPDATE shipments SET status = 'shipped', updated_at = ? WHERE id = ?",
            (now(), shipment_id),
        )
        return refresh(store, sh["order_id"], "shipped", shipment=shipment_id, units=units)
