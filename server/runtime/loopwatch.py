"""The serving loop's health: how late it wakes, and what garbage collection costs it.

Every device link, page and scan of a server process shares one gevent loop, so
anything that holds the loop (a long garbage collection, an fsync, a slow query)
delays every device at once. A probe greenlet sleeps `interval` seconds over and
over and records how late it woke: that lateness is the wait any greenlet ready
at the same moment had on top of its own work. `gc.callbacks` time each
collection by generation. Both go to the app's /metrics registry:

- `scanfloor_loop_lateness_seconds`: histogram of the probe's lateness;
- `scanfloor_loop_stall_max_seconds`: the longest stall since start;
- `scanfloor_loop_stall_recent_seconds`: the longest stall in the last 10 s;
- `scanfloor_gc_pause_seconds{generation}`: histogram of each collection's time;
- `scanfloor_gc_pause_max_seconds{generation}`: the longest collection since start;
- `scanfloor_gc_collected_objects_total{generation}`: objects the collections freed.

`tune()` sets the collector up for a long-lived server (see docs/scaling.md,
*Garbage collection*): thresholds from the settings, and `gc.freeze()` of what
start-up and the warm-up made, so full collections stop re-walking it.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from server.config import GcSettings

log = logging.getLogger("scanfloor.loop")
# People feel 100 ms; a healthy loop wakes within a millisecond of its timer.
LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A young collection takes well under a millisecond; a full one over a large heap, 100s of ms.
GC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)
RECENT_SECONDS = 10.0
SLOW_GC_SECONDS = 0.02  # a collection this long is logged, with the CPU it took
SETTLE_CONNECTS = 50  # sign-ins since the last freeze that make a storm worth freezing
GENERATIONS = ("0", "1", "2")


class LoopWatch:
    """The probe and the collector's timings of one process, as metrics in `registry`."""

    def __init__(self, registry: CollectorRegistry, interval: float = 0.01):
        self.interval = interval
        self.lateness = Histogram(
            "scanfloor_loop_lateness_seconds",
            "How late the serving loop woke a probe sleeping every 10 ms, in seconds.",
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )
        self.stall_max = Gauge(
            "scanfloor_loop_stall_max_seconds",
            "The longest the serving loop was late since the process started, in seconds.",
            registry=registry,
        )
        self.stall_recent = Gauge(
            "scanfloor_loop_stall_recent_seconds",
            "The longest the serving loop was late in the last 10 s, in seconds.",
            registry=registry,
        )
        self.stall_recent.set_function(self.recent_stall)
        self.gc_pause = Histogram(
            "scanfloor_gc_pause_seconds",
            "Time of each garbage collection (the loop stops for it), by generation.",
            ["generation"],
            buckets=GC_BUCKETS,
            registry=registry,
        )
        self.gc_pause_max = Gauge(
            "scanfloor_gc_pause_max_seconds",
            "The longest garbage collection since the process started, by generation.",
            ["generation"],
            registry=registry,
        )
        self.gc_collected = Counter(
            "scanfloor_gc_collected_objects",
            "Objects freed by garbage collections, by generation.",
            ["generation"],
            registry=registry,
        )
        for g in GENERATIONS:  # show 0, not nothing, for a generation not yet collected
            self.gc_pause.labels(g)
            self.gc_pause_max.labels(g)
            self.gc_collected.labels(g)
        self._gc_worst = [0.0, 0.0, 0.0]
        self.worst = 0.0
        # (when, lateness) of the stalls worth keeping (over 1 ms), the last 10 s of them.
        self._recent: deque[tuple[float, float]] = deque()
        self._gc_started = 0.0
        self._gc_cpu_started = 0.0
        self._probe: gevent.Greenlet | None = None

    # ------------------------------------------------------------ the probe
    def start(self) -> None:
        """Start the probe greenlet and time every collection (once per process)."""
        if self._probe is None:
            self._probe = gevent.spawn(self._run)
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        if self._probe is not None:
            self._probe.kill()
            self._probe = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _run(self) -> None:
        interval, clock = self.interval, time.perf_counter
        while True:
            before = clock()
            gevent.sleep(interval)
            self.observe(max(0.0, clock() - before - interval))

    def observe(self, late: float) -> None:
        """One wake-up of the probe, `late` seconds after its timer."""
        self.lateness.observe(late)
        if late > self.worst:
            self.worst = late
            self.stall_max.set(late)
        if late > 0.001:
            self._recent.append((time.monotonic(), late))

    def recent_stall(self) -> float:
        """The longest lateness seen in the last 10 s (0.0 for none over 1 ms)."""
        cutoff = time.monotonic() - RECENT_SECONDS
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()
        return max((late for _, late in self._recent), default=0.0)

    # ------------------------------------------------------------ the collector
    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            self._gc_cpu_started = time.thread_time()
            return
        g = info["generation"]
        took = time.perf_counter() - self._gc_started
        if took > SLOW_GC_SECONDS:
            # CPU well under the wall time: the process waited for a core (a busy machine),
            # not the collector for its objects.
            log.info(
                "gc generation %d took %.0f ms (%.0f ms of CPU), %d unreachable",
                g,
                took * 1000,
                (time.thread_time() - self._gc_cpu_started) * 1000,
                info["collected"],
            )
        self.gc_pause.labels(GENERATIONS[g]).observe(took)
        self.gc_collected.labels(GENERATIONS[g]).inc(info["collected"])
        if took > self._gc_worst[g]:
            self._gc_worst[g] = took
            self.gc_pause_max.labels(GENERATIONS[g]).set(took)


