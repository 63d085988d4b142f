"""Fleet simulator: many handhelds and pack stations on one server, through the documented protocol.

Each simulated device is a python-socketio asyncio client on `/device`, as
docs/protocol.md describes it: it connects with its token and last seen seq,
draws the `state` it is sent, scans what the screen asks (now and then the
wrong thing), reports `seen` for every event, prints every `print` job at
once and reports `print_result`, and scans the label back. Pickers work their
lists to the end and take the next; packers pack what the pickers bring.

    .venv/bin/python scripts/load/fleet.py --url http://127.0.0.1:8800 --tokens tokens.csv --seconds 30
    .venv/bin/python scripts/load/fleet.py --serve --pickers 200 --packers 20 --seconds 20
    .venv/bin/python scripts/load/fleet.py --serve --pickers 1000 --think 5 --procs 2

`--tokens` takes what `scanfloor device add --count N --prefix P` prints (CSV
or JSON). `--serve` seeds a fresh site (scripts/load/floorsite.py) in a temporary
folder and runs the real server on a free loopback port for the run. The run
prints connect time, scan round trip p50/p90/p99/max, scans/s, lists done,
labels, errors and the server's RSS (with `--server-pid`, or `--serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import io
import itertools
import json
import multiprocessing
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import socketio

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is in scripts/load/)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from device.sim.chooser import ScanChooser  # noqa: E402
from shared.protocol import DEVICE_NAMESPACE as NS  # noqa: E402
from shared.protocol import PROTOCOL_VERSION  # noqa: E402

SCAN_TIMEOUT = 30.0  # a scan with no answer by then counts as an error


@dataclass
class Options:
    """How the fleet works: pacing, wrong scans, how long, where."""

    url: str
    seconds: float = 20.0
    warmup: float = 2.0  # scans answered before this (after all connected) are not counted
    think: float = 0.0  # mean seconds between a worker's scans (0: flat out)
    wrong_rate: float = 0.0
    ramp: float = 0.0  # spread the connects over this many seconds (0: all at once)
    connect_timeout: float = 60.0
    seed: int = 1
    # True: each device starts scanning as soon as it has its screen, and every scan counts
    # from the first (the sign-in storm included); `seconds` then runs from the first connect.
    from_first: bool = False


@dataclass
class Tally:
    """What one process's devices measured; merged across processes."""

    rtt_ms: list[float] = field(default_factory=list)
    rtt_at: list[float] = field(default_factory=list)  # when each counted scan was answered (s)
    connect_s: list[float] = field(default_factory=list)
    scans: int = 0
    wrong: int = 0
    lists_done: int = 0
    labels: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    window_s: float = 0.0
    all_connected_s: float | None = None
    devices: int = 0
    # The fleet's own loop lateness (its probe wakes every 10 ms): how much of a round trip
    # may be the load generator's, not the server's.
    fleet_lag_max_ms: float = 0.0
    fleet_lag_windows: dict[int, float] = field(default_factory=dict)  # 10 s window -> worst ms

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def merge(self, other: dict[str, Any]) -> None:
        self.rtt_ms += other["rtt_ms"]
        self.rtt_at += other["rtt_at"]
        self.connect_s += other["connect_s"]
        for key in ("scans", "wrong", "lists_done", "labels", "errors", "devices"):
            setattr(self, key, getattr(self, key) + other[key])
        for kind, n in other["error_kinds"].items():
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + n
        self.window_s = max(self.window_s, other["window_s"])
        self.fleet_lag_max_ms = max(self.fleet_lag_max_ms, other["fleet_lag_max_ms"])
        for k, ms in other["fleet_lag_windows"].items():
            self.fleet_lag_windows[int(k)] = max(self.fleet_lag_windows.get(int(k), 0.0), ms)
        times = [t for t in (self.all_connected_s, other["all_connected_s"]) if t is not None]
        self.all_connected_s = max(times) if times else None


