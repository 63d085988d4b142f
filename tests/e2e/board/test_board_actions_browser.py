"""The board acting on the floor, in a real headless Chromium with the real server and real
device processes: a scan shows within a second, a reassigned list moves and both handhelds'
screens follow, every action lands in the audit log; and the page fits a tablet and a wall
screen, with a site of 1,000 open lists and 200 devices."""

from __future__ import annotations

import os
import re
import time

import pytest
import requests
from floorkit import BOARD_PASSWORD, log_in, place
from handheld import Handheld

from scripts.load.floorsite import seed_site
from server.people import auth, users
from server.store import open_store

# server_alone: the lists are planned by `place` in the test, nothing needs the worker.
pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]


def _trigger(hand: Handheld, barcode: str) -> float:
    """Pull the handheld's trigger (a barcode and Enter on its serial scanner); when it was."""
    at = time.monotonic()
    os.write(hand.master, barcode.encode() + b"\r")
    return at


def test_a_scan_on_a_device_shows_within_a_second_and_reassign_moves_the_list(
    floor_settings, floor_store, floor_tokens, server_proc, browser_page, problems, tmp_path
):
    from playwright.sync_api import expect

    place(floor_store, "SHOP-2001", [("SKU-A", 1)])
    second_token = auth.create_device(floor_store, "picker-e2", "picker", "WH-EAST")
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    users.add(floor_store, "pia", "picker", BOARD_PASSWORD)
    ops_key = auth.create_api_key(floor_store, "ops", ["devices:write"])
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")
    card = page.locator('.card[data-ref="PL-000001"]')
    expect(card).to_have_attribute("data-state", "queued")

    first = Handheld(tmp_path, "picker-e1", base, floor_tokens["picker"])
    second = Handheld(tmp_path, "picker-e2", base, second_token)
    try:
        first.start().wait_for(lambda line: "PL-000001" in line.text, what="its list")
        expect(card).to_have_attribute("data-state", "picking")
        expect(card.locator(".device")).to_have_text("picker-e1")
        second.start().wait_for(lambda line: line.link == "online", what="online")
        row = page.locator('#devices tr[data-device="picker-e1"]')
        expect(row.locator(".worker")).to_have_count(0)  # nobody signed in yet

        # Pia scans her badge on the device: the board names her on the device and the card
        # within a second.
        at = _trigger(first, "BADGE-pia")
        expect(row.locator(".worker")).to_have_text("pia", timeout=5000)
        took = time.monotonic() - at
        assert took < 1.0, f"the badge took {took:.2f} s to reach the board"
        expect(card.locator(".worker")).to_have_text("pia")
        print(f"badge to board: {took:.3f} s")

        # A scan made by the device process reaches the board within a second.
        at = _trigger(first, "TOTE-1")
        expect(card.locator(".where")).to_contain_text("TOTE-1", timeout=5000)
        took = time.monotonic() - at
        assert took < 1.0, f"the scan took {took:.2f} s to reach the board"
        expect(row.locator(".last-scan")).to_have_text(re.compile("just now"))

        # Reassign from the board: the list moves, both screens follow at once.
        card.click()
        expect(page.locator("#drawer")).to_be_visible()
        expect(page.locator("#reassign-to option")).to_have_count(1)
        page.select_option("#reassign-to", "picker-e2")
        mark_first, mark_second = len(first.lines()), len(second.lines())
        page.click("#reassign")
        expect(page.locator("#toast")).to_have_text("Done: PL-000001 moved to picker-e2")
        expect(card.locator(".device")).to_have_text("picker-e2")
        expect(page.locator(".drawer-device")).to_have_text("picker-e2")
        got = second.wait_for(lambda line: "PL-000001" in line.text, 5, mark_second, "the list")
        assert "TOTE-1" in got.text or "cart" in got.text.lower(), got.text  # fetch the cart
        first.wait_for(lambda line: "moved to picker-e2" in line.text, 5, mark_first, "told")

        # The action is in the audit log on the board, with who and when.
        audit = page.locator("#audit tbody tr").first
        expect(audit).to_contain_text("reassign")
        expect(audit).to_contain_text("PL-000001")
        expect(audit).to_contain_text("sam")
        expect(audit).to_contain_text("to: picker-e2")
        # ... and in the export.
        csv_text = page.evaluate(
            "fetch('/board/api/audit.csv').then(r => r.text())"
        )  # fmt: skip
        assert re.search(r"^1,[^,]+,sam,reassign,PL-000001,", csv_text, re.M), csv_text

        # A help card on the device process: the board shows the reason the worker chose.
        _trigger(second, "CMD-HELP-NO-STOCK")
        help_item = page.locator("#exceptions li.k-help")
        expect(help_item.locator(".item-title")).to_have_text("Help: no stock")
        expect(help_item.locator(".item-detail")).to_contain_text("picker-e2")

        # A refused action says why and changes nothing.
        page.click("#drawer-close")
        res = page.evaluate(
            """fetch('/board/api/lists/1/reassign', {method: 'POST',
                 headers: {'Content-Type': 'application/json', 'X-CSRFToken':
                   document.querySelector('meta[name=csrf-token]').content},
                 body: '{"device": "picker-e2"}'})
               .then(r => r.json().then(b => [r.status, b.error]))"""
        )
        assert res == [409, "PL-000001 is already on picker-e2"]
        problems[:] = [p for p in problems if "status of 409" not in p]  # that one, asked for

        # An admin revokes picker-e2 over REST: the board's audit log names the API key.
        resp = requests.post(
            f"{base}/api/devices/picker-e2/revoke", headers={"X-API-Key": ops_key}, timeout=10
        )
        assert resp.status_code == 200, resp.text
        expect(audit).to_contain_text("key:ops")
        expect(audit).to_contain_text("device revoke")
        expect(audit).to_contain_text("device:picker-e2")
        expect(audit).to_contain_text("released: PL-000001")
        print(f"scan to board: {took:.3f} s")
    finally:
        first.stop()
        second.stop()
    assert not problems, problems


