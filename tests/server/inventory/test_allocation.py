"""Allocation, the pure planner: warehouse choice (complete, split, partial) and bin choice."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.geo import great_circle_km
from server.inventory.domain.allocation import (
    Bin,
    Line,
    Policy,
    Site,
    allocate,
    choose_bins,
    plan_order,
    rank_sites,
)

NYC = Site("NYC", 40.71, -74.00)
LAX = Site("LAX", 34.05, -118.24)
CHI = Site("CHI", 41.88, -87.63)
BOSTON = (42.36, -71.06)
SPLIT = Policy(allow_split=True, allow_partial=False)
NO_SPLIT = Policy(allow_split=False, allow_partial=False)
PARTIAL = Policy(allow_split=False, allow_partial=True)
ANYTHING = Policy(allow_split=True, allow_partial=True)


def units(plan) -> dict[str, dict[str, int]]:
    """Units per warehouse per SKU in a plan."""
    out: dict[str, dict[str, int]] = {}
    for s in plan.shipments:
        for t in s.takes:
            out.setdefault(s.warehouse, {}).setdefault(t.sku, 0)
            out[s.warehouse][t.sku] += t.qty
    return out


def test_great_circle_new_york_to_los_angeles():
    assert great_circle_km(40.71, -74.00, 34.05, -118.24) == pytest.approx(3936, rel=0.01)
    assert great_circle_km(1, 2, 1, 2) == 0


def test_sites_ranked_nearest_first():
    assert [s.code for _, s in rank_sites([LAX, NYC], *BOSTON)] == ["NYC", "LAX"]
    assert [s.code for _, s in rank_sites([NYC, LAX], 32.72, -117.16)] == ["LAX", "NYC"]
    # Without coordinates every site is at distance 0, in code order.
    assert [s.code for _, s in rank_sites([NYC, LAX], None, None)] == ["LAX", "NYC"]


# ---------------------------------------------------------------- bins
def test_a_bin_that_fills_the_line_wins_over_walking_order():
    bins = [Bin(1, "A", 2, (1, 1, 0)), Bin(2, "A", 5, (3, 1, 0)), Bin(3, "A", 9, (4, 1, 0))]
    takes = choose_bins(Line(1, "A", 4), bins)
    assert [(t.location_id, t.qty) for t in takes] == [(2, 4)]


def test_fewest_bins_when_none_fills_the_line():
    bins = [Bin(1, "A", 1, (1, 1, 0)), Bin(2, "A", 3, (2, 1, 0)), Bin(3, "A", 2, (3, 1, 0))]
    takes = choose_bins(Line(1, "A", 5), bins)
    assert [(t.location_id, t.qty) for t in takes] == [(2, 3), (3, 2)]
    assert choose_bins(Line(1, "A", 7), bins) is None


def test_last_bin_is_the_first_in_walking_order_that_fills_the_rest():
    # 4 first (fullest), then 1 more: both 2-unit bins fill it, the earlier on the walk wins.
    bins = [Bin(1, "A", 2, (9,)), Bin(2, "A", 4, (5,)), Bin(3, "A", 2, (1,))]
    takes = choose_bins(Line(1, "A", 5), bins)
    assert [(t.location_id, t.qty) for t in takes] == [(2, 4), (3, 1)]


def test_earliest_expiry_first_for_lot_tracked_stock():
    bins = [
        Bin(1, "M", 10, (1,), "L-LATE", "2031-01-01"),
        Bin(2, "M", 3, (9,), "L-SOON", "2030-01-01"),
        Bin(3, "M", 2, (5,), "L-SOON2", "2030-01-01"),
    ]
    takes = choose_bins(Line(1, "M", 6), bins)
    # Both lots of the earliest date first (fullest first), then the later lot for the rest.
    assert {(t.location_id, t.lot, t.qty) for t in takes} == {
        (2, "L-SOON", 3),
        (3, "L-SOON2", 2),
        (1, "L-LATE", 1),
    }


def test_expired_lots_are_never_allocated():
    bins = [Bin(1, "M", 5, (1,), "OLD", "2020-01-01"), Bin(2, "M", 1, (2,), "NEW", "2030-01-01")]
    assert choose_bins(Line(1, "M", 2), bins, today="2025-06-01") is None
    plan = plan_order([Line(1, "M", 1)], [NYC], {"NYC": bins}, None, None, today="2025-06-01")
    assert [t.lot for t in plan.shipments[0].takes] == ["NEW"]


# ---------------------------------------------------------------- warehouses
def test_order_goes_to_the_nearest_warehouse_that_has_everything():
    lines = [Line(1, "A", 2), Line(2, "B", 1)]
    bins = {
        "NYC": [Bin(1, "A", 5, (1,)), Bin(2, "B", 5, (2,))],
        "LAX": [Bin(3, "A", 5, (1,)), Bin(4, "B", 5, (2,))],
    }
    assert allocate(lines, [NYC, LAX], bins, 34.0, -118.0).warehouse == "LAX"
    assert allocate(lines, [NYC, LAX], bins, 42.0, -71.0).warehouse == "NYC"


def test_complete_from_a_far_warehouse_beats_a_split_from_near_ones():
    lines = [Line(1, "A", 2), Line(2, "B", 1)]
    bins = {"NYC": [Bin(1, "A", 5, (1,))], "LAX": [Bin(3, "A", 5, (1,)), Bin(4, "B", 1, (2,))]}
    plan = plan_order(lines, [NYC, LAX], bins, *BOSTON, policy=SPLIT)
    assert [s.warehouse for s in plan.shipments] == ["LAX"] and plan.complete
    assert plan.shipments[0].distance_km > 3000


def test_two_lines_of_one_sku_share_the_bins_without_double_counting():
    lines = [Line(1, "A", 3), Line(2, "A", 3)]
    assert allocate(lines, [NYC], {"NYC": [Bin(1, "A", 5, (1,))]}, None, None) is None
    plan = allocate(lines, [NYC], {"NYC": [Bin(1, "A", 5, (1,)), Bin(2, "A", 1, (2,))]}, None, None)
    assert sum(t.qty for t in plan.takes) == 6


def test_nothing_anywhere_is_a_backorder():
    plan = plan_order([Line(1, "Z", 1)], [NYC, LAX], {}, 40, -74, policy=ANYTHING)
    assert plan.shipments == () and plan.backorder == (Line(1, "Z", 1),)


def test_split_takes_the_fewest_warehouses_then_the_least_distance():
    lines = [Line(1, "A", 1), Line(2, "B", 1)]
    bins = {
        "NYC": [Bin(1, "A", 1, (1,))],
        "CHI": [Bin(2, "B", 1, (1,))],
        "LAX": [Bin(3, "B", 1, (1,))],
    }
    plan = plan_order(lines, [NYC, CHI, LAX], bins, *BOSTON, policy=SPLIT)
    assert [s.warehouse for s in plan.shipments] == ["NYC", "CHI"] and plan.complete
    assert plan_order(lines, [NYC, CHI, LAX], bins, *BOSTON, policy=NO_SPLIT).shipments == ()


def test_a_line_stays_whole_when_one_chosen_warehouse_has_it_all():
    lines = [Line(1, "A", 3), Line(2, "B", 1)]
    bins = {"NYC": [Bin(1, "A", 2, (1,))], "CHI": [Bin(2, "A", 3, (1,)), Bin(3, "C", 1, (1,))]}
    bins["NYC"].append(Bin(4, "B", 1, (2,)))
    plan = plan_order(lines, [NYC, CHI], bins, *BOSTON, policy=SPLIT)
    assert units(plan) == {"NYC": {"B": 1}, "CHI": {"A": 3}}


def test_partial_without_split_ships_the_most_from_one_warehouse():
    lines = [Line(1, "A", 2), Line(2, "B", 2)]
    bins = {"NYC": [Bin(1, "A", 1, (1,))], "LAX": [Bin(2, "A", 2, (1,)), Bin(3, "B", 1, (1,))]}
    plan = plan_order(lines, [NYC, LAX], bins, *BOSTON, policy=PARTIAL)
    assert units(plan) == {"LAX": {"A": 2, "B": 1}}
    assert plan.backorder == (Line(2, "B", 1),)


def test_partial_with_split_ships_everything_there_is_in_the_fewest_shipments():
    lines = [Line(1, "A", 5), Line(2, "B", 1)]
    bins = {
        "NYC": [Bin(1, "A", 2, (1,))],
        "CHI": [Bin(2, "A", 1, (1,))],
        "LAX": [Bin(3, "A", 2, (1,))],
    }
    plan = plan_order(lines, [NYC, CHI, LAX], bins, *BOSTON, policy=ANYTHING)
    assert units(plan) == {"NYC": {"A": 2}, "CHI": {"A": 1}, "LAX": {"A": 2}}
    assert set(plan.backorder) == {Line(2, "B", 1)}
    # Without partial the same order waits whole.
    assert plan_order(lines, [NYC, CHI, LAX], bins, *BOSTON, policy=SPLIT).shipments == ()


def test_safety_stock_is_never_promised():
    bins = {"NYC": [Bin(1, "A", 5, (1,))], "LAX": [Bin(2, "A", 5, (1,))]}
    plan = plan_order([Line(1, "A", 3)], [NYC, LAX], bins, *BOSTON, safety={("NYC", "A"): 3})
    assert [s.warehouse for s in plan.shipments] == ["LAX"]
    plan = plan_order([Line(1, "A", 2)], [NYC, LAX], bins, *BOSTON, safety={("NYC", "A"): 3})
    assert [s.warehouse for s in plan.shipments] == ["NYC"]


def test_a_warehouse_at_capacity_takes_no_more_orders():
    bins = {"NYC": [Bin(1, "A", 5, (1,))], "LAX": [Bin(2, "A", 5, (1,))]}
    plan = plan_order([Line(1, "A", 1)], [NYC, LAX], bins, *BOSTON, capacity={"NYC": 0})
    assert [s.warehouse for s in plan.shipments] == ["LAX"]
    full = plan_order([Line(1, "A", 1)], [NYC, LAX], bins, *BOSTON, capacity={"NYC": 0, "LAX": 0})
    assert full.shipments == ()


# ---------------------------------------------------------------- the exact search, checked
SITES = [Site(f"W{i}", 30 + 3 * i, -120 + 9 * i) for i in range(6)]


@st.composite
def instances(draw):
    skus = ["A", "B", "C", "D"]
    bins = {
        s.code: [
            Bin(10 * i + j, sku, draw(st.integers(1, 4)), (j,))
            for j, sku in enumerate(skus)
            if draw(st.booleans())
        ]
        for i, s in enumerate(SITES)
    }
    lines = [
        Line(n, sku, draw(st.integers(1, 5)))
        for n, sku in enumerate(draw(st.lists(st.sampled_from(skus), min_size=1, max_size=4)), 1)
    ]
    return lines, bins, draw(st.floats(25, 48)), draw(st.floats(-125, -70))


def brute_force(lines, bins, lat, lon):
    """(shipments, distance) of the best complete plan by trying every subset; None if none."""
    demand: dict[str, int] = {}
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.qty
    dist = {s.code: great_circle_km(lat, lon, s.lat, s.lon) for s in SITES}
    for k in range(1, len(SITES) + 1):
        best = None
        for subset in combinations(SITES, k):
            have = {
                sku: sum(b.free for s in subset for b in bins[s.code] if b.sku == sku)
                for sku in demand
            }
            if all(have[sku] >= n for sku, n in demand.items()):
                d = sum(dist[s.code] for s in subset)
                best = d if best is None else min(best, d)
        if best is not None:
            return k, best
    return None


@settings(max_examples=150, deadline=None)
@given(instances())
def test_split_search_is_exact_against_brute_force(case):
    lines, bins, lat, lon = case
    plan = plan_order(lines, SITES, bins, lat, lon, policy=SPLIT)
    best = brute_force(lines, bins, lat, lon)
    if best is None:
        assert plan.shipments == () and plan.backorder == tuple(lines)
        return
    k, distance = best
    assert plan.complete and len(plan.shipments) == k
    assert sum(s.distance_km for s in plan.shipments) == pytest.approx(distance)
    # Every unit ordered is taken exactly once, from bins that had it.
    taken: dict[tuple[str, int], int] = {}
    for s in plan.shipments:
        for t in s.takes:
            taken[(s.warehouse, t.location_id)] = taken.get((s.warehouse, t.location_id), 0) + t.qty
    free = {(w, b.location_id): b.free for w, bs in bins.items() for b in bs}
    assert all(n <= free[key] for key, n in taken.items())
    for line in lines:
        got = sum(t.qty for s in plan.shipments for t in s.takes if t.line_no == line.line_no)
        assert got == line.qty
