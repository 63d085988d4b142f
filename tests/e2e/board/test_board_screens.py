"""What a supervisor reads on the board (issue 18, "The board" 1-8), in a real Chromium against
the real server: cards that show their due time whole, lateness at a glance, idle devices not
alarmed, only the actions that apply, the order drawer in words with the label as a picture,
charts that fit the data, a tablet that shows work on its first screen, and a board that says
how to put work on it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from floorkit import BOARD_PASSWORD, log_in, place, plan

from server.core.addresses import Address
from server.people import auth, users
from server.realtime.hub import BOARD_QUIET_REFRESH
from server.shipping.domain.labels import ShippingLabel, render_zpl

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]

HTTP_CODE = re.compile(r"\b[45]\d\d\b")


def _iso(delta_minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=delta_minutes)).isoformat()


def _seed(store) -> dict[str, str]:
    """Three open orders (one late, one due within the hour, one without a promise), one
    delivered order with a real label, one backordered order and a bin to count."""
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    late = place(store, "SHOP-1001", [("SKU-A", 1)])
    soon = place(store, "SHOP-1002", [("SKU-B", 1)])
    place(store, "SHOP-1003", [("SKU-C", 1)])
    done = place(store, "SHOP-1004", [("SKU-C", 1)], 34.0, -118.0)  # the west: its own list
    short = place(store, "SHOP-1005", [("SKU-C", 500)])
    here = Address(name="Scanfloor East", line1="5 Dock St", city="Newark", postcode="07102",
                   country="US")  # fmt: skip
    to = Address(name="Grace Hopper", line1="1 Long Road", city="Springfield", postcode="12345",
                 country="US")  # fmt: skip
    zpl = render_zpl(ShippingLabel(here, to, done, "SF0000000420", "006141410000000012",
                                   "SCANFLOOR LOCAL", "express", 1234))  # fmt: skip
    with store.write():
        store.execute(
            "UPDATE orders SET shop_number = '#100452-A', promised_by = ? WHERE id = ?",
            (_iso(-90), late),
        )
        store.execute("UPDATE orders SET promised_by = ? WHERE id = ?", (_iso(30), soon))
        store.execute(
            "UPDATE pick_lists SET status = 'packed', packed_at = ? WHERE id IN "
            "(SELECT pick_list_id FROM pick_steps WHERE order_id = ?)",
            (_iso(-60), done),
        )
        store.execute("UPDATE orders SET status = 'delivered' WHERE id = ?", (done,))
        # Delivered: its shipment left (the cancel rule reads the shipments, not the status).
        store.execute("UPDATE shipments SET status = 'shipped' WHERE order_id = ?", (done,))
        store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) VALUES "
            "(?, ?, 'packed', 'packed', '{\"package\": 1, \"tracking\": \"SF0000000420\"}'), "
            "(?, ?, 'delivered', 'delivered', '{\"place\": {\"city\": \"Springfield\"}}')",
            (done, _iso(-50), done, _iso(-5)),
        )
        store.execute(
            "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, zpl, "
            "created_at) SELECT ?, pick_list_id, '006141410000000012', 'SF0000000420', 1234, "
            "'confirmed', ?, ? FROM pick_steps WHERE order_id = ? LIMIT 1",
            (done, zpl, _iso(-50), done),
        )
        store.execute(
            "INSERT INTO count_tasks (location_id, sku, reason, status, created_at) "
            "SELECT id, 'SKU-A', 'short_pick', 'open', ? FROM locations WHERE code = 'E-01-01'",
            (_iso(-10),),
        )
    return {"late": late, "soon": soon, "done": done, "short": short}


def _inside(page, inner: str, outer: str) -> list[str]:
    """Elements matching `inner` that are cut off (overflowing themselves or their `outer`)."""
    return page.evaluate(
        """([inner, outer]) => Array.from(document.querySelectorAll(inner)).filter(e => {
             const box = e.getBoundingClientRect(), o = e.closest(outer).getBoundingClientRect();
             return e.scrollWidth > e.clientWidth + 1 || box.right > o.right + 1 || box.left < o.left - 1;
           }).map(e => e.textContent)""",
        [inner, outer],
    )


@pytest.fixture
def board(floor_settings, floor_store, floor_tokens, server_proc, browser_page):
    ids = _seed(floor_store)
    base = server_proc(floor_settings.data_dir)
    log_in(browser_page, base, "sam")
    from playwright.sync_api import expect

    expect(browser_page.locator("#link")).to_have_text("live")
    return browser_page, base, ids, floor_store, floor_tokens


def box_of(locator) -> dict:
    """The element's box once it is drawn: the board redraws its columns with every update
    (at least once a second), and between a redraw's removal and its insertion the element
    has no box (Playwright answers None)."""
    deadline = time.monotonic() + 5
    while (box := locator.bounding_box()) is None:
        assert time.monotonic() < deadline, f"{locator} not drawn within 5 s"
        time.sleep(0.05)
    return box


def test_cards_counters_and_tablet_layout(board):
    from playwright.sync_api import expect

    page, base, ids, store, tokens = board
    for width, height in ((1440, 900), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        late = page.locator(".card").filter(has_text="#100452-A")
        expect(late.locator(".flag")).to_have_text("LATE")
        expect(late.locator(".due-at")).to_have_text(re.compile(r"\d{1,2}:\d\d"))
        expect(late.locator(".order-shop").first).to_have_text("#100452-A")
        cut = _inside(
            page, ".card .due-at, .card .order-shop, .card .flag, .card .order-id", ".card"
        )
        assert not cut, f"cut off at {width} px: {cut}"
        # The finished column is a count, not a seventh of the width.
        shipped = page.locator('.column[data-state="shipped"]')
        expect(shipped).to_have_class(re.compile(r"\bfolded\b"))
        expect(shipped.locator(".column-n")).to_have_text("1")
        expect(shipped.locator(".card")).to_have_count(0)
        assert box_of(shipped)["width"] < 130
    # Lateness at a glance; today's work apart from the all-time totals.
    due = page.locator('.counter-group[data-group="due"]')
    expect(due.locator('[data-counter="late_now"] .counter-n')).to_have_text("1")
    expect(due.locator('[data-counter="due_within_hour"] .counter-n')).to_have_text("1")
    expect(due.locator('[data-cutoff="local"]')).to_contain_text("SCANFLOOR LOCAL cut-off 16:00")
    expect(due.locator('[data-cutoff="local"] .cutoff-left')).to_have_text(
        re.compile(r"^in (\d+ h \d\d m|\d+ m)$")
    )
    today = page.locator('.counter-group[data-group="today"]')
    expect(today.locator(".group-title")).to_have_text("Today")
    expect(today.locator('[data-counter="delivered_today"] .counter-label')).to_have_text(
        "delivered"
    )
    expect(page.locator('.counter-group[data-group="ever"] .group-title')).to_have_text("All time")
    expect(page.locator('[data-group="ever"] [data-counter="delivered"] .counter-n')).to_have_text(
        "1"
    )
    # Time alone makes an order late: the counters follow without any change on the floor.
    with store.write():
        store.execute("UPDATE orders SET promised_by = ? WHERE id = ?", (_iso(-1), ids["soon"]))
    page.evaluate("SF.lower.refresh()")  # what the board does every minute
    expect(due.locator('[data-counter="late_now"] .counter-n')).to_have_text("2")
    # Tablet: the counters leave most of the first screen to the work.
    page.set_viewport_size({"width": 1024, "height": 768})
    box = box_of(page.locator("#counters"))
    assert box["y"] + box["height"] < 768 * 0.35, box
    # 768 wide: the devices table is not clipped.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.wait_for_timeout(300)
    clipped = page.evaluate(
        """() => { const s = document.querySelector('.devices-scroll'), t = document.getElementById('devices');
                   return [t.scrollWidth, s.clientWidth, t.getBoundingClientRect().right, innerWidth]; }"""
    )
    assert clipped[0] <= clipped[1] + 1 and clipped[2] <= clipped[3], clipped


def test_devices_actions_and_the_order_drawer(board, tmp_path):
    from playwright.sync_api import expect

    page, base, ids, store, tokens = board
    shots = tmp_path
    # Idle devices that are off raise no alarm; nothing red at the top.
    rows = page.locator("#devices tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#devices tr.alert")).to_have_count(0)
    expect(page.locator("#device-alerts")).to_be_hidden()
    # An online idle device comes first; the picker that goes away holding its list is red.
    packer = socketio.Client()
    picker = socketio.Client()
    packer.connect(base, namespaces=["/device"], auth={"token": tokens["packer"], "last_seen_seq": 0},
                   wait_timeout=10)  # fmt: skip
    try:
        expect(rows.first).to_have_attribute("data-device", "packer-e1")
        picker.connect(base, namespaces=["/device"],
                       auth={"token": tokens["picker"], "last_seen_seq": 0}, wait_timeout=10)  # fmt: skip
        expect(page.locator('#devices tr[data-device="picker-e1"] .work .ref')).to_have_count(1)
        picker.disconnect()
        expect(page.locator('#devices tr[data-device="picker-e1"]')).to_have_class(
            re.compile(r"\balert\b")
        )
        expect(page.locator("#device-alerts")).to_contain_text("offline while holding work")
        # Reassign offers only pickers online now (picker-e2 is offline, never seen).
        auth.create_device(store, "picker-e2", "picker", "WH-EAST")
        page.evaluate("window.scanfloorBoard.socket.disconnect().connect()")
        page.locator(".card").filter(has_text="SHOP-1002").click()
        expect(page.locator("#reassign-to option")).to_have_count(0)
        expect(page.locator("#reassign")).to_be_disabled()
        expect(page.locator("#drawer")).to_contain_text("no free picker of WH-EAST is online")
    finally:
        packer.disconnect()
    # The packer went off without work (its shift ended): grey, not an alarm.
    packer_row = page.locator('#devices tr[data-device="packer-e1"]')
    expect(packer_row).to_contain_text("offline")
    expect(packer_row).not_to_have_class(re.compile(r"\balert\b"))
    expect(page.locator("#device-alerts")).not_to_contain_text("packer-e1")
    # A refusal is said in words, never as an HTTP code.
    page.evaluate("SF.api('POST', '/lists/999/release').then(SF.drawer.report)")
    toast = page.locator("#toast")
    expect(toast).to_have_text(re.compile(r"^Not done: "))
    assert not HTTP_CODE.search(toast.text_content()), toast.text_content()
    # Backorders name the short SKU; bins to count say where they are counted.
    queue = page.locator("#exceptions")
    expect(queue.locator("li.k-backorder .item-title")).to_have_text(
        re.compile(r"^Backordered: SKU-C short \(needs 500, \d+ free\)$")
    )
    expect(queue.locator("li.k-count .item-title")).to_have_text("Bin to count: E-01-01 (SKU-A)")
    expect(queue.locator("li.k-count .item-detail")).to_contain_text(
        "counted on a handheld by a picker between lists"
    )
    # The delivered order: no cancel; customer, address and tracking link; timeline in words.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.evaluate(f"SF.drawer.openOrder('{ids['done']}')")
    drawer = page.locator("#drawer")
    expect(drawer.locator(".order-status")).to_have_text("delivered")
    expect(drawer.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(drawer.locator(".no-cancel")).to_contain_text("can no longer be cancelled")
    expect(drawer.locator(".order-customer")).to_have_text("Grace Hopper")
    expect(drawer.locator(".order-address")).to_contain_text("Springfield")
    expect(drawer.locator(".track-link")).to_have_attribute("href", re.compile(r"^/track/"))
    lines = drawer.locator(".timeline .says")
    expect(lines.last).to_have_text("Delivered: at Springfield")
    expect(drawer.locator(".timeline")).to_contain_text(
        "Packed and labelled: tracking SF0000000420"
    )
    overlaps = page.evaluate(
        """() => Array.from(document.querySelectorAll('.timeline li')).filter(li =>
             li.querySelector('.seen').getBoundingClientRect().right >
             li.querySelector('.says').getBoundingClientRect().left).length"""
    )
    assert overlaps == 0, "a time runs into its sentence"
    text = drawer.locator(".timeline").text_content()
    assert "{" not in text and not re.search(r"\d{4}-\d\d-\d\dT", text), text
    # The label is a picture drawn from its ZPL, not the ZPL.
    img = drawer.locator(".label-img")
    expect(img).to_have_count(1)
    expect(img).to_have_js_property("naturalWidth", 812)  # loaded: 4 x 6 in at 203 dpi
    expect(img).to_have_js_property("naturalHeight", 1218)
    expect(drawer.locator("pre.zpl")).to_have_count(0)
    assert "^XA" not in drawer.text_content()
    page.screenshot(path=str(shots / "drawer-1440.png"))
    wide = page.evaluate(
        "() => { const b = document.getElementById('drawer-body'); return [b.scrollWidth, b.clientWidth]; }"
    )
    assert wide[0] <= wide[1], f"the drawer is cut off at the right: {wide}"
    page.set_viewport_size({"width": 768, "height": 1024})
    page.screenshot(path=str(shots / "drawer-768.png"))
    wide = page.evaluate(
        "() => { const b = document.getElementById('drawer-body'); return [b.scrollWidth, b.clientWidth]; }"
    )
    assert wide[0] <= wide[1], f"the drawer is cut off at 768 px: {wide}"
    # Its status was set by hand, no shipment left: no return is offered, and the drawer says why.
    returns = drawer.locator("#order-returns")
    expect(returns).to_contain_text("Nothing shipped yet: nothing to return.")
    expect(returns.get_by_role("button", name="Authorise return")).to_have_count(0)
    print(f"drawer screenshots: {shots}")


def test_charts_fit_the_data_and_an_empty_board_says_how_to_put_work_on_it(
    floor_settings, floor_store, floor_tokens, server_proc, browser_page
):
    from playwright.sync_api import expect

    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    with floor_store.write():  # the day's only work, ten minutes ago: one order packed
        floor_store.execute(
            "INSERT INTO orders (id, external_id, channel, status, ship_to, body_hash, created_at, "
            "updated_at) VALUES ('SO-9', 'X-9', 'web', 'packed', '{}', 'h', ?, ?)",
            (_iso(-10), _iso(-10)),
        )
        floor_store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) "
            "VALUES ('SO-9', ?, 'packed', 'packed', '{}')",
            (_iso(-10),),
        )
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")
    hint = page.locator("#hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(
        f"scanfloor import --data-dir {floor_settings.data_dir} orders.csv"
    )
    expect(hint).to_contain_text("POST /api/orders")
    expect(page.locator("body")).to_have_attribute("data-charts", re.compile(r"^[1-9]"))
    expect(page.locator("#charts-span")).to_have_text("last hour, per 5 min")
    # The legend shows the values without hovering.
    expect(page.locator("#chart-packed .u-legend")).to_contain_text("orders packed: 1")
    # Work arrives: the hint goes. The file runs its server without the worker (server_alone),
    # so the pick list is planned here, as the worker's planner would; what another process
    # wrote reaches an open board with the totals every BOARD_QUIET_REFRESH (10 s), and a
    # reconnect gets the first view cached until the next board update.
    place(floor_store, "SHOP-1", [("SKU-A", 1)])
    plan(floor_store)
    expect(hint).to_be_hidden(timeout=BOARD_QUIET_REFRESH * 1000 + 5000)
