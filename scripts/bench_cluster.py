"""Benchmark one server process against several behind nginx: the same fleet, the same site.

One site is seeded once (scripts/load/floorsite.py: one warehouse, 40 open orders
per picker, carts planned) and copied fresh for every row. Each row runs the
same fleet (scripts/load/fleet.py `run_fleet`, pickers flat out) against:

- one `scanfloor-server` process, direct (what `scanfloor-server` serves alone);
- one process behind nginx (`scanfloor serve-cluster --processes 1`): what the hop costs;
- N processes behind nginx (`scanfloor serve-cluster --processes N`), joined by a
  private redis-server on a free port (Flask-SocketIO's queue and our bus).

It prints scans/s and the scan round trip p50/p99, how the devices spread over
the processes, and the CPU each part used (cores busy over the run), and writes
the `## Several processes` section of docs/benchmarks.md.

    .venv/bin/python scripts/bench_cluster.py                   # 200 pickers, 10 s per row
    .venv/bin/python scripts/bench_cluster.py --pickers 50 --seconds 5 --no-write
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from scripts.load.fleet import Options, run_fleet, summary  # noqa: E402
from scripts.load.floorload import serve_site  # noqa: E402
from scripts.load.floorsite import Site, seed_site  # noqa: E402
from server.runtime import cluster  # noqa: E402

SECTION = "## Several processes"
ORDERS_PER_PICKER = 40
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def redis_pids(url: str) -> list[int]:
    """The redis-server serving url (found by its port on the command line)."""
    port = url.rsplit(":", 1)[1].split("/")[0]
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "redis-server" in text and f":{port}" in text:
                found.append(int(cmdline.parent.name))
    return found


def nginx_pids(master: int) -> list[int]:
    """nginx's master and its workers."""
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process, ours and others'), /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICKS


class CpuMeter:
    """CPU used by groups of processes between start() and stop(), in cores busy; `others` is
    what the rest of the machine used meanwhile (the machine is shared)."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.c0 = {g: sum(cpu_seconds(p) for p in pids) for g, pids in self.groups.items()}
        self.m0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        used = {
            g: (sum(cpu_seconds(p) for p in pids) - self.c0[g]) / wall
            for g, pids in self.groups.items()
        }
        machine = (machine_busy_seconds() - self.m0) / wall
        return used | {"others": max(0.0, machine - sum(used.values()))}


def spread(db: Path) -> list[int]:
    """Devices connected per server process, most first."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute(
            "SELECT COUNT(*) FROM devices WHERE connected = 1 GROUP BY link_owner ORDER BY 1 DESC"
        ).fetchall()
    return [n for (n,) in rows]


def measured(
    url: str, site: Site, opts: Options, groups: dict[str, list[int]], db: Path
) -> dict[str, Any]:
    """Run the fleet against url; add the CPU each group used and the devices' spread."""
    meter = CpuMeter(groups | {"fleet": [os.getpid()]})
    most: list[int] = []
    done = threading.Event()

    def watch() -> None:  # the spread when the most devices were connected
        nonlocal most
        while not done.wait(0.5):
            with contextlib.suppress(sqlite3.Error):
                now = spread(db)
                if sum(now) > sum(most):
                    most = now

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    meter.start()
    try:
        result = summary(run_fleet(site.devices, Options(**{**opts.__dict__, "url": url})))
    finally:
        done.set()
        watcher.join()
    return result | {"cpu": meter.stop(), "spread": most}


@contextlib.contextmanager
def site_copy(template: Site, work: Path, name: str) -> Iterator[Site]:
    data = work / name
    shutil.copytree(template.data_dir, data)
    try:
        yield Site(data, template.devices, template.orders)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def one_process(template: Site, opts: Options, work: Path) -> dict[str, Any]:
    with serve_site(0, template=template) as (url, pid, site):
        return measured(url, site, opts, {"server": [pid]}, site.data_dir / "scanfloor.db")


def behind_nginx(
    template: Site, opts: Options, work: Path, processes: int, redis_url: str
) -> dict[str, Any]:
    with (
        site_copy(template, work, f"data-{processes}") as site,
        cluster.Cluster(
            data_dir=site.data_dir,
            redis_url=redis_url,
            processes=processes,
            port=cluster.free_port(),
            log_dir=work / f"logs-{processes}",
        ) as running,
    ):
        groups = {
            "server": [s.proc.pid for s in running.servers if s.proc],
            "nginx": nginx_pids(running.nginx.pid) if running.nginx else [],
            "redis": redis_pids(redis_url),
        }
        return measured(running.url, site, opts, groups, site.data_dir / "scanfloor.db")


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        "| server | scans/s | p50 ms | p99 ms | errors | devices per process "
        "| CPU busy (cores): servers / nginx / Redis / fleet / other jobs |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for label, r in rows:
        cpu = r["cpu"]
        lines.append(
            f"| {label} | {r['scans_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['errors']} | {' + '.join(map(str, r['spread'])) or '?'} | "
            f"{cpu['server']:.2f} / {cpu.get('nginx', 0.0):.2f} / {cpu.get('redis', 0.0):.2f}"
            f" / {cpu['fleet']:.2f} / {cpu['others']:.2f} |"
        )
    return "\n".join(lines)


