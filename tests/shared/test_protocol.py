"""The wire format: messages validated strictly, bounded, and refused with a reason."""

from __future__ import annotations

import pytest

from shared.protocol import ActionIn, PrintResultIn, ProtocolError, ScanIn, SeenIn, parse


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (ScanIn, {"id": "s1", "barcode": "A", "seq": "3"}, "seq"),
        (ScanIn, {"id": "s1", "barcode": "A", "seq": True}, "seq"),
        (ScanIn, {"id": "s1", "barcode": "A", "offline": 1}, "offline"),
        (ScanIn, {"id": "s1", "barcode": "A", "at": "1764150000"}, "at"),
        (ScanIn, {"id": "s1", "barcode": "A", "local": {"ok": 1, "code": "x"}}, "local.ok"),
        (ActionIn, {"id": "a1", "action": "short", "found": True}, "found"),
        (ActionIn, {"id": "a1", "action": "short", "found": 2.0}, "found"),
        (PrintResultIn, {"id": "p1", "job_id": "7", "ok": True}, "job_id"),
        (PrintResultIn, {"id": "p1", "job_id": 7, "ok": "true"}, "ok"),
        (SeenIn, {"id": "n1", "seq": 4.0}, "seq"),
    ],
)
def test_messages_take_json_types_strictly(model, payload, field):
    with pytest.raises(ProtocolError) as err:
        parse(model, payload)
    assert err.value.code == "bad_message" and err.value.message.startswith(f"{field}:")


def test_a_float_field_takes_an_integer():
    assert parse(ScanIn, {"id": "s1", "barcode": "A", "at": 1764150000}).at == 1764150000.0


def test_device_version_refuses_hidden_characters():
    from shared.protocol import ConnectAuth

    with pytest.raises(ProtocolError, match="U[+]202E"):
        parse(ConnectAuth, {"token": "sfd_12345678", "device_version": "1.0\u202e"})
