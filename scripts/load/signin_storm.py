"""The sign-in storm side by side: what a connect costs on two versions of the server.

    .venv/bin/python -m scripts.load.signin_storm --devices 500 --rounds 2 --compare main storm

One seeded site (nine pickers to a packer, four open orders per picker, carts
planned), copied fresh for each run. Each run starts the real server on that copy,
connects every handheld at once (the fleet of scripts/load/fleet.py, one scan per
5 s each from the first screen, every scan counted) and, while it runs:

- samples the server's CPU from /proc every 50 ms: the CPU from the storm's start
  (the first 50 ms in which the server used 20 ms or more) to the moment the last
  handheld had its screen, divided by the handhelds (scans made in the storm included);
- records py-spy (200 Hz) on the server: the samples in the connect's own frames
  (`on_connect`, the connect's write `_link_up`, the welcome that sends the first
  screen, the engine's handshake), at 5 ms each, divided by the handhelds.

Runs alternate between the refs (git refs, or `.` for this checkout) so both meet
the same machine load. Prints one JSON line per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from scripts.load import floorfeel
from scripts.load.fleet import Options, run_fleet, summary
from scripts.load.floorload import serve_site

TICK = os.sysconf("SC_CLK_TCK")
RATE = 200  # py-spy samples per second
# Frames that are the connect's own work in python-socketio and this server: the
# Socket.IO connect (which calls on_connect), the connect's write (in the group commit's
# writer) and the welcome that sends the first screen. The engine.io handshake and the
# websocket upgrade are left out: the same library code on both versions.
CONNECT_FRAMES = (
    "DeviceNamespace.on_connect (",
    "DeviceNamespace._link_up (",
    "DeviceNamespace._welcome (",
    "Server._handle_eio_connect (",
    "Server._handle_connect (",
)


def _connect_frame(frame: str) -> bool:
    if frame.startswith("Server._handle_connect (") and "socketio/server.py" not in frame:
        return False  # engine.io's, which holds a websocket link's whole life
    return frame.startswith(CONNECT_FRAMES)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def connect_samples(raw: Path) -> tuple[int, int, Counter]:
    """(samples in the connect's frames, samples on the loop, top frames under the connect)."""
    inside = loop = 0
    under: Counter = Counter()
    if not raw.exists():
        return 0, 0, under
    for line in raw.read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        if "_WorkerGreenlet.run" in stack:  # gevent's thread pool (fsync, checkpoints)
            continue
        loop += int(n)
        frames = stack.split(";")
        at = next((i for i, f in enumerate(frames) if _connect_frame(f)), None)
        if at is None:
            continue
        inside += int(n)
        under[";".join(f.split(" (")[0] for f in frames[at : at + 3])] += int(n)
    return inside, loop, under


def storm_run(template: Any, code: Path, seconds: float, spy_to: Path) -> dict[str, Any]:
    devices = template.devices
    opts = Options(url="", seconds=seconds, think=5.0, from_first=True, connect_timeout=90)
    with serve_site(0, template=template, code=code) as (url, pid, site):
        opts.url = url
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.perf_counter(), cpu_seconds(pid)))
                time.sleep(0.05)

        spy = subprocess.Popen(
            [shutil.which("py-spy") or str(Path(os.sys.executable).parent / "py-spy"),
             "record", "--pid", str(pid), "-d", str(int(seconds)), "-r", str(RATE),
             "-f", "raw", "-o", str(spy_to), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        tally = run_fleet(site.devices, opts, 2)
        done.set()
        watcher.join()
        spy.wait()
    s = summary(tally)
    start = next(
        (i for i in range(1, len(samples)) if samples[i][1] - samples[i - 1][1] >= 0.02), 1
    )
    t0, c0 = samples[start - 1]
    up = s["all_connected_s"]
    cpu = None
    if up is not None:
        cpu = next((c for t, c in samples if t - t0 >= up), samples[-1][1]) - c0
    inside, loop, under = connect_samples(spy_to)
    return {
        "handhelds": len(devices),
        "all_connected_s": up,
        "cpu_to_all_connected_s": cpu,
        "cpu_per_connect_ms_proc": None if cpu is None else 1000 * cpu / len(devices),
        "cpu_per_connect_ms_profile": 1000 * inside / RATE / len(devices),
        "connect_share_of_loop": inside / loop if loop else None,
        "connect_top": under.most_common(6),
        "scans": s["scans"],
        "p50_ms": s["p50_ms"],
        "p99_ms": s["p99_ms"],
        "p99_per_10s_ms": [round(w["p99_ms"]) for w in s["windows"]],
        "errors": s["errors"],
    }


@click.command()
@click.option("--devices", default=500, show_default=True, help="handhelds signing in at once")
@click.option("--seconds", default=20.0, show_default=True, help="length of each run")
@click.option("--rounds", default=2, show_default=True, help="runs per version")
@click.option("--compare", "refs", multiple=True, default=("main", "."), show_default=True)
@click.option("--out", default="/tmp/signin-storm", show_default=True, help="py-spy files")
def main(devices: int, seconds: float, rounds: int, refs: tuple[str, ...], out: str) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scanfloor-storm-") as tmp:
        template = floorfeel.seed_template(Path(tmp), devices, 4)
        with contextlib.ExitStack() as stack:
            codes = {
                r: stack.enter_context(floorfeel.code_of(None if r == "." else r)) for r in refs
            }
            for n in range(rounds):
                for ref in refs:
                    spy_to = Path(out) / f"{ref.replace('/', '_')}-{n + 1}.txt"
                    res = storm_run(template, codes[ref], seconds, spy_to)
                    print(json.dumps({"code": ref, "round": n + 1, **res}), flush=True)


if __name__ == "__main__":
    main()
