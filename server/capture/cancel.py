"""Cancelling an order: what is reserved goes back to its bins, what is picked gets put away.

Workflow: the shop (or a supervisor, from the board's order page) cancels. Units still on the
shelf are released at once and their pick steps disappear from the lists; units already in a
tote (or a packed box) become put-away tasks naming the tote and the bin they came from.

Whether it may, and what it cancels, is one rule (`server/capture/domain/cancelling.py`),
asked by REST and the board alike with the facts read here: a parcel with a carrier can never
be cancelled; everything else can. When a parcel of the order is with a carrier, the cancel
cancels the rest (the shipments still on the floor, the re-ship of a lost parcel, the units
waiting for stock): those units are counted cancelled on their lines (`order_lines.cancelled`)
so they no longer wait, and the order goes on with its parcels. Otherwise the whole order is
cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from server.capture.domain import cancelling as rule
from server.capture.orders import find, record
from server.core.clock import now
from server.inventory import allocate, shipments
from server.store import Store


class CannotCancel(ValueError):
    """Nothing of the order is left to cancel (it has shipped, or is cancelled): the words say."""


def facts(store: Store, order_id: str) -> rule.CancelFacts:
    """What the cancel rule needs of an order (inside a read or write)."""
    status = store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]
    with_carrier = store.one(
        "SELECT COUNT(*) AS n FROM packages p JOIN shipments s ON s.id = p.shipment_id "
        "WHERE p.order_id = ? AND s.status = 'shipped' AND p.lost_at IS NULL",
        (order_id,),
    )["n"]
    rest: list[rule.Rest] = []
    if status != "cancelled":
        by_shipment: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in store.all(
            "SELECT s.id, r.sku, r.qty - r.released AS n FROM shipments s "
            "JOIN reservations r ON r.shipment_id = s.id "
            "WHERE s.order_id = ? AND s.status IN ('allocated', 'packed') ORDER BY s.id",
            (order_id,),
        ):
            if r["n"] > 0:
                by_shipment[r["id"]][r["sku"]] += r["n"]
        for sh in store.all(
            "SELECT s.id, s.warehouse, lp.tracking FROM shipments s "
            "LEFT JOIN packages lp ON lp.id = s.reship_of "
            "WHERE s.order_id = ? AND s.status IN ('allocated', 'packed') ORDER BY s.id",
            (order_id,),
        ):
            units = tuple(sorted(by_shipment[sh["id"]].items()))
            if units:
                rest.append(rule.Rest(units, sh["warehouse"], sh["tracking"]))
        waiting = tuple(sorted(waiting_by_sku(store, order_id).items()))
        if waiting:
            rest.append(rule.Rest(waiting))
    return rule.CancelFacts(order_id, status, with_carrier, tuple(rest))


def waiting_by_sku(store: Store, order_id: str) -> dict[str, int]:
    """The units of an order no reservation covers (nor a cancel took), by SKU."""
    out: dict[str, int] = defaultdict(int)
    for line in _lines(store, order_id):
        if line["open_units"] > 0:
            out[line["sku"]] += line["open_units"]
    return dict(out)


def _lines(store: Store, order_id: str) -> list[dict[str, Any]]:
    return store.all(
        f"""SELECT l.line_no, l.sku, l.qty, l.cancelled,
                   l.qty - l.cancelled - COALESCE((SELECT SUM(r.qty - r.released)
                     FROM reservations r WHERE r.order_id = l.order_id AND r.line_no = l.line_no
                     AND {shipments.COVERS}), 0) AS open_units
            FROM order_lines l WHERE l.order_id = ? ORDER BY l.line_no""",
        (order_id,),
    )


def cancel_order(
    store: Store, order_id: str, reason: str = "", channel: str | None = None
) -> dict[str, Any]:
    """Cancel an order, or its rest when a parcel of it is with a carrier (by our id or the
    shop's, in `channel` if given: `orders.find`); returns what was released and put away, and
    `said`: what it cancelled, in words. Refused (`CannotCancel`, the rule's words) when
    nothing is left to cancel."""
    skus: set[str] = set()
    with store.write():
        oid = find(store, order_id, channel)  # KeyError, AmbiguousOrder
        f = facts(store, oid)
        if f.status == "cancelled":
            return {"order": oid, "already": True, "released": 0, "putaway_tasks": []}
        why = rule.why_not_cancel(f)
        if why is not None:
            raise CannotCancel(why)
        partly, said, what = rule.partly(f), rule.said(f), rule.what_it_cancels(f)
        open_ships = store.all(
            "SELECT id, warehouse, day FROM shipments WHERE order_id = ? AND status IN ('allocated', 'packed')",
            (oid,),
        )
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
            # A re-ship packed but not handed over: the lost parcel is no longer replaced by it
            # (by the other half of a split re-ship, if that one still goes).
            store.execute(
                "UPDATE packages SET replaced_by = (SELECT n.id FROM packages n "
                "JOIN shipments s ON s.id = n.shipment_id WHERE s.reship_of = packages.id "
                "AND s.status <> 'cancelled' ORDER BY n.id LIMIT 1) "
                "WHERE replaced_by IN (SELECT id FROM packages WHERE shipment_id = ?)",
                (sh["id"],),
            )
        if partly:  # the units not with a carrier no longer wait: the order follows its parcels
            for line in _lines(store, oid):
                if line["open_units"] > 0:
                    store.execute(
                        "UPDATE order_lines SET cancelled = cancelled + ? "
                        "WHERE order_id = ? AND line_no = ?",
                        (line["open_units"], oid, line["line_no"]),
                    )
            status = shipments.refresh(
                store, oid, "rest_cancelled", cancelled=what, reason=reason,
                released=released, putaway_tasks=tasks,
            )  # fmt: skip
        else:
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
            status = "cancelled"
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
        "status": status,
        "rest_only": partly,
        "said": said,
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
