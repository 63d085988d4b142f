"""Backtest the demand forecast on a seeded synthetic history: seasonal and intermittent.

Makes `--series` daily demand series per kind (smooth with a weekly season, erratic, intermittent
with a weekly season in the chance of a sale, lumpy), `--days` days each (fixed seed). Rolling
origin: at each of `--origins` origins, `--horizon` days apart at the end of the history, every
model is fitted on the days before the origin and forecasts the next `--horizon` days. The error
is MASE: the forecast's mean absolute error over the in-sample mean absolute error of the naive
(yesterday's) forecast, averaged over series and origins. Below 1: better than naive. Also
reported: the CPU time per fit. Prints the table and writes it to the `## Demand forecast`
section of docs/benchmarks.md (other sections are left as they are).

    .venv/bin/python scripts/bench_forecast.py                # 30 series per kind
    .venv/bin/python scripts/bench_forecast.py --series 5 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from server.inventory.domain import demand, reorder  # noqa: E402

SECTION = "## Demand forecast"
WEEK = np.array([1.0, 1.1, 1.2, 1.1, 1.5, 0.6, 0.4])  # Monday … Sunday
KINDS = ("smooth", "erratic", "intermittent", "lumpy")


def synthetic(kind: str, days: int, rng: np.random.Generator) -> list[float]:
    """One series of a kind: the weekly season scales the level (or the chance of a sale)."""
    season = WEEK[np.arange(days) % 7] * rng.uniform(0.9, 1.1, 7)[np.arange(days) % 7]
    if kind == "smooth":
        y = rng.poisson(rng.uniform(8, 30) * season)
    elif kind == "erratic":
        y = 1 + rng.negative_binomial(1, 1 / rng.uniform(6, 14), days) * (season > 0.5)
    else:
        p = np.clip(rng.uniform(0.08, 0.35) * season, 0, 1)
        sale = rng.random(days) < p
        size = 1 + (rng.poisson(2, days) if kind == "intermittent" else rng.geometric(1 / 8, days))
        y = sale * size
    return [float(v) for v in y]


def candidates() -> dict[str, Callable[[list[float], int], list[float]]]:
    """The models compared: statsforecast's, ours among them, and the naive ones."""
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        CrostonOptimized,
    )

    def sf(model: object) -> Callable[[list[float], int], list[float]]:
        def run(y: list[float], h: int) -> list[float]:
            out = model.forecast(y=np.asarray(y, dtype=float), h=h)  # type: ignore[attr-defined]
            return [max(0.0, float(v)) for v in out["mean"]]

        return run

    return {
        "naive": lambda y, h: [y[-1]] * h,
        "seasonal naive (7)": lambda y, h: [y[-7 + (i % 7)] for i in range(h)],
        "CrostonOptimized": sf(CrostonOptimized()),
        "CrostonSBA": lambda y, h: demand.fit("CrostonSBA", y, h)[0],
        "ADIDA": sf(ADIDA()),
        "IMAPA": sf(IMAPA()),
        "TSB": sf(TSB(alpha_d=0.1, alpha_p=0.1)),
        "SES": lambda y, h: demand.fit("SES", y, h)[0],
        "SeasonalES": lambda y, h: demand.fit("SeasonalES", y, h)[0],
        "AutoETS": lambda y, h: demand.fit("AutoETS", y, h)[0],
    }


