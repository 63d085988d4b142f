"""After the last unit the drop-off comes first: "TOTE-1 TO PACKING" in block letters, and the
next list's "Scan an empty tote" only once the picker has scanned the tote at packing."""

from __future__ import annotations

import io

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import GREEN, RED, TtyScreen, big_line, plain_text
from shared import picking
from shared.protocol import ScanReply, StepView, dump

DONE = "List done. Take tote TOTE-1 to packing"
WIDTH, HEIGHT = 60, 20


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
        self.sent: list[str] = []

    def emit(self, event, payload, namespace=None, callback=None):
        self.sent.append(payload["barcode"])
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
    screen = TtyScreen(out=io.StringIO())
    device = DeviceClient(settings, FakeScanner(), None, screen, Journal(tmp_path / "j.db"))
    device._offer_state(one_unit_left(), (1, 1))  # as the server last sent it (kept on disk)
    device.state = device.server_state
    return device


def seen(device) -> str:
    """The screen as the picker reads it: no colours, no trailing blanks."""
    rendered = plain_text(device.screen.render(WIDTH, HEIGHT))
    return "\n".join(line.rstrip() for line in rendered.split("\n"))


def big(word: str) -> str:
    return "\n".join(big_line(word))


def assert_drop_off_first(device):
    text = seen(device)
    assert big("TOTE-1") in text and big("TO PACKING") in text
    assert DONE in text and "scan TOTE-1" in text
    assert "Scan an empty tote" not in text and "SCAN" not in text.split("\n")[3]


def test_the_drop_off_comes_first_in_block_letters_and_must_be_confirmed(tmp_path):
    device = make(tmp_path)
    device.sio = Server()
    device._online.set()
    device.scan("0012345678905")
    assert device._send_one(device.journal.pending()[0])
    assert device.server_state.pick_list_id == 5  # the next list is the server's...
    assert_drop_off_first(device)  # ...but the drop-off is what the picker sees
    # An empty tote for the next list is refused: the whole screen turns red and sounds.
    device.scan("TOTE-2")
    assert not device.journal.pending() and device.sio.sent == ["0012345678905"]
    rendered = device.screen.render(WIDTH, HEIGHT)
    assert rendered.count(RED) >= HEIGHT - 2 and device.screen.sounds[-1] == "bad"
    assert big("TO PACKING") in seen(device) and "First take TOTE-1 to packing" in seen(device)
    # The tote scanned at packing confirms it; then the next list.
    device.scan("TOTE-1")
    assert device.state.pick_list_id == 5 and device.state.screen == "pick_tote"
    text = seen(device)
    assert big("SCAN AN") in text and "TOTE-1 at packing" in text
    assert GREEN in device.screen.render(WIDTH, HEIGHT)
    device.scan("TOTE-2")
    assert device._send_one(device.journal.pending()[0]) and device.sio.sent[-1] == "TOTE-2"


def test_offline_too_and_a_restart_keeps_it(tmp_path):
    device = make(tmp_path)
    device.scan("0012345678905")  # judged on the device: no link
    assert device.state.screen == "pick_done"
    assert_drop_off_first(device)
    device.journal.close()
    again = DeviceClient(
        device.settings, FakeScanner(), None, TtyScreen(out=io.StringIO()),
        Journal(tmp_path / "j.db"),
    )  # fmt: skip
    again.screen.state = again.state
    assert_drop_off_first(again)
    again.scan("TOTE-1")
    # Dropped off: the list's own done screen is not shown again; the device waits for work.
    assert again.state.screen == "idle"
