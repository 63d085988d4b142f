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
from collections.abc import Callable
from dataclasses import dataclass

from server.core.clock import now
from server.floor.domain.batching import Cart, OrderWork, make_batches
from server.floor.domain.routing import Layout, Stop, best_route, route_length, s_shape_key
from server.store import Store

BATCH_WINDOW = 60  # fresh lists, most urgent first, read to plan one cart (batching looks 30 ahead)
AHEAD_PER_PICKER = 0.25  # planned carts kept waiting per picker of each kind of cart
ZONE_LOOKAHEAD = 50  # lists read to find one a zone-bound picker may take
RETRIES = 5  # carts computed again in a row after a change under them, before giving up for now


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


def _route(store: Store, rows: list[dict], warehouse: str) -> tuple[list[int], float, str]:
    """The steps of `rows` in the shortest walking order: (step ids in order, metres, zones)."""
    # Lower levels first within a bay: best_route keeps the given order inside a bay.
    rows = sorted(
        rows, key=lambda r: (s_shape_key(r["aisle"], r["bay"], r["level"]), r["sku"], r["id"])
    )
    layout = layout_for(store, warehouse)
    route = _walk_out_near(
        layout, best_route(layout, [_stop(r) for r in rows]), [r["id"] for r in rows]
    )
    metres = route_length(layout, route) if route else 0.0
    return [stop.ref for stop in route], metres, ",".join(sorted({r["zone"] for r in rows}))


def _steps_to_route(store: Store, list_ids: list[int]) -> list[dict]:
    marks = ",".join("?" * len(list_ids))
    return store.all(
        f"""SELECT ps.id, ps.sku, l.aisle, l.bay, l.level, l.zone FROM pick_steps ps
            JOIN locations l ON l.id = ps.location_id WHERE ps.pick_list_id IN ({marks})""",
        tuple(list_ids),
    )


def _write_route(store: Store, list_id: int, order: list[int], metres: float, zones: str) -> None:
    for seq, step_id in enumerate(order, start=1):
        store.execute("UPDATE pick_steps SET seq = ? WHERE id = ?", (seq, step_id))
    store.execute(
        "UPDATE pick_lists SET route_m = ?, zones = ? WHERE id = ?", (metres, zones, list_id)
    )


def sequence(store: Store, list_id: int) -> float:
    """Put a list's steps in the shortest walking order; returns the walk in metres (inside a write)."""
    head = store.one("SELECT warehouse FROM pick_lists WHERE id = ?", (list_id,))
    order, metres, zones = _route(store, _steps_to_route(store, [list_id]), head["warehouse"])
    _write_route(store, list_id, order, metres, zones)
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


