"""The pack station's screen: a label that did not print, the packer's commands, reprint."""

from __future__ import annotations

import io

import pytest

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers import TcpPrinter
from device.drivers.fake import FakeScanner
from device.drivers.scale import FakeScale
from device.journal import Journal
from device.screen import PlainScreen, Screen, TtyScreen, big_line, plain_text
from shared import messages as say
from shared.protocol import DeviceState, Expect, Progress

WIDTH, HEIGHT = 60, 20


def label_state() -> DeviceState:
    """A packer's bench: every item checked, the label made, waiting to be stuck on and scanned."""
    return DeviceState(
        screen="pack_label",
        instruction="Stick the label on the box, then scan it (SF0000000016)",
        expect=Expect(kind="label", barcodes=["SF0000000016"]),
        pick_list_id=3,
        order_id="SO-000007",
        tote="TOTE-3",
        progress=Progress(done=2, total=2),
    )


@pytest.fixture
def closing_sink(loopback_server):
    """A TCP port that takes the connection and closes it without answering ~HS."""
    return loopback_server(lambda conn: conn.recv(1024))[1]


@pytest.fixture
def packer(tmp_path, closing_sink) -> DeviceClient:
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    printer = TcpPrinter("127.0.0.1", closing_sink, io_timeout=2)
    screen = TtyScreen(out=io.StringIO())
    device = DeviceClient(settings, FakeScanner(), printer, screen, Journal(tmp_path / "j.db"))
    device.state = device.server_state = label_state()
    device.screen.state = device.state
    return device


def test_a_label_that_did_not_print_is_the_headline(packer):
    packer.journal.add_print(12, "SO-000007", "^XA^FDx^FS^XZ")
    ok, error = packer._print("^XA^FDx^FS^XZ")
    assert not ok and "closed the connection" in error and "~HS" in error
    text = plain_text(packer.screen.render(WIDTH, HEIGHT))
    assert "STICK THE LABEL" not in text.upper()
    assert "Label did not print" in text or "LABEL NOT PRINTED" in text
    assert "CMD-REPRINT" in text and "closed the connection" in text
    # Once the printer works again the screen asks for the label as before.
    packer.screen.printer_state(None)
    assert "Stick the label" in plain_text(packer.screen.render(WIDTH, HEIGHT))


def test_a_printer_fault_is_named_in_the_big_letters_not_a_wrong_scan(tmp_path, zpl_printer):
    # No scan was wrong: the red screen says the printer, and what to do, in plain words.
    zpl_printer.paper_out = True
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    printer = TcpPrinter(zpl_printer.host, zpl_printer.port, io_timeout=2)
    screen = TtyScreen(out=io.StringIO())
    device = DeviceClient(settings, FakeScanner(), printer, screen, Journal(tmp_path / "j.db"))
    device.state = device.server_state = screen.state = label_state()
    device.journal.add_print(12, "SO-000007", "^XA^FDx^FS^XZ")
    assert device._print("^XA^FDx^FS^XZ")[0] is False
    text = "\n".join(line.rstrip() for line in plain_text(screen.render(48, HEIGHT)).split("\n"))
    assert "\n".join(big_line("CHECK")) in text and "\n".join(big_line("PRINTER")) in text
    assert "\n".join(big_line("WRONG")) not in text
    assert "out of labels" in text and screen.sounds == ["bad"]


def test_a_refused_connect_is_named_in_the_big_letters_not_a_wrong_scan(tmp_path):
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    screen = TtyScreen(out=io.StringIO())
    device = DeviceClient(settings, FakeScanner(), None, screen, Journal(tmp_path / "j.db"))
    device._on_connect_error({"message": "unknown device token"})
    text = "\n".join(line.rstrip() for line in plain_text(screen.render(48, HEIGHT)).split("\n"))
    assert "\n".join(big_line("SERVER")) in text and "\n".join(big_line("REFUSED")) in text
    assert "\n".join(big_line("WRONG")) not in text
    assert "Server refused: unknown device token" in text


