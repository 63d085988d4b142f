"""Benchmark one server process and several, on SQLite and on PostgreSQL: the same fleet.

One site is seeded once per database (scripts/load/floorsite.py: one warehouse, 40
open orders per picker, carts planned): a SQLite data dir copied fresh for every
row, and a PostgreSQL template database cloned fresh for every row
(`CREATE DATABASE ... TEMPLATE`). Each row runs the same fleet
(scripts/load/fleet.py `run_fleet`, pickers flat out) against `scanfloor
serve-cluster` (`server.runtime.cluster.Cluster`: nginx in front, one worker,
a private redis-server on a free port) with one server process and with N, on
each database.

It prints scans/s and the scan round trip p50/p99, how the devices spread over
the processes, the CPU each part used (cores busy over the run) and the CPU per
scan (the server processes' CPU over the measured window divided by the scans
answered in it; on PostgreSQL also with the database's own backends for the
site added), and writes the `## SQLite and PostgreSQL` section of docs/benchmarks.md.

    .venv/bin/python scripts/bench_cluster.py                   # 100 pickers, 30 s per row
    .venv/bin/python scripts/bench_cluster.py --pickers 50 --seconds 5 --no-write
    .venv/bin/python scripts/bench_cluster.py --databases sqlite   # no PostgreSQL needed
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from scripts.load.fleet import Options, run_fleet, summary  # noqa: E402
from scripts.load.floorsite import Site, seed_site  # noqa: E402
from server.runtime import cluster  # noqa: E402

SECTION = "## SQLite and PostgreSQL, one server process and two"
DEFAULT_POSTGRES = os.environ.get(
    "SCANFLOOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
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


def spread(database: str) -> list[int]:
    """Devices connected per server process, most first (`database`: a SQLite file or a
    PostgreSQL URL)."""
    query = "SELECT COUNT(*) FROM devices WHERE connected = 1 GROUP BY link_owner ORDER BY 1 DESC"
    if database.startswith("postgresql"):
        with psycopg.connect(database, autocommit=True, connect_timeout=5) as conn:
            return [n for (n,) in conn.execute(query)]
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as c:
        return [n for (n,) in c.execute(query)]


def pg_backends(url: str) -> list[int]:
    """The PostgreSQL server's processes serving the database at url (its backends; on
    this machine, so their CPU can be read from /proc)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuSampler(threading.Thread):
    """CPU seconds of groups of processes, sampled 4 times a second, to read the CPU a
    group used over any stretch of the run (the fleet's measured window)."""

    def __init__(self, groups: dict[str, list[int]]):
        super().__init__(daemon=True)
        self.groups = groups
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.done = threading.Event()

    def sample(self) -> None:
        used = {g: sum(cpu_seconds(p) for p in pids) for g, pids in self.groups.items()}
        self.samples.append((time.perf_counter(), used))

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.sample()

    def finish(self) -> None:
        self.done.set()
        self.join()
        self.sample()

    def used(self, group: str, start: float, end: float) -> float:
        """CPU seconds the group used between two moments (interpolated between samples)."""
        return self._at(group, end) - self._at(group, start)

    def _at(self, group: str, t: float) -> float:
        points = [(at, used[group]) for at, used in self.samples]
        before = [p for p in points if p[0] <= t] or points[:1]
        after = [p for p in points if p[0] >= t] or points[-1:]
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)


def measured(
    url: str, site: Site, opts: Options, groups: dict[str, list[int]], database: str
) -> dict[str, Any]:
    """Run the fleet against url; add the CPU each group used, the CPU per scan over the
    measured window and the devices' spread."""
    groups = groups | {"fleet": [os.getpid()]}
    meter = CpuMeter(groups)
    sampler = CpuSampler(groups)
    most: list[int] = []
    done = threading.Event()

    def watch() -> None:  # the spread when the most devices were connected
        nonlocal most
        while not done.wait(0.5):
            with contextlib.suppress(sqlite3.Error, psycopg.Error):
                now = spread(database)
                if sum(now) > sum(most):
                    most = now

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sampler.sample()
    sampler.start()
    meter.start()
    try:
        result = summary(run_fleet(site.devices, Options(**{**opts.__dict__, "url": url})))
    finally:
        ended = time.perf_counter()
        done.set()
        watcher.join()
        sampler.finish()
    # The measured window: the last `seconds` before the fleet returned (its disconnects in).
    start = ended - opts.seconds
    per_scan = {
        g: 1000 * sampler.used(g, start, ended) / result["scans"] if result["scans"] else 0.0
        for g in ("server", "database")
        if g in groups
    }
    return result | {"cpu": meter.stop(), "spread": most, "cpu_ms_per_scan": per_scan}


