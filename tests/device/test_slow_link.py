"""A slow link: the server's answer comes after the device has judged the scan itself."""

from __future__ import annotations

import threading

import pytest
import socketio

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import Screen
from shared import picking
from shared.protocol import ScanReply, StepView, dump


class SlowLink:
    """Stands in for the Socket.IO client: every answer comes `delay` seconds late."""

    reason = socketio.Client.reason

    def __init__(self, delay: float, state):
        self.delay = delay
        self.state = state
        self.sent: list[dict] = []
        self.applied: dict[str, dict] = {}  # msg id -> the first answer, as the server keeps it

    def emit(self, event, payload, namespace=None, callback=None):
        self.sent.append(payload)
        if payload["id"] in self.applied:
            answer = {**self.applied[payload["id"]], "duplicate": True}
        else:
            reply = ScanReply(
                id=payload["id"], ok=True, code="tote_ok", message="Tote TOTE-1 started",
                state=self.state, event_seq=1,
            )  # fmt: skip
            answer = self.applied[payload["id"]] = dump(reply)
        threading.Timer(self.delay, callback, args=(answer,)).start()


def pick_tote_state():
    step = StepView(
        step_id=1, location="E-01-01", location_barcode="LE-01-01", sku="SKU-B",
        product_name="Red pen", item_barcodes=["0012345678905"], qty=1, picked=0, order_id="SO-1",
    )  # fmt: skip
    return picking.screen(4, ["SO-1"], {}, [step], False, 1)


@pytest.mark.parametrize("delay", [0.5, 0.05])
def test_a_scan_the_worker_saw_judged_here_carries_that_verdict_to_the_server(tmp_path, delay):
    settings = DeviceSettings(
        token="sfd_12345678", data_dir=tmp_path, screen="none", offline_after=0.2
    )
    device = DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))
    state = pick_tote_state()
    after = picking.judge(state, "TOTE-1", {"TOTE-1"}).state
    device.state = device.server_state = state
    device.sio = link = SlowLink(delay, after)
    device._online.set()

    device.scan("TOTE-1")
    (entry,) = device.journal.pending()
    assert device._send_one(entry)

    assert device.journal.pending() == []
    ids = {p["id"] for p in link.sent}
    assert ids == {entry.msg_id}  # one scan, applied once by its id
    if delay > settings.offline_after:
        # The worker got the device's own verdict before the answer: the server must hear it.
        assert device.screen.sounds == ["good"] and device.offline_scans == 1
        assert link.sent[-1]["offline"] is True
        assert link.sent[-1]["local"] == {"ok": True, "code": "tote_ok"}
    else:
        assert len(link.sent) == 1 and link.sent[0]["offline"] is False
        assert link.sent[0]["local"] is None