def test_the_plain_screen_says_so_too():
    out = io.StringIO()
    screen = PlainScreen(out=out, name="packer-1")
    screen.show(label_state())
    screen.printer_state("printer 10.0.0.5:9100 is out of paper (1 label waiting)")
    last = out.getvalue().strip().split("\n")[-1]
    assert "STICK THE LABEL" not in last and "LABEL DID NOT PRINT" in last


@pytest.mark.parametrize(
    "state, shows, hides",
    [
        (label_state(), "CMD-REPRINT", "CMD-SHORT"),
        (DeviceState(screen="pick_item", instruction="Pick 1 × Red pen"), "CMD-SHORT", "REPRINT"),
        (
            DeviceState(screen="dock_load", instruction="Scan each package onto the truck"),
            "CMD-DOCK-DONE",
            "CMD-REPRINT",
        ),
    ],
)
def test_the_footer_shows_the_commands_of_the_screens_role(state, shows, hides):
    screen = TtyScreen(out=io.StringIO())
    screen.state = state
    footer = plain_text(screen.render(WIDTH, HEIGHT)).split("\n")[-1]
    assert shows in footer and hides not in footer


class AnswersAtOnce:
    """Stands in for the Socket.IO client: every action is taken."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    def emit(self, event, payload, namespace=None, callback=None):
        self.sent.append((event, payload))
        callback({"id": payload["id"], "ok": True})


def test_cmd_reprint_says_what_it_did(tmp_path):
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    device = DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))
    device.state = device.server_state = label_state()
    device.sio = link = AnswersAtOnce()
    device._online.set()
    device.scan("CMD-REPRINT")
    assert device._send_one(device.journal.pending()[0])
    assert link.sent[0][1]["action"] == "reprint"
    assert device.screen.result == (None, "Label for SO-000007 sent to the printer again")


def test_the_dock_screen_says_what_is_loaded():
    from device.screen import headline

    state = DeviceState(
        screen="dock_load",
        instruction="SCANFLOOR LOCAL: scan each package onto the truck (3 of 5 loaded)",
        expect=Expect(kind="package"),
        progress=Progress(done=3, total=5),
    )
    assert headline(state) == "LOAD 3/5"
    assert headline(DeviceState(screen="dock_carrier", instruction="x")) == "SCAN CARRIER"


def weighing_device(tmp_path, scale) -> tuple[DeviceClient, AnswersAtOnce]:
    settings = DeviceSettings(
        token="sfd_12345678", data_dir=tmp_path, screen="none", scale_wait=0.2
    )
    device = DeviceClient(
        settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"), scale=scale
    )
    device.state = device.server_state = label_state()
    device.sio = link = AnswersAtOnce()
    device._online.set()
    return device, link


def test_the_label_scan_carries_the_scales_stable_weight(tmp_path):
    scale = FakeScale()
    scale.put(1250)
    scale.raw = ["US,GS,+0001.10kg", "garbage", "US,GS,+0001.24kg"]  # still settling
    device, link = weighing_device(tmp_path, scale)
    device.scan("SF0000000016")
    (entry,) = device.journal.pending()
    assert entry.weight_g == 1250
    assert device._send_one(entry)
    assert link.sent[0] == ("scan", {**link.sent[0][1], "weight_g": 1250})
    # A scanner sending AIM identifiers: the same label, weighed too.
    device.scan("]C0SF0000000016")
    assert device.journal.pending()[-1].weight_g == 1250
    # Only the label is weighed: a box barcode on the same screen is not.
    device.scan("BOX-M")
    assert device.journal.pending()[-1].weight_g is None


def test_no_stable_weight_no_scan(tmp_path):
    scale = FakeScale()
    scale.put(1250)
    scale.steady = False
    device, link = weighing_device(tmp_path, scale)
    device.scan("SF0000000016")
    assert device.journal.pending() == [] and link.sent == []
    assert device.screen.result == (False, say.scale_not_steady())
    scale.put(0)  # nothing on the scale
    scale.steady = True
    device.scan("SF0000000016")
    assert device.journal.pending() == []


def test_a_station_without_a_scale_sends_no_weight(tmp_path):
    device, link = weighing_device(tmp_path, None)
    device.scan("SF0000000016")
    assert device._send_one(device.journal.pending()[0])
    assert link.sent[0][1]["weight_g"] is None


@pytest.mark.parametrize("offset_g, sent", [(0, 1100), (320, 1420)])
def test_the_simulated_packer_puts_the_package_on_its_scale(tmp_path, offset_g, sent):
    from device.config import SimulateSettings
    from device.sim.worker import SimulatedWorker

    scale = FakeScale(offset_g=offset_g)
    device, _ = weighing_device(tmp_path, scale)
    device.state = label_state().model_copy(update={"expected_weight_g": 1100})
    device.journal.add_print(12, "SO-000007", "^XA^XZ")
    device.journal.print_done(12, True, None)  # the label is in the packer's hand
    worker = SimulatedWorker(
        device, device.scanner, SimulateSettings(think_seconds=0), tote_base=0, scale=scale
    )
    worker.start()
    try:
        worker._turn.set()
        barcode = device.scanner.read(timeout=3)
    finally:
        worker.stop()
    assert barcode == "SF0000000016" and scale.grams == 1100
    device.scan(barcode)
    assert device.journal.pending()[0].weight_g == sent


def test_a_held_package_fills_the_screen():
    screen = TtyScreen(out=io.StringIO())
    screen.state = label_state().model_copy(
        update={
            "screen": "pack_check",
            "instruction": say.weight_off(1420, 1100, 55),
            "detail": say.weight_check_what_to_do("SF0000000016"),
            "measured_weight_g": 1420,
        }
    )
    text = plain_text(screen.render(WIDTH, HEIGHT))
    assert "Weight 1.42 kg, expected 1.10 kg ± 0.06: check the items" in text
    assert "Recount and repack" in text and "CMD-WEIGHT-OK" in text.split("\n")[-1]
    assert "CMD-REPRINT" not in text.split("\n")[-1]


def seen(screen, width=WIDTH, height=HEIGHT) -> str:
    """The screen as the packer reads it: no colours, no trailing blanks."""
    return "\n".join(r.rstrip() for r in plain_text(screen.render(width, height)).split("\n"))


def big(words: str) -> str:
    from device.screen import big_line

    return "\n".join(big_line(words))


def test_an_idle_bench_names_the_totes_waiting():
    from server.floor.domain import packing

    screen = TtyScreen(out=io.StringIO())
    screen.state = packing.screen(None, ("TOTE-3",))
    assert "Tote TOTE-3 is waiting for packing" in seen(screen, 48)
    screen.state = packing.screen(None, ("TOTE-3", "TOTE-9"))
    assert "2 totes waiting for packing: TOTE-3, TOTE-9" in seen(screen, 48)


@pytest.mark.parametrize("width", [60, 48])
def test_after_checking_the_headline_says_what_to_do(width):
    screen = TtyScreen(out=io.StringIO())
    screen.state = label_state()
    screen.scan_result(True, say.all_checked())
    text = seen(screen, width)
    lines = ["LABEL BOX", "SCAN IT"] if width >= 60 else ["LABEL", "BOX"]
    assert all(big(line) in text for line in lines), text
    sentence = "Stick the label on the box, then scan it (SF0000000016)"
    assert sentence in " ".join(text.split())


@pytest.mark.parametrize(
    "state",
    [label_state(), label_state().model_copy(update={"screen": "pack_check"})],
)
def test_at_48_columns_the_footer_is_whole(state):
    screen = TtyScreen(out=io.StringIO())
    screen.state = state
    footer = seen(screen, 48).split("\n")[-1]
    assert "…" not in footer and len(footer) <= 48
    cards = ["CMD-REPRINT", "CMD-HELP", "CMD-LOGOUT"]
    if state.screen == "pack_check":
        cards = ["CMD-WEIGHT-OK", "CMD-HELP"]
    assert all(card in footer.split(" · ") or f" {card}" in f" {footer}" for card in cards)
    assert (
        seen(screen, 60)
        .split("\n")[-1]
        .startswith("CMD-REPRINT reprint" if len(cards) == 3 else "scan")
    )
