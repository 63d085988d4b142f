"""The floor as it feels: every handheld signing in at once, one scan per 5 s each, every scan counted.

A floor does not drop the first seconds after the shift starts, and a pause that
hits every device at once is felt by all of them. This run connects N handhelds
(default 1,500: nine pickers to a packer) to a seeded site all at once, lets
each scan as soon as it has its screen, and counts every answer from the first:
p50/p90/p99/max over the run, p99 per 10 s window, all-connected time and errors.
While it runs it reads the server's /metrics every 10 s: the longest loop stall
in each window (`scanfloor_loop_stall_recent_seconds`), the longest and the
count of garbage collections by generation, and the server's RSS.

With `compare`, the same run alternates between two versions of the server code
(e.g. `main` and this checkout), each on a fresh copy of one seeded site, so both
meet the same machine load; the rows' medians and their ratios are reported.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from scripts.load import boards as board_watch
from scripts.load.boardsite import add_open_orders
from scripts.load.fleet import Options, rss_mib, run_fleet, summary
from scripts.load.floorload import serve_site
from scripts.load.floorsite import Site, seed_site

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is in scripts/load/)
SECTION = "## The floor as it feels"
WINDOW_S = 10.0
THINK_S = 5.0


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of the server's /metrics: (name, sorted labels) -> value."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class Watcher(threading.Thread):
    """Reads /metrics and the server's RSS every 10 s while the fleet runs."""

    def __init__(self, url: str, pid: int):
        super().__init__(daemon=True)
        self.url, self.pid = url, pid
        self.samples: list[dict[str, Any]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(WINDOW_S):
            self.read()

    def read(self) -> None:
        try:
            m = scrape(self.url)
        except OSError:
            return
        stall = m.get(("scanfloor_loop_stall_recent_seconds", ()))
        self.samples.append(
            {"stall_ms": None if stall is None else 1000 * stall, **rss_mib(self.pid)}
        )

    def last(self) -> dict[str, Any]:
        """The run's totals from the server: longest stall, collections by generation."""
        m = scrape(self.url)
        out: dict[str, Any] = {"stall_max_ms": None, "gc": {}}
        if ("scanfloor_loop_stall_max_seconds", ()) in m:
            out["stall_max_ms"] = 1000 * m[("scanfloor_loop_stall_max_seconds", ())]
        for g in "012":
            key = (("generation", g),)
            if ("scanfloor_gc_pause_seconds_count", key) in m:
                out["gc"][g] = {
                    "count": m[("scanfloor_gc_pause_seconds_count", key)],
                    "seconds": m[("scanfloor_gc_pause_seconds_sum", key)],
                    "max_ms": 1000 * m[("scanfloor_gc_pause_max_seconds", key)],
                }
        return out


def seed_template(folder: Path, devices: int, orders_per_picker: int, open_orders: int = 0) -> Site:
    """One seeded site, copied fresh for every run (seeding 1,500 devices takes a while);
    `open_orders` more open orders in bulk (scripts/load/boardsite.py), and the supervisor
    the boards log in as."""
    packers = max(1, devices // 10)
    pickers = devices - packers
    site = seed_site(folder / "data", pickers, packers, pickers * orders_per_picker)
    if open_orders:
        add_open_orders(site.data_dir / "scanfloor.db", open_orders)
        site.orders += open_orders
    board_watch.add_supervisor(site.data_dir / "scanfloor.db")
    return site


@contextlib.contextmanager
def code_of(ref: str | None) -> Iterator[Path]:
    """The server code of a git ref (exported to a temporary folder), or this checkout (None)."""
    if ref is None:
        yield ROOT
        return
    tmp = Path(tempfile.mkdtemp(prefix="scanfloor-code-"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def feel_run(
    template: Site,
    code: Path,
    seconds: float,
    procs: int,
    env: dict[str, str] | None = None,
    boards: int = 0,
) -> dict[str, Any]:
    """One run of the whole fleet against a fresh copy of the template site, with `boards`
    supervisors' boards opening one every 5 s from the start (scripts/load/boards.py)."""
    opts = Options(url="", seconds=seconds, think=THINK_S, from_first=True, connect_timeout=90)
    with serve_site(0, template=template, code=code, env=env) as (url, pid, site):
        opts.url = url
        watcher = Watcher(url, pid)
        watcher.start()
        open_boards = board_watch.BoardsProcess(url, boards, seconds)
        tally = run_fleet(site.devices, opts, procs)
        watcher.done.set()
        watcher.join()
        watcher.read()
        result = summary(tally) | rss_mib(pid) | watcher.last()
        result["boards"] = open_boards.results()
        result["freezes"] = freezes(site.data_dir.parent / "server.log")
    result["window_stall_ms"] = [s["stall_ms"] for s in watcher.samples]
    result["window_rss_mib"] = [round(s["rss_mib"]) for s in watcher.samples]
    return result


FREEZE_LINE = re.compile(
    r"gc\.freeze \((?P<why>[^)]*)\): (?:(?P<n>\d+) )?"
    r"(?P<what>objects frozen|unreachable found first|nothing collected first),? in (?P<ms>\d+) ms"
)


def freezes(log: Path) -> list[dict[str, Any]]:
    """The server's `gc.freeze` log lines (server/runtime/loopwatch.py): why, how many
    objects (frozen, in older versions; unreachable ones its collection found, now; None
    when it collected nothing first), ms. Each runs on the loop, so a slow one is a stall of
    its own."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return [
        {
            "why": m["why"],
            "objects": None if m["n"] is None else int(m["n"]),
            "what": m["what"],
            "ms": int(m["ms"]),
        }
        for m in FREEZE_LINE.finditer(text)
    ]


def alternate(
    devices: int,
    seconds: float,
    rounds: int,
    refs: list[str | None],
    procs: int,
    orders_per_picker: int = 4,
    boards: int = 0,
    open_orders: int = 0,
) -> dict[str, Any]:
    """`rounds` rounds of one run per ref, alternated, on copies of one seeded site."""
    out: dict[str, Any] = {"devices": devices, "seconds": seconds, "runs": []}
    with tempfile.TemporaryDirectory(prefix="scanfloor-feel-") as tmp:
        print(f"-- seeding a site for {devices:,} handhelds", flush=True)
        template = seed_template(Path(tmp), devices, orders_per_picker, open_orders)
        out["open_orders"], out["seed_s"] = template.orders, template.seconds
        with contextlib.ExitStack() as stack:
            codes = {ref: stack.enter_context(code_of(ref)) for ref in refs}
            for n in range(rounds):
                for ref in refs:
                    name = ref or "this branch"
                    print(f"-- round {n + 1}: {devices:,} handhelds on {name}", flush=True)
                    res = feel_run(template, codes[ref], seconds, procs, boards=boards)
                    res["code"], res["round"] = name, n + 1
                    out["runs"].append(res)
                    print(_line(res), flush=True)
    return out


def _line(r: dict[str, Any]) -> str:
    p99s = _p99s(r)
    stall = r["stall_max_ms"]
    return (
        f"{r['code']}: {r['scans']} scans, p50 {r['p50_ms']:.0f} p90 {r['p90_ms']:.0f} "
        f"p99 {r['p99_ms']:.0f} max {r['max_ms']:.0f} ms; p99 per 10 s {p99s}; "
        f"stall {'—' if stall is None else f'{stall:.0f} ms'}; "
        f"all connected {r['all_connected_s']}; RSS {r['peak_rss_mib']:.0f} MiB; "
        f"errors {r['errors']} {r['error_kinds'] or ''}; "
        f"fleet's own lag {_fmt(r.get('fleet_lag_max_ms'))} ms "
        f"({', '.join(_fmt(v) for v in r.get('fleet_lag_windows_ms', []))})"
        + (f"\n  boards: {board_watch.line(r['boards'])}" if r.get("boards") else "")
    )


def medians(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _p99s(r: dict[str, Any]) -> str:
    return ", ".join(f"{w['p99_ms']:.0f}" for w in r["windows"])


def _fmt(v: float | None, spec: str = ".0f") -> str:
    return "—" if v is None else format(v, spec)


def report(res: dict[str, Any], command: str, machine: str, today: str) -> str:
    """The `## The floor as it feels` section of docs/benchmarks.md."""
    n, secs = res["devices"], res["seconds"]
    lines = [
        SECTION,
        "",
        f"Command: `{command}` — run {today} on {machine}; the fleet runs on the same machine "
        f"as the server.{' ' + res['note'] if res.get('note') else ''}",
        "",
        f"{n:,} handhelds (nine pickers to a packer) on a site of {res['open_orders']:,} open "
        f"orders, all connecting at once, each scanning once per {THINK_S:.0f} s on average, "
        f"for {secs:.0f} s from the first connect. Every scan counts from the first (the "
        "sign-in storm included). Stall: how late the server's loop probe woke "
        "(`scanfloor_loop_stall_*`); GC: collections in the run by generation and the longest "
        "(`scanfloor_gc_pause_*`); both read from /metrics, which the older code lacks (—). "
        "Fleet lag: how late the fleet's own loop woke at worst (its collector is off for the "
        "run, scripts/load/fleet.py `collector_off`), the part of a round trip that may be the "
        "load generator's.",
        "",
        "| run | code | scans/s | p50 ms | p90 ms | p99 ms | max ms | p99 per 10 s (ms) "
        "| longest stall ms | stall per 10 s (ms) | GC gen 2 (n, longest ms) "
        "| GC gen 1 (n, longest ms) | all connected s | RSS MiB | errors | fleet lag ms |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for r in res["runs"]:
        gc = r.get("gc") or {}

        def g(k: str, gc: dict = gc) -> str:
            return f"{gc[k]['count']:.0f}, {gc[k]['max_ms']:.0f}" if k in gc else "—"

        lines.append(
            f"| {r['round']} | {r['code']} | {r['scans_per_s']:.0f} | {r['p50_ms']:.0f} "
            f"| {r['p90_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} "
            f"| {_p99s(r)} "
            f"| {_fmt(r['stall_max_ms'])} "
            f"| {', '.join(_fmt(s) for s in r['window_stall_ms'])} | {g('2')} | {g('1')} "
            f"| {_fmt(r['all_connected_s'], '.1f')} | {r['peak_rss_mib']:.0f} | {r['errors']} "
            f"| {_fmt(r.get('fleet_lag_max_ms'))} |"
        )
    for r in res["runs"]:
        if r.get("freezes"):
            lines += [
                "",
                f"The server's `gc.freeze` calls in run {r['round']} ({r['code']}), each on the "
                "loop: "
                + "; ".join(
                    f"{f['why']}: {f['ms']} ms ("
                    + ("" if f["objects"] is None else f"{f['objects']:,} ")
                    + f"{f['what']})"
                    for f in r["freezes"]
                )
                + ".",
            ]
    for r in res["runs"]:
        if r.get("boards"):
            lines += [
                "",
                f"Boards open in run {r['round']} ({r['code']}): "
                + board_watch.line(r["boards"])
                + ".",
            ]
    codes = list(dict.fromkeys(r["code"] for r in res["runs"]))
    if len(codes) == 2 and len(res["runs"]) >= 2:
        a, b = ([r for r in res["runs"] if r["code"] == c] for c in codes)
        lines += [
            "",
            f"Medians over the rounds, and {codes[1]} against {codes[0]}:",
            "",
            f"| figure | {codes[0]} | {codes[1]} | ratio |",
            "|---|---:|---:|---:|",
        ]
        for key, name in (
            ("p50_ms", "p50 ms"),
            ("p90_ms", "p90 ms"),
            ("p99_ms", "p99 ms"),
            ("max_ms", "max ms"),
            ("scans_per_s", "scans/s"),
            ("all_connected_s", "all connected s"),
            ("peak_rss_mib", "RSS MiB"),
        ):
            ma, mb = medians(a, key), medians(b, key)
            ratio = f"{mb / ma:.2f}x" if ma and mb is not None else "—"
            lines.append(f"| {name} | {_fmt(ma, '.1f')} | {_fmt(mb, '.1f')} | {ratio} |")
    for key, what in (
        ("echo", "The bare Socket.IO echo"),
        ("echo_gc", "The echo with the server's GC settings (`--gc-as-server`)"),
    ):
        if not res.get(key):
            continue
        e = res[key]
        lines += [
            "",
            f"{what} with the same fleet, same run: {e['scans_per_s']:.0f} "
            f"scans/s, p50 {e['p50_ms']:.0f} ms, p99 {e['p99_ms']:.0f} ms, max "
            f"{e['max_ms']:.0f} ms, p99 per 10 s "
            f"{_p99s(e)} ms, all connected "
            f"{_fmt(e['all_connected_s'], '.1f')} s, RSS {e['peak_rss_mib']:.0f} MiB, the "
            f"fleet's own lag {_fmt(e.get('fleet_lag_max_ms'))} ms at worst.",
        ]
    return "\n".join(lines) + "\n"