def backtest(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """MASE per model and kind, ours (the model by pattern), and CPU seconds per fit."""
    rng = np.random.default_rng(args.seed)
    models = candidates()
    errors: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    ours: dict[str, list[float]] = defaultdict(list)
    picked: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    cpu: dict[str, list[float]] = defaultdict(list)
    totals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for kind in KINDS:
        for _ in range(args.series):
            y = synthetic(kind, args.days, rng)
            for k in range(args.origins, 0, -1):
                cut = len(y) - k * args.horizon
                train, test = y[:cut], y[cut : cut + args.horizon]
                by_model = {}
                for name, run in models.items():
                    t = time.process_time()
                    fc = run(train, args.horizon)
                    cpu[name].append(time.process_time() - t)
                    by_model[name] = reorder.mase(test, fc, train)
                    errors[name][kind].append(by_model[name])
                    totals[name][kind].append(total_error(test, fc, train))
                # Ours: the model demand.forecast picks from the training days' pattern.
                chosen = demand.model_for(reorder.pattern(train), len(train))
                picked[kind][chosen] += 1
                ours[kind].append(by_model[chosen] if chosen != "none" else math.nan)
                totals["scanfloor (model by pattern)"][kind].append(
                    totals[chosen][kind][-1] if chosen != "none" else math.nan
                )
    extra = {"cpu": cpu, "picked": picked, "totals": totals}
    return errors, {"scanfloor (model by pattern)": ours}, extra


def total_error(actual: list[float], forecast: list[float], history: list[float]) -> float:
    """The error of the horizon's total (what a reorder point rests on), scaled as MASE is:
    |Σ actual − Σ forecast| over (horizon × the naive forecast's in-sample MAE)."""
    gap = abs(sum(actual) - sum(forecast))
    return reorder.mase([gap / len(actual)], [0.0], history)


def mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.fmean(finite) if finite else math.nan


def table(errors: dict, ours: dict, extra: dict) -> str:
    """MASE per kind and over all, the horizon total's error per kind and over all, CPU."""
    cols = " | ".join(KINDS)
    head = f"| model | {cols} | all | total error: {cols} | all | CPU ms per fit |"
    lines = [head, "|---|" + "---:|" * (2 * len(KINDS) + 3)]
    cpu, totals = extra["cpu"], extra["totals"]
    for name, by_kind in [*errors.items(), *ours.items()]:
        cells = []
        for figures in (by_kind, totals[name]):
            cells += [f"{mean(figures[k]):.3f}" for k in KINDS]
            cells.append(f"{mean([v for k in KINDS for v in figures[k]]):.3f}")
        ms = f"{statistics.median(cpu[name]) * 1000:.1f}" if name in cpu else "—"
        bold = "**" if name in ours else ""
        lines.append(f"| {bold}{name}{bold} | " + " | ".join(cells) + f" | {ms} |")
    picks = "; ".join(
        f"{k}: " + ", ".join(f"{m} {n}" for m, n in sorted(extra["picked"][k].items()))
        for k in KINDS
    )
    return "\n".join(lines) + f"\n\nModels picked by pattern (series × origins): {picks}."


def section(command: str, args: argparse.Namespace, body: str) -> str:
    return f"""{SECTION}

`{command}` ({datetime.date.today().isoformat()}, {machine()}; the machine was shared with
other jobs, so the CPU times are noisy; the errors are not: the history is seeded).
{args.series} series per kind, {args.days} days each; rolling origin: {args.origins} origins
{args.horizon} days apart, each forecasting {args.horizon} days. Mean MASE (the forecast's mean
absolute error over the in-sample naive forecast's), per kind of demand and over all; below 1
beats the naive forecast. "Total error" is the error of the {args.horizon}-day total (what a
reorder point rests on), scaled the same way: MASE rewards forecasting 0 on intermittent series
(the median of a day's demand is 0), the total does not. CPU: the median per fit. The series' kind is what the generator made; the pattern the
forecast sees is measured on the training days (Syntetos-Boylan ADI / CV²).

{body}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=30, help="series per kind")
    parser.add_argument("--days", type=int, default=182, help="days of history per series")
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--docs", type=Path, default=BENCHMARKS_MD)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    errors, ours, extra = backtest(args)
    body = table(errors, ours, extra)
    print(body)
    if not args.no_write:
        command = "python scripts/bench_forecast.py " + " ".join(sys.argv[1:])
        write_section(args.docs, SECTION, section(command.strip(), args, body))


if __name__ == "__main__":
    main()