class SimDevice:
    """One handheld or pack station: connect, follow the screen, scan, print."""

    def __init__(self, name: str, token: str, role: str, opts: Options, tally: Tally, n: int):
        self.started = time.perf_counter()  # the run's start: answers are placed from it
        self.name, self.token, self.role = name, token, role
        self.opts, self.tally = opts, tally
        self.rng = random.Random(f"{opts.seed}-{name}")
        # Totes TOTE-<n*1000+k>: unique per device, within the 8 digits a tote barcode has.
        self.chooser = ScanChooser(self.rng, opts.wrong_rate, tote_base=n * 1000)
        self.state: dict | None = None  # the DeviceState as sent (read, not re-validated)
        self.state_seq = 0  # the event seq the current state is as new as
        self.last_seq = 0
        self.printed: set[str] = set()
        self.changed = asyncio.Event()
        self.ids = itertools.count(1)
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5)
        self.sio.on("state", self._on_state, namespace=NS)
        self.sio.on("print", self._on_print, namespace=NS)
        self.connected_at: float | None = None
        self.closing = False

    def _id(self, kind: str) -> str:
        return f"{kind}-{self.name}-{next(self.ids)}"

    def _auth(self) -> dict[str, Any]:
        return {"token": self.token, "last_seen_seq": self.last_seq, "protocol": PROTOCOL_VERSION}

    async def connect(self, started: float) -> None:
        await self.sio.connect(
            self.opts.url,
            namespaces=[NS],
            transports=["websocket"],
            auth=self._auth,
            wait_timeout=self.opts.connect_timeout,
            retry=True,
        )

        async def first_screen() -> None:
            while self.state is None:
                await self.changed.wait()
                self.changed.clear()

        # A link the server dropped before its first screen would leave the shard waiting
        # forever (seen under load): count it as a failed connect instead.
        await asyncio.wait_for(first_screen(), self.opts.connect_timeout)
        self.connected_at = time.perf_counter() - started

    def _seen(self, seq: int) -> None:
        if seq > self.last_seq:
            self.last_seq = seq
            asyncio.ensure_future(self._emit_seen(seq))

    async def _emit_seen(self, seq: int) -> None:
        try:
            await self.sio.emit("seen", {"id": self._id("n"), "seq": seq}, namespace=NS)
        except Exception:  # fire and forget, as the protocol allows: a replay comes later
            if not self.closing:
                self.tally.error("seen_lost")

    async def _on_state(self, data: dict) -> None:
        seq = data["seq"]
        if seq > self.state_seq:  # a reply may have brought a newer screen already
            self.state = data["state"]
            self.state_seq = seq
            self.changed.set()
        self._seen(seq)

    async def _on_print(self, data: dict) -> None:
        # A fleet printer prints at once and always works.
        try:
            ack = await self.sio.call(
                "print_result",
                {"id": self._id("p"), "job_id": data["job_id"], "ok": True},
                namespace=NS,
                timeout=SCAN_TIMEOUT,
            )
            if not ack.get("ok"):
                self.tally.error("print_result_refused")
        except Exception:
            self.tally.error("print_result_failed")
        self.printed.add(data["order_id"])
        self._seen(data["seq"])
        self.changed.set()

    async def work(self, count_from: float, stop_at: float) -> None:
        """Scan what each screen asks until stop_at."""
        if self.opts.think:  # paced workers start out of step with each other
            await asyncio.sleep(self.rng.uniform(0, self.opts.think))
        while time.perf_counter() < stop_at:
            barcode = self._choose()
            if barcode is None:
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.changed.wait(), max(0.01, stop_at - time.perf_counter())
                    )
                continue
            await self.scan(barcode, counted=time.perf_counter() >= count_from)
            if self.opts.think:
                await asyncio.sleep(self.rng.expovariate(1 / self.opts.think))

    def _choose(self) -> str | None:
        state = self.state
        if state is None:
            return None
        return self.chooser.choose(
            state["screen"],
            state["expect"]["barcodes"],
            state.get("order_id"),
            lambda: self.printed,
        )

    async def scan(self, barcode: str, counted: bool) -> None:
        msg = {"id": self._id("s"), "barcode": barcode, "at": time.time()}
        t0 = time.perf_counter()
        try:
            reply = await self.sio.call("scan", msg, namespace=NS, timeout=SCAN_TIMEOUT)
        except Exception as exc:
            self.tally.error(f"scan_{type(exc).__name__}")
            await asyncio.sleep(0.5)
            return
        rtt = (time.perf_counter() - t0) * 1000
        if "state" not in reply:
            self.tally.error(f"scan_refused_{reply.get('error', {}).get('code')}")
            return
        if counted:
            self.tally.rtt_ms.append(rtt)
            self.tally.rtt_at.append(time.perf_counter() - self.started)
            self.tally.scans += 1
            self.tally.wrong += not reply["ok"]
            self.tally.lists_done += reply["code"] == "list_done"
            self.tally.labels += reply["code"] == "label_ok"
        # Events at or below event_seq are older than this reply's screen.
        if reply.get("event_seq") is None or reply["event_seq"] >= self.state_seq:
            self.state = reply["state"]
            self.state_seq = reply.get("event_seq") or self.state_seq

    async def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):  # a timeout too: a hung link must not hold the run
            await asyncio.wait_for(self.sio.disconnect(), 10)


LAG_PROBE_S = 0.01


