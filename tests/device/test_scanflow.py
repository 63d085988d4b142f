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
