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


def test_the_largest_messages_a_device_can_build_fit_the_transport():
    """docs/protocol.md: a scan under 2 KiB, any device message far under 64 KiB."""
    import json

    from shared.protocol import MAX_INT, MAX_MESSAGE_BYTES, dump

    # Each field at its longest, in the characters JSON escapes most (\u001d: 6 bytes).
    biggest = {
        "scan": ScanIn(
            id="x" * 64, barcode="\x1d" * 200, at=-1.7976931348623157e308, seq=MAX_INT,
            offline=True, local={"ok": True, "code": "\x1d" * 40}, pick_list_id=MAX_INT,
        ),
        "action": ActionIn(
            # A reason goes with a short or help only: a short with the longest reason is
            # larger than the longest action name without one.
            id="x" * 64, action="short", at=-1.7976931348623157e308, seq=MAX_INT,
            offline=True, pick_list_id=MAX_INT, step_id=MAX_INT, found=MAX_INT, reason="wrong_item",
        ),
        "print_result": PrintResultIn(id="x" * 64, job_id=MAX_INT, ok=False, error="\U0001f600" * 500),
        "seen": SeenIn(id="x" * 64, seq=MAX_INT),
    }  # fmt: skip
    size = {event: len(json.dumps([event, dump(m)])) for event, m in biggest.items()}
    assert size["scan"] < 2048 and size["print_result"] < 8192, size
    assert max(size.values()) < MAX_MESSAGE_BYTES // 8, size


@pytest.mark.parametrize(
    "action, reason, ok",
    [
        ("help", None, True),
        ("help", "no_stock", True),
        ("help", "blocked", True),
        ("help", "empty", False),  # a short's reason
        ("short", "wrong_item", True),
        ("short", "no_stock", False),  # a help's reason
        ("logout", "damaged", False),  # no reason goes with the others
    ],
)
def test_a_reason_must_go_with_its_action(action, reason, ok):
    from pydantic import ValidationError

    from shared.protocol import ActionIn

    if ok:
        assert ActionIn(id="a1", action=action, reason=reason).reason == reason
    else:
        with pytest.raises(ValidationError, match="does not go with action"):
            ActionIn(id="a1", action=action, reason=reason)


def test_packing_fields_are_left_out_when_null():
    """A device of an earlier release refuses unknown fields: a screen without a box or a
    weight reads as it did before those fields."""
    from shared.protocol import DeviceState, StateEvent, dump

    plain = dump(StateEvent(seq=1, state=DeviceState(screen="pick_tote", instruction="x")))
    assert not {"box", "expected_weight_g", "weight_tolerance_g", "measured_weight_g"} & set(
        plain["state"]
    )
    packed = DeviceState(screen="pack_label", instruction="x", box="M", expected_weight_g=290)
    assert dump(packed)["box"] == "M" and "measured_weight_g" not in dump(packed)
    assert DeviceState.model_validate_json(packed.model_dump_json()) == packed


def test_a_print_result_job_id_is_at_least_1():
    """docs/protocol.md: `job_id` is at least 1 (a print job's id); 0 does not fit the model."""
    with pytest.raises(ProtocolError) as err:
        parse(PrintResultIn, {"id": "p1", "job_id": 0, "ok": True})
    assert err.value.code == "bad_message" and err.value.message.startswith("job_id:")
    assert parse(PrintResultIn, {"id": "p1", "job_id": 1, "ok": True}).job_id == 1


def test_a_board_keep_alive_delta_fits_the_delta_schema():
    """docs/protocol.md, `delta`: a keep-alive holds only `at`, a delta without totals or
    counts leaves them out; the schema a board's client validates with takes both."""
    from scripts.protocol_schema import build
    from shared.protocol import BoardDelta

    BoardDelta.model_validate({"at": "2026-01-01T00:00:00+00:00"})
    BoardDelta.model_validate({"columns": {"queued": 1}, "active": 1, "at": "…"})
    assert build()["$defs"]["BoardDelta"].get("required", []) == []
