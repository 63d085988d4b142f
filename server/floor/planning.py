"""Turning reservations into pick lists, and pick lists into carts planned ahead.

Allocation makes one list per shipment straight away, so every allocated order
is visible as work. Ahead of hand-out, in the background, the lists nobody has
started are batched into carts (`server/floor/domain/batching.py`): the most urgent
list opens a cart and near orders of the same zones join it, up to the cart's
totes and caps. Each kind of cart among a warehouse's pickers (totes, zones)
keeps a cart per picker planned. Hand-out (`next_list`) then only reads the
head of the queue through an index: a list given back mid-pick, the planned
cart, or a fresh list alone when it is more urgent than any cart (or planning
is behind). Steps are always in the exact shortest walking order
(`server/floor/domain/routing.py`), and each list keeps the metres of its walk.
"""

from __future__ import annotations

import math

from server.core.clock import now
from server.floor.domain.batching import Cart, OrderWork, make_batches
from server.floor.domain.routing import Layout, Stop, best_route, route_length, s_shape_key
from server.store import Store

BATCH_WINDOW = 60  # fresh lists, most urgent first, read to plan one cart (batching looks 30 ahead)
AHEAD_PER_PICKER = 0.25  # planned carts kept waiting per picker of each kind of cart
ZONE_LOOKAHEAD = 50  # lists read to find one a zone-bound picker may take


def layout_for(store: Store, warehouse: str) -> Layout:
    """A warehouse's aisle layout, from the highest aisle and bay numbers of its bins."""
    row = store.one(
        "SELECT MAX(aisle) AS aisles, MAX(bay) AS bays FROM locations WHERE warehouse = ?",
        (warehouse,),
    )
    return Layout(aisles=max(1, row["aisles"] or 1), bays=max(1, row["bays"] or 1))


def _stop(r: dict) -> Stop:
    # Bins without coordinates (aisle or bay 0) stand at the front of aisle 1.
    return Stop(max(1, r["aisle"]), max(1, r["bay"]), r["id"])


def sequence(store: Store, list_id: int) -> float:
    """Put a list's steps in the shortest walking order; returns the walk in metres (inside a write)."""
    head = store.one("SELECT warehouse FROM pick_lists WHERE id = ?", (list_id,))
    rows = store.all(
        """SELECT ps.id, ps.sku, l.aisle, l.bay, l.level, l.zone FROM pick_steps ps
           JOIN locations l ON l.id = ps.location_id WHERE ps.pick_list_id = ?""",
        (list_id,),
    )
    # Lower levels first within a bay: best_route keeps the given order inside a bay.
    rows.sort(key=lambda r: (s_shape_key(r["aisle"], r["bay"], r["level"]), r["sku"], r["id"]))
    layout = layout_for(store, head["warehouse"])
    route = _walk_out_near(
        layout, best_route(layout, [_stop(r) for r in rows]), [r["id"] for r in rows]
    )
    metres = route_length(layout, route) if route else 0.0
    for seq, stop in enumerate(route, start=1):
        store.execute("UPDATE pick_steps SET seq = ? WHERE id = ?", (seq, stop.ref))
    zones = ",".join(sorted({r["zone"] for r in rows}))
    store.execute(
        "UPDATE pick_lists SET route_m = ?, zones = ? WHERE id = ?", (metres, zones, list_id)
    )
    return metres


def _walk_out_near(layout: Layout, route: list[Stop], order: list[int]) -> list[Stop]:
    """Of a tour and its reverse (the same length), the one that starts nearer the depot.

    Reversing keeps lower levels first inside each bay (`order` is the level order).
    """
    if len(route) < 2 or route_length(layout, route[:1]) <= route_length(layout, route[-1:]):
        return route
    rank = {ref: i for i, ref in enumerate(order)}
    out: list[Stop] = []
    for stop in reversed(route):
        if out and (out[-1].aisle, out[-1].bay) == (stop.aisle, stop.bay):
            group = [s for s in out if (s.aisle, s.bay) == (stop.aisle, stop.bay)]
            out = out[: len(out) - len(group)] + sorted([*group, stop], key=lambda s: rank[s.ref])
        else:
            out.append(stop)
    return out


