"""Two real handhelds with one device token: the newest connection wins, the older says why."""

from __future__ import annotations

import pytest
from floorkit import place
from handheld import Handheld, server_scans

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


def test_a_second_handheld_with_the_same_token_takes_over(
    floor_store, floor_tokens, floor_settings, server_proc, tmp_path
):
    place(floor_store, "shop-1", [("SKU-B", 2)])
    base = server_proc(floor_settings.data_dir)
    token = floor_tokens["picker"]
    first = Handheld(tmp_path, "first", base, token).start()
    second = Handheld(tmp_path, "second", base, token)
    try:
        first.wait_for(lambda x: "SCAN AN EMPTY TOTE" in x.instruction, 30, what="tote")
        first.scan("TOTE-1")

        mark = len(first.lines())
        second.start()
        second.wait_for(lambda x: "GO TO E-01-01" in x.instruction, 30, what="resumed")
        told = first.wait_for(lambda x: "ERROR: Signed in on another" in x.text, 15, mark)
        assert told.link == "replaced" and "Scan CMD-LOGIN to use this one" in told.text
        # The older handheld takes no scans: they would count on the newer one's cart.
        refused = first.scan("LE-01-01", result="ERROR")
        assert "CMD-LOGIN" in refused.text
        assert [j["barcode"] for j in first.journal()] == ["TOTE-1"]
        assert second.scan("LE-01-01").link == "online"
        assert [s["barcode"] for s in server_scans(floor_settings.db_path, "picker-e1")] == [
            "TOTE-1",
            "LE-01-01",
        ]

        # CMD-LOGIN on the older one takes the token back: now the other one is told.
        mark = len(second.lines())
        first.scan("CMD-LOGIN", result="NOTE")
        first.wait_for(lambda x: "PICK 2" in x.instruction, 15, what="back at the bin")
        second.wait_for(lambda x: x.link == "replaced", 15, mark, what="second replaced")
        assert first.scan("0012345678905").link == "online"
    finally:
        first.stop()
        second.stop()
    for h in (first, second):
        assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]
