"""The loopback proxy the offline proofs stand on, and the device link's parts: its event
reorder buffer, and its websocket skipping websocket-client's pure-Python UTF-8 check (bad
UTF-8 is still refused: the library decodes every text message with str.decode after it)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import websocket

from device.link import WEBSOCKET_OPTIONS, InOrder, WatchedClient
from device.sim.netproxy import NetProxy


@pytest.fixture
def echo(loopback_server):
    """A TCP echo server on loopback."""

    def echo_back(conn: socket.socket) -> None:
        while data := conn.recv(1024):
            conn.sendall(data)

    return loopback_server(echo_back)


def talk(sock: socket.socket, data: bytes, timeout: float = 1.0) -> bytes:
    sock.settimeout(timeout)
    sock.sendall(data)
    return sock.recv(1024)


def test_pass_cut_and_back(echo):
    with NetProxy(echo) as proxy:
        a = socket.create_connection((proxy.host, proxy.port))
        assert talk(a, b"hello") == b"hello"
        proxy.cut()
        a.settimeout(2)
        assert a.recv(1024) == b""  # the open link is closed at once
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((proxy.host, proxy.port), timeout=1)
        proxy.restore()
        b = socket.create_connection((proxy.host, proxy.port))
        assert talk(b, b"again") == b"again"
        a.close(), b.close()


def test_black_hole_swallows_without_closing(echo):
    with NetProxy(echo) as proxy:
        a = socket.create_connection((proxy.host, proxy.port))
        assert talk(a, b"one") == b"one"
        proxy.blackhole()
        with pytest.raises(TimeoutError):
            talk(a, b"lost", timeout=0.5)  # no answer, and no FIN either
        b = socket.create_connection((proxy.host, proxy.port), timeout=1)  # accepted...
        with pytest.raises(TimeoutError):
            talk(b, b"lost too", timeout=0.5)  # ...and swallowed
        assert proxy.swallowed >= len(b"lostlost too")
        proxy.restore()
        a.settimeout(2)
        assert a.recv(1024) == b""  # a torn stream is not resumed: closed on return
        c = socket.create_connection((proxy.host, proxy.port))
        assert talk(c, b"fine") == b"fine"
        for s in (a, b, c):
            s.close()


def test_in_order_waits_briefly_for_a_missing_seq():
    buf = InOrder(hold=1.0)
    buf.put(3, "c")
    buf.put(2, "b")
    threading.Timer(0.1, buf.put, args=(1, "a")).start()
    t0 = time.monotonic()
    assert buf.take(1) == (1, "a") and time.monotonic() - t0 < 0.9
    assert buf.take(2) == (2, "b") and buf.take(3) == (3, "c")
    buf.put(9, "late")
    t0 = time.monotonic()
    assert buf.take(4) == (9, "late") and time.monotonic() - t0 >= 0.9  # gave up on 4..8
    assert buf.take(10, wait=0.05) is None


def test_a_slow_link_delays_every_byte_both_ways_in_order(echo):
    with NetProxy(echo) as proxy:
        a = socket.create_connection((proxy.host, proxy.port))
        assert talk(a, b"quick") == b"quick"
        proxy.set_delay(0.3)
        t0 = time.monotonic()
        assert talk(a, b"slow", timeout=3) == b"slow"
        assert time.monotonic() - t0 >= 0.6  # 0.3 s out, 0.3 s back
        a.sendall(b"1")
        a.sendall(b"2")
        a.settimeout(3)
        got = b""
        while len(got) < 2:
            got += a.recv(1024)
        assert got == b"12"
        proxy.set_delay(0)
        t0 = time.monotonic()
        assert talk(a, b"fast") == b"fast" and time.monotonic() - t0 < 0.3
        a.close()


def test_the_device_client_asks_websocket_client_to_skip_its_own_utf8_check():
    client = WatchedClient()
    assert client.eio.websocket_extra_options == {"skip_utf8_validation": True}
    # A caller's own options win.
    assert WatchedClient(websocket_extra_options={}).eio.websocket_extra_options == {}


def _frame(payload: bytes) -> bytes:
    """One unmasked, final text frame (server to client), as RFC 6455 lays it out."""
    assert len(payload) < 126
    return bytes([0x81, len(payload)]) + payload


@pytest.fixture
def ws_link():
    ours, theirs = socket.socketpair()
    ws = websocket.WebSocket(**WEBSOCKET_OPTIONS)
    ws.sock, ws.connected = ours, True
    yield ws, theirs
    ours.close()
    theirs.close()


def test_with_the_check_skipped_good_text_arrives_whole(ws_link):
    ws, theirs = ws_link
    text = '42/device,["state",{"instruction":"Größe 3 aus Fach 01-02-3"}]'
    theirs.sendall(_frame(text.encode()))
    assert ws.recv() == text


def test_with_the_check_skipped_bad_utf8_is_still_refused(ws_link):
    ws, theirs = ws_link
    theirs.sendall(_frame(b'42/device,["state","\xff\xfe"]'))
    with pytest.raises(UnicodeDecodeError):
        ws.recv()
