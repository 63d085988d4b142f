"""Walking routes: the walk's length, the heuristics, and the exact optimum."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.floor.domain.routing import (
    Layout,
    Stop,
    best_route,
    combined,
    improve,
    largest_gap,
    optimal,
    route_length,
    s_shape,
    s_shape_key,
)

# Aisles 5 m apart, 2 m bays, 2 m cross-aisles: bay b sits 2b metres up its
# aisle and an aisle is 22 m between the cross-aisle centre lines.
SMALL = Layout(aisles=4, bays=10, aisle_pitch=5.0, bay_length=2.0, cross_aisle_width=2.0)
METHODS = [s_shape, largest_gap, combined, optimal, best_route]


def stops(*places: tuple[int, int]) -> list[Stop]:
    return [Stop(a, b, n) for n, (a, b) in enumerate(places)]


def test_layout_geometry():
    assert SMALL.aisle_length == 22
    assert [SMALL.y(b) for b in (1, 3, 10)] == [2, 6, 20]


def test_empty_list_walks_nowhere():
    assert route_length(SMALL, []) == 0
    assert all(method(SMALL, []) == [] for method in METHODS)


def test_one_aisle_in_and_back_out():
    assert route_length(SMALL, stops((1, 3), (1, 5))) == 20  # up to 10 m and back
    assert route_length(SMALL, stops((1, 5), (1, 3))) == 20


def test_two_aisles_by_the_front():
    # 6 up aisle 1; back down to the front, 5 across, 10 up aisle 2; 10 down, 5 back.
    assert route_length(SMALL, stops((1, 3), (2, 5))) == 6 + 21 + 15


def test_two_aisles_by_the_back():
    # 20 up aisle 1; 2 up to the back, 5 across, 4 down; 18 down aisle 2, 5 across.
    assert route_length(SMALL, stops((1, 10), (2, 9))) == 20 + 11 + 23


def test_the_walk_returns_to_the_depot():
    assert route_length(SMALL, stops((3, 1))) == 2 * (10 + 2)
    elsewhere = Layout(
        aisles=4, bays=10, aisle_pitch=5.0, bay_length=2.0, cross_aisle_width=2.0, depot_aisle=3
    )
    assert route_length(elsewhere, stops((1, 1))) == 2 * (10 + 2)
    assert route_length(elsewhere, stops((3, 4))) == 2 * 8


def test_s_shape_walks_alternate_aisles_up_and_down():
    picks = stops((4, 9), (3, 1), (1, 7), (4, 4), (1, 2), (3, 5))
    order = [(s.aisle, s.bay) for s in s_shape(SMALL, picks)]
    # Up aisle 1, down aisle 3 (aisle 2 has nothing), then aisle 4, the last of
    # an odd number, in from the front and back out again.
    assert order == [(1, 2), (1, 7), (3, 5), (3, 1), (4, 4), (4, 9)]


def test_s_shape_key_still_orders_the_serpentine():
    places = [(2, 3, 0), (1, 5, 1), (1, 5, 0), (2, 8, 0), (1, 2, 0)]
    assert sorted(places, key=lambda p: s_shape_key(*p)) == [
        (1, 2, 0),
        (1, 5, 0),
        (1, 5, 1),
        (2, 8, 0),
        (2, 3, 0),
    ]


def test_largest_gap_beats_s_shape_when_an_inner_aisle_is_picked_near_the_front():
    # Deep picks in aisles 1, 3, 4 and one near the front of aisle 2: S-shape
    # crosses the whole block twice to reach it, largest gap picks it on the way home.
    picks = stops((1, 10), (2, 1), (3, 10), (4, 10))
    assert [s.aisle for s in largest_gap(SMALL, picks)] == [1, 3, 4, 2]
    assert route_length(SMALL, largest_gap(SMALL, picks)) == 82
    assert route_length(SMALL, s_shape(SMALL, picks)) == 118


def test_stops_in_one_bay_stay_together_in_the_order_given():
    picks = stops((2, 4), (1, 1), (2, 4), (2, 4))
    for method in METHODS:
        route = method(SMALL, picks)
        at_bay = [s.ref for s in route if (s.aisle, s.bay) == (2, 4)]
        assert at_bay == [0, 2, 3], method.__name__
        positions = [i for i, s in enumerate(route) if (s.aisle, s.bay) == (2, 4)]
        assert positions == list(range(positions[0], positions[0] + 3)), method.__name__


def test_locations_outside_the_layout_are_refused():
    with pytest.raises(ValueError):
        best_route(SMALL, stops((5, 1)))
    with pytest.raises(ValueError):
        route_length(SMALL, stops((1, 11)))
    with pytest.raises(NotImplementedError):
        Layout(middle_cross_aisles=1)


@st.composite
def instances(draw) -> tuple[Layout, list[Stop]]:
    aisles = draw(st.integers(1, 5))
    bays = draw(st.integers(1, 8))
    layout = Layout(
        aisles=aisles,
        bays=bays,
        aisle_pitch=draw(st.sampled_from([1.0, 2.5, 6.0])),
        bay_length=draw(st.sampled_from([0.5, 1.3, 3.0])),
        cross_aisle_width=draw(st.sampled_from([0.0, 2.0])),
        depot_aisle=draw(st.integers(1, aisles)),
    )
    places = draw(st.lists(st.tuples(st.integers(1, aisles), st.integers(1, bays)), max_size=7))
    return layout, stops(*places)


def brute_force(layout: Layout, picks: list[Stop]) -> float:
    """Shortest walk over every order of the distinct locations."""
    places = list({(s.aisle, s.bay): s for s in picks}.values())
    return min(route_length(layout, order) for order in itertools.permutations(places))


@settings(max_examples=400, deadline=None)
@given(instances())
def test_optimal_is_the_shortest_walk_and_no_method_beats_it(instance):
    layout, picks = instance
    best = route_length(layout, optimal(layout, picks))
    assert best == pytest.approx(brute_force(layout, picks), abs=1e-9)
    for method in METHODS:
        assert route_length(layout, method(layout, picks)) >= best - 1e-9, method.__name__


@settings(max_examples=400, deadline=None)
@given(instances())
def test_every_method_visits_every_stop_exactly_once(instance):
    layout, picks = instance
    for method in METHODS:
        assert Counter(method(layout, picks)) == Counter(picks), method.__name__


def test_on_big_lists_optimal_still_wins_and_2_opt_never_lengthens():
    rng = random.Random(7)
    layout = Layout(aisles=20, bays=50)
    for _ in range(20):
        picks = stops(*((rng.randint(1, 20), rng.randint(1, 50)) for _ in range(60)))
        best = route_length(layout, best_route(layout, picks))
        for method in (s_shape, largest_gap, combined):
            route = method(layout, picks)
            polished = improve(layout, route)
            assert Counter(polished) == Counter(picks)
            assert (
                best - 1e-9 <= route_length(layout, polished) <= route_length(layout, route) + 1e-9
            )