def list_for_order(
    store: Store, order_id: str, shipment_id: int | None = None, priority: int | None = None
) -> int:
    """One pick list holding an order's reservations (of one shipment if given), at the
    order's priority unless another is given (a re-ship's is above any) (inside a write)."""
    order = store.one("SELECT warehouse, priority FROM orders WHERE id = ?", (order_id,))
    warehouse, where, key = order["warehouse"], "r.order_id = ?", order_id
    if shipment_id is not None:  # a split order: one list per shipment, each in its warehouse
        warehouse = store.one("SELECT warehouse FROM shipments WHERE id = ?", (shipment_id,))[
            "warehouse"
        ]
        where, key = "r.shipment_id = ?", shipment_id
    list_id = store.execute(
        "INSERT INTO pick_lists (warehouse, status, priority, created_at) VALUES (?, 'open', ?, ?)",
        (warehouse, order["priority"] if priority is None else priority, now()),
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


@dataclass(frozen=True)
class CartPlan:
    """One cart computed outside any write: what to merge, and what it was computed from."""

    warehouse: str
    key: str  # cart_key(): the kind of picker it is planned for
    keep: int  # planned carts of this kind to keep waiting
    members: tuple[int, ...]  # fresh lists merged into the first one, in tote order
    versions: dict[int, int]  # each member's version when read: any change under us shows
    order: tuple[int, ...]  # the merged list's step ids in walking order (empty: one list)
    metres: float
    zones: str


def _kinds(store: Store, warehouse: str) -> list[dict]:
    return store.all(
        """SELECT cart_totes, zones, COUNT(*) AS pickers FROM devices
           WHERE warehouse = ? AND role = 'picker' GROUP BY cart_totes, zones""",
        (warehouse,),
    )


def _planned(store: Store, warehouse: str, key: str) -> int:
    return store.one(
        """SELECT COUNT(*) AS n FROM pick_lists WHERE warehouse = ? AND status = 'open'
           AND resume = 0 AND planned = ?""",
        (warehouse, key),
    )["n"]


def compute_cart(store: Store, warehouse: str, kind: dict, per_picker: float) -> CartPlan | None:
    """The next cart for one kind of picker, read and computed in a snapshot (no write lock
    held); None when enough are planned or no fresh list fits."""
    key = cart_key(kind["cart_totes"], kind["zones"])
    keep = max(1, math.ceil(kind["pickers"] * per_picker))
    with store.read():
        if _planned(store, warehouse, key) >= keep:
            return None
        fresh = store.all(
            """SELECT id, priority, zones, version FROM pick_lists
               WHERE warehouse = ? AND status = 'open' AND resume = 0 AND planned IS NULL
               ORDER BY priority DESC, id LIMIT ?""",
            (warehouse, BATCH_WINDOW),
        )
        fresh = [r for r in fresh if _zones_ok(r["zones"], kind["zones"])]
        if not fresh:
            return None
        members = _batch(store, fresh, warehouse, Cart(totes=max(1, kind["cart_totes"])))
        order: list[int] = []
        metres, zones = 0.0, ""
        if len(members) > 1:
            order, metres, zones = _route(store, _steps_to_route(store, members), warehouse)
    versions = {r["id"]: r["version"] for r in fresh if r["id"] in members}
    return CartPlan(warehouse, key, keep, tuple(members), versions, tuple(order), metres, zones)


def write_cart(store: Store, plan: CartPlan) -> str:
    """Write a computed cart in one short transaction, if nothing it was computed from changed.

    Returns "planned", "enough" (others planned this kind's carts meanwhile) or "changed"
    (a member was taken, planned or changed under us: compute again).

    On SQLite it commits without waiting for the disk (`synchronous=NORMAL`): a cart is the
    planner's own conclusion, and at FULL the fsync inside its COMMIT held the site's write
    lock 4-12 ms a cart, the serving process's scans waiting behind it. Lost to a power cut
    (it is written, not synced), the lists are as they were and are planned again; anything
    the serving process acknowledged since, a hand-out of the cart among it, was synced
    after it in the same WAL.
    """
    members = list(plan.members)
    marks = ",".join("?" * len(members))
    with store.write(synchronous="NORMAL"):
        if _planned(store, plan.warehouse, plan.key) >= plan.keep:
            return "enough"
        now_ = store.all(
            f"""SELECT id, version FROM pick_lists WHERE id IN ({marks}) AND status = 'open'
                AND resume = 0 AND planned IS NULL""",
            tuple(members),
        )
        if {r["id"]: r["version"] for r in now_} != plan.versions:
            return "changed"
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
            _write_route(store, target, list(plan.order), plan.metres, plan.zones)
        store.execute("UPDATE pick_lists SET planned = ? WHERE id = ?", (plan.key, target))
    return "planned"


def plan_ahead(
    store: Store,
    warehouse: str,
    budget: int = 1,
    per_picker: float = AHEAD_PER_PICKER,
    before_write: Callable[[CartPlan], None] | None = None,
) -> int:
    """Plan up to `budget` carts from the fresh lists of a warehouse; returns how many were planned.

    Each kind of cart (totes and zones) among the warehouse's pickers keeps `per_picker`
    planned carts per picker of that kind waiting (at least one), so hand-out never plans.
    A cart takes a picker minutes, so a quarter of the pickers' worth covers the hand-outs
    until the planner has caught up, even after a whole shift connected at once; a floor
    starting its shift can have one per picker planned beforehand (`per_picker=1`).

    Each cart is read and computed outside any write transaction (`compute_cart`) and
    written in one short one that first checks nothing it was computed from changed
    (`write_cart`); a cart overtaken by a hand-out or another planner is computed again
    (up to `RETRIES` times in a row). `before_write` runs between the two (the worker's
    test hook: a pause to be killed in).
    """
    planned = 0
    with store.read():
        kinds = _kinds(store, warehouse)
    for kind in kinds:
        retries = 0
        while planned < budget:
            plan = compute_cart(store, warehouse, kind, per_picker)
            if plan is None:
                break
            if before_write is not None:
                before_write(plan)
            outcome = write_cart(store, plan)
            if outcome == "enough":
                break
            if outcome == "changed":
                retries += 1
                if retries > RETRIES:
                    break
                continue
            planned, retries = planned + 1, 0
    return planned


def _batch(store: Store, fresh: list[dict], warehouse: str, cart: Cart) -> list[int]:
    """The first batch of fresh one-order lists for one cart: list ids, in tote order."""
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
    return [int(o) for o in batch.order_ids]
