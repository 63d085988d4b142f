"""A device's link skips websocket-client's pure-Python UTF-8 check, and bad UTF-8 is still
refused: the library decodes every text message with str.decode after it."""

from __future__ import annotations

import socket

import pytest
import websocket

from device.link import WEBSOCKET_OPTIONS, WatchedClient


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
def link():
    ours, theirs = socket.socketpair()
    ws = websocket.WebSocket(**WEBSOCKET_OPTIONS)
    ws.sock, ws.connected = ours, True
    yield ws, theirs
    ours.close()
    theirs.close()


def test_with_the_check_skipped_good_text_arrives_whole(link):
    ws, theirs = link
    text = '42/device,["state",{"instruction":"Größe 3 aus Fach 01-02-3"}]'
    theirs.sendall(_frame(text.encode()))
    assert ws.recv() == text


def test_with_the_check_skipped_bad_utf8_is_still_refused(link):
    ws, theirs = link
    theirs.sendall(_frame(b'42/device,["state","\xff\xfe"]'))
    with pytest.raises(UnicodeDecodeError):
        ws.recv()
