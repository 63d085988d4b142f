"""Wake-ups between the server processes of one site, over a Redis pub/sub channel of our own.

A device's events are stored in SQLite and sent by the process that holds its
link (it alone knows what went out on that link). When work for a device is
made on another process (a scan there, a REST call, the admin CLI), that
process asks the bus to wake the right one. Messages, JSON on `CHANNEL`:

    {"k": "deliver", "d": [device ids]}          whoever holds a link sends that device its events
    {"k": "work", "w": [warehouses] | null, "id": ...}   new work: the first process to claim
                                                 the id hands it to idle pickers (the admin CLI)
    {"k": "board", "l": [...], "d": [...], "f": bool}    what a change touched, for the processes
                                                 with boards open: each builds its boards' delta
    {"k": "boards"}                              a board opened somewhere: start sending "board"
    {"k": "cut", "d": [device ids]}              tokens revoked or replaced (the admin CLI): whoever
                                                 holds such a link checks its token and cuts it

Board changes are published only while some process has a board open: such a
process keeps its instance in the sorted set `BOARDS_KEY` (score: until when),
refreshed every second; every process reads the set as often. Nothing here is
needed for correctness: a lost message delays an event until the device
reconnects or the next change; after the bus itself reconnects, the process
catches up (`{"k": "resync"}` to its handler). Flask-SocketIO's own queue (channel
"flask-socketio") is configured beside this and left to Flask-SocketIO.

Built only when a Redis URL is configured: one process alone never connects to a Redis.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent.event import Event

log = logging.getLogger("scanfloor.bus")
CHANNEL = "scanfloor.bus"
BOARDS_KEY = "scanfloor:boards"
CLAIM_PREFIX = "scanfloor:claim:"
BOARD_FLUSH = 0.05  # seconds: board changes published together
PRESENCE_PERIOD = 1.0  # seconds between board-presence refreshes
PRESENCE_TTL = 3.0  # a process's board presence lapses this long after its last refresh


def publish_work(redis_url: str, warehouses: list[str] | None = None) -> bool:
    """Tell the server processes that work arrived (from the admin CLI; no gevent needed)."""
    return _publish_once(redis_url, _work(warehouses))


def publish_cut(redis_url: str, device_ids: list[int]) -> bool:
    """Tell the server processes to cut these devices' links: their tokens were revoked or
    replaced (from the admin CLI; the process holding a link checks the token and cuts it)."""
    return _publish_once(redis_url, json.dumps({"k": "cut", "d": device_ids}))


def _publish_once(redis_url: str, message: str) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.publish(CHANNEL, message)
        return True
    except redis.RedisError as exc:
        log.warning("could not reach Redis at %s: %s", redis_url, exc)
        return False
    finally:
        client.close()


def _work(warehouses: list[str] | None) -> str:
    return json.dumps({"k": "work", "w": warehouses, "id": secrets.token_hex(8)})


class Bus:
    """One process's end of the bus: publishes in the background, hands what arrives to `handler`."""

    def __init__(self, redis_url: str, instance: str, handler: Callable[[dict[str, Any]], None]):
        import redis

        self.redis = redis.Redis.from_url(
            redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self.instance = instance
        self.handler = handler
        self.local_boards = False
        self.boards_elsewhere = False  # read on every change: publish board changes or not
        self._noticed_until = 0.0  # a "boards" notice counts until the set shows the process
        self._out: list[dict[str, Any]] = []
        self._deliver: set[int] = set()
        self._lists: set[int] = set()
        self._devices: set[int] = set()
        self._full = False
        self._board_pending = False
        self._wake = Event()
        self._presence_wake = Event()
        self._greenlets: list[gevent.Greenlet] = []
        self.published = self.received = 0

    def start(self) -> None:
        self._greenlets = [gevent.spawn(f) for f in (self._publish, self._listen, self._presence)]

    def close(self) -> None:
        gevent.killall(self._greenlets)
        self.redis.close()

    # ------------------------------------------------------------ outgoing
    def deliver(self, device_id: int) -> None:
        """Ask the process holding the device's link to send it its stored events."""
        self._deliver.add(device_id)
        self._wake.set()

    def board_touched(self, lists: Iterable[int], devices: Iterable[int], full: bool) -> None:
        """Tell the processes with boards what a change touched (gathered for BOARD_FLUSH)."""
        self._lists.update(lists)
        self._devices.update(devices)
        self._full = self._full or full
        if not self._board_pending:
            self._board_pending = True
            gevent.spawn_later(BOARD_FLUSH, self._flush_board)

    def boards_here(self, count: int) -> None:
        """How many boards this process has open (it announces the first one at once)."""
        if count and not self.local_boards:
            self._send({"k": "boards"})
            self._presence_wake.set()
        self.local_boards = bool(count)

    def cut(self, device_ids: list[int]) -> None:
        """Ask every process to cut these devices' links (their tokens changed)."""
        self._send({"k": "cut", "d": sorted(device_ids)})

    def claim(self, msg_id: str) -> bool:
        """True for the one process that takes a message meant for one (`work`)."""
        return bool(self.redis.set(CLAIM_PREFIX + msg_id, self.instance, nx=True, ex=60))

    def _flush_board(self) -> None:
        msg = {"k": "board", "l": sorted(self._lists), "d": sorted(self._devices), "f": self._full}
        self._lists, self._devices, self._full, self._board_pending = set(), set(), False, False
        self._send(msg)

    def _send(self, msg: dict[str, Any]) -> None:
        self._out.append(msg)
        self._wake.set()

    # ------------------------------------------------------------ background
    def _publish(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            out, self._out = self._out, []
            if self._deliver:
                out.append({"k": "deliver", "d": sorted(self._deliver)})
                self._deliver = set()
            try:
                pipe = self.redis.pipeline(transaction=False)
                for msg in out:
                    pipe.publish(CHANNEL, json.dumps({**msg, "from": self.instance}))
                pipe.execute()
                self.published += len(out)
            except Exception as exc:  # wake-ups are best effort: the data is in SQLite
                log.warning("bus: %d message(s) not published: %s", len(out), exc)
                gevent.sleep(0.5)

    def _listen(self) -> None:
        retry, first = 0.5, True
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                if not first:
                    log.info("bus: subscribed again; catching up")
                    self._handle({"k": "resync"})
                first, retry = False, 0.5
                while True:
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "message":
                        self.received += 1
                        self._handle(json.loads(msg["data"]))
            except Exception as exc:
                log.warning("bus: lost Redis (%s); retrying in %.1f s", exc, retry)
                first = False
                gevent.sleep(retry)
                retry = min(retry * 2, 10.0)
            finally:
                pubsub.close()

    def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("k")
        if msg.get("from") == self.instance and kind in ("board", "boards"):
            return  # this process told its own boards already
        if kind == "boards":
            self.boards_elsewhere = True
            self._noticed_until = time.time() + PRESENCE_TTL
            return
        try:
            self.handler(msg)
        except Exception:
            log.exception("bus: handling %s failed", kind)

    def _presence(self) -> None:
        registered = False
        while True:
            try:
                now = time.time()
                pipe = self.redis.pipeline(transaction=False)
                if self.local_boards:
                    pipe.zadd(BOARDS_KEY, {self.instance: now + PRESENCE_TTL})
                elif registered:
                    pipe.zrem(BOARDS_KEY, self.instance)
                pipe.zremrangebyscore(BOARDS_KEY, "-inf", now)
                pipe.zrangebyscore(BOARDS_KEY, now, "+inf")
                found = pipe.execute()[-1]
                registered = self.local_boards
                others = [m for m in found if m.decode() != self.instance]
                self.boards_elsewhere = bool(others) or now < self._noticed_until
            except Exception as exc:
                log.warning("bus: board presence not refreshed: %s", exc)
            self._presence_wake.wait(PRESENCE_PERIOD)
            self._presence_wake.clear()
