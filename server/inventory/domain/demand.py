"""A SKU's daily demand forecast: the model chosen by its demand pattern, fitted by Nixtla's
statsforecast (docs/forecast.md says why this library and these models).

- `smooth` and `erratic` demand (a sale most days): seasonal exponential smoothing with a
  weekly season (each weekday's level smoothed apart, the smoothing fitted); with under two
  weeks of history, simple exponential smoothing. AutoETS was as good on smooth demand and
  worse on erratic in scripts/bench_forecast.py, at some 500 times the CPU per fit.
- `intermittent` and `lumpy` demand (many days without a sale): Croston's method with the
  Syntetos-Boylan approximation (SBA: sale size over interval between sales, each smoothed,
  debiased by 1 - α/2), what the pattern classification was made to choose; it had the lowest
  error of the horizon's total on lumpy series in scripts/bench_forecast.py.
- no sale at all: 0, and no model is fitted.

statsforecast (with pandas, scipy, statsmodels) costs seconds to import: it is imported here,
in the first call, which only the worker's forecast job makes, never at a server's start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.inventory.domain import reorder

SEASON = 7  # days: a week
MODELS = ("SeasonalES", "SES", "CrostonSBA", "AutoETS", "none")  # AutoETS: the benchmark only


@dataclass(frozen=True)
class Forecast:
    """A SKU's forecast: the model, its daily means ahead, and the one-day-ahead error."""

    pattern: str
    model: str
    mean: list[float]  # forecast units per day, for each of the next `horizon` days
    sigma: float  # root mean square one-day-ahead error on the history

    @property
    def daily(self) -> float:
        """The mean forecast units per day over the horizon."""
        return sum(self.mean) / len(self.mean) if self.mean else 0.0


def model_for(kind: str, days: int) -> str:
    """The model a demand pattern gets, given how many days of history there are."""
    if kind == "none":
        return "none"
    if kind in ("intermittent", "lumpy"):
        return "CrostonSBA"
    return "SeasonalES" if days >= 2 * SEASON else "SES"


def _model(name: str) -> Any:
    from statsforecast.models import (
        AutoETS,
        CrostonSBA,
        SeasonalExponentialSmoothingOptimized,
        SimpleExponentialSmoothingOptimized,
    )

    if name == "SeasonalES":
        return SeasonalExponentialSmoothingOptimized(season_length=SEASON)
    if name == "AutoETS":
        return AutoETS(season_length=SEASON)
    if name == "SES":
        return SimpleExponentialSmoothingOptimized()
    return CrostonSBA()


def fit(name: str, history: Sequence[float], horizon: int) -> tuple[list[float], list[float]]:
    """The named model's forecast `horizon` days ahead and its fitted values on the history."""
    import numpy as np

    y = np.asarray(history, dtype=float)
    out = _model(name).forecast(y=y, h=horizon, fitted=True)
    # Demand is never negative: an additive model's dip below 0 is read as no sale.
    mean = [max(0.0, float(v)) for v in out["mean"]]
    fitted = [math.nan if v != v else float(v) for v in out["fitted"]]
    return mean, fitted


def forecast(history: Sequence[float], horizon: int) -> Forecast:
    """The forecast of a daily demand series (oldest day first) `horizon` days ahead."""
    if horizon < 1:
        raise ValueError("the horizon must be at least one day")
    kind = reorder.pattern(history)
    name = model_for(kind, len(history))
    if name == "none":
        return Forecast(kind, name, [0.0] * horizon, 0.0)
    mean, fitted = fit(name, history, horizon)
    return Forecast(kind, name, mean, reorder.error_sigma(history, fitted))
