"""Reserve stock for orders: one write transaction per batch, the planner on in-memory stock.

Everything the planner needs (orders, lines, free stock of their SKUs, safety
stock, capacity left today, channel policies) is read once per batch inside a
BEGIN IMMEDIATE transaction, so no other writer can change it meanwhile; the
in-memory copy is kept up to date as each order takes its units. The guarded
UPDATEs below are the second line of defence: a bin never gives more than it has.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.capture.orders import record
from server.core.clock import now
from server.floor import planning
from server.floor.domain.routing import s_shape_key
from server.inventory import reshipping
from server.inventory.domain import allocation as alloc
from server.inventory.shipments import COVERS, policy_for
from server.store import Store

BATCH = 500  # orders per transaction in allocate_pending: long enough to amortise, short enough to share
CHUNK = 500  # ids per IN (...) list


class StockRace(RuntimeError):
    """A bin had less free stock than planned: the transaction is rolled back."""


@dataclass(slots=True)
class _Row:
    """One bin's lot as the batch sees it; free drops as orders take from it."""

    site: str
    bin: alloc.Bin
    free: int


@dataclass
class _Batch:
    sites: list[alloc.Site]
    capacity: dict[str, int]  # shipments each warehouse may still take today; absent: no limit
    channels: dict[str, dict[str, Any]]
    safety: dict[tuple[str, str], int]
    stock: dict[str, list[_Row]] = field(default_factory=dict)  # sku -> its bins
    index: dict[tuple[int, str, str], _Row] = field(default_factory=dict)
    today: str = ""


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _in(n: int) -> str:
    return ",".join("?" * n)


def _load(store: Store, skus: set[str], today: str) -> _Batch:
    """Sites, capacity, channels, safety stock and free stock of the SKUs (inside the write)."""
    # The hot path reads tuples straight off the connection (the write holds the store's lock).
    conn = store.conn
    sites, capacity = [], {}
    for code, lat, lon, cap, used in conn.execute(
        "SELECT w.code, w.lat, w.lon, w.daily_capacity, COALESCE(d.orders, 0) FROM warehouses w "
        "LEFT JOIN warehouse_days d ON d.warehouse = w.code AND d.day = ?",
        (today,),
    ):
        sites.append(alloc.Site(code, lat, lon))
        if cap is not None:
            capacity[code] = cap - used
    channels = {
        r[0]: {"allow_split": r[1], "allow_partial": r[2]}
        for r in conn.execute("SELECT code, allow_split, allow_partial FROM channels")
    }
    batch = _Batch(sites, capacity, channels, {}, today=today)
    wanted = sorted(skus)
    for part in _chunks(wanted):
        for wh, sku, qty in conn.execute(
            f"SELECT warehouse, sku, qty FROM safety_stock WHERE qty > 0 AND sku IN ({_in(len(part))})",
            tuple(part),
        ):
            batch.safety[(wh, sku)] = qty
        for r in conn.execute(
            f"""SELECT l.warehouse, s.location_id, s.sku, s.lot, s.expires,
                       s.on_hand - s.reserved AS free, l.aisle, l.bay, l.level
                FROM stock s JOIN locations l ON l.id = s.location_id
                WHERE s.sku IN ({_in(len(part))}) AND s.on_hand > s.reserved
                AND l.role = 'face'""",
            tuple(part),
        ):
            wh, loc, sku, lot, expires, free, aisle, bay, level = r
            b = alloc.Bin(loc, sku, free, s_shape_key(aisle, bay, level), lot, expires)
            row = _Row(wh, b, free)
            batch.stock.setdefault(sku, []).append(row)
            batch.index[(loc, sku, lot)] = row
    return batch


def allocate_orders(store: Store, order_ids: Sequence[str], others: bool = True) -> dict[str, str]:
    """Allocate the given orders that still wait, in the order given; returns id -> status.

    With others=False the answer leaves out orders that no longer waited (served meanwhile)."""
    out: dict[str, str] = {}
    with store.write():
        orders: dict[str, dict[str, Any]] = {}
        for part in _chunks(list(order_ids)):
            for r in store.conn.execute(
                f"""SELECT id, status, channel, priority, lat, lon, allow_split, allow_partial, waiting,
                           pin_warehouse FROM orders WHERE id IN ({_in(len(part))})""",
                tuple(part),
            ):
                orders[r["id"]] = r
        # Only orders that still wait: another writer may have served them meanwhile.
        todo = []
        for oid in order_ids:
            o = orders.get(oid)
            if o is None:
                continue
            if o["status"] == "received" or (o["waiting"] > 0 and o["status"] != "cancelled"):
                todo.append(o)
            elif others:
                out[oid] = o["status"]
        missing = [i for i in order_ids if i not in orders]
        if missing and len(order_ids) == 1:
            raise KeyError(missing[0])
        if not todo:
            return out
        lines, held = _lines(store, todo)
        skus = {line.sku for ls in lines.values() for line in ls}
        today = now()[:10]
        batch = _load(store, skus, today)
        for o in todo:
            out[o["id"]] = _allocate_one(store, batch, o, lines[o["id"]], held.get(o["id"], ()))
    return out


