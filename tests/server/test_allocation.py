"""Allocation, first version: nearest warehouse that ships complete, fewest bins."""

from __future__ import annotations

import pytest

from server.domain.allocation import Bin, Line, Site, allocate, choose_bins, rank_sites
from server.domain.geo import great_circle_km

NYC = Site("NYC", 40.71, -74.00)
LAX = Site("LAX", 34.05, -118.24)


def test_great_circle_new_york_to_los_angeles():
    assert great_circle_km(40.71, -74.00, 34.05, -118.24) == pytest.approx(3936, rel=0.01)
    assert great_circle_km(1, 2, 1, 2) == 0


def test_sites_ranked_nearest_first():
    assert [s.code for _, s in rank_sites([LAX, NYC], 42.36, -71.06)] == ["NYC", "LAX"]
    assert [s.code for _, s in rank_sites([NYC, LAX], 32.72, -117.16)] == ["LAX", "NYC"]
    # Without coordinates every site is at distance 0, in code order.
    assert [s.code for _, s in rank_sites([NYC, LAX], None, None)] == ["LAX", "NYC"]


def test_a_bin_that_fills_the_line_wins_over_walking_order():
    bins = [Bin(1, "A", 2, (1, 1, 0)), Bin(2, "A", 5, (3, 1, 0)), Bin(3, "A", 9, (4, 1, 0))]
    takes = choose_bins(Line(1, "A", 4), bins)
    assert [(t.location_id, t.qty) for t in takes] == [(2, 4)]


def test_fewest_bins_when_none_fills_the_line():
    bins = [Bin(1, "A", 1, (1, 1, 0)), Bin(2, "A", 3, (2, 1, 0)), Bin(3, "A", 2, (3, 1, 0))]
    takes = choose_bins(Line(1, "A", 5), bins)
    assert [(t.location_id, t.qty) for t in takes] == [(2, 3), (3, 2)]
    assert choose_bins(Line(1, "A", 7), bins) is None


def test_order_goes_to_the_nearest_warehouse_that_has_everything():
    lines = [Line(1, "A", 2), Line(2, "B", 1)]
    bins = {
        "NYC": [Bin(1, "A", 5, (1,)), Bin(2, "B", 5, (2,))],
        "LAX": [Bin(3, "A", 5, (1,)), Bin(4, "B", 5, (2,))],
    }
    assert allocate(lines, [NYC, LAX], bins, 34.0, -118.0).warehouse == "LAX"
    assert allocate(lines, [NYC, LAX], bins, 42.0, -71.0).warehouse == "NYC"


def test_nearest_warehouse_short_of_one_line_is_skipped():
    lines = [Line(1, "A", 2), Line(2, "B", 1)]
    bins = {"NYC": [Bin(1, "A", 5, (1,))], "LAX": [Bin(3, "A", 5, (1,)), Bin(4, "B", 1, (2,))]}
    plan = allocate(lines, [NYC, LAX], bins, 42.0, -71.0)
    assert plan.warehouse == "LAX" and plan.distance_km > 3000


def test_two_lines_of_one_sku_share_the_bins_without_double_counting():
    lines = [Line(1, "A", 3), Line(2, "A", 3)]
    assert allocate(lines, [NYC], {"NYC": [Bin(1, "A", 5, (1,))]}, None, None) is None
    plan = allocate(lines, [NYC], {"NYC": [Bin(1, "A", 5, (1,)), Bin(2, "A", 1, (2,))]}, None, None)
    assert sum(t.qty for t in plan.takes) == 6


def test_nothing_anywhere_is_a_backorder():
    assert allocate([Line(1, "Z", 1)], [NYC, LAX], {}, 40, -74) is None
