"""Benchmark the walking-route methods against the exact optimum.

Generates warehouse layouts and random pick lists (fixed seed), orders every list
with each method of `server.floor.domain.routing`, and compares the walk with the exact
optimum. Prints the tables and writes them to the `## Walking routes` section of
docs/benchmarks.md (other sections are left as they are).

    .venv/bin/python scripts/bench_routes.py            # 200 lists per layout and size
    .venv/bin/python scripts/bench_routes.py --lists 20 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from server.floor.domain.routing import (  # noqa: E402
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

LAYOUTS = {
    "10 aisles x 30 bays": Layout(aisles=10, bays=30),
    "20 aisles x 50 bays": Layout(aisles=20, bays=50),
    "narrow-deep 4 x 120": Layout(aisles=4, bays=120),
}
SIZES = (5, 10, 20, 40, 60)
METHODS: dict[str, Callable[[Layout, list[Stop]], list[Stop]]] = {
    "s_shape_key (old planning sort)": lambda _, stops: sorted(
        stops, key=lambda s: s_shape_key(s.aisle, s.bay, 0)
    ),
    "S-shape": s_shape,
    "largest gap": largest_gap,
    "combined": combined,
    "combined + 2-opt": lambda layout, stops: improve(layout, combined(layout, stops)),
    "best_route": best_route,
    "optimal": optimal,
}
SECTION = "## Walking routes"


def pick_list(rng: random.Random, layout: Layout, lines: int) -> list[Stop]:
    """Lines at uniformly random locations; two lines may share a bay."""
    return [
        Stop(rng.randint(1, layout.aisles), rng.randint(1, layout.bays), n) for n in range(lines)
    ]


def literal_s_shape(layout: Layout, stops: list[Stop]) -> float:
    """Metres of the textbook S-shape: every aisle with a pick walked end to end."""
    aisles = sorted({s.aisle for s in stops})
    depot, first, last = layout.depot_aisle, aisles[0], aisles[-1]
    across = (abs(first - depot) + (last - first) + abs(last - depot)) * layout.aisle_pitch
    if len(aisles) % 2 == 0:
        return across + len(aisles) * layout.aisle_length
    deepest = max(layout.y(s.bay) for s in stops if s.aisle == last)
    return across + (len(aisles) - 1) * layout.aisle_length + 2 * deepest


def run(lists: int, seed: int) -> list[dict]:
    """One record per (layout, size, list, method): metres, gap, saving, milliseconds."""
    rng = random.Random(seed)
    records = []
    for layout_name, layout in LAYOUTS.items():
        for size in SIZES:
            for _ in range(lists):
                stops = pick_list(rng, layout, size)
                metres, ms = {}, {}
                for name, method in METHODS.items():
                    start = time.perf_counter()
                    route = method(layout, stops)
                    ms[name] = (time.perf_counter() - start) * 1000
                    assert sorted(s.ref for s in route) == list(range(size)), name
                    metres[name] = route_length(layout, route)
                best = metres["optimal"]
                literal = literal_s_shape(layout, stops)
                assert literal >= metres["S-shape"] - 1e-6
                for name in METHODS:
                    assert metres[name] >= best - 1e-6, f"{name} beat the optimum"
                    records.append(
                        {
                            "layout": layout_name,
                            "size": size,
                            "method": name,
                            "gap": 100 * (metres[name] / best - 1),
                            "saving": 100 * (1 - metres[name] / metres["S-shape"]),
                            "literal": 100 * (1 - metres[name] / literal),
                            "ms": ms[name],
                        }
                    )
    return records


def mean_by(records: list[dict], key: str, value: str) -> dict[tuple[str, object], float]:
    groups = defaultdict(list)
    for r in records:
        groups[(r["method"], r[key])].append(r[value])
    return {k: statistics.fmean(v) for k, v in groups.items()}


def tables(records: list[dict]) -> str:
    """The figures as Markdown tables."""
    by_method = defaultdict(list)
    for r in records:
        by_method[r["method"]].append(r)
    out = [
        "| method | gap to optimum (%) | saving vs S-shape (%) "
        "| saving vs S-shape walked end to end (%) | median ms per route |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rs in by_method.items():
        gap = statistics.fmean(r["gap"] for r in rs)
        saving = statistics.fmean(r["saving"] for r in rs)
        literal = statistics.fmean(r["literal"] for r in rs)
        ms = statistics.median(r["ms"] for r in rs)
        out.append(f"| {name} | {gap:.2f} | {saving:.2f} | {literal:.2f} | {ms:.3f} |")
    gap_by_size = mean_by(records, "size", "gap")
    out += ["", "Mean gap to optimum (%) by pick-list lines:", ""]
    out.append("| method | " + " | ".join(str(s) for s in SIZES) + " |")
    out.append("|---|" + "---:|" * len(SIZES))
    for name in METHODS:
        out.append(
            f"| {name} | " + " | ".join(f"{gap_by_size[(name, s)]:.2f}" for s in SIZES) + " |"
        )
    saving = mean_by(records, "layout", "saving")
    literal = mean_by(records, "layout", "literal")
    out += ["", "Mean saving (%) by layout, vs S-shape / vs S-shape walked end to end:", ""]
    out.append("| method | " + " | ".join(LAYOUTS) + " |")
    out.append("|---|" + "---:|" * len(LAYOUTS))
    for name in METHODS:
        cells = " | ".join(
            f"{saving[(name, la)]:.2f} / {literal[(name, la)]:.2f}" for la in LAYOUTS
        )
        out.append(f"| {name} | {cells} |")
    return "\n".join(out)


def section(command: str, lists: int, seed: int, body: str) -> str:
    layouts = "; ".join(
        f"{name} (pitch {la.aisle_pitch} m, bay {la.bay_length} m, cross-aisles {la.cross_aisle_width} m)"
        for name, la in LAYOUTS.items()
    )
    return "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command}` — run {datetime.date.today().isoformat()} on {machine()}.",
            "",
            f"Layouts: {layouts}; depot at the front of aisle 1. Pick lists of "
            f"{', '.join(map(str, SIZES))} lines at uniformly random bays, {lists} lists per "
            f"layout and size (seed {seed}). Gap and saving are averaged over lists; the "
            "optimum is Ratliff & Rosenthal's exact dynamic programme (`optimal`), checked "
            "against brute force in tests/server/floor/test_routing.py. `best_route` is what "
            "planning uses.",
            "",
            "Every length is `route_length`: the shortest walk through the stops in the "
            "method's order, as a picker following the handheld walks it. So *saving vs "
            "S-shape* compares with the S-shape order walked that way (cutting back by the "
            "front when that is shorter); *walked end to end* compares with the textbook "
            "S-shape, where every aisle with a pick is walked through. "
            "`s_shape_key (old planning sort)` is the plain sort planning used before the exact "
            "route (aisle parity rather than visit parity); planning now uses `best_route`.",
            "",
            body,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=200, help="pick lists per layout and size")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--docs", type=Path, default=BENCHMARKS_MD)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    body = tables(run(args.lists, args.seed))
    print(body)
    if not args.no_write:
        command = "python scripts/bench_routes.py" + " ".join(
            [""] + [a for a in sys.argv[1:] if a != "--no-write"]
        )
        write_section(args.docs, SECTION, section(command, args.lists, args.seed, body))
        print(f"\nwrote {SECTION!r} to {args.docs}")


if __name__ == "__main__":
    main()