def tune(threshold: tuple[int, int, int]) -> None:
    """Set the collector's thresholds (generation 0 allocations, 1 and 2 collections)."""
    gc.set_threshold(*threshold)
    log.info("gc thresholds %s", threshold)


def settle(gc_settings: GcSettings, connects: Callable[[], int]) -> list[gevent.Greenlet]:
    """Set the collector up for a serving process (docs/scaling.md, *Garbage collection*):
    the thresholds, a freeze now (start-up done), one every `warmup_freeze_every` seconds
    through the warm-up and one at its end, `warmup_seconds` later, and one each time a
    sign-in storm settles (`connects()`: sign-ins so far). The later freezes collect
    nothing first (see `freeze`): a middle collection there walked everything since the last
    one, on the loop (the warm-up's took 180 ms at 1,500 handhelds on a loaded machine), and
    a young one still 14-33 ms. Returns the greenlets it started.

    Greenlets stop recording the stack that spawned them (gevent's `track_greenlet_tree`):
    each one kept up to 10 frame records, and a serving process spawns one per ping (750 a
    second at 1,500 handhelds, each alive for a ping interval) and per event. At 1,500
    handhelds those records were 12,000-15,000 of the 56,000-73,000 objects each young
    collection walked (40-58 ms of CPU each); nothing in scanfloor reads them."""
    gevent.config.track_greenlet_tree = False
    tune(gc_settings.threshold)
    if not gc_settings.freeze:
        return []
    freeze("start-up")
    started = []
    if gc_settings.warmup_seconds:
        started.append(
            gevent.spawn(
                freeze_through_warmup, gc_settings.warmup_seconds, gc_settings.warmup_freeze_every
            )
        )
    if gc_settings.settle_seconds:
        started.append(gevent.spawn(freeze_when_settled, connects, gc_settings.settle_seconds))
    return started


def freeze_through_warmup(seconds: float, every: float) -> None:
    """Freeze (nothing collected first) every `every` seconds through the warm-up (0: never),
    and once more, logged, at its end.

    In the warm-up the sign-in storm makes the links, greenlets and buffers that live as
    long as the shift, and the floor's first scans their screens and caches. Left young,
    they were walked by every young collection until the storm settled and then by every
    middle one (at 1,500 handhelds, young collections of 17-59 ms and middle ones of 19-136
    ms in the first 30-40 s; docs/scaling.md, *Garbage collection*). A freeze costs no
    walk: `gc.freeze()` moves the collector's lists and zeroes the young count. What a
    freeze takes that later dies is freed as before when nothing else refers to it; only
    a cycle of such objects stays, until the process ends (the young collections of the
    warm-up's first 30 s found 0-83 unreachable objects each)."""
    if every:
        end = time.monotonic() + seconds
        while time.monotonic() + every < end:
            gevent.sleep(every)
            gc.freeze()
        gevent.sleep(max(0.0, end - time.monotonic()))
    else:
        gevent.sleep(seconds)
    freeze("warm-up", None)


def freeze_when_settled(
    connects: Callable[[], int], quiet: float, least: int = SETTLE_CONNECTS, tick: float = 0.5
) -> None:
    """Freeze (nothing collected first) once `least` devices have connected since
    the last freeze and none has for `quiet` seconds: the sign-in storm is over, and the
    links, greenlets and buffers it made live as long as the shift. Left young, they are
    walked by every middle collection until promoted, and then by every full one (a middle
    collection over the storm's heap took about 100 ms at 1,500 handhelds). Runs for the
    process's life: a later storm (a second shift, a mass reconnect) is frozen too."""
    frozen_at = seen = connects()
    still_since = time.monotonic()
    while True:
        gevent.sleep(tick)
        count = connects()
        if count != seen:
            seen, still_since = count, time.monotonic()
        elif count - frozen_at >= least and time.monotonic() - still_since >= quiet:
            freeze(f"{count - frozen_at} sign-ins settled", None)
            frozen_at = count


def freeze(reason: str, generation: int | None = 2) -> None:
    """Collect generations up to `generation` (None: none), then move every object left out
    of the collector's sight.

    Frozen objects are never walked again by a collection: start-up's modules, the app,
    and (after the warm-up) the links and their greenlets. A cycle made garbage after
    this is still collected. Start-up collects everything first (nobody is waiting yet);
    the warm-up and a settled storm collect nothing first: `gc.freeze()` alone moves lists,
    but a collection of even the young generation there walked its 50,000-70,000 objects on
    the loop (14-33 ms at 1,500 handhelds) to find 0-24 unreachable ones, and those few
    cycles, dead already, now stay frozen with the rest.
    """
    started = time.perf_counter()
    found = None if generation is None else gc.collect(generation)
    gc.freeze()
    took = 1000 * (time.perf_counter() - started)
    # Not gc.get_freeze_count() here: it walks every frozen object (6.5 ms for 413,000 in a
    # quiet process, more over a server's scattered heap), on the loop, for a log line.
    if found is None:
        log.info("gc.freeze (%s): nothing collected first, in %.0f ms", reason, took)
    else:
        log.info("gc.freeze (%s): %d unreachable found first, in %.0f ms", reason, found, took)