def test_help_is_acknowledged_and_resolved_and_an_order_opens(
    floor_settings, floor_store, floor_tokens, server_proc, browser_page, problems
):
    import socketio
    from playwright.sync_api import expect

    place(floor_store, "SHOP-3001", [("SKU-A", 1)])
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")
    device = socketio.Client()
    device.connect(
        base, namespaces=["/device"], auth={"token": floor_tokens["picker"], "last_seen_seq": 0}
    )
    try:
        ack = device.call(
            "action", {"id": "h1", "action": "help", "reason": "blocked"}, namespace="/device"
        )
        assert ack["ok"]
        item = page.locator("#exceptions li.k-help")
        expect(item.locator(".item-title")).to_have_text("Help: blocked")
        # A page whose CSRF token is not the session's is refused, says so, and changes nothing.
        meta = page.locator('meta[name="csrf-token"]')
        token = meta.get_attribute("content")
        meta.evaluate("m => m.setAttribute('content', 'forged')")
        item.get_by_role("button", name="Acknowledge").click()
        # Said in words, with no HTTP code.
        expect(page.locator("#toast")).to_have_text("Not done: The CSRF token is invalid.")
        expect(item.locator(".item-ack")).to_have_count(0)
        problems[:] = [p for p in problems if "status of 400" not in p]  # that one, asked for
        meta.evaluate("(m, t) => m.setAttribute('content', t)", token)
        item.get_by_role("button", name="Acknowledge").click()
        expect(item.locator(".item-ack")).to_have_text("acknowledged by sam")
        item.get_by_role("button", name="Resolve").click()
        expect(item).to_have_count(0)
        expect(page.locator("#exceptions-empty")).to_be_visible()
        actions = page.locator("#audit tbody tr .audit-action")
        expect(actions).to_have_text(["resolve", "acknowledge"])

        # The order view: timeline, label (none yet), the scans with device and time.
        assert device.call("scan", {"id": "s1", "barcode": "TOTE-7"}, namespace="/device")["ok"]
        page.locator('.card[data-ref="PL-000001"]').click()
        page.locator(".order-links .link-btn").first.click()
        expect(page.locator("#drawer-title")).to_have_text(re.compile(r"^Order SO-000001"))
        body = page.locator("#drawer-body")
        expect(body).to_contain_text("Picking started: PL-000001")
        expect(body).to_contain_text("No label yet.")
        scans = body.locator("table").last.locator("tbody tr")
        expect(scans).to_have_count(1)
        expect(scans.first).to_contain_text("picker-e1")
        expect(scans.first).to_contain_text("TOTE-7")
        # Re-prioritise from it: the card says so, and the audit log has it.
        page.select_option("#priority", "6")
        page.get_by_role("button", name="Set priority").click()
        expect(page.locator('.card[data-ref="PL-000001"] .prio')).to_have_text("P6")
        expect(actions.first).to_have_text("reprioritise")
        expect(body).to_contain_text("Priority changed: priority 6, by sam")

        # The charts are drawn by uPlot from our own static files, and count the picks.
        expect(page.locator("#chart-picks canvas")).to_have_count(1)
        expect(page.locator("#chart-packed canvas")).to_have_count(1)

        # "Bins to count 1" opens: the queue shows just those.
        page.click("#drawer-close")
        floor_store.execute(
            "INSERT INTO count_tasks (location_id, sku, reason, created_at) "
            "SELECT id, 'SKU-A', 'short_pick', '2026-01-01' FROM locations WHERE code = 'E-01-01'"
        )
        device.call("action", {"id": "h2", "action": "help"}, namespace="/device")
        counter = page.locator('.counter[data-counter="bins_to_count"]')
        expect(counter.locator(".counter-n")).to_have_text("1")
        expect(page.locator("#exceptions li")).to_have_count(2)  # the new help, the bin
        counter.locator("button").click()
        expect(page.locator("#exceptions li")).to_have_count(1)
        expect(page.locator("#exceptions li.k-count .item-title")).to_have_text(
            "Bin to count: E-01-01 (SKU-A)"
        )
    finally:
        device.disconnect()
    assert not problems, problems


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    """1,000 open lists and 200 devices (seeded once for the module)."""
    data = tmp_path_factory.mktemp("big-site")
    seed_site(data, pickers=0, open_orders=1000)
    store = open_store(data / "scanfloor.db")
    # One tote per cart: the planner has no orders to put together, the lists stay 1,000.
    auth.create_devices(store, auth.fleet_names("wall-p", 190), "picker", "WH-1", cart_totes=1)
    auth.create_devices(store, auth.fleet_names("wall-k", 10), "packer", "WH-1")
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    store.close()
    return data


