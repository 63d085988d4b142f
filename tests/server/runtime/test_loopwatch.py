"""The loop probe and the collector's timings: a blocking call shows as a stall, a collection is timed."""

from __future__ import annotations

import gc
import logging
import time

import gevent
import pytest
from prometheus_client import CollectorRegistry

from server.config import GcSettings
from server.runtime import loopwatch
from server.runtime.loopwatch import LoopWatch


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


@pytest.fixture
def watch():
    registry = CollectorRegistry()
    w = LoopWatch(registry)
    w.start()
    yield w, registry
    w.stop()


def test_an_idle_loop_wakes_the_probe_on_time(watch):
    w, registry = watch
    deadline = time.monotonic() + 3.0  # every 10 ms: 10 wakes in 0.1 s idle, more when loaded
    while sample(registry, "scanfloor_loop_lateness_seconds_count") < 10:
        assert time.monotonic() < deadline, "the probe did not wake 10 times in 3 s"
        gevent.sleep(0.05)
    assert sample(registry, "scanfloor_loop_stall_max_seconds") < 0.5


def test_a_blocking_call_on_the_loop_shows_as_a_stall(watch):
    w, registry = watch
    gevent.sleep(0.05)
    time.sleep(0.25)  # not patched here: it holds the gevent loop as a slow fsync would
    gevent.sleep(0.05)
    stall = sample(registry, "scanfloor_loop_stall_max_seconds")
    assert 0.2 <= stall < 2.0
    assert sample(registry, "scanfloor_loop_stall_recent_seconds") == stall
    assert sample(registry, "scanfloor_loop_lateness_seconds_bucket", le="0.1") < sample(
        registry, "scanfloor_loop_lateness_seconds_bucket", le="+Inf"
    )


def test_a_stall_leaves_the_recent_window_after_10_s(watch, monkeypatch):
    w, registry = watch
    w.observe(0.3)
    assert sample(registry, "scanfloor_loop_stall_recent_seconds") == pytest.approx(0.3)
    later = time.monotonic() + loopwatch.RECENT_SECONDS + 1
    monkeypatch.setattr(loopwatch.time, "monotonic", lambda: later)
    assert sample(registry, "scanfloor_loop_stall_recent_seconds") == 0.0
    assert sample(registry, "scanfloor_loop_stall_max_seconds") == pytest.approx(0.3)


def test_every_collection_is_timed_by_generation(watch):
    w, registry = watch
    before = sample(registry, "scanfloor_gc_pause_seconds_count", generation="2")
    freed_before = sample(registry, "scanfloor_gc_collected_objects_total", generation="2")
    for _ in range(100):  # cycles: only the collector frees them
        a: list = []
        a.append(a)
    del a
    gc.collect()
    assert sample(registry, "scanfloor_gc_pause_seconds_count", generation="2") == before + 1
    assert sample(registry, "scanfloor_gc_collected_objects_total", generation="2") >= (
        freed_before + 100
    )
    assert sample(registry, "scanfloor_gc_pause_max_seconds", generation="2") > 0
    gc.collect(0)
    assert sample(registry, "scanfloor_gc_pause_seconds_count", generation="0") >= 1


def test_a_slow_collection_is_logged_with_its_cpu_time(watch, monkeypatch, caplog):
    monkeypatch.setattr(loopwatch, "SLOW_GC_SECONDS", 0.0)  # every collection is slow
    with caplog.at_level(logging.INFO, logger="scanfloor.loop"):
        gc.collect(1)
    line = next(r.getMessage() for r in caplog.records if "gc generation 1 took" in r.getMessage())
    assert "ms of CPU" in line and "unreachable" in line


def test_settle_stops_greenlets_recording_the_stack_that_spawned_them(monkeypatch):
    """Each spawn kept up to 10 frame records alive with the greenlet: 12,000-15,000 of
    the objects every young collection walked at 1,500 handhelds."""
    monkeypatch.setattr(gevent.config, "track_greenlet_tree", True)
    assert gevent.spawn(lambda: None).spawning_stack is not None
    before = gc.get_threshold()
    try:
        loopwatch.settle(GcSettings(freeze=False), lambda: 0)
    finally:
        gc.set_threshold(*before)
    assert gevent.config.track_greenlet_tree is False
    assert getattr(gevent.spawn(lambda: None), "spawning_stack", None) is None


@pytest.mark.slow  # seconds, not milliseconds: scheduled first (tests/conftest.py)
def test_freeze_takes_what_is_alive_out_of_the_collectors_sight():
    alive = [[] for _ in range(1000)]
    try:
        loopwatch.freeze("test")
        assert gc.get_freeze_count() >= 1000
    finally:
        gc.unfreeze()
    del alive


def test_the_thresholds_are_set_and_bad_ones_refused():
    old = gc.get_threshold()
    try:
        loopwatch.tune((5000, 15, 50))
        assert gc.get_threshold() == (5000, 15, 50)
    finally:
        gc.set_threshold(*old)
    with pytest.raises(ValueError, match="gc.threshold"):
        GcSettings(threshold=(0, 10, 10))


