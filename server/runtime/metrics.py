"""`GET /metrics`: the floor's vital signs in the Prometheus text format.

Scans by result code, how long the server takes over one scan, device links by
role, boards watching, SQLite commit time, the outbox (events stored for
devices they have not seen yet), and the serving loop's lateness and garbage
collection pauses (server/runtime/loopwatch.py). Each app has its own registry, so several apps in
one process (the tests) do not mix their figures; with several server processes
each one answers for itself.

The scan path pays one counter increment and one histogram observation. The
outbox depth is counted only when Prometheus asks, with one COUNT on an index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, get_args

from flask import Flask, Response, current_app
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from server.runtime.loopwatch import LoopWatch
from server.store import Store
from shared.protocol import Role

KEY = "scanfloor.metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A scan answered in ~1-5 ms is healthy; people feel 100 ms; past 1 s something is wrong.
SCAN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A COMMIT with synchronous=FULL is an fsync: ~0.1 ms on a good SSD, tens of ms on an SD card.
COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class OutboxDepth(Collector):
    """Events stored for devices and not yet seen by them (seen ones are deleted)."""

    NAME = "scanfloor_outbox_events"
    HELP = "Events stored for devices that the devices have not yet seen."

    def __init__(self, store: Store):
        self.store = store

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Counted on the primary key's index; the table only holds the unseen events.
        row = self.store.one("SELECT COUNT(*) AS n FROM device_events")
        yield GaugeMetricFamily(self.NAME, self.HELP, value=row["n"] if row else 0)


class FloorMetrics:
    """The metrics of one app, in a registry of their own."""

    def __init__(self, store: Store):
        self.registry = CollectorRegistry()
        reg = self.registry
        self.scans = Counter(
            "scanfloor_scans",
            "Scans answered, by result code (a refused message counts under its error code).",
            ["code"],
            registry=reg,
        )
        self.scan_duplicates = Counter(
            "scanfloor_scan_duplicates",
            "Scans sent again (same message id) and answered from the first answer.",
            registry=reg,
        )
        self.scan_seconds = Histogram(
            "scanfloor_scan_seconds",
            "Time the server took to handle one scan event, in seconds.",
            buckets=SCAN_BUCKETS,
            registry=reg,
        )
        self.devices = Gauge(
            "scanfloor_devices_connected",
            "Device links (Socket.IO /device) connected to this process, by role.",
            ["role"],
            registry=reg,
        )
        for role in get_args(Role):
            self.devices.labels(role)  # show 0, not nothing, for a role with no device
        self.board_clients = Gauge(
            "scanfloor_board_clients",
            "Boards (Socket.IO /board) connected to this process.",
            registry=reg,
        )
        self.commit_seconds = Histogram(
            "scanfloor_sqlite_commit_seconds",
            "Time of each SQLite COMMIT of a write transaction, in seconds.",
            buckets=COMMIT_BUCKETS,
            registry=reg,
        )
        reg.register(OutboxDepth(store))
        # The serving loop's lateness and the collector's pauses (started only when serving).
        self.loop = LoopWatch(reg)
        self._device_roles: dict[str, str] = {}  # sid -> role
        self.connects = 0  # device links made since start (the settle freeze watches it)
        self._boards: set[str] = set()  # sids

    # ------------------------------------------------------------ events
    def scan_answered(self, reply: dict[str, Any], seconds: float) -> None:
        """One scan event handled: its answer and how long it took."""
        self.scan_seconds.observe(seconds)
        reply = getattr(reply, "summary", reply)  # an Encoded reply (server/realtime/wire.py)
        if reply.get("duplicate"):
            self.scan_duplicates.inc()
            return
        code = reply.get("code") or (reply.get("error") or {}).get("code") or "unknown"
        self.scans.labels(code).inc()

    def device_connected(self, sid: str, role: str) -> None:
        if sid not in self._device_roles:
            self._device_roles[sid] = role
            self.connects += 1
            self.devices.labels(role).inc()

    def device_disconnected(self, sid: str) -> None:
        role = self._device_roles.pop(sid, None)
        if role is not None:
            self.devices.labels(role).dec()

    def board_connected(self, sid: str) -> None:
        if sid not in self._boards:
            self._boards.add(sid)
            self.board_clients.inc()

    def board_disconnected(self, sid: str) -> None:
        if sid in self._boards:
            self._boards.discard(sid)
            self.board_clients.dec()

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)


def of_app() -> FloorMetrics | None:
    """The current app's metrics, or None where init_app was not called."""
    return current_app.extensions.get(KEY)


def timed_scan(handler: Callable[..., dict]) -> Callable[..., dict]:
    """Decorate a namespace's on_scan(sid, data): count its answer by code and time it.

    The namespace carries its app's metrics as `self.metrics` (None: not counted).
    """

    @wraps(handler)
    def timed(self: Any, sid: str, data: Any) -> dict:
        start = time.perf_counter()
        reply = handler(self, sid, data)
        if self.metrics is not None:
            self.metrics.scan_answered(reply, time.perf_counter() - start)
        return reply

    return timed


def board_connected(sid: str) -> None:
    """A board joined /board."""
    if (metrics := of_app()) is not None:
        metrics.board_connected(sid)


def board_disconnected(sid: str) -> None:
    """A board left /board."""
    if (metrics := of_app()) is not None:
        metrics.board_disconnected(sid)


def init_app(app: Flask) -> FloorMetrics:
    """Make the app's metrics, time the store's commits and serve `GET /metrics`."""
    store: Store = app.extensions["store"]
    metrics = FloorMetrics(store)
    app.extensions[KEY] = metrics
    store.on_commit = metrics.commit_seconds.observe

    def metrics_page() -> Response:
        return Response(metrics.exposition(), content_type=CONTENT_TYPE)

    app.add_url_rule("/metrics", "metrics", metrics_page, methods=["GET"])
    return metrics
