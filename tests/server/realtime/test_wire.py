"""A board's snapshot serialised in parts: the same JSON, with the loop let run between the parts."""

from __future__ import annotations

import json

from server.realtime import wire


def _snapshot(devices: int) -> dict:
    return {
        "pick_lists": [{"id": k, "ref": f"PL-{k}", "orders": [f"#{k}"]} for k in range(60)],
        "columns": {"queued": 60, "picking": 0},
        "devices": [
            {"id": k, "name": f"picker-{k:04}", "step": "A-01-02 · SKU-Ä 1/2", "printer": None}
            for k in range(devices)
        ],
        "counts": {"today": {"packed": 3}},
        "note": "ünïcode ✓",
        "at": "2026-12-05T03:00:00+00:00",
    }


def test_in_parts_is_the_same_json_as_in_one_piece():
    for devices in (0, 1, wire.PART_ROWS, wire.PART_ROWS + 1, 3 * wire.PART_ROWS + 7, 1500):
        value = _snapshot(devices)
        text = wire.encoded_in_parts(value, lambda: None)
        assert text == wire.encoded(value)
        assert json.loads(text) == value
        assert isinstance(text, wire.Encoded)


def test_the_loop_runs_between_the_parts_of_a_large_one_only():
    large = _snapshot(1500)  # ~110 kB, about a sixth of a first view at 1,500 handhelds
    breaths: list[int] = []
    text = wire.encoded_in_parts(large, lambda: breaths.append(len(breaths)))
    assert len(text) > wire.PART_CHARS
    # once PART_CHARS more are written (whole parts: up to twice as many between two)
    assert 1 <= len(text) // (2 * wire.PART_CHARS) <= len(breaths) <= len(text) // wire.PART_CHARS
    small: list[int] = []
    wire.encoded_in_parts(_snapshot(3), lambda: small.append(1))
    assert small == []
