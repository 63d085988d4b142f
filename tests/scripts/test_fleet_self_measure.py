"""The fleet measures itself: no collection of its own during a run, and its loop's lag,
merged across its processes and shown in the feel bench's report beside both echoes."""

from __future__ import annotations

import asyncio
import gc
import time

from scripts.load import fleet, floorfeel


def test_no_collection_runs_in_the_fleet_and_the_collector_is_given_back():
    before = gc.get_threshold(), gc.isenabled()
    collections: list[dict] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info)

    with fleet.collector_off():
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        gc.callbacks.append(seen)
        try:
            for _ in range(50_000):  # well past any threshold: cycles only a collection frees
                a: list = []
                a.append(a)
        finally:
            gc.callbacks.remove(seen)
        assert collections == []
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert (gc.get_threshold(), gc.isenabled()) == before


def test_the_fleet_probe_sees_its_own_loop_held_and_processes_merge_the_worst():
    tally = fleet.Tally()

    async def held() -> None:
        probe = asyncio.ensure_future(fleet._probe_lag(tally, time.perf_counter()))
        await asyncio.sleep(0.02)
        time.sleep(0.15)  # the fleet's loop held, as a long step of its own would
        await asyncio.sleep(0.03)
        probe.cancel()

    asyncio.run(held())
    assert tally.fleet_lag_max_ms >= 100
    other = fleet.Tally(fleet_lag_max_ms=300.0, fleet_lag_windows={0: 300.0, 1: 20.0})
    tally.merge(other.__dict__)
    assert tally.fleet_lag_max_ms == 300.0
    assert tally.fleet_lag_windows == {0: 300.0, 1: 20.0}
    assert fleet.summary(tally)["fleet_lag_windows_ms"] == [300.0, 20.0]


def _run(code: str, p99: float) -> dict:
    return {
        "round": 1, "code": code, "scans_per_s": 270.0, "p50_ms": 5.0, "p90_ms": 40.0,
        "p99_ms": p99, "max_ms": 900.0, "windows": [{"p99_ms": p99}], "stall_max_ms": 130.0,
        "window_stall_ms": [130.0], "all_connected_s": 2.5, "peak_rss_mib": 266.0,
        "errors": 0, "fleet_lag_max_ms": 242.0,
    }  # fmt: skip


def test_the_report_shows_the_fleet_lag_and_both_echoes():
    res = {
        "devices": 1500, "seconds": 60, "open_orders": 65400, "runs": [_run("HEAD", 285.0)],
        "echo": _run("echo", 177.0), "echo_gc": _run("echo", 33.0),
    }  # fmt: skip
    text = floorfeel.report(res, "cmd", "box", "2026-12-04")
    row = next(line for line in text.splitlines() if line.startswith("| 1 | HEAD"))
    assert row.endswith("| 0 | 242 |")
    assert "The bare Socket.IO echo with the same fleet, same run: 270 scans/s" in text
    assert "server's GC settings (`--gc-as-server`) with the same fleet" in text
    assert "p99 33 ms" in text and "p99 177 ms" in text