@pytest.fixture(scope="module")
def big_site_base(big_site, module_server_proc) -> str:
    """One real server on the big site for the module: the tests below only read it."""
    return module_server_proc(big_site)


# Elements that must be wholly on screen (not clipped, no sideways scroll) at each size.
FITS = "#devices, #exceptions-title, #columns, .counters, #filters, .top"


# One worker runs both sizes, so the module's big site is seeded and served once (under
# `--dist loadgroup` each worker that gets one of them would build its own).
@pytest.mark.xdist_group("board-big-site")
@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)], ids=["tablet", "wall"])
def test_the_board_fits_and_stays_quick_with_1000_lists_and_200_devices(
    big_site_base, chromium, size
):
    from playwright.sync_api import expect

    base = big_site_base
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        log_in(page, base, "sam")
        expect(page.locator("#link")).to_have_text("live", timeout=20000)
        expect(page.locator("#lists-count")).to_have_text("1000 pick lists on the floor")
        expect(page.locator("#devices tbody tr")).to_have_count(200)
        # Drawing the whole board from a snapshot stays under what a person waits for (the
        # bound allows for 3 other test workers on this 2-core box: 409 ms was seen there).
        ms = int(page.evaluate("document.body.dataset.renderMs"))
        assert ms < 1000, f"drawing the board took {ms} ms"
        print(f"board drawn in {ms} ms at {size[0]}x{size[1]}")
        # Searching 1,000 lists answers at once.
        page.fill("#f-search", "F-0000500")
        expect(page.locator("#columns .card")).to_have_count(1)
        expect(page.locator("#lists-count")).to_contain_text("1 shown")
        page.fill("#f-search", "")
        expect(page.locator('.column[data-state="queued"] .card')).to_have_count(30)
        expect(page.locator(".more-cards")).to_have_text("+970 more")
        # Nothing scrolls sideways; nothing is cut off at the right edge.
        fit = page.evaluate(
            """(sel) => ({
                 page: document.documentElement.scrollWidth,
                 view: window.innerWidth,
                 over: [...document.querySelectorAll(sel)].filter(e => {
                   const r = e.getBoundingClientRect();
                   return r.right > window.innerWidth + 0.5 || r.left < -0.5;
                 }).map(e => e.id || e.className),
                 wide: [...document.querySelectorAll('#devices, .card, .item')].filter(
                   e => e.scrollWidth > e.clientWidth + 1).length,
               })""",
            FITS,
        )
        assert fit["page"] <= fit["view"], fit
        assert fit["over"] == [], fit
        assert fit["wide"] == 0, fit
        if size == (1920, 1080):  # on a wall screen the devices sit above the fold
            top = page.evaluate("document.getElementById('devices').getBoundingClientRect().top")
            assert top < 400, top
        # Names stay whole: "picker-/1" must not break inside a name.
        heights = page.evaluate(
            "[...document.querySelectorAll('#devices .name')].slice(0, 20).map(e => e.getClientRects().length)"
        )
        assert set(heights) == {1}, heights
    finally:
        context.close()
    assert not problems, problems
