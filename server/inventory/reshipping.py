"""The units of a parcel the carrier lost, reserved again for the parcel sent instead.

The customer is still owed what the lost parcel held. A re-ship reserves the same units, line
by line, in the pick faces of the warehouse that shipped the lost parcel, with the bin rules
allocation uses (`domain.allocation.choose_bins`: earliest expiry first, a bin that fills the
line, fewest bins, walking order; an expired lot is never taken), as allocation reserves them:
`reserved` grows in each bin, and the reservations belong to a new shipment of that warehouse
that names the lost parcel (`shipments.reship_of`). The floor does the rest as for any order:
the shipment's pick list (`floor.planning.list_for_order`, at `URGENT` priority, above any
order's) is picked on a handheld, packed and labelled at a pack station, and the package made
there is linked to the lost one (`shipping/reships.py`).

When that warehouse's faces do not hold every unit, the other warehouses are tried, nearest
to the customer first, as allocation ranks them (`domain.allocation.rank_sites`: by distance
to the ship-to, or without a placed address by the shipments each may still take today), and
each only above its safety stock, as allocation promises. The first whose faces hold every
unit ships the whole parcel (one parcel, one warehouse), and the answer says in words which
warehouse ships it and why. A transfer (`orders.pin_warehouse`) ships from its sending
warehouse only.

When no warehouse holds them, nothing is reserved and the re-ship is refused in words
(`NotInStock`, naming what each warehouse lacks): a supervisor decides (receive, replenish,
transfer or count), then re-ships. When a re-ship's short pick finds its units in no
warehouse, its shipment is cancelled and the units wait for stock as any order's do; the
shipment allocation makes for them when stock comes is that re-ship again (`waiting_for`:
naming the lost parcel, urgent). Cancelling the rest of the order cancels them instead, and
the lost parcel may then be re-shipped again (its units counted wanted again on their lines).

The lost parcel's own reservations are marked with the lost package, so the unit accounting
counts them lost by the carrier, and the order's waiting units no longer count them as
covering its lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from server.core.clock import now
from server.floor import planning
from server.floor.domain.routing import s_shape_key
from server.inventory.domain import allocation as alloc
from server.store import Store

URGENT = 10  # a re-ship's pick list: above any order's priority (0-9), so handed out first


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


@dataclass(frozen=True)
class Plan:
    """Where the new parcel's units come from: the warehouse, its bins, and why, in words."""

    warehouse: str
    takes: list[alloc.Take]
    said: str
    distance_km: float | None = None  # to the customer, when another warehouse ships it


def _bins(store: Store, warehouse: str, skus: list[str]) -> dict[str, list[alloc.Bin]]:
    """The free units of the SKUs on a warehouse's pick faces, per SKU."""
    bins: dict[str, list[alloc.Bin]] = defaultdict(list)
    marks = ",".join("?" * len(skus))
    for r in store.all(
        f"""SELECT s.location_id, s.sku, s.lot, s.expires, s.on_hand - s.reserved AS free,
                   l.aisle, l.bay, l.level
            FROM stock s JOIN locations l ON l.id = s.location_id
            WHERE l.warehouse = ? AND l.role = 'face' AND s.on_hand > s.reserved
            AND s.sku IN ({marks})""",
        (warehouse, *skus),
    ):
        walk = s_shape_key(r["aisle"], r["bay"], r["level"])
        bins[r["sku"]].append(
            alloc.Bin(r["location_id"], r["sku"], r["free"], walk, r["lot"], r["expires"])
        )
    return bins


def _plan_in(
    lines: tuple[alloc.Line, ...],
    bins: dict[str, list[alloc.Bin]],
    today: str,
    safety: dict[str, int],
) -> tuple[list[alloc.Take], dict[str, int]]:
    """The bins that give every line in one warehouse, and the units short per SKU (none: it
    can ship them). Units under the warehouse's safety stock are not promised."""
    takes: list[alloc.Take] = []
    short: dict[str, int] = defaultdict(int)
    wanted: dict[str, int] = defaultdict(int)
    for line in lines:
        wanted[line.sku] += line.qty
    for sku, n in wanted.items():
        spare = sum(b.free for b in bins[sku] if alloc.usable(b, today)) - safety.get(sku, 0)
        if n > spare:
            short[sku] = n - max(spare, 0)
    if short:
        return [], dict(short)
    for line in lines:
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
    return takes, dict(short)