def _lines(
    store: Store, todo: list[dict[str, Any]]
) -> tuple[dict[str, list[alloc.Line]], dict[str, set[str]]]:
    """What each order still needs per line, and the warehouses already shipping it."""
    lines: dict[str, list[alloc.Line]] = defaultdict(list)
    covered: dict[tuple[str, int], int] = {}
    held: dict[str, set[str]] = defaultdict(set)
    ids = [o["id"] for o in todo]
    again = [o["id"] for o in todo if o["status"] != "received"]
    for part in _chunks(again):
        q = _in(len(part))
        for oid, line_no, n in store.conn.execute(
            f"SELECT order_id, line_no, SUM(qty - released) FROM reservations r "
            f"WHERE order_id IN ({q}) AND {COVERS} GROUP BY order_id, line_no",
            tuple(part),
        ):
            covered[(oid, line_no)] = n
        for oid, wh in store.conn.execute(
            f"SELECT order_id, warehouse FROM shipments WHERE order_id IN ({q}) "
            "AND status != 'cancelled'",
            tuple(part),
        ):
            held[oid].add(wh)
    for part in _chunks(ids):
        for oid, line_no, sku, qty in store.conn.execute(
            f"SELECT order_id, line_no, sku, qty - cancelled FROM order_lines "
            f"WHERE order_id IN ({_in(len(part))}) "
            "ORDER BY order_id, line_no",
            tuple(part),
        ):
            left = qty - covered.get((oid, line_no), 0)
            if left > 0:
                lines[oid].append(alloc.Line(line_no, sku, left))
    return lines, held


def _allocate_one(
    store: Store,
    batch: _Batch,
    order: dict[str, Any],
    lines: list[alloc.Line],
    held: Iterable[str],
) -> str:
    """Plan one order on the batch's stock, write its shipments; returns its status."""
    oid = order["id"]
    if not lines:  # every unit is covered already: nothing waits
        store.execute("UPDATE orders SET waiting = 0 WHERE id = ?", (oid,))
        return order["status"]
    policy = policy_for(
        batch.channels.get(order["channel"]), order["allow_split"], order["allow_partial"]
    )
    sites = batch.sites
    held = set(held)
    if held and not policy.allow_split:  # the rest may only join the warehouse already shipping
        sites = [s for s in sites if s.code in held]
    if order["pin_warehouse"]:  # a transfer ships from its sending warehouse only
        sites = [s for s in sites if s.code == order["pin_warehouse"]]
    bins: dict[str, list[alloc.Bin]] = defaultdict(list)
    for sku in {line.sku for line in lines}:
        for row in batch.stock.get(sku, ()):
            if row.free > 0:
                b = row.bin
                bins[row.site].append(
                    alloc.Bin(b.location_id, sku, row.free, b.walk, b.lot, b.expires)
                )
    plan = alloc.plan_order(
        lines,
        sites,
        bins,
        order["lat"],
        order["lon"],
        policy=policy,
        safety=batch.safety,
        capacity=batch.capacity,
        today=batch.today,
    )
    waiting = sum(line.qty for line in plan.backorder)
    if not plan.shipments:
        if order["status"] == "backordered" or (held and order["status"] != "received"):
            return order["status"]  # nothing changed: no new event
        store.execute("UPDATE orders SET waiting = ? WHERE id = ?", (waiting, oid))
        record(
            store, oid, "backordered", "backordered", reason="no stock to ship it", units=waiting
        )
        return "backordered"
    done = [_write_shipment(store, batch, order, s) for s in plan.shipments]
    store.execute(
        # The order's warehouse is its first live shipment's (an earlier one may have emptied).
        """UPDATE orders SET waiting = ?, warehouse = (SELECT warehouse FROM shipments
           WHERE order_id = ? AND status != 'cancelled' ORDER BY id LIMIT 1) WHERE id = ?""",
        (waiting, oid, oid),
    )
    if waiting:
        status = "partially_allocated"
    elif order["status"] in ("picking", "picked"):
        status = order["status"]
    else:
        status = "allocated"
    detail: dict[str, Any] = {"shipments": done}
    if len(done) == 1:  # the common case reads as before: where from, how far
        detail.update(warehouse=done[0]["warehouse"], distance_km=done[0]["distance_km"])
    if waiting:
        detail["backordered_units"] = waiting
    record(store, oid, status, status, **detail)
    return status