async def _probe_lag(tally: Tally, started: float) -> None:
    """Record how late the fleet's own loop wakes: a late fleet inflates every round trip."""
    windows = tally.fleet_lag_windows
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(LAG_PROBE_S)
        t1 = time.perf_counter()
        late = (t1 - t0 - LAG_PROBE_S) * 1000
        tally.fleet_lag_max_ms = max(tally.fleet_lag_max_ms, late)
        k = int((t1 - started) // 10)
        windows[k] = max(windows.get(k, 0.0), late)


@contextlib.contextmanager
def collector_off() -> Any:
    """No garbage collection in the fleet while it runs, and what start-up made set aside.

    Real handhelds do not share one collector: a full collection in a fleet process (100-280 ms
    with 500 simulated devices in it, measured) would stop 500 devices at once and count as the
    server's latency. A run lasts minutes and its garbage is freed by reference counting; the
    cycles it leaves are collected when the run ends.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
        gc.collect()


async def run_devices(devices: list[tuple[str, str, str]], opts: Options, offset: int = 0) -> Tally:
    """Connect every device (at once, or over the ramp), work for opts.seconds, disconnect."""
    tally = Tally(devices=len(devices))
    probe = asyncio.ensure_future(_probe_lag(tally, time.perf_counter()))
    try:
        return await _run_devices(devices, opts, offset, tally)
    finally:
        probe.cancel()


async def _run_devices(
    devices: list[tuple[str, str, str]], opts: Options, offset: int, tally: Tally
) -> Tally:
    sims = [SimDevice(n, t, r, opts, tally, offset + i) for i, (n, t, r) in enumerate(devices)]
    started = time.perf_counter()
    for sim in sims:
        sim.started = started
    if opts.from_first:
        return await _run_from_first(sims, opts, tally, started)

    async def connect(i: int, sim: SimDevice) -> None:
        if opts.ramp:
            await asyncio.sleep(opts.ramp * i / max(1, len(sims)))
        try:
            await sim.connect(started)
        except Exception as exc:
            tally.error(f"connect_{type(exc).__name__}")

    await asyncio.gather(*(connect(i, s) for i, s in enumerate(sims)))
    up = [s for s in sims if s.connected_at is not None]
    tally.connect_s = [s.connected_at for s in up]
    tally.all_connected_s = max(tally.connect_s) if len(up) == len(sims) else None
    count_from = time.perf_counter() + opts.warmup
    stop_at = count_from + opts.seconds
    await asyncio.gather(*(s.work(count_from, stop_at) for s in up))
    tally.window_s = opts.seconds
    await asyncio.gather(*(s.close() for s in sims))
    return tally


async def _run_from_first(
    sims: list[SimDevice], opts: Options, tally: Tally, started: float
) -> Tally:
    """Every device connects at once and scans as soon as it has its screen; all counted."""
    stop_at = started + opts.seconds

    async def one(i: int, sim: SimDevice) -> None:
        if opts.ramp:
            await asyncio.sleep(opts.ramp * i / max(1, len(sims)))
        try:
            await sim.connect(started)
        except Exception as exc:
            tally.error(f"connect_{type(exc).__name__}: {exc}"[:80])
            return
        await sim.work(started, stop_at)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(sims)))
    up = [s for s in sims if s.connected_at is not None]
    tally.connect_s = [s.connected_at for s in up]
    tally.all_connected_s = max(tally.connect_s) if len(up) == len(sims) else None
    tally.window_s = opts.seconds
    await asyncio.gather(*(s.close() for s in sims))
    return tally


def windows(tally: Tally, width: float = 10.0) -> list[dict[str, float]]:
    """Scans and p99 per `width` seconds of the run, by when each answer came."""
    buckets: dict[int, list[float]] = {}
    for at, rtt in zip(tally.rtt_at, tally.rtt_ms, strict=True):
        buckets.setdefault(int(at // width), []).append(rtt)
    return [
        {"from_s": k * width, "scans": len(v), "p99_ms": percentile(v, 99)}
        for k, v in sorted(buckets.items())
    ]


def _run_shard(args: tuple[list[tuple[str, str, str]], Options, int]) -> dict[str, Any]:
    devices, opts, offset = args
    with collector_off():
        return asyncio.run(run_devices(devices, opts, offset)).__dict__


def run_fleet(devices: list[tuple[str, str, str]], opts: Options, procs: int = 1) -> Tally:
    """Run the fleet in one process, or split over `procs` processes and merge what they saw."""
    if procs <= 1:
        with collector_off():
            return asyncio.run(run_devices(devices, opts))
    shards = [(devices[i::procs], opts, i * len(devices)) for i in range(procs)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        results = pool.map(_run_shard, shards)
    tally = Tally()
    for r in results:
        tally.merge(r)
    return tally


def read_tokens(path: Path) -> list[tuple[str, str, str]]:
    """Devices from `scanfloor device add --count` output: CSV (name,token,role) or JSON."""
    text = path.read_text()
    if text.lstrip().startswith("["):
        return [(d["name"], d["token"], d["role"]) for d in json.loads(text)]
    return [(r["name"], r["token"], r["role"]) for r in csv.DictReader(io.StringIO(text))]


def rss_mib(pid: int) -> dict[str, float]:
    """A process's resident memory now and at its peak, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(tally: Tally) -> dict[str, Any]:
    """The figures a run is judged by."""
    rtt = tally.rtt_ms
    return {
        "devices": tally.devices,
        "connected": len(tally.connect_s),
        "all_connected_s": tally.all_connected_s,
        "connect_p50_s": statistics.median(tally.connect_s) if tally.connect_s else None,
        "scans": tally.scans,
        "scans_per_s": tally.scans / tally.window_s if tally.window_s else 0.0,
        "p50_ms": percentile(rtt, 50),
        "p90_ms": percentile(rtt, 90),
        "p99_ms": percentile(rtt, 99),
        "max_ms": max(rtt, default=0.0),
        "wrong_scans": tally.wrong,
        "lists_done": tally.lists_done,
        "labels": tally.labels,
        "errors": tally.errors,
        "error_kinds": tally.error_kinds,
        "windows": windows(tally),
        "fleet_lag_max_ms": tally.fleet_lag_max_ms,
        "fleet_lag_windows_ms": [
            tally.fleet_lag_windows[k] for k in sorted(tally.fleet_lag_windows)
        ],
    }


def format_summary(s: dict[str, Any]) -> str:
    connected = s["all_connected_s"]
    lines = [
        f"devices              {s['connected']}/{s['devices']} connected"
        + (f", all within {connected:.2f} s" if connected is not None else ""),
        f"scans                {s['scans']} ({s['scans_per_s']:.0f}/s), {s['wrong_scans']} wrong",
        f"scan round trip      p50 {s['p50_ms']:.1f} ms, p90 {s['p90_ms']:.1f} ms, "
        f"p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms",
        f"lists done           {s['lists_done']}, labels confirmed {s['labels']}",
        f"errors               {s['errors']} {s['error_kinds'] or ''}".rstrip(),
        f"fleet's own lag      {s['fleet_lag_max_ms']:.0f} ms at worst",
    ]
    if "rss_mib" in s:
        lines.append(f"server RSS           {s['rss_mib']:.0f} MiB (peak {s['peak_rss_mib']:.0f})")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", help="the server, e.g. http://127.0.0.1:8800 (or use --serve)")
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--serve", is_flag=True, help="seed a fresh site and run the real server for the run")
@click.option("--pickers", default=20, show_default=True, help="with --serve")
@click.option("--packers", default=0, show_default=True, help="with --serve")
@click.option("--orders-per-picker", default=40, show_default=True, help="with --serve")
@click.option("--seconds", default=20.0, show_default=True, help="how long to measure")
@click.option("--warmup", default=2.0, show_default=True, help="seconds not counted at the start")
@click.option("--think", default=0.0, show_default=True, help="mean seconds between scans")
@click.option("--wrong-rate", default=0.0, show_default=True, help="share of wrong scans")
@click.option("--ramp", default=0.0, show_default=True, help="spread connects over seconds")
@click.option("--procs", default=1, show_default=True, help="client processes")
@click.option("--server-pid", type=int, help="report this process's RSS")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
def main(**kw: Any) -> None:
    """Run a fleet of simulated devices against a server and print what it measured."""
    opts = Options(
        url=kw["url"] or "",
        seconds=kw["seconds"],
        warmup=kw["warmup"],
        think=kw["think"],
        wrong_rate=kw["wrong_rate"],
        ramp=kw["ramp"],
    )
    if kw["serve"]:
        from scripts.load.floorload import serve_site

        with serve_site(kw["pickers"], kw["packers"], kw["orders_per_picker"]) as (url, pid, site):
            opts.url = url
            result = summary(run_fleet(site.devices, opts, kw["procs"])) | rss_mib(pid)
    else:
        if not (kw["url"] and kw["tokens"]):
            raise click.UsageError("give --url and --tokens, or --serve")
        result = summary(run_fleet(read_tokens(kw["tokens"]), opts, kw["procs"]))
        if kw["server_pid"]:
            result |= rss_mib(kw["server_pid"])
    click.echo(json.dumps(result, indent=1) if kw["as_json"] else format_summary(result))


if __name__ == "__main__":
    main()
