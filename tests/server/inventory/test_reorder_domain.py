"""The buyer's rules, pure: demand patterns, ABC classes, the reorder point and quantity,
overstock, MASE; and the model each pattern gets, fitted on a small series."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from server.inventory.domain import demand, reorder

POLICY = reorder.Policy(lead_time_days=4, service_level=0.95, cover_days=10, overstock_days=30)


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        ([5, 6, 5, 4, 6, 5, 5], "smooth"),  # a sale every day, steady sizes
        ([0, 0, 5, 0, 0, 5, 0, 0, 4], "intermittent"),  # ADI 3, sizes steady
        ([1, 9, 1, 12, 1, 8, 2], "erratic"),  # every day, sizes all over
        ([0, 0, 1, 0, 0, 20, 0, 0, 2], "lumpy"),
        ([0, 0, 0], "none"),
    ],
)
def test_the_demand_pattern_follows_syntetos_boylan(series, kind):
    assert reorder.pattern(series) == kind


def test_abc_ranks_by_units_sold_and_the_last_class_takes_the_rest():
    sold = {f"S{i}": float(i) for i in range(10)}  # S9 sells most
    classes = reorder.abc(sold, [("A", 0.2), ("B", 0.3), ("C", 0.1)])
    assert [s for s, c in classes.items() if c == "A"] == ["S9", "S8"]
    assert sorted(s for s, c in classes.items() if c == "B") == ["S5", "S6", "S7"]
    assert sorted(s for s, c in classes.items() if c == "C") == [f"S{i}" for i in range(5)]


def test_adi_is_the_window_over_the_days_with_a_sale_as_docs_forecast_says():
    # docs/forecast.md: sold every day of the last 30 of 182 days is ADI 182 / 30, not 1.
    assert reorder.pattern([0.0] * 152 + [5.0] * 30) == "intermittent"


def test_abc_classes_end_at_their_cumulative_share_rounded_up():
    shares = [("A", 0.2), ("B", 0.3), ("C", 0.5)]
    assert reorder.abc({"a": 3, "b": 2, "c": 1}, shares) == {"a": "A", "b": "B", "c": "C"}
    # a tie goes by SKU; of 2, A ends at 0.4 -> 1, B at 1.0 -> 1 (none), C takes the rest
    assert reorder.abc({"b": 1, "a": 1}, shares) == {"a": "A", "b": "C"}


def test_the_reorder_point_is_lead_time_demand_plus_z_sigma_root_lead_time():
    z = NormalDist().inv_cdf(0.95)
    s = reorder.suggest(daily=10, sigma=3, position=50, policy=POLICY)
    assert s.safety_stock == pytest.approx(z * 3 * 2, abs=1e-3)  # sqrt(4) = 2
    assert s.reorder_point == pytest.approx(40 + z * 6, abs=1e-3)
    # 50 is above 49.87: no order yet; 5 days of cover.
    assert (s.reorder_qty, s.cover_days, s.overstock) == (0, 5.0, False)
    low = reorder.suggest(daily=10, sigma=3, position=20, policy=POLICY)
    # Up to the reorder point plus 10 days of demand: 49.87 + 100 - 20, rounded up.
    assert low.reorder_qty == math.ceil(40 + z * 6 + 100 - 20) == 130


def test_overstock_is_cover_beyond_the_limit_or_stock_nobody_buys():
    assert reorder.suggest(1, 0, 31, POLICY).overstock
    assert not reorder.suggest(1, 0, 30, POLICY).overstock
    idle = reorder.suggest(0, 0, 5, POLICY)
    assert (idle.overstock, idle.cover_days, idle.reorder_qty) == (True, None, 0)
    assert not reorder.suggest(0, 0, 0, POLICY).overstock


@pytest.mark.parametrize(("daily", "sigma", "level"), [(-1, 0, 0.9), (1, -1, 0.9), (1, 1, 1.0)])
def test_impossible_inputs_are_refused(daily, sigma, level):
    policy = reorder.Policy(2, level, 5, 30)
    with pytest.raises(ValueError):
        reorder.suggest(daily, sigma, 0, policy)


def test_mase_scales_by_the_naive_forecasts_error_on_the_history():
    history = [1, 3, 1, 3]  # naive error 2 per day
    assert reorder.mase([2, 2], [3, 1], history) == 0.5
    assert math.isnan(reorder.mase([1], [1], [4, 4, 4]))


def test_each_pattern_gets_its_model_and_a_forecast_never_below_zero():
    weekly = [8, 9, 10, 9, 12, 2, 1] * 4
    fc = demand.forecast(weekly, 7)
    assert (fc.pattern, fc.model, len(fc.mean)) == ("smooth", "SeasonalES", 7)
    assert fc.mean[4] > fc.mean[6] and min(fc.mean) >= 0  # the weekly shape is kept
    sparse = [0, 0, 0, 4, 0, 0, 5, 0, 0, 0, 4, 0, 0, 5] * 2
    fc = demand.forecast(sparse, 5)
    assert (fc.pattern, fc.model) == ("intermittent", "CrostonSBA")
    assert 0.5 < fc.daily < 3 and fc.sigma > 0
    assert demand.forecast([0.0] * 20, 3) == demand.Forecast("none", "none", [0.0] * 3, 0.0)
    assert demand.model_for("smooth", 10) == "SES"  # under two weeks: no season fitted
