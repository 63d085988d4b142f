"""The device's scan flow without a server: what it refuses before anything is journalled."""

from __future__ import annotations

import pytest

from device.client import DeviceClient
from device.config import DeviceSettings
from device.drivers.fake import FakeScanner
from device.journal import Journal
from device.screen import Screen


@pytest.fixture
def device(tmp_path) -> DeviceClient:
    """A handheld that never connects: a fake scanner, a screen that only remembers."""
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    return DeviceClient(settings, FakeScanner(), None, Screen(), Journal(tmp_path / "j.db"))


UNSENDABLE = [
    "[)>\x1e06\x1dP12345\x1e\x04",  # ISO/IEC 15434 envelope: RS and EOT
    "Zoë",  # a keyboard wedge on another layout
    "A" * 201,
    "A\tB",
]


@pytest.mark.parametrize("barcode", UNSENDABLE)
def test_a_barcode_no_scan_message_can_carry_is_refused_on_the_device(device, barcode):
    """Journalled, it would stop the sender for good: every resend fails to build."""
    device.scan(barcode)
    assert device.journal.pending() == []
    ok, message = device.screen.result
    assert ok is False and "not counted" in message
    assert device.screen.sounds[-1] == "bad"
    device.scan("TOTE-1")
    assert [e.barcode for e in device.journal.pending()] == ["TOTE-1"]


def test_an_unsendable_entry_already_journalled_is_answered_on_the_device(device):
    """A journal written by an older version may hold one: it must not block the rest."""
    bad = device.journal.append("Zoë")
    good = device.journal.append("TOTE-1")
    assert device._send_one(bad) is True  # answered without sending: the next one goes
    assert [e.msg_id for e in device.journal.pending()] == [good.msg_id]
    ok, message = device.screen.result
    assert ok is False and "not counted" in message


def test_a_move_is_worked_offline_and_its_scans_carry_the_move(device):
    """No server: the device judges the move's scans itself, journals each with its verdict and
    the move it was judged on, and sends that move with each when the link is back."""
    from shared import replenishing as moves
    from shared.protocol import MoveView

    move = MoveView(task_id=7, sku="SKU-B", name="Red pen", reserve="R-01",
                    reserve_barcode="LR-01", face="E-01-01", face_barcode="LE-01-01",
                    item_barcodes=["0012345678905"], qty=2, carried=0)  # fmt: skip
    device._offer_state(moves.screen(move, "reserve"), (1, 1))
    device._rebase()
    for barcode in ("LR-01", "LE-09-09", "0012345678905", "0012345678905", "LE-01-01"):
        device.scan(barcode)
    assert device.screen.result == (True, "Moved 2 to E-01-01: thank you")
    pending = device.journal.pending()
    assert [(e.local_ok, e.local_code, e.move_id) for e in pending] == [
        (True, "replen_reserve_ok", 7),
        (False, "replen_not_item", 7),  # at the items: not a bin or item of this move
        (True, "replen_item_ok", 7),
        (True, "replen_item_ok", 7),
        (True, "replen_done", 7),
    ]
    event, payload = device._payload(pending[0])
    assert event == "scan" and payload["move_id"] == 7 and payload["offline"] is True
    assert payload["local"] == {"ok": True, "code": "replen_reserve_ok"}
    assert device.state.screen == "idle"  # the next work waits for the server


def test_a_scanner_that_stays_broken_is_logged_once_not_every_second(tmp_path, caplog):
    """stdin:// at the end of its input (a pipe closed): the device keeps trying every second,
    and its log says so once."""
    import logging
    import os
    import threading
    import time

    from device.drivers.stdin import StdinScanner

    read_end, write_end = os.pipe()
    os.close(write_end)  # the input has ended
    settings = DeviceSettings(token="sfd_12345678", data_dir=tmp_path, screen="none")
    client = DeviceClient(
        settings, StdinScanner(read_end), None, Screen(), Journal(tmp_path / "j.db")
    )
    caplog.set_level(logging.WARNING, logger="scanfloor.device")
    reader = threading.Thread(target=client._read_scans, daemon=True)
    reader.start()
    time.sleep(3.5)  # three retries at least
    client._stop.set()
    reader.join(timeout=5)
    os.close(read_end)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("scanner:")]
    assert said == ["scanner: standard input ended: no more scans (trying again every second)"]


def test_the_connect_says_which_software_the_device_runs(device):
    """docs/protocol.md, connect: `device_version`, shown on the board's device row."""
    import importlib.metadata

    assert device.auth()["device_version"] == importlib.metadata.version("scanfloor")