@contextlib.contextmanager
def site_copy(template: Site, work: Path, name: str) -> Iterator[Site]:
    data = work / name
    shutil.copytree(template.data_dir, data)
    try:
        yield Site(data, template.devices, template.orders)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _pg_url(admin: str, name: str) -> str:
    return admin.rpartition("/")[0] + "/" + name


def _pg_admin(admin: str, statement: sql.Composable) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


@contextlib.contextmanager
def pg_database(admin: str, template: str | None = None) -> Iterator[str]:
    """A new database on the PostgreSQL server of `admin` (a copy of `template` when given),
    dropped after; yields its URL."""
    name = f"bench_cluster_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    _pg_admin(admin, create)
    try:
        yield _pg_url(admin, name)
    finally:
        _pg_admin(
            admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass
class Seeded:
    """The site of one database, seeded once: the SQLite data dir, or the PostgreSQL template."""

    database: str  # "sqlite" or "postgresql"
    site: Site
    template_db: str | None = None  # the PostgreSQL template database's name


@contextlib.contextmanager
def row_site(
    seeded: Seeded, work: Path, name: str, admin: str
) -> Iterator[tuple[Site, str | None]]:
    """A fresh copy of the seeded site for one row: (the site, the database URL or None)."""
    if seeded.database == "sqlite":
        with site_copy(seeded.site, work, name) as site:
            yield site, None
        return
    data = work / name
    data.mkdir()
    try:
        with pg_database(admin, seeded.template_db) as url:
            yield Site(data, seeded.site.devices, seeded.site.orders), url
    finally:
        shutil.rmtree(data, ignore_errors=True)


def behind_nginx(
    seeded: Seeded, opts: Options, work: Path, processes: int, redis_url: str, admin: str
) -> dict[str, Any]:
    name = f"{seeded.database}-{processes}"
    with (
        row_site(seeded, work, f"data-{name}", admin) as (site, url),
        cluster.Cluster(
            data_dir=site.data_dir,
            redis_url=redis_url,
            processes=processes,
            database_url=url,
            port=cluster.free_port(),
            log_dir=work / f"logs-{name}",
        ) as running,
    ):
        groups = {
            "server": [s.proc.pid for s in running.servers if s.proc],
            "nginx": nginx_pids(running.nginx.pid) if running.nginx else [],
            "redis": redis_pids(redis_url),
        }
        if url:
            groups["database"] = pg_backends(url)
        database = url or str(site.data_dir / "scanfloor.db")
        return measured(running.url, site, opts, groups, database)


def errors(r: dict[str, Any]) -> str:
    """The errors a row's fleet saw, with their kinds."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted((r["error_kinds"] or {}).items()))
    return f"{r['errors']} ({kinds})" if kinds else str(r["errors"])


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        "| database, servers | scans/s | p50 ms | p99 ms | errors | devices per process "
        "| CPU ms per scan: servers (+ PostgreSQL) "
        "| CPU busy (cores): servers / PostgreSQL / nginx / Redis / fleet / other jobs |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for label, r in rows:
        cpu, per = r["cpu"], r["cpu_ms_per_scan"]
        per_scan = f"{per['server']:.2f}"
        if "database" in per:
            per_scan += f" (+ {per['database']:.2f} = {per['server'] + per['database']:.2f})"
        lines.append(
            f"| {label} | {r['scans_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{errors(r)} | {' + '.join(map(str, r['spread'])) or '?'} | {per_scan} | "
            f"{cpu['server']:.2f} / {cpu.get('database', 0.0):.2f} / {cpu.get('nginx', 0.0):.2f}"
            f" / {cpu.get('redis', 0.0):.2f} / {cpu['fleet']:.2f} / {cpu['others']:.2f} |"
        )
    return "\n".join(lines)


def section(rows: list[tuple[str, dict[str, Any]]], args: dict[str, Any], command: str) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command}` — run {datetime.date.today().isoformat()} on {machine()}.",
            "",
            f"One seeded site per database ({args['pickers']} pickers, {ORDERS_PER_PICKER} open "
            "orders per picker, carts planned; scripts/load/floorsite.py), copied fresh for each "
            "row (the SQLite data dir; the PostgreSQL database cloned from a template). The "
            f"same fleet (scripts/load/fleet.py, {args['pickers']} pickers flat out, one client "
            f"process) ran {args['seconds']:.0f} s after a {args['warmup']:.0f} s warm-up against "
            "`scanfloor serve-cluster` with 1 and with "
            f"{args['processes']} server processes (nginx in front, one worker, a private "
            "redis-server), on SQLite (`synchronous` as in config/server.toml) and on the "
            f"machine's PostgreSQL {args['pg_version']} (its own settings, `synchronous_commit` "
            f"{args['pg_sync']}). *CPU ms per scan* is the server processes' CPU over the "
            "measured window divided by the scans answered in it; on PostgreSQL the CPU of the "
            "database's backends for the site is added after it (on SQLite that work is inside "
            "the server processes). *CPU busy* is CPU seconds over the fleet's whole run "
            "(connect, warm-up, measure) divided by its wall time: 2.00 would be both cores, "
            "and the fleet client shares them.",
            "",
            f"**The machine is shared and noisy**: about nine engineers ran tests and benchmarks "
            f"on its 2 cores at the same time; its load average was {args['load']:.2f} when the "
            "run began, and *other jobs* below is the CPU they took during each row. Compare the "
            "rows with each other, with that column beside them, not with another machine.",
            "",
            table(rows),
            "",
        ]
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pickers", default=100, show_default=True)
@click.option("--processes", default=2, show_default=True, help="server processes, the 2nd row")
@click.option("--seconds", default=30.0, show_default=True, help="measured seconds per row")
@click.option("--warmup", default=2.0, show_default=True)
@click.option(
    "--databases",
    default="sqlite,postgresql",
    show_default=True,
    help="comma-separated: which stores to run (their rows side by side)",
)
@click.option(
    "--postgres",
    default=DEFAULT_POSTGRES,
    show_default=True,
    help="a PostgreSQL server's admin URL: the bench creates its databases there and drops them",
)
@click.option("--no-write", is_flag=True, help="do not touch docs/benchmarks.md")
def main(
    pickers: int,
    processes: int,
    seconds: float,
    warmup: float,
    databases: str,
    postgres: str,
    no_write: bool,
) -> None:
    """Run the same fleet against one server process and several, on SQLite and PostgreSQL."""
    for name, found in (
        ("nginx", cluster.find_binary(cluster.NGINX_CANDIDATES)),
        ("redis-server", cluster.find_binary(cluster.REDIS_CANDIDATES)),
    ):
        if found is None:
            raise click.ClickException(f"{name} is not installed (apt-get install -y {name})")
    chosen = [d.strip() for d in databases.split(",") if d.strip()]
    if not chosen or set(chosen) - {"sqlite", "postgresql"}:
        raise click.ClickException(f"--databases {databases!r}: sqlite and/or postgresql")
    opts = Options(url="", seconds=seconds, warmup=warmup)
    args = {"pickers": pickers, "processes": processes, "seconds": seconds, "warmup": warmup}
    args["load"], args["pg_version"], args["pg_sync"] = os.getloadavg()[0], "-", "-"
    if "postgresql" in chosen:
        try:
            with psycopg.connect(postgres, autocommit=True, connect_timeout=5) as conn:
                args["pg_version"] = conn.execute("SHOW server_version").fetchone()[0]
                args["pg_sync"] = conn.execute("SHOW synchronous_commit").fetchone()[0]
        except psycopg.Error as exc:
            raise click.ClickException(f"no PostgreSQL at {postgres}: {exc}") from None
    with (
        tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        seeded: list[Seeded] = []
        for database in chosen:
            t0 = time.perf_counter()
            url = None
            if database == "postgresql":
                url = stack.enter_context(pg_database(postgres))
            site = seed_site(
                work / f"template-{database}", pickers, 0, pickers * ORDERS_PER_PICKER, database=url
            )
            template = url.rpartition("/")[2] if url else None
            seeded.append(Seeded(database, site, template))
            print(
                f"seeded {site.orders} orders on {database} in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        rows: list[tuple[str, dict[str, Any]]] = []
        with cluster.private_redis(work / "redis") as redis_url:
            for s in seeded:
                for n in sorted({1, processes}):
                    label = f"{LABELS[s.database]}, {n} server process" + ("es" if n > 1 else "")
                    result = behind_nginx(s, opts, work, n, redis_url, postgres)
                    rows.append((label, result))
                    print(
                        f"{label}: {result['scans_per_s']:.0f} scans/s, "
                        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                        f"errors {errors(result)}, spread {result['spread']}, "
                        f"cpu ms/scan {result['cpu_ms_per_scan']}, cpu {result['cpu']}",
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
