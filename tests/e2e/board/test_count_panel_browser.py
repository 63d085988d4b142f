"""Cycle counts on the board, in a real headless Chromium against the real server: a supervisor
sees two recounts waiting for approval and how accurate the counts were, approves one (the bin
is set to the recount) and rejects the other (the bin keeps what the system held)."""

from __future__ import annotations

import re

import pytest
import requests
from floorkit import BOARD_PASSWORD, log_in

from server.inventory import counts
from server.people import auth, users

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]


def _counted(store, warehouse: str, location: str, found: dict, *workers: str) -> int:
    """A bin asked to be counted, with one count handed in per worker; returns its task."""
    task, _ = counts.create(store, warehouse, location, "test")
    for worker in workers:
        with store.write():
            counts.hand_in(store, task["id"], found, worker)
    return task["id"]


def _on_hand(store, location: str, sku: str) -> int:
    row = store.one(
        "SELECT s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = ? AND s.sku = ? AND s.lot = ''",
        (location, sku),
    )
    return row["on_hand"]


def test_a_supervisor_approves_one_count_and_rejects_another(
    floor_settings, floor_store, server_proc, browser_page, problems
):
    from playwright.sync_api import expect

    store = floor_store
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    mugs = _counted(store, "WH-EAST", "E-02-02", {("SKU-A", ""): 4}, "ann", "bob")  # 5 held
    pens = _counted(store, "WH-EAST", "E-01-01", {("SKU-B", ""): 8}, "ann", "bob")  # 10 held
    _counted(store, "WH-WEST", "W-02-01", {("SKU-C", ""): 3}, "cy")  # matched at once
    later = _counted(store, "WH-EAST", "E-01-02", {})  # asked, counted once the board is up
    key = auth.create_api_key(store, "ops")
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")

    panel = page.locator("#cycle-counts")
    panel.scroll_into_view_if_needed()
    # One first count of three matched; the two bins that missed are the least accurate.
    expect(panel.locator("#cc-accuracy")).to_have_text("33.3 %")
    expect(panel.locator("#cc-summary")).to_have_text("1 of 3 first counts matched")
    expect(panel.locator('[data-stage="approval"] .cc-n')).to_have_text("2")
    expect(panel.locator('[data-stage="count"] .cc-n')).to_have_text("1")
    expect(panel.locator("#cc-bins tbody tr")).to_have_count(2)
    expect(panel.locator("#cc-bins tbody")).to_contain_text("E-02-02 (WH-EAST)")
    expect(panel.locator("#cc-skus tbody")).to_contain_text("SKU-A")
    waiting = panel.locator("#cc-waiting .item")
    expect(waiting).to_have_count(2)
    mug_item = panel.locator(f'#cc-waiting [data-count="{mugs}"]')
    expect(mug_item).to_contain_text("SKU-A: 4 counted, 5 held")
    expect(mug_item).to_contain_text("counted by ann, recounted by bob")

    mug_item.get_by_role("button", name="Approve count").click()
    expect(page.locator("#toast")).to_contain_text(re.compile("^Done"))
    expect(waiting).to_have_count(1)
    pen_item = panel.locator(f'#cc-waiting [data-count="{pens}"]')
    pen_item.get_by_role("button", name="Reject count").click()
    expect(waiting).to_have_count(0)
    expect(panel.locator("#cc-waiting-empty")).to_be_visible()
    expect(panel.locator('[data-stage="approval"] .cc-n')).to_have_text("0")
    # The board's queue no longer offers them either.
    expect(page.locator(f'#exceptions [data-key="count:{mugs}"]')).to_have_count(0)

    # A count handed in elsewhere (REST, a handheld) shows without reloading the page.
    for worker in ("ann", "bob"):
        r = requests.post(
            f"{base}/api/counts/{later}/count",
            json={"worker": worker, "lines": [{"sku": "SKU-C", "qty": 2}]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    expect(panel.locator(f'#cc-waiting [data-count="{later}"]')).to_contain_text(
        "SKU-C: 2 counted, 0 held"
    )
    expect(panel.locator('[data-stage="count"] .cc-n')).to_have_text("0")

    assert (counts.get(store, mugs)["outcome"], counts.get(store, mugs)["decided_by"]) == (
        "approved",
        "sam",
    )
    assert counts.get(store, pens)["outcome"] == "rejected"
    assert _on_hand(store, "E-02-02", "SKU-A") == 4  # set to the recount
    assert _on_hand(store, "E-01-01", "SKU-B") == 10  # kept
    assert not problems, problems
