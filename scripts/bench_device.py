"""Benchmark the device client: time from start to ready-for-first-scan, and memory.

Each run seeds a fresh site (the demo's catalogue, device tokens and orders,
captured and allocated), starts the real server on a free loopback port, and
starts one picker as `python -m device.main` with a fake scanner driven by the
simulated worker (no think time). It measures:

- ready: from starting the process until `GET /api/devices/<name>` says
  connected (the server sends the device its current screen on connect, so a
  connected device holds its first state and takes the next scan);
- RSS (VmRSS from /proc/PID/status) when ready, and after the server has
  applied `--scans` of the device's scans (its peak, VmHWM, too).

Prints the runs and their medians and writes the `## Device client` section of
docs/benchmarks.md (other sections are left as they are).

    .venv/bin/python scripts/bench_device.py               # 5 runs, 500 scans each
    .venv/bin/python scripts/bench_device.py --runs 2 --scans 100 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from scripts.demo import procs, seed  # noqa: E402
from scripts.demo.run import _toml, seed_site  # noqa: E402
from server.capture import orders  # noqa: E402
from server.core.schemas import OrderIn  # noqa: E402
from server.inventory import allocate  # noqa: E402
from server.store import open_store  # noqa: E402

SECTION = "## Device client"


@dataclass
class Run:
    ready_s: float
    rss_ready_mb: float
    rss_after_mb: float
    hwm_after_mb: float
    scans: int
    scan_seconds: float


def proc_mb(pid: int, field: str) -> float:
    """A memory figure of a process from /proc/PID/status, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # reported in kB
    raise KeyError(field)


def seed_run(data: Path, orders_count: int, seed_value: int) -> tuple[str, dict]:
    """A fresh site with allocated orders; returns the API key and the first picker."""
    rng = random.Random(seed_value)
    api_key, devices = seed_site(data, rng, say=lambda *_: None)
    store = open_store(data / "scanfloor.db")
    try:
        for body in seed.orders(rng, orders_count):
            order_id, _ = orders.capture(store, OrderIn.model_validate(body))
            allocate.allocate_order(store, order_id)
    finally:
        store.close()
    picker = next(d for d in devices if d["role"] == "picker")
    return api_key, picker


def device_scans(session: requests.Session, base: str) -> int:
    """Scans the server has applied (one device runs, so all of them are its)."""
    return int(session.get(f"{base}/api/stats", timeout=5).json()["scans"])


