"""Server CPU per scan at 200 flat out: process CPU time over scans answered.

Wall-clock figures (scans/s, p99) move with whatever else the machine runs; the CPU
time the server process spent per scan does much less, so it is the figure to compare
before and after a change of the scan path. The server's user + system time
(/proc/PID/stat) and its scan counter (/metrics) are sampled every half second while
the fleet (scripts/load/fleet.py) scans flat out; the figure is taken over the middle of
the run (the connect storm and the last second left out). The bare echo runs beside it
(one after the other) for the ratio. With `--profile FILE` py-spy records the server
over the same stretch (a flame graph if FILE ends in .svg, else collapsed stacks).

`--rounds N` alternates the two N times and adds where the CPU goes for each: the server's
per answer, the worker's beside it (the server's child processes), and the fleet's own
(this process: the fleet runs in it) over the fleet's measured window; then what issue 14's
0.70x of the echo's rate would take of the machine's cores. `--write` puts that into
docs/benchmarks.md (*200 flat out: the CPU budget*).

    .venv/bin/python -m scripts.cost.scancost                # 200 devices, 20 s, the echo too
    .venv/bin/python -m scripts.cost.scancost --devices 20 --no-echo
    .venv/bin/python -m scripts.cost.scancost --profile /tmp/scan.svg
    .venv/bin/python -m scripts.cost.scancost --code /work/main   # another checkout's server
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section
from scripts.load.fleet import Options, run_fleet, summary
from scripts.load.floorload import serve_echo, serve_site

ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")
BUDGET_SECTION = "## 200 flat out: the CPU budget"
TARGET_RATIO = 0.70  # issue 14: scanfloor's scans/s at least this share of the echo's
CORES = len(os.sched_getaffinity(0))
WARMUP = 3.0  # seconds of the fleet's run before its measured window


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """A process's child processes (the server's worker)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


class Window(threading.Thread):
    """CPU seconds of the server, of its children and of this process (the fleet), taken
    at the start and the end of the fleet's measured window (after its warm-up)."""

    def __init__(self, pid: int, warmup: float, seconds: float):
        super().__init__(daemon=True)
        self.pid, self.warmup, self.seconds = pid, warmup, seconds
        self.marks: list[tuple[float, float, dict[int, float], float]] = []

    def _mark(self) -> None:
        kids = {}
        for k in children(self.pid):
            try:
                kids[k] = cpu_seconds(k)
            except OSError:
                continue
        own = resource.getrusage(resource.RUSAGE_SELF)
        self.marks.append(
            (time.monotonic(), cpu_seconds(self.pid), kids, own.ru_utime + own.ru_stime)
        )

    def run(self) -> None:
        time.sleep(self.warmup + 0.25)
        self._mark()
        time.sleep(self.seconds - 0.5)
        self._mark()

    def shares(self) -> dict[str, float]:
        """Cores busy over the window: the server, its children, the fleet."""
        (t0, s0, k0, f0), (t1, s1, k1, f1) = self.marks
        wall = t1 - t0
        kids = sum(v - k0[k] for k, v in k1.items() if k in k0)
        return {
            "server_cores": (s1 - s0) / wall,
            "worker_cores": kids / wall,
            "fleet_cores": (f1 - f0) / wall,
        }


def per_answer(shares: dict[str, float], rate: float) -> dict[str, float]:
    """The cores busy as CPU ms per answer at `rate` answers a second."""
    return {k.replace("_cores", "_ms"): 1000 * v / rate if rate else float("nan") for k, v in shares.items()}  # fmt: skip


