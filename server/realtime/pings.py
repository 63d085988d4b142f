"""Engine.IO's pings from the loop's own timers, not from a greenlet each.

python-engineio schedules each link's next ping by spawning a greenlet that sleeps
`ping_interval` and then queues the ping: at 1,500 handhelds and a 2 s interval that is
750 greenlets spawned a second and 1,500 asleep at any moment, each with its timer, its
waiter and its bound methods, all young enough to be walked by the young collections
(docs/scaling.md, *Garbage collection*). Here the same ping is queued by a timer's
callback on the gevent loop: same interval, same packet, same timeout bookkeeping
(`last_ping`), no greenlet. `create_app` installs it for every Engine.IO socket of its
process.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from engineio import packet
from engineio import socket as eio_socket

_LIBRARY_SCHEDULE = eio_socket.Socket.schedule_ping


def _schedule_ping(sock: Any) -> None:
    # As the library's: only once the previous ping was answered.
    if sock.last_ping:
        sock.last_ping = None
        timer = gevent.get_hub().loop.timer(sock.server.ping_interval)
        timer.start(_ping_due, sock, timer)


def _ping_due(sock: Any, timer: Any) -> None:
    timer.close()
    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        # What Socket.send does (its timeout check cannot fire: last_ping was just set);
        # a put on the unbounded queue never blocks, so it may run in the hub.
        sock.queue.put(packet.Packet(packet.PING))


def install() -> None:
    """Use the timers for every Engine.IO socket of this process."""
    eio_socket.Socket.schedule_ping = _schedule_ping


def uninstall() -> None:
    eio_socket.Socket.schedule_ping = _LIBRARY_SCHEDULE