def list_for_order(store: Store, order_id: str, shipment_id: int | None = None) -> int:
    """One pick list holding an order's reservations (of one shipment if given) (inside a write)."""
    order = store.one("SELECT warehouse, priority FROM orders WHERE id = ?", (order_id,))
    warehouse, where, key = order["warehouse"], "r.order_id = ?", order_id
    if shipment_id is not None:  # a split order: one list per shipment, each in its warehouse
        warehouse = store.one("SELECT warehouse FROM shipments WHERE id = ?", (shipment_id,))[
            "warehouse"
        ]
        where, key = "r.shipment_id = ?", shipment_id
    list_id = store.execute(
        "INSERT INTO pick_lists (warehouse, status, priority, created_at) VALUES (?, 'open', ?, ?)",
        (warehouse, order["priority"], now()),
    ).lastrowid
    store.execute(
        "INSERT INTO pick_list_totes (pick_list_id, order_id, position) VALUES (?, ?, 1)",
        (list_id, order_id),
    )
    for r in store.all(
        f"SELECT r.id, r.location_id, r.sku, r.qty FROM reservations r WHERE {where}", (key,)
    ):
        store.execute(
            """INSERT INTO pick_steps (pick_list_id, seq, order_id, reservation_id, location_id, sku, qty)
               VALUES (?, 0, ?, ?, ?, ?, ?)""",
            (list_id, order_id, r["id"], r["location_id"], r["sku"], r["qty"]),
        )
    sequence(store, list_id)
    return list_id


def _zones_ok(list_zones: str, device_zones: str) -> bool:
    """A device bound to zones only gets lists whose bins all lie in them."""
    if not device_zones:
        return True
    # A bin with no zone ("") is in none of the device's zones.
    return set(list_zones.split(",")) <= set(device_zones.split(","))


def cart_key(cart_totes: int, zones: str) -> str:
    """The profile a cart is planned for: how many totes it carries and the zones it may visit."""
    return f"{cart_totes}/{zones}"


def _head(store: Store, warehouse: str, where: str, params: tuple, zones: str) -> dict | None:
    """The most urgent open list of a warehouse matching `where` that a device of `zones` may take."""
    rows = store.all(
        f"""SELECT id, priority, zones FROM pick_lists
            WHERE warehouse = ? AND status = 'open' AND {where}
            ORDER BY priority DESC, id LIMIT ?""",
        (warehouse, *params, ZONE_LOOKAHEAD if zones else 1),
    )
    return next((r for r in rows if _zones_ok(r["zones"], zones)), None)


def next_list(store: Store, device_id: int, warehouse: str) -> int | None:
    """The list a picker takes now (inside a write): a few indexed reads, whatever the backlog.

    A list given back mid-pick goes first, unless something more urgent waits; then the
    cart planned ahead for this picker's kind of cart, or the most urgent fresh list alone
    when it is more urgent than any planned cart (or none is planned yet).
    """
    dev = store.one("SELECT zones, cart_totes FROM devices WHERE id = ?", (device_id,))
    zones = dev["zones"]
    resumed = _head(store, warehouse, "resume = 1", (), zones)
    planned = _head(
        store, warehouse, "resume = 0 AND planned = ?", (cart_key(dev["cart_totes"], zones),), zones
    )
    fresh = _head(store, warehouse, "resume = 0 AND planned IS NULL", (), zones)
    waiting = [r for r in (planned, fresh) if r is not None]
    if resumed and all(resumed["priority"] >= r["priority"] for r in waiting):
        return resumed["id"]
    if planned and (fresh is None or planned["priority"] >= fresh["priority"]):
        return planned["id"]
    if fresh:
        return fresh["id"]
    return _spare_cart(store, warehouse, dev["cart_totes"], zones)


def _spare_cart(store: Store, warehouse: str, cart_totes: int, zones: str) -> int | None:
    """A cart planned for another kind of picker that fits this one's cart (when nothing else waits)."""
    rows = store.all(
        """SELECT p.id, p.zones, (SELECT COUNT(*) FROM pick_list_totes t WHERE t.pick_list_id = p.id)
                  AS orders
           FROM pick_lists p WHERE p.warehouse = ? AND p.status = 'open' AND p.resume = 0
           AND p.planned IS NOT NULL ORDER BY p.priority DESC, p.id LIMIT ?""",
        (warehouse, ZONE_LOOKAHEAD),
    )
    return next(
        (r["id"] for r in rows if r["orders"] <= cart_totes and _zones_ok(r["zones"], zones)), None
    )


