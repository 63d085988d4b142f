"""The buyer's rules, pure: what kind of demand a SKU has, its ABC class, and when and how much
to reorder from the supplier.

- **Demand pattern** (Syntetos and Boylan, 2005): ADI, the average number of days between two
  days with a sale, and CV², the squared coefficient of variation of the sizes of the sales.
  ADI < 1.32 and CV² < 0.49: `smooth`; ADI ≥ 1.32, CV² < 0.49: `intermittent`; ADI < 1.32,
  CV² ≥ 0.49: `erratic`; both above: `lumpy`; no sale at all: `none`.
- **ABC class**: the SKUs of a warehouse ranked by units sold, most first; a SKU is in the first
  class whose cumulative share of the SKUs holds it (A: the top 20 % by default).
- **Reorder point** = forecast demand over the lead time + safety stock, where safety stock =
  z × σ × √(lead time): z is the standard normal quantile of the service level
  (`statistics.NormalDist`), σ the daily forecast error (root mean square of the one-day-ahead
  errors on the history).
- **Reorder quantity**: when the stock position (on hand, less what orders have reserved) is at
  or below the reorder point, enough to bring it up to the reorder point plus `cover_days` of
  forecast demand, in whole units; else 0.
- **Overstock**: days of cover (position ÷ forecast daily demand) above `overstock_days`; stock
  with no forecast demand at all is overstock too (its cover is endless).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

ADI_CUT = 1.32
CV2_CUT = 0.49


def pattern(demand: Sequence[float]) -> str:
    """The Syntetos-Boylan class of a daily demand series: smooth, intermittent, erratic,
    lumpy, or none (no sale)."""
    sizes = [d for d in demand if d > 0]
    if not sizes:
        return "none"
    adi = len(demand) / len(sizes)
    mean = sum(sizes) / len(sizes)
    cv2 = (sum((s - mean) ** 2 for s in sizes) / len(sizes)) / mean**2
    if adi < ADI_CUT:
        return "smooth" if cv2 < CV2_CUT else "erratic"
    return "intermittent" if cv2 < CV2_CUT else "lumpy"


def abc(sold: Mapping[str, float], shares: Sequence[tuple[str, float]]) -> dict[str, str]:
    """Each SKU's class: ranked by units sold (most first, then by SKU), the first
    `share × n` SKUs (rounded up) in the first class, and so on; the last class takes the rest."""
    ranked = sorted(sold, key=lambda sku: (-sold[sku], sku))
    out: dict[str, str] = {}
    start, taken = 0, 0.0
    for i, (name, share) in enumerate(shares):
        taken += share
        end = len(ranked) if i == len(shares) - 1 else math.ceil(round(taken * len(ranked), 9))
        for sku in ranked[start:end]:
            out[sku] = name
        start = max(start, end)
    return out


def error_sigma(actual: Sequence[float], fitted: Sequence[float]) -> float:
    """Root mean square of the one-day-ahead errors (days without a fitted value skipped)."""
    errors = [(a - f) ** 2 for a, f in zip(actual, fitted, strict=True) if f is not None and f == f]
    return math.sqrt(sum(errors) / len(errors)) if errors else 0.0


@dataclass(frozen=True)
class Policy:
    """How a SKU is bought: the supplier's lead time, the service level, the cover ordered."""

    lead_time_days: float
    service_level: float  # the chance of not running out before a reorder arrives, 0.5–<1
    cover_days: float  # an order brings the position up to the reorder point plus this cover
    overstock_days: float  # more cover than this is overstock


@dataclass(frozen=True)
class Suggestion:
    """What the buyer sees for one SKU in one warehouse."""

    safety_stock: float
    reorder_point: float
    reorder_qty: int
    cover_days: float | None  # None: no forecast demand (endless cover)
    overstock: bool


def suggest(daily: float, sigma: float, position: int, policy: Policy) -> Suggestion:
    """The reorder point, reorder quantity, cover and overstock flag of one SKU."""
    if daily < 0 or sigma < 0:
        raise ValueError("daily demand and its error must not be negative")
    if not 0.5 <= policy.service_level < 1:
        raise ValueError("the service level must be at least 0.5 and below 1")
    lead = policy.lead_time_days
    z = NormalDist().inv_cdf(policy.service_level)
    safety = z * sigma * math.sqrt(lead)
    rop = daily * lead + safety
    qty = 0
    if daily > 0 and position <= rop:
        qty = max(0, math.ceil(rop + daily * policy.cover_days - position - 1e-9))
    cover = position / daily if daily > 0 else None
    overstock = position > 0 and (cover is None or cover > policy.overstock_days)
    return Suggestion(round(safety, 3), round(rop, 3), qty, cover, overstock)


def mase(
    actual: Sequence[float], forecast: Sequence[float], history: Sequence[float], m: int = 1
) -> float:
    """Mean absolute scaled error: the forecast's mean absolute error over the mean absolute
    error of the naive (`m`-step seasonal) forecast on the history; nan when the history's
    naive error is 0."""
    if len(actual) != len(forecast) or not actual:
        raise ValueError("actual and forecast must be the same non-empty length")
    naive = [abs(history[i] - history[i - m]) for i in range(m, len(history))]
    scale = sum(naive) / len(naive) if naive else 0.0
    if scale == 0:
        return math.nan
    mae = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / len(actual)
    return mae / scale
