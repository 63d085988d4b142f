"""Batching orders onto carts: caps, zones, nearness, urgent orders alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.floor.domain.batching import Cart, OrderWork, make_batches, travels_alone, walk
from server.floor.domain.routing import Layout, Stop

LAYOUT = Layout(aisles=10, bays=20)


def order(
    oid: str, stops: list[tuple[int, int]], priority: int = 0, zones=("A",), weight=100, rank=0
) -> OrderWork:
    return OrderWork(
        oid,
        priority,
        tuple(Stop(a, b, (oid, i)) for i, (a, b) in enumerate(stops)),
        frozenset(zones),
        weight,
        0,
        rank,
    )


def test_urgent_and_big_orders_travel_alone():
    cart = Cart(totes=4, max_lines=10)
    assert travels_alone(order("u", [(1, 1)], priority=5), cart)
    assert travels_alone(order("big", [(1, b) for b in range(1, 7)]), cart)
    assert not travels_alone(order("small", [(1, 1)]), cart)
    batches = make_batches(
        [order("a", [(1, 1)], rank=1), order("u", [(9, 9)], priority=7, rank=2)], cart, LAYOUT
    )
    assert batches[0].order_ids == ["u"]


def test_near_orders_share_a_cart_and_far_ones_do_not():
    cart = Cart(totes=2)
    orders = [
        order("a1", [(1, 2)], rank=1),
        order("z1", [(10, 19)], rank=2),
        order("a2", [(1, 3)], rank=3),
        order("z2", [(10, 18)], rank=4),
    ]
    groups = sorted(sorted(b.order_ids) for b in make_batches(orders, cart, LAYOUT))
    assert groups == [["a1", "a2"], ["z1", "z2"]]


def test_zones_never_mix():
    orders = [
        order("a", [(1, 1)], zones=("A",), rank=1),
        order("b", [(1, 2)], zones=("B",), rank=2),
    ]
    assert len(make_batches(orders, Cart(), LAYOUT)) == 2


def test_caps_hold():
    cart = Cart(totes=3, max_lines=4, max_weight_g=1000)
    orders = [order(f"o{i}", [(i % 10 + 1, 1)], weight=400, rank=i) for i in range(10)]
    for b in make_batches(orders, cart, LAYOUT):
        assert len(b.orders) <= 3 and b.lines <= 4 and b.weight_g <= 1000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 10), st.integers(1, 20)), min_size=1, max_size=4),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 8),
)
def test_every_order_in_exactly_one_batch_and_batching_walks_less(stop_lists, totes):
    orders = [order(f"o{i}", stops, rank=i) for i, stops in enumerate(stop_lists)]
    batches = make_batches(orders, Cart(totes=totes), LAYOUT)
    placed = [oid for b in batches for oid in b.order_ids]
    assert sorted(placed) == sorted(o.order_id for o in orders)
    batched = sum(walk(LAYOUT, b.stops) for b in batches)
    alone = sum(walk(LAYOUT, list(o.stops)) for o in orders)
    assert batched <= alone + 1e-6


def test_batches_come_in_queue_order_and_limit_stops_early():
    cart = Cart(totes=2, max_lines=10)
    big = order("big", [(1, b) for b in range(1, 7)], rank=3)  # travels alone, but queues behind
    early = [order("a", [(2, 1)], rank=1), order("b", [(2, 2)], rank=2)]
    batches = make_batches([big, *early], cart, LAYOUT)
    assert [b.order_ids for b in batches] == [["a", "b"], ["big"]]
    assert [b.order_ids for b in make_batches([big, *early], cart, LAYOUT, limit=1)] == [["a", "b"]]