def _others(store: Store, units: Units) -> list[tuple[float | None, str]]:
    """The other warehouses that may ship the order, nearest to the customer first (as
    allocation ranks them), with the distance in km (None: the ship-to is not placed)."""
    order = store.one("SELECT lat, lon, pin_warehouse FROM orders WHERE id = ?", (units.order_id,))
    if order["pin_warehouse"]:  # a transfer ships from its sending warehouse only
        return []
    today = now()[:10]
    sites, capacity = [], {}
    for r in store.all(
        "SELECT w.code, w.lat, w.lon, w.daily_capacity, COALESCE(d.orders, 0) AS used "
        "FROM warehouses w LEFT JOIN warehouse_days d ON d.warehouse = w.code AND d.day = ? "
        "WHERE w.code <> ?",
        (today, units.warehouse),
    ):
        sites.append(alloc.Site(r["code"], r["lat"], r["lon"]))
        if r["daily_capacity"] is not None:
            capacity[r["code"]] = r["daily_capacity"] - r["used"]
    placed = order["lat"] is not None and order["lon"] is not None
    return [
        (km if placed else None, site.code)
        for km, site in alloc.rank_sites(sites, order["lat"], order["lon"], capacity)
    ]


def _told(short: dict[str, int]) -> str:
    return ", ".join(f"{n} x {sku}" for sku, n in sorted(short.items()))


def plan(store: Store, units: Units) -> Plan:
    """Where the units come from again (inside the write that takes them): the lost parcel's
    warehouse, else the nearest other that holds them all; NotInStock, naming what each
    warehouse lacks, when none does."""
    skus = sorted({line.sku for line in units.lines})
    home = units.warehouse
    if not skus:
        return Plan(home, [], f"{home} ships the new parcel, as it shipped the lost one")
    today = now()[:10]
    takes, short = _plan_in(units.lines, _bins(store, home, skus), today, {})
    if not short:
        return Plan(home, takes, f"{home} ships the new parcel, as it shipped the lost one")
    lacking = [f"{home} {_told(short)} short"]
    for km, wh in _others(store, units):
        marks = ",".join("?" * len(skus))
        safety = {
            r["sku"]: r["qty"]
            for r in store.all(
                f"SELECT sku, qty FROM safety_stock WHERE warehouse = ? AND qty > 0 "
                f"AND sku IN ({marks})",
                (wh, *skus),
            )
        }
        takes, other_short = _plan_in(units.lines, _bins(store, wh, skus), today, safety)
        if not other_short:
            said = (
                f"{home}, which shipped the lost parcel, has not its units on its shelves "
                f"({_told(short)} short): {wh}, the nearest warehouse to the customer that has "
                "them, ships the new parcel"
            )
            return Plan(wh, takes, said, km)
        lacking.append(f"{wh} {_told(other_short)} short")
    raise NotInStock(
        "no warehouse has the lost parcel's units on its shelves ("
        + "; ".join(lacking)
        + "); nothing was re-shipped"
    )


def shipment_for(store: Store, units: Units, where: Plan) -> int:
    """The re-ship's own shipment in the warehouse that ships it (inside the write): allocated,
    naming the lost parcel, and counted against that warehouse's shipments of the day."""
    at, day = now(), now()[:10]
    km = None if where.distance_km is None else round(where.distance_km, 1)
    if where.warehouse == units.warehouse:
        km = store.one("SELECT distance_km FROM shipments WHERE id = ?", (units.shipment_id,))[
            "distance_km"
        ]
    sid = store.execute(
        "INSERT INTO shipments (order_id, warehouse, status, distance_km, day, created_at, "
        "updated_at, reship_of) VALUES (?, ?, 'allocated', ?, ?, ?, ?, ?)",
        (units.order_id, where.warehouse, km, day, at, at, units.lost_id),
    ).lastrowid
    store.execute(
        "INSERT INTO warehouse_days (warehouse, day, orders) VALUES (?, ?, 1) "
        "ON CONFLICT (warehouse, day) DO UPDATE SET orders = warehouse_days.orders + 1",
        (where.warehouse, day),
    )
    return sid