def means(rows: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per setup (the label before ", round"), the mean scans/s, p50 and p99 over its rounds."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for label, r in rows:
        grouped.setdefault(label.split(", round")[0], []).append(r)
    return {
        label: {k: statistics.fmean(r[k] for r in rs) for k in ("scans_per_s", "p50_ms", "p99_ms")}
        for label, rs in grouped.items()
    }


def section(rows: list[tuple[str, dict[str, Any]]], args: dict[str, Any], command: str) -> str:
    avg = means(rows)
    labels = list(avg)
    one, hop, many = (avg[label] for label in labels)
    gain = many["scans_per_s"] / one["scans_per_s"] if one["scans_per_s"] else 0.0
    summary_rows = [
        "| server (mean of rounds) | scans/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {a['scans_per_s']:,.0f} | {a['p50_ms']:.1f} | {a['p99_ms']:.1f} |"
            for label, a in avg.items()
        ),
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command}` — run {datetime.date.today().isoformat()} on {machine()}.",
            "",
            f"One seeded site ({args['pickers']} pickers, {ORDERS_PER_PICKER} open orders per "
            "picker, carts planned; scripts/load/floorsite.py), copied fresh for each row. The same "
            f"fleet (scripts/load/fleet.py, {args['pickers']} pickers flat out, one client process) "
            f"ran {args['seconds']:.0f} s after a {args['warmup']:.0f} s warm-up against one "
            "`scanfloor-server` direct, one process behind nginx, and "
            f"{args['processes']} processes behind nginx (`scanfloor serve-cluster`, joined by "
            "a private redis-server). SQLite `synchronous` as in config/server.toml. *CPU "
            "busy* is CPU seconds over the fleet's run (connect, warm-up, measure) divided by its "
            "wall time: 2.00 would be both cores, and the fleet client shares them. The "
            f"machine is shared: its load average was {args['load']:.2f} when the run began.",
            "",
            table(rows),
            "",
            *summary_rows,
            "",
            f"{args['processes']} processes behind nginx did {gain:.2f}x the scans/s of one "
            f"process direct (nginx alone: {hop['scans_per_s'] / one['scans_per_s']:.2f}x). "
            "Other jobs on the machine used "
            f"{statistics.fmean(r['cpu']['others'] for _, r in rows):.2f} cores on average "
            "during the rows: what is left for the site, and how it is shared among our "
            "processes, moves with them (see docs/scaling.md).",
            "",
        ]
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pickers", default=200, show_default=True)
@click.option("--processes", default=2, show_default=True, help="server processes behind nginx")
@click.option("--seconds", default=10.0, show_default=True, help="measured seconds per row")
@click.option("--warmup", default=2.0, show_default=True)
@click.option("--rounds", default=2, show_default=True, help="every row this many times, in turn")
@click.option("--no-write", is_flag=True, help="do not touch docs/benchmarks.md")
def main(
    pickers: int, processes: int, seconds: float, warmup: float, rounds: int, no_write: bool
) -> None:
    """Run the same fleet against one process and against several behind nginx."""
    for name, found in (
        ("nginx", cluster.find_binary(cluster.NGINX_CANDIDATES)),
        ("redis-server", cluster.find_binary(cluster.REDIS_CANDIDATES)),
    ):
        if found is None:
            raise click.ClickException(f"{name} is not installed (apt-get install -y {name})")
    opts = Options(url="", seconds=seconds, warmup=warmup)
    args = {"pickers": pickers, "processes": processes, "seconds": seconds, "warmup": warmup}
    args["rounds"], args["load"] = rounds, os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        template = seed_site(work / "template", pickers, 0, pickers * ORDERS_PER_PICKER)
        print(f"seeded {template.orders} orders in {time.perf_counter() - t0:.1f} s", flush=True)
        rows: list[tuple[str, dict[str, Any]]] = []
        with cluster.private_redis(work / "redis") as redis_url:
            runs = [
                ("1 process, direct", lambda: one_process(template, opts, work)),
                (
                    "1 process behind nginx",
                    lambda: behind_nginx(template, opts, work, 1, redis_url),
                ),
                (
                    f"{processes} processes behind nginx",
                    lambda: behind_nginx(template, opts, work, processes, redis_url),
                ),
            ]
            for n in range(1, rounds + 1):
                for label, run in runs:
                    result = run()
                    rows.append((label + (f", round {n}" if rounds > 1 else ""), result))
                print(
                    f"{label}: {result['scans_per_s']:.0f} scans/s, p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, "
                    f"spread {result['spread']}, cpu {result['cpu']}",
                    flush=True,
                )
    print()
    print(table(rows))
    command = "python scripts/bench_cluster.py" + (
        " " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else ""
    )
    if not no_write:
        write_section(BENCHMARKS_MD, SECTION, section(rows, args, command))
        print(f"\nwrote the {SECTION!r} section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