def one_run(work: Path, n: int, scans: int, orders_count: int, timeout: float) -> Run:
    """Seed, start server and device, measure; everything is stopped at the end."""
    data = work / f"run{n}" / "data"
    api_key, picker = seed_run(data, orders_count, seed_value=1000 + n)
    port = procs.free_port()
    base = f"http://127.0.0.1:{port}"
    server = procs.start_server(data, port, work / f"run{n}" / "server.log")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    device = None
    try:
        cfg = {
            "name": picker["name"],
            "server": base,
            "token": picker["token"],
            "scanner": f"fake://{picker['name']}",
            "data_dir": str(work / f"run{n}" / "device"),
            "screen": "none",
            "simulate": {
                "enabled": True,
                "think_seconds": 0.0,
                "wrong_scan_rate": 0.05,
                "seed": n,
            },
        }
        config = work / f"run{n}" / "device.toml"
        config.write_text(_toml(cfg))
        log = (work / f"run{n}" / "device.log").open("ab")
        url = f"{base}/api/devices/{picker['name']}"
        start = time.perf_counter()
        device = subprocess.Popen(
            [sys.executable, "-m", "device.main", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        while True:
            if device.poll() is not None:
                raise RuntimeError(f"device exited with {device.returncode}: see {log.name}")
            if session.get(url, timeout=5).json().get("connected"):
                break
            if time.perf_counter() - start > timeout:
                raise TimeoutError("device did not connect")
            time.sleep(0.005)
        ready = time.perf_counter() - start
        rss_ready = proc_mb(device.pid, "VmRSS")

        begin, done = time.perf_counter(), 0
        last_change, last = begin, -1
        while done < scans:
            done = device_scans(session, base)
            now = time.perf_counter()
            if done != last:
                last, last_change = done, now
            elif now - last_change > 10:
                raise RuntimeError(f"no scans for 10 s after {done}: seed more orders")
            if device.poll() is not None:
                raise RuntimeError(f"device exited with {device.returncode}: see {log.name}")
            time.sleep(0.05)
        return Run(
            ready_s=ready,
            rss_ready_mb=rss_ready,
            rss_after_mb=proc_mb(device.pid, "VmRSS"),
            hwm_after_mb=proc_mb(device.pid, "VmHWM"),
            scans=done,
            scan_seconds=time.perf_counter() - begin,
        )
    finally:
        if device is not None:
            procs.stop(device)
        procs.stop(server)


def table(runs: list[Run]) -> str:
    """Markdown: each run, then the medians."""
    rows = [
        "| run | ready (s) | RSS ready (MiB) | scans | RSS after (MiB) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(runs, 1):
        rows.append(
            f"| {i} | {r.ready_s:.3f} | {r.rss_ready_mb:.1f} | {r.scans} | "
            f"{r.rss_after_mb:.1f} | {r.hwm_after_mb:.1f} |"
        )

    def med(attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    rows.append(
        f"| **median** | **{med('ready_s'):.3f}** | **{med('rss_ready_mb'):.1f}** | "
        f"{int(med('scans'))} | **{med('rss_after_mb'):.1f}** | {med('hwm_after_mb'):.1f} |"
    )
    return "\n".join(rows)


def section(runs: list[Run], args: argparse.Namespace, command: str) -> str:
    """The `## Device client` section of docs/benchmarks.md."""
    rate = statistics.median(r.scans / r.scan_seconds for r in runs)
    return "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command}` — run {datetime.date.today().isoformat()} on {machine()}.",
            "",
            f"{len(runs)} runs. Each seeds a fresh site ({args.orders} demo orders, captured "
            "and allocated), starts the real server on a free loopback port and one picker "
            "as `python -m device.main` with a fake scanner driven by the simulated worker "
            "(no think time, 5% wrong scans). *Ready* is the time from starting the process "
            "until `GET /api/devices/<name>` reports it connected: on connect the server "
            "sends the device its current screen, so it holds its first state and takes "
            "the next scan. RSS is VmRSS from /proc/PID/status when ready and once the "
            f"server has applied {args.scans} of its scans; peak is VmHWM. The device and "
            "the server share the machine's cores.",
            "",
            table(runs),
            "",
            f"Scans went through at a median {rate:.0f} per second (scan, journal, "
            "acknowledgement, next screen, one at a time).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scans", type=int, default=500)
    parser.add_argument("--orders", type=int, default=300, help="orders seeded per run")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for ready")
    parser.add_argument("--out", type=Path, help="keep logs and data here (default: a tmp dir)")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-device-") as tmp:
        work = args.out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        runs = []
        for n in range(1, args.runs + 1):
            run = one_run(work, n, args.scans, args.orders, args.timeout)
            runs.append(run)
            print(
                f"run {n}: ready {run.ready_s:.3f} s, RSS {run.rss_ready_mb:.1f} MiB; "
                f"after {run.scans} scans ({run.scan_seconds:.1f} s) RSS "
                f"{run.rss_after_mb:.1f} MiB, peak {run.hwm_after_mb:.1f} MiB",
                flush=True,
            )
    print()
    print(table(runs))
    command = "python scripts/bench_device.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(argv or sys.argv[1:])
    )
    if not args.no_write:
        write_section(BENCHMARKS_MD, SECTION, section(runs, args, command))
        print(f"\nwrote the {SECTION!r} section of docs/benchmarks.md")
    print(json.dumps({"median_ready_s": statistics.median(r.ready_s for r in runs)}))


if __name__ == "__main__":
    main()