def reserve(
    store: Store, units: Units, takes: list[alloc.Take], shipment_id: int
) -> tuple[dict[str, int], int]:
    """The planned units are reserved in their bins for `shipment_id` and go to the floor as
    an urgent pick list (inside the same write as `plan`); the lost parcel is marked lost and
    its reservations name it. Returns the units by SKU and the pick list."""
    store.execute(
        "UPDATE packages SET lost_at = ? WHERE id = ? AND lost_at IS NULL", (now(), units.lost_id)
    )
    store.execute(
        "UPDATE reservations SET package_id = ? WHERE shipment_id = ? AND package_id IS NULL",
        (units.lost_id, units.shipment_id),
    )
    by_sku: dict[str, int] = defaultdict(int)
    for t in takes:
        # The WHERE clause is the guard, as allocation's: reserved never passes on hand.
        cur = store.execute(
            "UPDATE stock SET reserved = reserved + ? WHERE location_id = ? AND sku = ? "
            "AND lot = ? AND on_hand - reserved >= ?",
            (t.qty, t.location_id, t.sku, t.lot, t.qty),
        )
        if cur.rowcount != 1:  # plan read it in this write: only a bug gets here
            raise NotInStock(f"bin {t.location_id} had less {t.sku} than planned")
        store.execute(
            "INSERT INTO reservations (order_id, line_no, location_id, sku, lot, qty, "
            "shipment_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (units.order_id, t.line_no, t.location_id, t.sku, t.lot, t.qty, shipment_id),
        )
        by_sku[t.sku] += t.qty
    # Units of a line cancelled with the rest of the order (a re-ship cancelled so) are wanted
    # again: they count as the line's once more, so the order does not wait for them twice.
    by_line: dict[int, int] = defaultdict(int)
    for t in takes:
        by_line[t.line_no] += t.qty
    for line_no, n in by_line.items():
        row = store.one(
            "SELECT cancelled FROM order_lines WHERE order_id = ? AND line_no = ?",
            (units.order_id, line_no),
        )
        if row and row["cancelled"]:
            store.execute(
                "UPDATE order_lines SET cancelled = ? WHERE order_id = ? AND line_no = ?",
                (max(0, row["cancelled"] - n), units.order_id, line_no),
            )
    list_id = planning.list_for_order(store, units.order_id, shipment_id, priority=URGENT)
    return dict(sorted(by_sku.items())), list_id


# SQL: the lost parcels `p` of an order (parameter) not replaced and that no shipment on the
# floor (or gone since) sends again: their re-ship waits for stock, or was cancelled.
UNSENT = """SELECT p.id, p.tracking FROM packages p
    WHERE p.order_id = ? AND p.lost_at IS NOT NULL AND p.replaced_by IS NULL
    AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.reship_of = p.id
                    AND s.status IN ('allocated', 'packed', 'shipped'))
    ORDER BY p.id"""


def waiting_for(store: Store, order_id: str) -> int | None:
    """The lost parcel whose units allocation reserves now for the order (inside the write),
    if its re-ship was short-picked with no warehouse to take it: the units waited for stock,
    and the shipment allocation makes for them is that re-ship (None: an ordinary one). A re-ship
    cancelled with the rest of the order has no units waiting: allocation never gets here."""
    row = store.one(UNSENT + " LIMIT 1", (order_id,))
    return row["id"] if row else None


def carry_on(store: Store, short_shipment: int, newer_than: int) -> None:
    """A short pick on a re-ship found its units nowhere in its warehouse and allocation sent
    them to another (inside the write): the shipment made there for the order is the re-ship's
    too, naming the lost parcel, and its pick list is as urgent."""
    sh = store.one("SELECT order_id, reship_of FROM shipments WHERE id = ?", (short_shipment,))
    if sh is None or sh["reship_of"] is None:
        return
    for new in store.all(
        "SELECT id FROM shipments WHERE order_id = ? AND id > ? AND status = 'allocated'",
        (sh["order_id"], newer_than),
    ):
        store.execute(
            "UPDATE shipments SET reship_of = ? WHERE id = ?", (sh["reship_of"], new["id"])
        )
        store.execute(
            "UPDATE pick_lists SET priority = ? WHERE status = 'open' AND id IN (SELECT "
            "ps.pick_list_id FROM pick_steps ps JOIN reservations r ON r.id = ps.reservation_id "
            "WHERE r.shipment_id = ?)",
            (URGENT, new["id"]),
        )
