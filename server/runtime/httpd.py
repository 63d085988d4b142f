"""The HTTP server of `scanfloor-server`: gevent's pywsgi with websockets, and no Nagle wait.

gevent.pywsgi writes a response in pieces: the status line and headers with one
send(), the body with another (and each chunk, and the end of a chunked body, with
one more). On a reused keep-alive connection the second small piece waits, under
Nagle's algorithm, for the ACK of the first, and the client delays that ACK by up to
~40 ms because it is waiting for the rest of the response. So every request after the
first on a connection took ~40 ms. TCP_NODELAY on each accepted socket sends every
piece at once.

gunicorn sets TCP_NODELAY on its listening sockets and Linux hands it on to the
accepted ones; its scanfloor worker class (server/runtime/gunicorn_worker.py) uses
NoDelayHandler and `equip` all the same, so both forms serve alike.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import gevent
from flask import Flask
from flask_socketio import SocketIO
from gevent import pywsgi
from gevent.lock import Semaphore
from geventwebsocket.handler import WebSocketHandler

log = logging.getLogger("scanfloor.http")
SIGNED_IN = "scanfloor.signed_in"  # the environ key of a new link's `Handshakes` release
HANDSHAKE_SECONDS = 10.0  # a link that has not signed in by then gives its place up anyway


class Handshakes:
    """At most `limit` new connections in their handshake at once: the request read, the
    WebSocket upgrade, Engine.IO's open and the namespace's sign-in (a connect's write).

    At shift start 1,500 handhelds connect within a second or two. Each handshake is several
    turns of the loop, and with all of them under way at once, every turn ran a step of each
    before any scan of a device already signed in: the loop was late by 150-210 ms at a time
    for the storm's first seconds. With a few dozen at a time a turn stays short; the others
    wait their turn, accepted, in a queue that costs the loop nothing.

    A connection takes a place before its request is read. A plain HTTP request (a page, the
    REST API, a polling transport) gives it up as soon as its request is read, and so does the
    upgrade of a polling session (signed in already); a WebSocket that opens a session holds
    it until its namespace signs it in (`signed_in`), its connection ends, or
    HANDSHAKE_SECONDS pass, whichever comes first.
    """

    def __init__(self, limit: int):
        self._places = Semaphore(limit)

    def enter(self) -> Callable[[], None]:
        """Wait for a place; returns what gives it up (once, however often it is called)."""
        self._places.acquire()
        timer = gevent.get_hub().loop.timer(HANDSHAKE_SECONDS)
        held = [True]

        def leave() -> None:
            if held[0]:
                held[0] = False
                timer.stop()
                self._places.release()

        timer.start(leave)
        return leave


def _new_websocket(environ: dict[str, Any]) -> bool:
    """A WebSocket that opens an Engine.IO session (one that upgrades a polling session, as
    a browser's does, signed in over polling already: its `sid` is in the query)."""
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return False
    return "sid" not in parse_qs(environ.get("QUERY_STRING", ""))


def signed_in(environ: dict[str, Any]) -> None:
    """A namespace's connect is done: its connection gives its handshake place up."""
    leave = environ.pop(SIGNED_IN, None)
    if leave is not None:
        leave()


def no_delay(sock: socket.socket) -> None:
    """Send small writes at once (TCP_NODELAY); a no-op on non-TCP sockets."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # the peer may already be gone; pywsgi reports that itself
        log.debug("TCP_NODELAY not set", exc_info=True)


class NoDelayHandler(WebSocketHandler):
    """gevent-websocket's handler on a socket that sends each write at once, each new
    connection's handshake taking a place in the server's `Handshakes` (if it has one)."""

    _leave: Callable[[], None] | None = None

    def handle(self) -> None:
        no_delay(self.socket)
        handshakes: Handshakes | None = getattr(self.server, "handshakes", None)
        if handshakes is None:
            super().handle()
            return
        self._leave = handshakes.enter()
        try:
            super().handle()
        finally:
            self._leave()

    def run_application(self) -> Any:
        leave = self._leave  # giving the place up twice gives it up once
        if leave is not None:
            if _new_websocket(self.environ):
                self.environ[SIGNED_IN] = leave  # given up by the namespace's connect
            else:
                leave()  # ... or here; else when the connection ends (`handle`)
        return super().run_application()


class QuietCloseApp:
    """The WSGI app as the server holds it: calls go to `app`, and gevent-websocket's
    `current_app` hook is there, with an `on_close` that does nothing.

    gevent-websocket's WebSocket tells `handler.server.application.current_app` when it is
    closed, or used after it closed, and its `__del__` closes it again, so every link that
    ends does so at least twice. For an app without that attribute (a Flask app) the library
    makes a throwaway class on each call (five per ended link in tests/server/runtime/
    test_httpd.py; two in the `__del__` alone: 14 objects that only the cycle collector
    frees, about 15 us). When 1,500 handhelds' links ended at once (an access
    point rebooting, the end of a bench), freeing their websockets took 21-25 ms and left
    21,000 objects for the collector, whose collections were then the longest stalls of the
    teardown (33-45 ms); with the hook, 3 ms and nothing left (docs/scaling.md, *Garbage
    collection*)."""

    def __init__(self, app: Callable[..., Any], socketio: SocketIO, handshakes: int = 0):
        self.app = app
        self.current_app = self
        # What a server of its own needs to set itself up as `make_server` does (`equip`):
        # gunicorn's worker (server/runtime/gunicorn_worker.py) is given only the app.
        self.socketio, self.handshakes = socketio, handshakes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)

    def on_close(self, reason: Any = None) -> None:
        """What gevent-websocket tells the app when a websocket is closed: nothing to do."""


def origin_refuser(socketio: SocketIO):
    """gevent-websocket upgrades a WebSocket (101) before the app runs, so Engine.IO's Origin
    check could only close the socket after it opened. Asked before the upgrade, this keeps a
    foreign Origin's request plain HTTP: Engine.IO then answers it 400, as for polling."""
    eio = socketio.server.eio

    def foreign(handler: WebSocketHandler) -> bool:
        origin = handler.environ.get("HTTP_ORIGIN")
        if not origin or eio.cors_allowed_origins == []:
            return False
        # Engine.IO's own rule (same origin by Host, or the configured list), not a copy of it.
        allowed = eio._cors_allowed_origins(handler.environ)
        return allowed is not None and origin not in allowed

    return foreign


def make_server(
    app: Flask, socketio: SocketIO, host: str, port: int, handshakes: int = 0
) -> pywsgi.WSGIServer:
    """What `socketio.run()` builds in gevent mode, with NoDelayHandler; `socketio.stop()` works.
    `handshakes`: how many new connections may be in their handshake at once (0: any)."""
    served = QuietCloseApp(app, socketio, handshakes)
    server = pywsgi.WSGIServer((host, port), served, handler_class=NoDelayHandler, log=None)
    equip(server, served)
    socketio.wsgi_server = server
    return server


def equip(server: pywsgi.WSGIServer, served: QuietCloseApp) -> None:
    """What a server of scanfloor's (`make_server`'s, gunicorn's worker's) does before any
    handler runs: a foreign Origin's WebSocket refused before its upgrade, and at most
    `served.handshakes` new connections in their handshake at once (with NoDelayHandler)."""
    server.pre_start_hook = origin_refuser(served.socketio)
    server.handshakes = Handshakes(served.handshakes) if served.handshakes > 0 else None
