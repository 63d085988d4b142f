"""Short picks: the bin holds fewer units than the step asks for.

The picker says how many they found (none, by default) and why. The bin is
corrected to what they found and flagged for a count; the order's missing units
come first from another bin of the same warehouse, as a new step at the end of
the same list; failing that, allocation looks further (a new shipment from
another warehouse) or the units wait as a backorder. Every short pick is kept
for the supervisors' board.

Before the count, `preview` tells the picker what a short of the whole step
would do: it makes that short pick inside a savepoint and rolls it back, so
the answer is exactly what `report` would do, and nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.core.clock import now
from server.core.schemas import CorrectionIn
from server.floor.domain.routing import s_shape_key
from server.inventory import allocate, counts, replenishment, reshipping, shipments, stock
from server.inventory.domain import allocation
from server.store import Store
from shared import messages as say
from shared import replenishing as words


class NotShort(ValueError):
    """Nothing to short: no current step, or the picker found enough."""


@dataclass(frozen=True)
class Outcome:
    short_id: int
    wanted: int
    found: int
    outcome: str  # same_warehouse, other_warehouse, backordered, replenishing, waiting
    message: str  # what happened, for the picker
    plan: str  # where the rest comes from, said ahead ("If it is empty: ...")


def report(store: Store, device: dict, list_id: int | None, found: int, reason: str) -> Outcome:
    """Handle a short pick at the picker's current step (inside or outside a write)."""
    with store.write():
        step = None
        if list_id is not None:
            step = store.one(
                """SELECT ps.*, l.code AS location, l.warehouse, r.shipment_id, r.lot
                   FROM pick_steps ps JOIN locations l ON l.id = ps.location_id
                   JOIN reservations r ON r.id = ps.reservation_id
                   WHERE ps.pick_list_id = ? AND ps.put < ps.qty ORDER BY ps.seq LIMIT 1""",
                (list_id,),
            )
        if step is None or not step["at_location"]:
            raise NotShort(say.short_nothing_to_do())
        wanted = step["qty"] - step["picked"]
        if found >= wanted:
            raise NotShort(f"{found} found covers the {wanted} still to pick: no short pick")
        missing = wanted - found
        # Other bins first, so the list never looks finished while its missing units move.
        refill = _same_warehouse(store, step, missing, list_id)
        # The step shrinks to what the bin gives; the bin is set to what was found.
        shipments.release(store, step["reservation_id"], missing)
        stock.correct(
            store,
            CorrectionIn(
                warehouse=step["warehouse"],
                location=step["location"],
                sku=step["sku"],
                lot=step["lot"],
                on_hand=found,
                reason=f"short pick: {reason}",
            ),
            reallocate=False,
        )
        # A real count task for the bin (one per bin): a picker with no list counts it.
        counts.add(store, step["location_id"], step["sku"], "short_pick", f"short pick: {reason}")
        detail = dict(location=step["location"], sku=step["sku"], wanted=wanted, found=found)
        order_id, location = step["order_id"], step["location"]
        if refill:
            following = store.one(
                """SELECT l.code FROM pick_steps ps JOIN locations l ON l.id = ps.location_id
                   WHERE ps.pick_list_id = ? AND ps.put < ps.qty ORDER BY ps.seq LIMIT 1""",
                (list_id,),
            )
            # Said the way the headline shows it: "Next" only if the refill bin is the next stop.
            next_now = following is not None and following["code"] == refill
            outcome = "same_warehouse"
            message = say.short_replaced(found, location, missing, refill, next_now)
            plan = say.short_if_empty_from_bin(missing, refill)
            shipments.refresh(store, order_id, "short_pick", outcome=outcome, **detail)
        elif move := replenishment.for_short(
            store, step["location_id"], step["sku"], missing, found, order_id
        ):
            # Reserve holds what the face lacks: the units wait for the move, held to this bin.
            outcome = "replenishing"
            reserve = replenishment.get(store, move)["reserve"]
            message = words.short_replenishing(found, location, missing, reserve)
            plan = words.short_if_empty_replenishing(missing, reserve)
            shipments.refresh(store, order_id, "short_pick", outcome=outcome, **detail)
        else:
            shipments.refresh(store, order_id, "short_pick", **detail)  # the units now wait
            newest = store.one("SELECT COALESCE(MAX(id), 0) AS n FROM shipments")["n"]
            allocate.allocate_orders(store, [order_id])
            reshipping.carry_on(store, step["shipment_id"], newest)
            left = shipments.waiting_units(store, order_id)
            if left < missing:
                outcome = "other_warehouse"
                elsewhere = _new_warehouse(store, order_id, step["warehouse"])
                message = say.short_elsewhere(found, location, missing - left, elsewhere)
                plan = say.short_if_empty_from_warehouse(missing - left, elsewhere)
            elif shipments.held_units(store, order_id):  # it ships complete only: on hold
                outcome = "backordered"
                message = say.short_held(found, location, missing, order_id)
                plan = say.short_if_empty_held(missing, order_id)
            else:
                outcome = "backordered"
                message = say.short_backordered(found, location, missing, order_id)
                plan = say.short_if_empty_backordered(missing, order_id)
        short_id = store.execute(
            """INSERT INTO short_picks (device_id, pick_list_id, step_id, order_id, location_id, sku,
                 wanted, found, reason, outcome, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                device["id"],
                list_id,
                step["id"],
                step["order_id"],
                step["location_id"],
                step["sku"],
                wanted,
                found,
                reason,
                outcome,
                now(),
            ),
        ).lastrowid
        # The other units of the short bin's SKU may now be backorders: serve them where stock is.
        allocate.allocate_pending(store, {step["sku"]})
    return Outcome(short_id, wanted, found, outcome, message, plan)


def preview(store: Store, device: dict, list_id: int | None) -> Outcome:
    """What a short pick of the whole current step (the bin empty) would do; nothing is kept.

    Raises NotShort as `report` does (not at the bin).
    """
    with store.write():
        store.conn.execute("SAVEPOINT short_preview")
        try:
            return report(store, device, list_id, 0, "empty")
        finally:
            store.conn.execute("ROLLBACK TO short_preview")
            store.conn.execute("RELEASE short_preview")


def _new_warehouse(store: Store, order_id: str, but: str) -> str:
    """The warehouse of the order's newest live shipment other than `but` (where the rest ships)."""
    row = store.one(
        "SELECT warehouse FROM shipments WHERE order_id = ? AND status = 'allocated' "
        "AND warehouse != ? ORDER BY id DESC LIMIT 1",
        (order_id, but),
    )
    return row["warehouse"] if row else "another warehouse"


def _same_warehouse(store: Store, step: dict, missing: int, list_id: int) -> str | None:
    """Reserve the missing units in other bins of the warehouse, as steps at the end of the list."""
    rows = store.all(
        """SELECT s.location_id, s.lot, s.expires, s.on_hand - s.reserved AS free,
                  l.aisle, l.bay, l.level, l.code
           FROM stock s JOIN locations l ON l.id = s.location_id
           WHERE l.warehouse = ? AND s.sku = ? AND s.location_id != ? AND s.on_hand > s.reserved
           AND l.role = 'face'""",
        (step["warehouse"], step["sku"], step["location_id"]),
    )
    if sum(r["free"] for r in rows) < missing:
        return None
    bins = [
        allocation.Bin(
            r["location_id"],
            step["sku"],
            r["free"],
            s_shape_key(r["aisle"], r["bay"], r["level"]),
            r["lot"],
            r["expires"],
        )
        for r in rows
    ]
    takes = allocation.choose_bins(allocation.Line(0, step["sku"], missing), bins, today=now()[:10])
    if not takes:
        return None
    line_no = store.one("SELECT line_no FROM reservations WHERE id = ?", (step["reservation_id"],))[
        "line_no"
    ]
    seq = (
        store.one("SELECT MAX(seq) AS s FROM pick_steps WHERE pick_list_id = ?", (list_id,))["s"]
        or 0
    )
    codes = {r["location_id"]: r["code"] for r in rows}
    for take in takes:
        cur = store.execute(
            "UPDATE stock SET reserved = reserved + ? WHERE location_id = ? AND sku = ? AND lot = ? "
            "AND on_hand - reserved >= ?",
            (take.qty, take.location_id, take.sku, take.lot, take.qty),
        )
        if cur.rowcount != 1:
            raise allocate.StockRace(f"bin {take.location_id} changed under a short pick")
        res_id = store.execute(
            "INSERT INTO reservations (order_id, line_no, location_id, sku, qty, shipment_id, lot) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                step["order_id"],
                line_no,
                take.location_id,
                take.sku,
                take.qty,
                step["shipment_id"],
                take.lot,
            ),
        ).lastrowid
        seq += 1
        store.execute(
            """INSERT INTO pick_steps (pick_list_id, seq, order_id, reservation_id, location_id, sku, qty)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (list_id, seq, step["order_id"], res_id, take.location_id, take.sku, take.qty),
        )
    return codes[takes[0].location_id]
