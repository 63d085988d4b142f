"""The worker process's loops: everything that answers nobody, away from the serving loop.

One worker per site (`scanfloor worker`, started beside `scanfloor-server` by default,
once per `serve-cluster`, or by its own systemd unit) runs, as greenlets of one process:

- the cart planner: each warehouse's planned carts topped up (server/floor/planning.py:
  read and computed outside any write transaction, written in one short transaction that
  checks nothing changed under it, else computed again), looked at every
  `worker.plan_poll_seconds`;
- the lease sweep: lists of pickers silent past their lease go back to the queue
  (server/floor/leases.py), a few times per lease period;
- the count schedule: every `counts.schedule_every_hours` (0: off) the count tasks the ABC
  schedule says are due are made (server/inventory/counts.py), and idle pickers get them;
- the demand forecast: every `forecast.every_hours` (0: off) each SKU's forecast and reorder
  suggestion is stored (server/inventory/forecasting.py; the library is imported then, not
  at start), yielding to the other loops between two SKUs;
- webhook delivery (server/notify/delivery.py) and customer mail (server/notify/mailer.py,
  when `[email] enabled`);
- pruning the change log below.

What it changes that devices or boards must hear goes to the servers as bus messages:
published on Redis when `redis_url` is set, and always written in the same transaction
as the change to `floor_signals` (server/runtime/signals.py), which a lone server reads.
Everything it does is safe to cut short with SIGKILL: each step commits whole or not at
all, and a claim it held (a webhook, a mail) lapses and goes again.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any

import gevent

from server.config import Settings
from server.floor import leases, planning
from server.inventory import counting, forecasting, replenishment, transfer_dock
from server.inventory import counts as count_tasks
from server.notify.delivery import Deliverer
from server.notify.mailer import Mailer
from server.returns import receiving as returning
from server.runtime import processes, signals
from server.store import Store

log = logging.getLogger("scanfloor.worker")
PRUNE_SECONDS = 10.0  # how often old change-log rows are dropped
PLAN_GAP_SECONDS = 0.01  # between two carts written: the write lock is the serving process's


def lease_period(lease_seconds: float) -> float:
    """How often leases are checked: a few times per lease, between 0.5 and 30 seconds."""
    return min(30.0, max(0.5, lease_seconds / 5))


class Worker:
    """One site's background work; `run()` runs it for ever, each part also callable once."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        publish: Callable[[list[dict[str, Any]]], None] | None = None,
    ):
        self.store = store
        self.settings = settings
        self.publish = publish  # Redis: bus messages to the servers, after the commit
        # This process on the site's list (server_processes), beating: the webhook and mail
        # claims it makes name it, so when it dies a live process takes them back at once.
        self.instance = processes.new_instance()
        self.planned = 0  # carts planned since start (logs, tests)
        self.released = 0  # lists given back since start

    # ------------------------------------------------------------ planning
    def _before_write(self, plan: planning.CartPlan) -> None:
        pause = self.settings.worker.plan_pause_seconds
        if pause:
            # The fault tests kill the process here: computed, nothing written yet.
            log.info(
                "cart of lists %s for %s computed; writing in %.1f s",
                ",".join(map(str, plan.members)),
                plan.key,
                pause,
            )
            gevent.sleep(pause)

    def plan_once(self) -> int:
        """Top up every warehouse's planned carts, one cart at a time; returns how many."""
        planned = 0
        for row in self.store.all("SELECT code FROM warehouses ORDER BY code"):
            while planning.plan_ahead(
                self.store, row["code"], budget=1, before_write=self._before_write
            ):
                planned += 1
                # The serving process's writes get the lock between carts: after a storm of
                # hand-outs the planner wrote carts back to back, and the group commit waited
                # for several of them (10-60 ms). This process's other loops run meanwhile.
                gevent.sleep(PLAN_GAP_SECONDS)
        if planned:
            self.planned += planned
            log.info("planned %d cart(s)", planned)
        return planned

    def plan_carts(self) -> None:
        """Plan for ever (a greenlet): look again as soon as a pass planned something."""
        while True:
            planned = 0
            try:
                planned = self.plan_once()
            except Exception:  # keep planning; hand-out gives fresh lists meanwhile
                log.exception("planning carts failed")
            gevent.sleep(0 if planned else self.settings.worker.plan_poll_seconds)

    # ------------------------------------------------------------ leases
    def expire_leases(self, lease_seconds: float | None = None) -> int:
        """Give back the lists of pickers silent too long (`device.lease_seconds` unless
        given), and tell the servers in the same transaction: the devices to deliver to,
        the warehouses to hand out work in again."""
        news: list[dict[str, Any]] = []
        seconds = self.settings.device.lease_seconds if lease_seconds is None else lease_seconds
        with self.store.write():
            released = leases.expire(self.store, seconds)
            counts = counting.release_silent(self.store, seconds)  # bins to count, the same way
            counts += replenishment.release_silent(self.store, seconds)  # moves to faces too
            # A return held by a silent handheld waits for another receiver (no news to send).
            returning.release_silent(self.store, seconds)
            transfer_dock.release_silent(self.store, seconds)  # a transfer too
            if released or counts:
                news = [
                    {"k": "deliver", "d": sorted({d for d, _, _ in released})},
                    {
                        "k": "work",
                        "w": sorted({w for _, _, w in released} | set(counts)),
                        "id": secrets.token_hex(8),
                    },
                ]
                signals.emit(self.store, *news)
        if news and self.publish is not None:
            self.publish(news)
        self.released += len(released)
        return len(released)

    def watch_leases(self) -> None:
        """Check leases for ever (a greenlet)."""
        while True:
            gevent.sleep(lease_period(self.settings.device.lease_seconds))
            try:
                self.expire_leases()
            except Exception:  # keep watching: one bad pass must not end lease handling
                log.exception("lease check failed")

    # ------------------------------------------------------------ the count schedule
    def schedule_counts(self, today: date | None = None) -> int:
        """Make the count tasks the ABC schedule says are due, and tell the servers in the same
        transaction so idle pickers of those warehouses get them; returns how many were made.

        One write: cut short (an error, SIGKILL), it leaves neither a task nor the news."""
        news: list[dict[str, Any]] = []
        with self.store.write():
            result = count_tasks.schedule(self.store, today=today)
            if result["warehouses"]:
                news = [{"k": "work", "w": result["warehouses"], "id": secrets.token_hex(8)}]
                signals.emit(self.store, *news)
        if news and self.publish is not None:
            self.publish(news)
        if result["created"]:
            log.info("scheduled %d count(s): %s", result["created"], result["by_class"])
        return result["created"]

    def count_schedule(self) -> None:
        """Run the count schedule at start and then every `counts.schedule_every_hours`
        (a greenlet, started only when that is above 0)."""
        while True:
            try:
                self.schedule_counts()
            except Exception:  # keep the schedule: the next period tries again
                log.exception("scheduling counts failed")
            gevent.sleep(self.settings.counts.schedule_every_hours * 3600)

    # ------------------------------------------------------------ the demand forecast
    def forecast_demand(self) -> None:
        """Forecast at start and then every `forecast.every_hours` (a greenlet, started only
        when that is above 0). Each SKU's fit takes a few milliseconds of CPU: between two,
        the other loops of this process get their turn."""
        while True:
            try:
                forecasting.run(self.store, self.settings.forecast, pause=lambda: gevent.sleep(0))
            except Exception:  # keep forecasting: the next period tries again
                log.exception("forecasting demand failed")
            gevent.sleep(self.settings.forecast.every_hours * 3600)

    # ------------------------------------------------------------ alive
    def heartbeat(self) -> None:
        """Beat in server_processes for ever (a greenlet). Forgetting processes that are gone
        (and clearing their device links) is the serving processes' job, not the worker's."""
        while True:
            gevent.sleep(processes.HEARTBEAT_SECONDS)
            try:
                processes.beat(self.store, self.instance, [])
            except Exception:  # keep beating: one bad pass must not end it
                log.exception("worker heartbeat failed")

    # ------------------------------------------------------------ the change log
    def prune_signals(self) -> None:
        """Drop change-log rows every server has read long ago (a greenlet)."""
        while True:
            gevent.sleep(PRUNE_SECONDS)
            try:
                signals.prune(self.store)
            except Exception:
                log.exception("pruning floor_signals failed")

    # ------------------------------------------------------------ all of it
    def run(self) -> None:
        """Run every loop until one ends (none does) or the process is stopped."""
        with self.store.write():
            processes.register(self.store, self.instance)
        loops: list[Callable[[], None]] = [
            self.plan_carts,
            self.watch_leases,
            self.prune_signals,
            self.heartbeat,
        ]
        if self.settings.counts.schedule_every_hours > 0:
            loops.append(self.count_schedule)
        if self.settings.forecast.every_hours > 0:
            loops.append(self.forecast_demand)
        loops.append(Deliverer(self.store, self.settings.webhooks, self.instance).run)
        if self.settings.email.enabled:
            loops.append(Mailer(self.store, self.settings.email, self.instance).run)
        greenlets = [gevent.spawn(loop) for loop in loops]
        log.info(
            "worker running: planning, leases, webhooks%s%s%s",
            ", mail" if self.settings.email.enabled else "",
            ", count schedule" if self.settings.counts.schedule_every_hours > 0 else "",
            ", demand forecast" if self.settings.forecast.every_hours > 0 else "",
        )
        gevent.joinall(greenlets, raise_error=True)


def redis_publisher(redis_url: str) -> Callable[[list[dict[str, Any]]], None]:
    """Publish bus messages on Redis, as a server process's bus does (best effort: the
    change log holds them too, and a lost wake-up only delays)."""
    import redis

    from server.realtime.bus import CHANNEL

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    origin = f"worker:{secrets.token_hex(3)}"

    def publish(messages: list[dict[str, Any]]) -> None:
        try:
            pipe = client.pipeline(transaction=False)
            for msg in messages:
                pipe.publish(CHANNEL, json.dumps({**msg, "from": origin}))
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("worker: %d bus message(s) not published: %s", len(messages), exc)

    return publish
