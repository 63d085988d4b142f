"""The HTTP server of `scanfloor-server`: gevent's pywsgi with websockets, and no Nagle wait.

gevent.pywsgi writes a response in pieces: the status line and headers with one
send(), the body with another (and each chunk, and the end of a chunked body, with
one more). On a reused keep-alive connection the second small piece waits, under
Nagle's algorithm, for the ACK of the first, and the client delays that ACK by up to
~40 ms because it is waiting for the rest of the response. So every request after the
first on a connection took ~40 ms. TCP_NODELAY on each accepted socket sends every
piece at once.

gunicorn sets TCP_NODELAY on its listening sockets and Linux hands it on to the
accepted ones, so the production form (GeventWebSocketWorker) does not need this.
"""

from __future__ import annotations

import logging
import socket

from flask import Flask
from flask_socketio import SocketIO
from gevent import pywsgi
from geventwebsocket.handler import WebSocketHandler

log = logging.getLogger("scanfloor.http")


def no_delay(sock: socket.socket) -> None:
    """Send small writes at once (TCP_NODELAY); a no-op on non-TCP sockets."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # the peer may already be gone; pywsgi reports that itself
        log.debug("TCP_NODELAY not set", exc_info=True)


class NoDelayHandler(WebSocketHandler):
    """gevent-websocket's handler on a socket that sends each write at once."""

    def handle(self) -> None:
        no_delay(self.socket)
        super().handle()


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


def make_server(app: Flask, socketio: SocketIO, host: str, port: int) -> pywsgi.WSGIServer:
    """What `socketio.run()` builds in gevent mode, with NoDelayHandler; `socketio.stop()` works."""
    server = pywsgi.WSGIServer((host, port), app, handler_class=NoDelayHandler, log=None)
    server.pre_start_hook = origin_refuser(socketio)
    socketio.wsgi_server = server
    return server
