"""Server CPU per scan at 200 flat out: process CPU time over scans answered.

Wall-clock figures (scans/s, p99) move with whatever else the machine runs; the CPU
time the server process spent per scan does much less, so it is the figure to compare
before and after a change of the scan path. The server's user + system time
(/proc/PID/stat) and its scan counter (/metrics) are sampled every half second while
the fleet (scripts/load/fleet.py) scans flat out; the figure is taken over the middle of
the run (the connect storm and the last second left out). The bare echo runs beside it
(one after the other) for the ratio. With `--profile FILE` py-spy records the server
over the same stretch (a flame graph if FILE ends in .svg, else collapsed stacks).

    .venv/bin/python -m scripts.cost.scancost                # 200 devices, 20 s, the echo too
    .venv/bin/python -m scripts.cost.scancost --devices 20 --no-echo
    .venv/bin/python -m scripts.cost.scancost --profile /tmp/scan.svg
    .venv/bin/python -m scripts.cost.scancost --code /work/main   # another checkout's server
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

from scripts.load.fleet import Options, run_fleet, summary
from scripts.load.floorload import serve_echo, serve_site

ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


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
    opts = Options(url="", seconds=seconds, warmup=3.0)
    per_picker = max(40, 3000 // devices)
    with serve_site(devices - packers, packers, per_picker, code=code) as (url, pid, site):
        opts.url = url
        started, idle_cpu = time.monotonic(), cpu_seconds(pid)
        time.sleep(3.0)  # the server alone: its idle CPU
        idle = (cpu_seconds(pid) - idle_cpu) / (time.monotonic() - started)
        sampler = Sampler(url, pid)
        sampler.start()
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
        if spy is not None:
            spy.wait(timeout=120)
    return result | sampler.per_scan(idle) | {"idle_cpu_share": idle}


def echo(devices: int, seconds: float) -> dict[str, Any]:
    with serve_echo() as (url, _pid):
        opts = Options(url=url, seconds=seconds, warmup=3.0)
        fleet = [(f"echo-{i:04d}", "echo-token-" + "x" * 12, "picker") for i in range(devices)]
        return summary(run_fleet(fleet, opts, 1))


@click.command()
@click.option("--devices", default=200, show_default=True)
@click.option("--seconds", default=20.0, show_default=True)
@click.option("--echo/--no-echo", "with_echo", default=True, show_default=True)
@click.option(
    "--profile", default=None, help="py-spy of the server: FILE.svg a flame graph, else raw stacks"
)
@click.option("--code", default=str(ROOT), help="the checkout whose server runs (e.g. /work/main)")
def main(devices: int, seconds: float, with_echo: bool, profile: str | None, code: str) -> None:
    """Print the server's CPU per scan, scans/s and p50/p99 (and the echo's)."""
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
