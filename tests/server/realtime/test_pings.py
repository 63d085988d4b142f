"""Engine.IO pings from loop timers (server/realtime/pings.py), on the library's own socket.

A timer never fires before its interval has passed on the loop's own clock (libev's cached
`loop.now()`, which may lag the wall clock after the test process held the CPU), so "not
before the interval" is checked on that clock; how late a timer fires depends on the
machine's load, so every wait for a ping is a deadline, not a fixed sleep.
"""

from __future__ import annotations

import time

import gevent
import pytest
from engineio import Server, packet
from engineio import socket as eio_socket

from server.realtime import pings

INTERVAL = 0.3
DEADLINE = 10.0


@pytest.fixture
def sock():
    pings.install()
    try:
        server = Server(async_mode="gevent", ping_interval=INTERVAL, ping_timeout=1)
        yield eio_socket.Socket(server, "sid-1")
    finally:
        pings.uninstall()


def _queued(sock) -> list[int]:
    out = []
    while not sock.queue.empty():
        out.append(sock.queue.get_nowait().packet_type)
    return out


def _loop_now() -> float:
    return gevent.get_hub().loop.now()


def _next_ping(sock) -> float:
    """Wait for the next queued packet: it must be a ping; returns when it came (loop clock)."""
    end = time.monotonic() + DEADLINE
    while sock.queue.empty():
        assert time.monotonic() < end, "no ping came"
        gevent.sleep(0.01)
    assert _queued(sock) == [packet.PING]
    return _loop_now()


def test_a_ping_is_queued_one_interval_after_it_is_scheduled_and_no_greenlet_is_spawned(
    sock, monkeypatch
):
    spawned = []
    monkeypatch.setattr(sock.server, "start_background_task", lambda *a: spawned.append(a))
    started = _loop_now()
    sock.schedule_ping()  # as the library does at connect, and on each pong
    assert sock.last_ping is None
    assert _next_ping(sock) - started >= INTERVAL
    assert sock.last_ping is not None  # the timeout check counts from the ping
    assert spawned == []


def test_the_next_ping_waits_for_the_pong(sock):
    sock.schedule_ping()
    sock.schedule_ping()  # no pong yet: not a second timer
    _next_ping(sock)
    gevent.sleep(INTERVAL * 2)
    assert _queued(sock) == []  # one ping for the two calls, and none without a pong
    ponged = _loop_now()
    sock.receive(packet.Packet(packet.PONG))  # the pong schedules the next
    assert _next_ping(sock) - ponged >= INTERVAL


def test_a_closed_link_gets_no_ping(sock):
    sock.schedule_ping()
    sock.closed = True
    gevent.sleep(INTERVAL * 2)
    assert _queued(sock) == []


def test_uninstall_gives_the_library_its_own_back():
    pings.install()
    assert eio_socket.Socket.schedule_ping is not pings._LIBRARY_SCHEDULE
    pings.uninstall()
    assert eio_socket.Socket.schedule_ping is pings._LIBRARY_SCHEDULE
