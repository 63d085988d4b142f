"""A blind cycle count end to end: real server, two real handheld processes on pty scanners.

The first picker counts a bin short (blind: its screen never shows what the system
holds), the server asks a recount of another picker, the second handheld recounts
the same, and a supervisor approves over REST: the bin is set to the count once.
"""

from __future__ import annotations

import os

import pytest
import requests
from handheld import Handheld, server_scans

from server.people import auth

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
PEN = "0012345678905"  # SKU-B, 10 on hand in E-01-01


def _get(base, path, headers):
    return requests.get(f"{base}/api{path}", headers=headers, timeout=5).json()


def _count_bin(h: Handheld, first_line: str) -> None:
    h.wait_for(lambda line: first_line.upper() in line.instruction.upper(), what=first_line)
    h.scan("LE-01-01")
    h.scan(PEN)
    h.scan(PEN)
    _card(h, "CMD-COUNT-6", "SET: 6 OF RED PEN")  # item + quantity: the last pen counts 6
    _card(h, "CMD-BIN-DONE", "BIN E-01-01 COUNTED")


def _card(h: Handheld, barcode: str, note: str) -> None:
    """A command card: an action, answered by a new screen with a note (not an OK line)."""
    mark = len(h.lines())
    os.write(h.master, barcode.encode() + b"\r")
    h.wait_for(lambda line: note in line.text.upper(), after=mark, what=note)


def test_a_blind_count_with_a_variance_is_recounted_by_another_and_approved(
    floor_store, floor_tokens, floor_settings, server_proc, tmp_path
):
    key = auth.create_api_key(floor_store, "sup")
    second = auth.create_device(floor_store, "picker-e2", "picker", "WH-EAST")
    headers = {"Authorization": f"Bearer {key}"}
    base = server_proc(floor_settings.data_dir)
    r = requests.post(
        f"{base}/api/counts",
        json={"warehouse": "WH-EAST", "location": "E-01-01"},
        headers=headers,
        timeout=5,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    home = tmp_path / "devices"
    home.mkdir()
    one = Handheld(home, "picker-e1", base, floor_tokens["picker"]).start()
    two = Handheld(home, "picker-e2", base, second)
    try:
        _count_bin(one, "Count bin E-01-01")
        task = _get(base, f"/counts/{task_id}", headers)
        assert (task["stage"], task["first_worker"]) == ("recount", "picker-e1")
        assert task["lines"][0]["counted"] == 7
        one.wait_for(lambda line: "WAIT" in line.instruction.upper(), what="idle")
        two.start()
        _count_bin(two, "Recount bin E-01-01")
        task = _get(base, f"/counts/{task_id}", headers)
        assert (task["stage"], task["second_worker"]) == ("approval", "picker-e2")
        # Blind: neither handheld ever showed the 10 the system held.
        for h in (one, two):
            shown = "\n".join(line.text for line in h.lines())
            assert "10" not in shown.replace(PEN, ""), shown
        stock = _get(base, "/stock?sku=SKU-B&warehouse=WH-EAST", headers)["stock"]
        assert [s["on_hand"] for s in stock] == [10]
        r = requests.post(f"{base}/api/counts/{task_id}/approve", headers=headers, timeout=5)
        assert r.status_code == 200 and r.json()["outcome"] == "approved"
        again = requests.post(f"{base}/api/counts/{task_id}/approve", headers=headers, timeout=5)
        assert again.status_code == 409
        stock = _get(base, "/stock?sku=SKU-B&warehouse=WH-EAST", headers)["stock"]
        assert [s["on_hand"] for s in stock] == [7]
        # Every scan of each journal applied once, in order.
        for h in (one, two):
            journal = [j for j in h.journal() if j["kind"] == "scan"]
            assert all(j["acked_at"] for j in h.journal())
            applied = server_scans(floor_settings.db_path, h.name)
            assert [a["msg_id"] for a in applied] == [j["msg_id"] for j in journal]
    finally:
        one.stop()
        two.stop()
    for h in (one, two):
        assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
