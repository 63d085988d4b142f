"""The board at full size, in a real headless Chromium against the real server: a site of
60,000 open orders (each on its own queued list) gets a first view of about 30 KB at once,
a column pages through later lists, a search finds one list by its shop number, and a scan
on a handheld elsewhere shows on the board within 2 s."""

from __future__ import annotations

import re
import time

import pytest
from floorkit import BOARD_PASSWORD, log_in

from scripts.load.boardsite import add_open_orders
from scripts.load.floorsite import seed_site
from server.people import users
from server.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
OPEN = 60_000


@pytest.fixture(scope="module")
def full_site(tmp_path_factory):
    """60,000 open orders in bulk SQL (a few seconds), two pickers, a supervisor."""
    data = tmp_path_factory.mktemp("full-site")
    site = seed_site(data, pickers=2, open_orders=0, cart_totes=1)
    took = add_open_orders(data / "scanfloor.db", OPEN)
    print(f"{OPEN} open orders written in {took:.1f} s")
    store = open_store(data / "scanfloor.db")
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    store.close()
    return data, site.devices


def test_the_board_opens_quickly_on_60000_open_orders_and_follows_the_floor(
    full_site, module_server_proc, chromium
):
    import socketio
    from playwright.sync_api import expect

    data, devices = full_site
    base = module_server_proc(data, env={"SCANFLOOR_WORKER__WITH_SERVER": "false"})
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    device = socketio.Client()
    try:
        log_in(page, base, "sam")
        expect(page.locator("#lists-count")).to_have_text(
            f"{OPEN} pick lists on the floor", timeout=20000
        )
        ms = int(page.evaluate("document.body.dataset.firstViewMs"))
        size = int(page.evaluate("document.body.dataset.firstViewChars"))
        print(f"first view: {size} bytes, {ms} ms from the page's start to the snapshot")
        assert size <= 1_000_000, f"the first view was {size} bytes"
        # 2 s is the target; the bound allows for the other test workers on 2 cores.
        assert ms < 5000, f"the first view took {ms} ms"

        queued = page.locator('.column[data-state="queued"]')
        expect(queued.locator(".column-n")).to_have_text(str(OPEN))
        expect(queued.locator(".card")).to_have_count(30)
        more = queued.locator(".more-cards")
        expect(more).to_have_text(f"+{OPEN - 30} more")
        more.click()
        # The next 100 of 60,000 come from the server: 20 s allows for a loaded 2-core box
        # (the test starts among the other end-to-end tests; a quiet box answers in ms).
        expect(queued.locator(".card")).to_have_count(130, timeout=20000)
        expect(more).to_have_text(f"+{OPEN - 130} more", timeout=20000)
        refs = queued.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.ref)")
        assert len(set(refs)) == 130, refs

        # A handheld elsewhere signs on and scans: the board shows it within 2 s.
        name, token, _ = devices[0]
        device.connect(base, namespaces=["/device"], auth={"token": token, "last_seen_seq": 0})
        picking = page.locator('.column[data-state="picking"] .card')
        expect(picking).to_have_count(1, timeout=10000)
        expect(picking.locator(".device")).to_have_text(name)
        at = time.monotonic()
        ack = device.call("scan", {"id": "s1", "barcode": "TOTE-77"}, namespace="/device")
        assert ack["ok"], ack
        expect(picking.locator(".where")).to_contain_text("TOTE-77", timeout=10000)
        took = time.monotonic() - at
        print(f"scan to board: {took:.2f} s")
        assert took < 4.0, f"the scan took {took:.2f} s to reach the board"
        expect(queued.locator(".column-n")).to_have_text(str(OPEN - 1))

        # A search runs on the server: one list found by the shop's number.
        page.fill("#f-search", "#B45678")
        expect(page.locator("#columns .card")).to_have_count(1)
        expect(page.locator("#columns .card")).to_have_attribute("data-ref", "PL-045678")
        expect(page.locator("#lists-count")).to_contain_text("1 shown")
        page.fill("#f-search", "")
        expect(queued.locator(".card")).to_have_count(30)
        expect(page.locator("#lists-count")).to_have_text(re.compile(r"pick lists on the floor$"))
    finally:
        if device.connected:
            device.disconnect()
        context.close()
    assert not problems, problems
