"""Customer service as a supervisor does it, in a real Chromium against the real server: find
the customer's order by name, open it, see its labels as pictures, and re-ship the parcel the
carrier lost; the lost one is marked, the audit log has the action. With the other parcel
still with the carrier, the page offers "Cancel the rest" with the units it cancels; once
done, the lost parcel's re-ship reads cancelled and the parcel may be re-shipped again. Once
a split re-ship's two new parcels are labelled, the lost parcel lists both and each names the
lost one."""

from __future__ import annotations

import re

import pytest
from floorkit import BOARD_PASSWORD, log_in
from trackkit import ship

from server.capture.orders import next_number
from server.core.clock import now
from server.notify import webhooks
from server.people import users
from server.shipping import reships
from server.shipping.domain.labels import make_tracking
from shared.barcodes import make_sscc

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]

HTTP_CODE = re.compile(r"\b[45]\d\d\b")


def test_find_a_customer_open_the_order_and_reship_a_lost_parcel(
    floor_settings, floor_store, server_proc, browser_page, problems
):
    from playwright.sync_api import expect

    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    webhooks.subscribe(floor_store, "https://shop.example.com/hooks", ["parcel.reshipped"])
    oid, (tracking, _other) = ship(floor_store, "SHOP-7001", packages=2)
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")

    page.fill("#order-q", "grace hop")
    page.click("#order-find-go")
    found = page.locator(f'#order-results li.found[data-order="{oid}"]')
    expect(found).to_contain_text("matched by customer")
    found.get_by_role("button").click()

    drawer = page.locator("#drawer")
    expect(drawer.locator(".order-customer")).to_have_text("Grace Hopper")
    expect(drawer.locator(".track-link")).to_have_attribute("href", re.compile(r"^/track/"))
    expect(drawer.locator(".no-cancel")).to_have_text(
        f"order {oid} has shipped: it can no longer be cancelled"
    )
    expect(drawer.locator(".no-address-change")).to_contain_text("its address can no longer change")
    expect(drawer.locator("#change-address")).to_have_count(0)
    expect(drawer.locator(".label-img")).to_have_count(2)
    expect(drawer.locator("#order-webhooks")).to_contain_text("None")

    page.once("dialog", lambda d: d.accept())
    drawer.locator("figure[data-package] .reship").first.click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"Done: parcel {tracking} marked lost: WH-EAST ships the new")
    expect(toast).to_contain_text("its units go to the floor as an urgent pick list")
    assert not HTTP_CODE.search(toast.text_content() or "")
    # No new label yet: it is made when a pack station packs the re-ship.
    expect(drawer.locator(".label-img")).to_have_count(2)
    expect(drawer.locator(".lost")).to_have_text("lost · its re-ship is on the floor")
    expect(drawer.locator(".reship")).to_have_count(1)  # the other parcel's, with the carrier
    expect(drawer.locator("#order-webhooks")).to_contain_text("None")  # told at packing
    expect(drawer.locator(".timeline .says").last).to_contain_text("Parcel lost by the carrier")
    urgent = floor_store.one("SELECT p.priority FROM pick_lists p JOIN shipments s ON s.reship_of "
                             "IS NOT NULL JOIN pick_steps ps ON ps.pick_list_id = p.id JOIN "
                             "reservations r ON r.id = ps.reservation_id AND r.shipment_id = s.id "
                             "WHERE s.order_id = ?", (oid,))  # fmt: skip
    assert urgent == {"priority": 10}
    assert floor_store.one("SELECT actor, action FROM audit_log") == {
        "actor": "sam",
        "action": "reship",
    }

    # The other parcel is with the carrier: the page offers the rest, naming its units.
    rest = (
        f"cancels the rest of order {oid}: the re-ship of lost parcel {tracking}: 2 x SKU-B on "
        "the floor in WH-EAST; the parcel with the carrier goes on"
    )
    expect(drawer.locator(".cancel-rest")).to_have_text(rest)
    page.once("dialog", lambda d: d.accept())
    drawer.get_by_role("button", name="Cancel the rest").click()
    expect(toast).to_have_text(f"Done: {rest}")
    expect(drawer.locator(".lost")).to_have_text("lost · its re-ship was cancelled")
    expect(drawer.locator(".no-cancel")).to_have_text(
        f"order {oid} has shipped: it can no longer be cancelled"
    )
    expect(drawer.locator(".reship")).to_have_count(2)  # the lost parcel may go again
    assert problems == []


def test_a_split_reships_lost_parcel_lists_both_new_parcels_and_each_names_it(
    floor_settings, floor_store, server_proc, browser_page, problems
):
    from playwright.sync_api import expect

    from server.board import service

    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    oid, (tracking,) = ship(floor_store, "SHOP-7002")
    lost = floor_store.one("SELECT id FROM packages WHERE tracking = ?", (tracking,))["id"]
    service.reship(floor_store, "sam", lost)
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")

    # A short pick split the re-ship: WH-EAST labels what it picked, WH-WEST the rest, each
    # linked to the lost parcel at packing as the pack station does (`reships.link`).
    east = floor_store.one("SELECT id FROM shipments WHERE reship_of = ?", (lost,))["id"]
    listed = floor_store.one(
        "SELECT ps.pick_list_id FROM pick_steps ps JOIN reservations r ON r.id = "
        "ps.reservation_id WHERE r.shipment_id = ?",
        (east,),
    )["pick_list_id"]
    with floor_store.write():
        at = now()
        west = floor_store.execute(
            "INSERT INTO shipments (order_id, warehouse, status, day, created_at, updated_at, "
            "reship_of) VALUES (?, 'WH-WEST', 'allocated', ?, ?, ?, ?)",
            (oid, at[:10], at, at, lost),
        ).lastrowid
        made = []
        for shipment in (east, west):
            n = next_number(floor_store, "tracking")
            made.append(floor_store.execute(
                "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, "
                "zpl, created_at, shipment_id, carrier) VALUES (?, ?, ?, ?, 20, 'labelled', "
                "'^XA^XZ', ?, ?, 'local')",
                (oid, listed, make_sscc(0, "0614141", next_number(floor_store, "sscc")),
                 make_tracking("SF", n), at, shipment),
            ).lastrowid)  # fmt: skip
            reships.link(floor_store, made[-1])
    page.fill("#order-q", "grace hop")
    page.click("#order-find-go")
    page.locator(f'#order-results li.found[data-order="{oid}"]').get_by_role("button").click()
    drawer = page.locator("#drawer")
    expect(drawer.locator(".lost")).to_have_text(
        f"lost · sent again as packages {made[0]} and {made[1]}"
    )
    expect(drawer.locator(".replaces")).to_have_text([f"sent in place of lost package {lost}"] * 2)
    assert problems == []
