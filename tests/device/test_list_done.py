""" "List done: take the tote to packing" stays on the handheld until the picker's next scan."""

from __future__ import annotations

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import Screen
from shared import picking
from shared.protocol import ScanReply, StepView, dump

DONE = "List done. Take tote TOTE-1 to packing"


def one_unit_left():
    step = StepView(
        step_id=1, location="E-01-01", location_barcode="LE-01-01", sku="SKU-B",
        product_name="Red pen", item_barcodes=["0012345678905"], qty=1, picked=0, order_id="SO-1",
    )  # fmt: skip
    return picking.screen(4, ["SO-1"], {"SO-1": "TOTE-1"}, [step], True, 1)


class Server:
    """Answers the last unit with list_done and the next list's first screen, as the server does."""

    def __init__(self):
        self.next_list = picking.screen(5, ["SO-2"], {}, [], False, 0)

    def emit(self, event, payload, namespace=None, callback=None):
        if payload["barcode"] == "0012345678905":
            reply = ScanReply(
                id=payload["id"], ok=True, code="list_done", message=DONE, state=self.next_list
            )
        else:
            reply = ScanReply(
                id=payload["id"], ok=True, code="tote_ok", message="Tote TOTE-2 started",
                state=self.next_list,
            )  # fmt: skip
        callback(dump(reply))


def make(tmp_path) -> DeviceClient:
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    device = DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))
    device.state = device.server_state = one_unit_left()
    return device


def test_the_done_message_stays_over_the_next_list_until_the_next_scan(tmp_path):
    device = make(tmp_path)
    device.sio = Server()
    device._online.set()
    device.scan("0012345678905")
    assert device._send_one(device.journal.pending()[0])
    assert device.state.pick_list_id == 5  # the next list is on screen...
    assert device.screen.banner == DONE  # ...under the done message
    device.screen.notice("New pick list PL-000005")
    assert device.screen.banner == DONE
    device.scan("TOTE-2")  # the picker has an empty tote in hand: the message was seen
    assert device.screen.banner is None


def test_offline_too(tmp_path):
    device = make(tmp_path)
    device.scan("0012345678905")
    assert device.state.screen == "pick_done" and device.screen.banner == DONE
    device.scan("TOTE-2")
    assert device.screen.banner is None
