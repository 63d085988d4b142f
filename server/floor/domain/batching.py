"""Batching: which orders go together on one cart.

Cluster picking: the picker pushes a cart of N totes, one tote per order, and
picks several orders in one walk. Orders are grouped by zone, then by nearness
(the batch whose exact walking route grows least takes the next order), within
the cart's caps on totes, lines, weight and volume. Urgent orders and orders
too big to share a cart go on lists of their own, so a high-priority order is
never stuck waiting for a batch to fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from server.floor.domain.routing import Layout, Stop, best_route, combined, route_length

URGENT_PRIORITY = 5  # this priority and above is never batched


@dataclass(frozen=True)
class Cart:
    """What one cart carries: totes (one per order) and caps for the whole batch."""

    totes: int = 6
    max_lines: int = 40
    max_weight_g: int = 30_000
    max_volume_cm3: int = 6 * 40_000


@dataclass(frozen=True)
class OrderWork:
    """An allocated order's picking, as batching sees it."""

    order_id: str
    priority: int
    stops: tuple[Stop, ...]
    zones: frozenset[str]
    weight_g: int = 0
    volume_cm3: int = 0
    rank: int = 0  # position in the queue: priority, promised-by, arrival

    @property
    def lines(self) -> int:
        return len(self.stops)


@dataclass
class Batch:
    orders: list[OrderWork] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(o.lines for o in self.orders)

    @property
    def weight_g(self) -> int:
        return sum(o.weight_g for o in self.orders)

    @property
    def volume_cm3(self) -> int:
        return sum(o.volume_cm3 for o in self.orders)

    @property
    def stops(self) -> list[Stop]:
        return [s for o in self.orders for s in o.stops]

    @property
    def order_ids(self) -> list[str]:
        return [o.order_id for o in self.orders]


def travels_alone(order: OrderWork, cart: Cart) -> bool:
    """Urgent orders, and orders that fill half a cart on their own, get their own list."""
    return (
        order.priority >= URGENT_PRIORITY
        or order.lines * 2 > cart.max_lines
        or order.weight_g * 2 > cart.max_weight_g
        or order.volume_cm3 * 2 > cart.max_volume_cm3
        or cart.totes < 2
    )


def fits(batch: Batch, order: OrderWork, cart: Cart) -> bool:
    return (
        len(batch.orders) < cart.totes
        and batch.lines + order.lines <= cart.max_lines
        and batch.weight_g + order.weight_g <= cart.max_weight_g
        and batch.volume_cm3 + order.volume_cm3 <= cart.max_volume_cm3
    )


def walk(layout: Layout, stops: Sequence[Stop]) -> float:
    """Metres of the best route through the stops, from the depot and back."""
    return route_length(layout, best_route(layout, stops)) if stops else 0.0


def estimate(layout: Layout, stops: Sequence[Stop]) -> float:
    """A quick walk length for choosing batch mates: the combined heuristic, ~30x cheaper than exact."""
    return route_length(layout, combined(layout, stops)) if stops else 0.0


def make_batches(
    orders: Sequence[OrderWork],
    cart: Cart,
    layout: Layout,
    candidates: int = 30,
    limit: int | None = None,
    shortlist: int = 6,
) -> list[Batch]:
    """Group orders into batches, most urgent first; each batch is one pick list.

    Batches come out in the order their most urgent order stands in the queue;
    `limit` stops after that many (a picker asking for work needs only the first).
    """
    queue = sorted(orders, key=lambda o: (-o.priority, o.rank, o.order_id))
    waiting = [o for o in queue if not travels_alone(o, cart)]
    placed: set[str] = set()
    batches: list[Batch] = []
    for seed in queue:
        if limit is not None and len(batches) >= limit:
            break
        if seed.order_id in placed:
            continue
        placed.add(seed.order_id)
        batch = Batch([seed])
        batches.append(batch)
        if travels_alone(seed, cart):
            continue
        waiting.remove(seed)
        current = estimate(layout, batch.stops)
        while True:
            # Same zones only; look at the next few in the queue so late orders still move.
            pool = [
                o for o in waiting[:candidates] if o.zones == seed.zones and fits(batch, o, cart)
            ]
            if not pool:
                break
            # Walk estimates are the cost of planning: estimate only the few candidates that
            # open the fewest new aisles (the main term of any walk), not the whole pool.
            aisles = {s.aisle for s in batch.stops}
            pool.sort(key=lambda o: (len({s.aisle for s in o.stops} - aisles), o.rank))
            costs = [
                (estimate(layout, batch.stops + list(o.stops)) - current, o.rank, o)
                for o in pool[:shortlist]
            ]
            extra, _, best = min(costs, key=lambda c: (c[0], c[1]))
            batch.orders.append(best)
            waiting.remove(best)
            placed.add(best.order_id)
            current += extra
    return batches
