"""The server closing the link: told why (replaced) the device stays off, else it reconnects."""

from __future__ import annotations

import threading
import time

import socketio

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import Screen


class ClosedByServer:
    """Stands in for the Socket.IO client after the server closed it: counts reconnects."""

    reason = socketio.Client.reason

    def __init__(self):
        self.connects = threading.Event()

    def connect(self, *args, **kwargs):
        self.connects.set()

    def disconnect(self):
        pass


def make(tmp_path) -> DeviceClient:
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    device = DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))
    device.sio = ClosedByServer()
    device._online.set()
    return device


def test_closed_by_the_server_without_a_reason_it_reconnects(tmp_path):
    device = make(tmp_path)
    device._on_disconnect(socketio.Client.reason.SERVER_DISCONNECT)
    assert device.sio.connects.wait(5)
    assert not device.signed_out and device.screen.link == "offline"


def test_replaced_it_stays_off_until_cmd_login(tmp_path):
    device = make(tmp_path)
    device._on_replaced({"message": "Signed in on another connection: this one is closed"})
    device._on_disconnect(socketio.Client.reason.SERVER_DISCONNECT)
    time.sleep(1.5)
    assert not device.sio.connects.is_set()
    assert device.signed_out and device.screen.link == "replaced"
    device.scan("TOTE-1")
    assert device.journal.pending() == [] and "CMD-LOGIN" in device.screen.result[1]
    device.scan("CMD-LOGIN")
    assert device.sio.connects.wait(5) and not device.signed_out
    assert [e.barcode for e in device.journal.pending()] == ["login"]
