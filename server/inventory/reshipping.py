"""The units of a parcel the carrier lost, taken again from stock for the parcel sent instead.

The customer is still owed what the lost parcel held. A re-ship takes the same units, line
by line, from the pick faces of the warehouse that shipped the lost parcel, with the bin
rules allocation uses (`domain.allocation.choose_bins`: earliest expiry first, a bin that
fills the line, fewest bins, walking order; an expired lot is never taken). Its label is made
at once, so the units leave their bins at once too: each is a reservation of the lost
parcel's shipment that names the new package, taken as a pick is (`shipments.take`: on hand
drops, a 'pick' stock move with the order's id, the face checked for replenishment).

When that warehouse's faces do not hold every unit, nothing is taken and the re-ship is
refused in words (`NotInStock`): the units to ship are then on no shelf the label can leave
from, and a supervisor decides (receive, replenish, or count), then re-ships.

The lost parcel's own reservations are marked with the lost package, so the unit accounting
counts them lost by the carrier and not shipped twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from server.core.clock import now
from server.floor.domain.routing import s_shape_key
from server.inventory import shipments
from server.inventory.domain import allocation as alloc
from server.store import Store


class NotInStock(ValueError):
    """The warehouse's pick faces do not hold the lost parcel's units."""


@dataclass(frozen=True)
class Units:
    """What a lost parcel held, per order line, and where the new one comes from."""

    lost_id: int
    shipment_id: int
    order_id: str
    warehouse: str
    lines: tuple[alloc.Line, ...]


def units_of(store: Store, package_id: int) -> Units:
    """The units a shipped parcel held (inside a read or write): its own reservations for a
    parcel sent in place of another, else its shipment's that no other parcel holds."""
    pkg = store.one(
        "SELECT p.id, p.order_id, p.shipment_id, s.warehouse FROM packages p "
        "JOIN shipments s ON s.id = p.shipment_id WHERE p.id = ?",
        (package_id,),
    )
    rows = store.all(
        "SELECT line_no, sku, SUM(picked) AS n FROM reservations WHERE package_id = ? "
        "GROUP BY line_no, sku ORDER BY line_no, sku",
        (package_id,),
    )
    if not rows:
        rows = store.all(
            "SELECT line_no, sku, SUM(picked) AS n FROM reservations "
            "WHERE shipment_id = ? AND package_id IS NULL GROUP BY line_no, sku "
            "ORDER BY line_no, sku",
            (pkg["shipment_id"],),
        )
    lines = tuple(alloc.Line(r["line_no"], r["sku"], int(r["n"])) for r in rows if r["n"])
    return Units(pkg["id"], pkg["shipment_id"], pkg["order_id"], pkg["warehouse"], lines)


def plan(store: Store, units: Units) -> list[alloc.Take]:
    """The bins that give the units again (inside the write that takes them); NotInStock,
    naming each SKU short, when the warehouse's faces do not hold them all."""
    skus = sorted({line.sku for line in units.lines})
    if not skus:
        return []
    marks = ",".join("?" * len(skus))
    bins: dict[str, list[alloc.Bin]] = defaultdict(list)
    for r in store.all(
        f"""SELECT s.location_id, s.sku, s.lot, s.expires, s.on_hand - s.reserved AS free,
                   l.aisle, l.bay, l.level
            FROM stock s JOIN locations l ON l.id = s.location_id
            WHERE l.warehouse = ? AND l.role = 'face' AND s.on_hand > s.reserved
            AND s.sku IN ({marks})""",
        (units.warehouse, *skus),
    ):
        walk = s_shape_key(r["aisle"], r["bay"], r["level"])
        bins[r["sku"]].append(
            alloc.Bin(r["location_id"], r["sku"], r["free"], walk, r["lot"], r["expires"])
        )
    today = now()[:10]
    takes: list[alloc.Take] = []
    short: dict[str, int] = defaultdict(int)
    for line in units.lines:
        got = alloc.choose_bins(line, bins[line.sku], today)
        if got is None:
            have = sum(b.free for b in bins[line.sku] if alloc.usable(b, today))
            short[line.sku] += line.qty - have
            continue
        takes.extend(got)
        taken = {(t.location_id, t.lot): t.qty for t in got}
        bins[line.sku] = [  # a later line of the same SKU sees what this one left
            alloc.Bin(
                b.location_id, b.sku, b.free - taken.get((b.location_id, b.lot), 0),
                b.walk, b.lot, b.expires,
            )
            for b in bins[line.sku]
        ]  # fmt: skip
    if short:
        told = ", ".join(f"{n} x {sku}" for sku, n in sorted(short.items()))
        raise NotInStock(
            f"{units.warehouse} has not the lost parcel's units on its shelves: {told} short; "
            "nothing was re-shipped"
        )
    return takes


def take(store: Store, units: Units, takes: list[alloc.Take], new_id: int) -> dict[str, Any]:
    """The planned units leave their bins for package `new_id` (inside the same write as
    `plan`); the lost parcel's reservations are marked with it. Returns the units by SKU."""
    store.execute(
        "UPDATE reservations SET package_id = ? WHERE shipment_id = ? AND package_id IS NULL",
        (units.lost_id, units.shipment_id),
    )
    by_sku: dict[str, int] = defaultdict(int)
    for t in takes:
        cur = store.execute(
            "UPDATE stock SET reserved = reserved + ? WHERE location_id = ? AND sku = ? "
            "AND lot = ? AND on_hand - reserved >= ?",
            (t.qty, t.location_id, t.sku, t.lot, t.qty),
        )
        if cur.rowcount != 1:  # plan read it in this write: only a bug gets here
            raise NotInStock(f"bin {t.location_id} had less {t.sku} than planned")
        rid = store.execute(
            "INSERT INTO reservations (order_id, line_no, location_id, sku, lot, qty, "
            "shipment_id, package_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (units.order_id, t.line_no, t.location_id, t.sku, t.lot, t.qty, units.shipment_id,
             new_id),
        ).lastrowid  # fmt: skip
        shipments.take(store, rid, t.qty)
        by_sku[t.sku] += t.qty
    return dict(sorted(by_sku.items()))
