"""The HTTP server of `scanfloor-server`: a WebSocket that ends leaves nothing for the collector."""

from __future__ import annotations

import gc

import gevent
import pytest
from gevent import socket

from server.runtime import httpd

LINKS = 20
UPGRADE = (
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _classes_named(name: str) -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, type) and o.__name__ == name)


def _open_link(port: int) -> socket.socket:
    """A real WebSocket upgrade to Engine.IO on the loopback port; returns once it is open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(UPGRADE.encode())
    got = b""
    while b'"sid"' not in got:  # the 101, then Engine.IO's open packet with the session id
        chunk = sock.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 101"), got
    return sock


@pytest.mark.sqlite_only("the HTTP server, not the store")
def test_links_that_end_leave_no_garbage_for_the_collector(floor):
    """gevent-websocket asks the server's application for `current_app` whenever a closed
    websocket is closed again (its `__del__` does, for every link); without it the library
    made two throwaway classes per ended link, cycles that only the cycle collector frees:
    21,000 objects when 1,500 links ended at once."""
    server = httpd.make_server(floor.app, floor.socketio, "127.0.0.1", 0)
    server.start()
    try:
        links = [_open_link(server.server_port) for _ in range(LINKS)]
        gc.collect()
        gc.disable()  # a made class stays until counted
        try:
            before = _classes_named("MockApp")
            for sock in links:
                sock.close()
            deadline = gevent.get_hub().loop.now() + 10
            while server.clients and gevent.get_hub().loop.now() < deadline:
                gevent.sleep(0.02)
            assert not server.clients  # every link's handler ended
            gevent.sleep(0.1)
            made = _classes_named("MockApp") - before
        finally:
            gc.enable()
    finally:
        server.stop(timeout=1)
    assert made == 0


@pytest.mark.sqlite_only("the HTTP server, not the store")
def test_the_server_s_application_serves_the_app(floor):
    """The wrapper passes every request on: a page over a real connection."""
    server = httpd.make_server(floor.app, floor.socketio, "127.0.0.1", 0)
    server.start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        sock.close()
    finally:
        server.stop(timeout=1)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]


def test_the_gunicorn_worker_s_server_refuses_an_app_it_cannot_set_up():
    """Given the Flask app instead of `server.runtime.wsgi:app`, it says so before serving."""
    from server.runtime.gunicorn_worker import Server

    with pytest.raises(TypeError, match="server.runtime.wsgi:app"):
        Server(("127.0.0.1", 0), application=lambda environ, start_response: [])