def plan_ahead(
    store: Store, warehouse: str, budget: int = 1, per_picker: float = AHEAD_PER_PICKER
) -> int:
    """Plan up to `budget` carts from the fresh lists of a warehouse; returns how many were planned.

    Each kind of cart (totes and zones) among the warehouse's pickers keeps `per_picker`
    planned carts per picker of that kind waiting (at least one), so hand-out never plans.
    A cart takes a picker minutes, so a quarter of the pickers' worth covers the hand-outs
    until the planner has caught up, even after a whole shift connected at once; a floor
    starting its shift can have one per picker planned beforehand (`per_picker=1`). Each
    cart is its own short write: the caller yields between calls.
    """
    planned = 0
    with store.read():
        kinds = store.all(
            """SELECT cart_totes, zones, COUNT(*) AS pickers FROM devices
               WHERE warehouse = ? AND role = 'picker' GROUP BY cart_totes, zones""",
            (warehouse,),
        )
    for kind in kinds:
        key = cart_key(kind["cart_totes"], kind["zones"])
        while planned < budget:
            with store.write():
                have = store.one(
                    """SELECT COUNT(*) AS n FROM pick_lists WHERE warehouse = ? AND status = 'open'
                       AND resume = 0 AND planned = ?""",
                    (warehouse, key),
                )["n"]
                if have >= max(1, math.ceil(kind["pickers"] * per_picker)):
                    break
                fresh = store.all(
                    """SELECT id, priority, zones FROM pick_lists
                       WHERE warehouse = ? AND status = 'open' AND resume = 0 AND planned IS NULL
                       ORDER BY priority DESC, id LIMIT ?""",
                    (warehouse, BATCH_WINDOW),
                )
                fresh = [r for r in fresh if _zones_ok(r["zones"], kind["zones"])]
                if not fresh:
                    break
                cart = Cart(totes=max(1, kind["cart_totes"]))
                target = _batch(store, fresh, warehouse, cart)
                store.execute("UPDATE pick_lists SET planned = ? WHERE id = ?", (key, target))
            planned += 1
    return planned


def _batch(store: Store, fresh: list[dict], warehouse: str, cart: Cart) -> int:
    """Merge the first batch of fresh one-order lists into one cluster list; returns its id."""
    ids = [r["id"] for r in fresh]
    marks = ",".join("?" * len(ids))
    steps = store.all(
        f"""SELECT ps.pick_list_id, ps.order_id, ps.qty, p.weight_g,
                   p.length_mm * p.width_mm * p.height_mm / 1000 AS volume_cm3, l.aisle, l.bay, ps.id
            FROM pick_steps ps JOIN products p ON p.sku = ps.sku JOIN locations l ON l.id = ps.location_id
            WHERE ps.pick_list_id IN ({marks})""",
        tuple(ids),
    )
    by_list: dict[int, list[dict]] = {i: [] for i in ids}
    for s in steps:
        by_list[s["pick_list_id"]].append(s)
    head = {r["id"]: r for r in fresh}
    work = [
        OrderWork(
            order_id=str(list_id),
            priority=head[list_id]["priority"],
            stops=tuple(_stop(s) for s in rows),
            zones=frozenset(filter(None, head[list_id]["zones"].split(","))),
            weight_g=sum(s["qty"] * s["weight_g"] for s in rows),
            volume_cm3=sum(s["qty"] * s["volume_cm3"] for s in rows),
            rank=rank,
        )
        for rank, (list_id, rows) in enumerate(by_list.items())
    ]
    batch = make_batches(work, cart, layout_for(store, warehouse), limit=1)[0]
    members = [int(o) for o in batch.order_ids]
    target, others = members[0], members[1:]
    for position, list_id in enumerate(others, start=2):
        store.execute(
            "UPDATE pick_steps SET pick_list_id = ? WHERE pick_list_id = ?", (target, list_id)
        )
        store.execute(
            "UPDATE pick_list_totes SET pick_list_id = ?, position = ? WHERE pick_list_id = ?",
            (target, position, list_id),
        )
        store.execute("DELETE FROM pick_lists WHERE id = ?", (list_id,))
    if others:
        sequence(store, target)
    return target