def scans_answered(url: str) -> float:
    """The server's scan counter (/metrics)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("scanfloor_scan_seconds_count"):
            return float(line.split()[-1])
    return 0.0


class Sampler(threading.Thread):
    """(time, CPU seconds, scans) of the server every half second until stopped."""

    def __init__(self, url: str, pid: int):
        super().__init__(daemon=True)
        self.url, self.pid = url, pid
        self.samples: list[tuple[float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                self.samples.append(
                    (time.monotonic(), cpu_seconds(self.pid), scans_answered(self.url))
                )
            except OSError:
                return

    def per_scan(self, idle: float = 0.0) -> dict[str, float]:
        """CPU ms per scan and scans/s over the samples after the first scans, less the last."""
        busy = [s for s in self.samples if s[2] > 0]
        if len(busy) < 6:  # too few scans answered to say (a machine too loaded)
            nan = float("nan")
            return {
                "cpu_ms_per_scan": nan,
                "net_cpu_ms_per_scan": nan,
                "server_scans_per_s": 0.0,
                "cpu_share": 0.0,
            }
        lo, hi = busy[len(busy) // 4], busy[-2]
        scans = hi[2] - lo[2]
        cpu = hi[1] - lo[1]
        wall = hi[0] - lo[0]
        return {
            "cpu_ms_per_scan": 1000 * cpu / scans if scans else float("nan"),
            # Less what the server burns with no device at all (probe, watchers): on a
            # machine so loaded that the fleet scans slowly, that share would count double.
            "net_cpu_ms_per_scan": 1000 * (cpu - idle * wall) / scans if scans else float("nan"),
            "server_scans_per_s": scans / wall,
            "cpu_share": cpu / wall,  # of one core
        }


def measure(devices: int, seconds: float, profile: str | None, code: Path = ROOT) -> dict[str, Any]:
    """The fleet flat out against a fresh site, the server's CPU sampled meanwhile."""
    packers = max(1, devices // 10)
    opts = Options(url="", seconds=seconds, warmup=WARMUP)
    per_picker = max(40, 3000 // devices)
    with serve_site(devices - packers, packers, per_picker, code=code) as (url, pid, site):
        opts.url = url
        started, idle_cpu = time.monotonic(), cpu_seconds(pid)
        time.sleep(3.0)  # the server alone: its idle CPU
        idle = (cpu_seconds(pid) - idle_cpu) / (time.monotonic() - started)
        sampler = Sampler(url, pid)
        sampler.start()
        window = Window(pid, opts.warmup, seconds)
        window.start()
        spy = None
        if profile:
            cmd = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-p", str(pid)]
            cmd += ["-d", str(int(seconds)), "-o", profile, "--nonblocking"]
            if not profile.endswith(".svg"):
                cmd += ["-f", "raw"]  # collapsed stacks: one line per stack, for reading
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = summary(run_fleet(site.devices, opts, 1))
        sampler.done.set()
        sampler.join()
        window.join()
        if spy is not None:
            spy.wait(timeout=120)
    shares = window.shares()
    return (
        result
        | sampler.per_scan(idle)
        | {"idle_cpu_share": idle}
        | shares
        | per_answer(shares, result["scans_per_s"])
    )


def echo(devices: int, seconds: float) -> dict[str, Any]:
    """The fleet against the bare echo, the CPU of both over its measured window."""
    with serve_echo() as (url, pid):
        opts = Options(url=url, seconds=seconds, warmup=WARMUP)
        fleet = [(f"echo-{i:04d}", "echo-token-" + "x" * 12, "picker") for i in range(devices)]
        window = Window(pid, opts.warmup, seconds)
        window.start()
        result = summary(run_fleet(fleet, opts, 1))
        window.join()
    shares = window.shares()
    return result | shares | per_answer(shares, result["scans_per_s"])


def budget(ours: list[dict[str, Any]], echoes: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over the rounds, and what 0.70x of the echo's rate would take."""
    med = statistics.median
    rate = TARGET_RATIO * med([e["scans_per_s"] for e in echoes])
    server, fleet = med([o["server_ms"] for o in ours]), med([o["fleet_ms"] for o in ours])
    worker = med([o["worker_cores"] for o in ours])
    return {
        "target_rate": rate,
        # One serving process answers on one core: at most this many scans a second.
        "one_process_max": 1000 / server,
        "server_ms_needed_one_process": 1000 / rate,
        # Every core the machine has, the fleet and the worker beside the servers.
        "cores_needed": rate * (server + fleet) / 1000 + worker,
        "server_ms_needed_all_cores": 1000 * (CORES - worker - rate * fleet / 1000) / rate,
        "server_ms": server,
        "fleet_ms": fleet,
        "worker_cores": worker,
        "echo_server_ms": med([e["server_ms"] for e in echoes]),
        "echo_fleet_ms": med([e["fleet_ms"] for e in echoes]),
    }


def budget_report(
    ours: list[dict[str, Any]], echoes: list[dict[str, Any]], devices: int, command: str
) -> str:
    """The section of docs/benchmarks.md: each round, then the budget."""
    b = budget(ours, echoes)
    lines = [
        BUDGET_SECTION,
        "",
        f"Command: `{command}` — run {time.strftime('%Y-%m-%d %H:%M')} UTC on {machine()}.",
        "",
        f"{devices} devices flat out, a fresh site each round (scanfloor: {devices // 10} of "
        "them pack stations), the bare echo after it, alternated. The CPU columns are CPU ms "
        "per answer over the fleet's measured window: the serving process's, the worker's "
        "(its child process: planning carts), and the fleet's own (the load generator, one "
        "process on the same machine).",
        "",
        "| round | server | scans/s | p99 ms | server CPU ms | worker cores | fleet CPU ms |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, (o, e) in enumerate(zip(ours, echoes, strict=True), 1):
        lines.append(
            f"| {i} | scanfloor | {o['scans_per_s']:,.0f} | {o['p99_ms']:.0f} | "
            f"{o['server_ms']:.3f} | {o['worker_cores']:.2f} | {o['fleet_ms']:.3f} |"
        )
        lines.append(
            f"| {i} | echo | {e['scans_per_s']:,.0f} | {e['p99_ms']:.0f} | "
            f"{e['server_ms']:.3f} | — | {e['fleet_ms']:.3f} |"
        )
    lines += [
        "",
        f"Medians: scanfloor's server {b['server_ms']:.3f} ms of CPU per scan against the "
        f"echo's {b['echo_server_ms']:.3f} ms per reply; the fleet {b['fleet_ms']:.3f} ms per "
        f"scan against {b['echo_fleet_ms']:.3f} ms per echo (a scan's reply carries the next "
        f"screen); the worker {b['worker_cores']:.2f} of a core.",
        "",
        f"What {TARGET_RATIO:.2f}x of the echo's rate asks, {b['target_rate']:,.0f} scans/s:",
        "",
        f"- **One serving process** answers on one core, so at most {b['one_process_max']:,.0f} "
        f"scans/s at {b['server_ms']:.3f} ms each. The target needs "
        f"{b['server_ms_needed_one_process']:.3f} ms or less per scan, everything included; "
        f"the echo's reply alone (Socket.IO in, an ack out, nothing stored) is "
        f"{b['echo_server_ms']:.3f} ms of it.",
        f"- **Every core** ({CORES}), serving processes added until the cores run out: the "
        f"fleet and the worker beside them, the scans would take {b['cores_needed']:.2f} cores. "
        f"To fit, a scan could cost the servers at most {b['server_ms_needed_all_cores']:.3f} ms "
        "(before what several processes add: nginx in front, Redis between them).",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--devices", default=200, show_default=True)
@click.option("--seconds", default=20.0, show_default=True)
@click.option("--echo/--no-echo", "with_echo", default=True, show_default=True)
@click.option(
    "--profile", default=None, help="py-spy of the server: FILE.svg a flame graph, else raw stacks"
)
@click.option("--code", default=str(ROOT), help="the checkout whose server runs (e.g. /work/main)")
@click.option(
    "--rounds", default=0, help="alternate scanfloor and the echo this many times: the CPU budget"
)
@click.option(
    "--write", is_flag=True, help="with --rounds: write the budget into docs/benchmarks.md"
)
def main(
    devices: int,
    seconds: float,
    with_echo: bool,
    profile: str | None,
    code: str,
    rounds: int,
    write: bool,
) -> None:
    """Print the server's CPU per scan, scans/s and p50/p99 (and the echo's)."""
    if rounds:
        ours, echoes = [], []
        for i in range(rounds):
            ours.append(measure(devices, seconds, None, Path(code)))
            echoes.append(echo(devices, seconds))
            print(f"round {i + 1}: scanfloor {ours[-1]['scans_per_s']:.0f}/s, echo "
                  f"{echoes[-1]['scans_per_s']:.0f}/s", flush=True)  # fmt: skip
        command = f"python -m scripts.cost.scancost --rounds {rounds} --seconds {seconds:g}"
        text = budget_report(ours, echoes, devices, command + (" --write" if write else ""))
        print(text)
        if write:
            write_section(BENCHMARKS_MD, BUDGET_SECTION, text)
        return
    got = measure(devices, seconds, profile, Path(code))
    line = (
        f"scanfloor {devices} flat out: {got['cpu_ms_per_scan']:.2f} ms CPU/scan "
        f"({got['net_cpu_ms_per_scan']:.2f} less idle), {got['cpu_share']:.0%} of a core "
        f"(idle {got['idle_cpu_share']:.1%}), {got['scans_per_s']:.0f} scans/s, "
        f"p50 {got['p50_ms']:.0f} ms, p99 {got['p99_ms']:.0f} ms, errors {got['errors']}"
    )
    print(line, flush=True)
    if with_echo:
        e = echo(devices, seconds)
        ratio = got["scans_per_s"] / e["scans_per_s"] if e["scans_per_s"] else 0.0
        print(
            f"echo {devices}: {e['scans_per_s']:.0f}/s, p50 {e['p50_ms']:.0f} ms, "
            f"p99 {e['p99_ms']:.0f} ms; scanfloor/echo {ratio:.2f}x, "
            f"p99 {got['p99_ms'] / max(e['p99_ms'], 1e-9):.1f}x"
        )


if __name__ == "__main__":
    main()
