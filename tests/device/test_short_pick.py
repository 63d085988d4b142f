"""A short pick on the handheld: CMD-SHORT asks first, the count card or CMD-SHORT answers."""

from __future__ import annotations

import pytest

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import Screen
from shared import messages as say
from shared import picking
from shared.protocol import StepView


class Taken:
    """Stands in for the Socket.IO client: every action is taken at once."""

    def __init__(self):
        self.sent: list[dict] = []

    def emit(self, event, payload, namespace=None, callback=None):
        self.sent.append(payload)
        callback({"id": payload["id"], "ok": True})


def at_the_bin():
    step = StepView(
        step_id=5, location="E-01-01", location_barcode="LE-01-01", sku="SKU-B",
        product_name="Red pen", item_barcodes=["0012345678905"], qty=19, picked=0,
        order_id="SO-1",
    )  # fmt: skip
    return picking.screen(4, ["SO-1"], {"SO-1": "TOTE-1"}, [step], True, 19)


@pytest.fixture
def device(tmp_path) -> DeviceClient:
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    d = DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))
    d.state = d.server_state = at_the_bin()
    d.sio = Taken()
    return d


def sent(device) -> list[dict]:
    while device.journal.pending():
        assert device._send_one(device.journal.pending()[0])
    return [p for p in device.sio.sent if p.get("action") == "short"]


def test_cmd_short_asks_and_never_zeroes_the_bin_by_itself(device):
    device._online.set()
    device.scan("CMD-SHORT")
    (ask,) = sent(device)
    assert ask.get("found") is None  # a question: the server changes nothing yet
    # The server answers with the question on screen; CMD-SHORT again: the bin is empty.
    device.state = device.server_state = picking.ask_short(at_the_bin(), "If it is empty: …")
    device.scan("CMD-SHORT")
    assert sent(device)[-1]["found"] == 0 and sent(device)[-1]["reason"] == "empty"


@pytest.mark.parametrize("card, found", [("CMD-COUNT-7", 7), ("CMD-SHORT-7", 7)])
def test_a_count_card_is_the_answer(device, card, found):
    device._online.set()
    device.state = device.server_state = picking.ask_short(at_the_bin(), "If it is empty: …")
    device.scan(card)
    (short,) = sent(device)
    assert short["found"] == found


def test_a_reason_card_keeps_its_reason_to_the_answer(device):
    device._online.set()
    device.scan("CMD-SHORT-DAMAGED")
    device.state = device.server_state = picking.ask_short(at_the_bin(), "If it is empty: …")
    device.scan("CMD-SHORT")
    ask, answer = sent(device)
    assert ask.get("found") is None and (answer["found"], answer["reason"]) == (0, "damaged")


def test_offline_the_device_asks_itself_and_queues_only_the_answer(device):
    device.scan("CMD-SHORT")
    assert device.journal.pending() == []  # a question is not sent later
    assert device.state.screen == "pick_short"
    assert say.short_plan_offline() in device.state.detail
    assert "How many are in bin E-01-01" in device.state.instruction
    device.scan("CMD-COUNT-3")
    (entry,) = device.journal.pending()
    assert entry.kind == "action" and entry.barcode == "short:3:missing"
    assert device.state.screen == "pick_item"  # back at the bin until the server says more


def test_an_item_scan_while_asked_is_a_pick():
    asked = picking.ask_short(at_the_bin(), "If it is empty: …")
    text, keys, lot = picking.read_scan("0012345678905")
    v = picking.judge(asked, text, keys, lot=lot)
    assert v.ok and v.code == "item_ok" and v.state.screen == "pick_item"
    v = picking.judge(asked, "LE-09-09", {"LE-09-09"})
    assert not v.ok and v.code == "wrong_item" and v.state.screen == "pick_item"
    assert picking.ask_short(picking.idle(), "x") is None


def test_an_answer_offline_to_the_servers_question_goes_back_to_the_bin(device):
    device.state = device.server_state = picking.ask_short(at_the_bin(), "If it is empty: …")
    device.scan("CMD-SHORT")  # offline now: queued
    (entry,) = device.journal.pending()
    assert entry.barcode == "short:0:empty" and device.state.screen == "pick_item"