def _write_shipment(
    store: Store, batch: _Batch, order: dict[str, Any], s: alloc.Shipment
) -> dict[str, Any]:
    """A shipment, its reservations (guarded) and its pick list (inside the write)."""
    at = now()
    oid = order["id"]
    sid = store.execute(
        "INSERT INTO shipments (order_id, warehouse, status, distance_km, day, created_at, updated_at) "
        "VALUES (?, ?, 'allocated', ?, ?, ?, ?)",
        (oid, s.warehouse, _km(s.distance_km), batch.today, at, at),
    ).lastrowid
    store.execute(
        "INSERT INTO warehouse_days (warehouse, day, orders) VALUES (?, ?, 1) "
        "ON CONFLICT (warehouse, day) DO UPDATE SET orders = warehouse_days.orders + 1",
        (s.warehouse, batch.today),
    )
    if s.warehouse in batch.capacity:
        batch.capacity[s.warehouse] -= 1
    # The WHERE clause is the guard: it never lets reserved pass on_hand.
    cur = store.conn.executemany(
        "UPDATE stock SET reserved = reserved + ? WHERE location_id = ? AND sku = ? AND lot = ? "
        "AND on_hand - reserved >= ?",
        [(t.qty, t.location_id, t.sku, t.lot, t.qty) for t in s.takes],
    )
    if cur.rowcount != len(s.takes):
        raise StockRace(f"a bin of {s.warehouse} had less free stock than planned for {oid}")
    store.conn.executemany(
        "INSERT INTO reservations (order_id, line_no, location_id, sku, lot, qty, shipment_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(oid, t.line_no, t.location_id, t.sku, t.lot, t.qty, sid) for t in s.takes],
    )
    for t in s.takes:
        batch.index[(t.location_id, t.sku, t.lot)].free -= t.qty
    # The units of a lost parcel whose re-ship waited for stock go as that re-ship: urgent.
    lost = reshipping.waiting_for(store, oid) if order["status"] != "received" else None
    if lost is not None:
        store.execute("UPDATE shipments SET reship_of = ? WHERE id = ?", (lost, sid))
    planning.list_for_order(
        store, oid, shipment_id=sid, priority=None if lost is None else reshipping.URGENT
    )
    units = sum(t.qty for t in s.takes)
    return {
        "shipment": sid,
        "warehouse": s.warehouse,
        "distance_km": _km(s.distance_km),
        "units": units,
    }


def _km(distance: float | None) -> float | None:
    """A distance as written down (None: the ship-to was not placed, see rank_sites)."""
    return None if distance is None else round(distance, 1)


def allocate_order(store: Store, order_id: str) -> str:
    """Allocate one order if it waits for stock; returns its status afterwards."""
    return allocate_orders(store, [order_id])[order_id]


def pending_order_ids(store: Store, skus: Iterable[str] | None = None) -> list[str]:
    """Orders waiting for stock (of these SKUs), most urgent first: priority, promised-by, arrival."""
    where, params = "", ()
    if skus is not None:
        wanted = tuple(sorted(set(skus)))
        if not wanted:
            return []
        where = (
            "AND EXISTS (SELECT 1 FROM order_lines ol WHERE ol.order_id = o.id "
            f"AND ol.sku IN ({_in(len(wanted))}))"
        )
        params = wanted
    rows = store.conn.execute(
        f"""SELECT o.id FROM orders o
            WHERE (o.status = 'received' OR (o.waiting > 0 AND o.status != 'cancelled')) {where}
            AND NOT EXISTS (SELECT 1 FROM replen_holds h WHERE h.order_id = o.id)
            ORDER BY o.priority DESC, o.promised_by IS NULL, o.promised_by, o.created_at, o.id""",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def allocate_pending(
    store: Store, skus: Iterable[str] | None = None, batch: int = BATCH
) -> dict[str, int]:
    """Allocate every waiting order (that wants one of skus), most urgent first; counts by status."""
    with store.read():
        ids = pending_order_ids(store, skus)
    counts: dict[str, int] = defaultdict(int)
    for i in range(0, len(ids), batch):
        if i:
            # Between batches let other greenlets (scans) have the database: under gevent
            # sleep(0) yields, so a long backlog never stalls the floor for its whole run.
            time.sleep(0)
        for status in allocate_orders(store, ids[i : i + batch], others=False).values():
            counts[status] += 1
    return dict(counts)