def test_a_storm_of_sign_ins_is_frozen_once_it_settles_and_not_before(caplog):
    """Freeze once 50 devices have signed in and none has for `quiet` seconds: not while they
    still come, not for a handful, and again for a later storm."""
    caplog.set_level(logging.INFO, logger="scanfloor.loop")
    connects = [0]

    def freezes() -> list[str]:
        return [r.getMessage() for r in caplog.records if "sign-ins settled" in r.getMessage()]

    watcher = gevent.spawn(loopwatch.freeze_when_settled, lambda: connects[0], 0.3, 50, 0.05)
    gevent.sleep(0)  # it counts from here
    try:
        for _ in range(10):  # a storm: ten sign-ins every 0.1 s, never quiet for 0.3 s
            connects[0] += 10
            gevent.sleep(0.1)
        assert freezes() == []
        alive = [[] for _ in range(1000)]  # what the storm made, alive for the shift
        gevent.sleep(0.6)  # quiet: frozen, the storm's objects with it
        assert len(freezes()) == 1 and freezes()[0].startswith("gc.freeze (100 sign-ins settled)")
        assert gc.get_freeze_count() >= 1000
        connects[0] += 10  # a few more are not a storm
        gevent.sleep(0.6)
        assert len(freezes()) == 1
        connects[0] += 60  # a second storm: 70 since the last freeze
        gevent.sleep(0.6)
        assert len(freezes()) == 2 and "(70 sign-ins settled)" in freezes()[1]
        del alive
    finally:
        watcher.kill()
        gc.unfreeze()


def test_the_later_freezes_collect_nothing_first(monkeypatch, caplog):
    """Start-up's freeze collects everything (nobody waits yet); the warm-up's and a settled
    storm's collect nothing first, since a collection there is a stall of its own on the loop
    (180 ms for a middle one at 1,500 handhelds, 14-33 ms for a young one)."""
    caplog.set_level(logging.INFO, logger="scanfloor.loop")
    started: list[tuple[str, int]] = []
    reason = ["start-up"]
    real_collect = gc.collect

    def collect(generation: int = 2) -> int:  # the collections freeze() asks for, by reason
        started.append((reason[0], generation))
        return real_collect(generation)

    monkeypatch.setattr(loopwatch.gc, "collect", collect)

    connects = [0]
    before = gc.get_threshold()
    try:
        greenlets = loopwatch.settle(
            GcSettings(warmup_seconds=0.3, settle_seconds=0.2), lambda: connects[0]
        )
        reason[0] = "serving"
        gevent.sleep(0.05)  # the storm watcher has read the sign-ins so far
        connects[0] = loopwatch.SETTLE_CONNECTS  # a storm, then quiet: its freeze comes
        gevent.sleep(1.6)
    finally:
        for g in greenlets:
            g.kill()
        gc.unfreeze()
        gc.set_threshold(*before)
    assert started == [("start-up", 2)], started
    # the settled storm's and the warm-up's freezes ran, with no collection first
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gc.freeze")]
    assert any("sign-ins settled): nothing collected first" in m for m in lines), lines
    assert any("(warm-up): nothing collected first" in m for m in lines), lines


def test_the_warm_up_freezes_as_it_goes_and_once_more_at_its_end(monkeypatch, caplog):
    """`warmup_freeze_every`: what the storm and the first scans make is frozen every so often
    through the warm-up, never collected first, and once more (logged) at the warm-up's end."""
    caplog.set_level(logging.INFO, logger="scanfloor.loop")
    freezes: list[float] = []
    real_freeze = gc.freeze
    collections: list[int] = []

    def counted() -> None:
        freezes.append(time.monotonic())
        real_freeze()

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    monkeypatch.setattr(loopwatch.gc, "freeze", counted)
    try:
        started = time.monotonic()
        warm = gevent.spawn(loopwatch.freeze_through_warmup, 0.55, 0.1)
        gevent.sleep(0.25)
        made = [[] for _ in range(1000)]  # what the storm made, alive for the shift
        gc.callbacks.append(on_gc)
        warm.join(2)
        gc.callbacks.remove(on_gc)
        assert warm.dead
        assert 5 <= len(freezes) <= 6, freezes  # every 0.1 s, and at the end
        assert freezes[-1] - started >= 0.55
        assert gc.get_freeze_count() >= 1000  # taken out of the collector's sight
        assert collections == []  # and none of it walked by a collection to get there
        del made
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gc.freeze")]
        assert lines == [lines[0]] and "(warm-up): nothing collected first" in lines[0]
        freezes.clear()
        loopwatch.freeze_through_warmup(0.2, 0)  # 0: only the one at the end
        assert len(freezes) == 1
    finally:
        gc.unfreeze()
