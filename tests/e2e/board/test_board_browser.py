"""The supervisors' board in a real headless Chromium, fed live by the real server."""

from __future__ import annotations

import re

import pytest
import socketio
from floorkit import BOARD_PASSWORD, log_in

from server.capture import orders
from server.core.schemas import OrderIn
from server.inventory import allocate
from server.people import auth, users

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]

# A name an admin may type: it must show as text, never become markup.
ODD_DEVICE = 'pack <b>bench</b> & "2"'


def _place(
    store, shop_id: str, lines: list[tuple[str, int]], lat: float, lon: float, priority: int = 0
):
    body = {
        "order_id": shop_id,
        "priority": priority,
        "lines": [{"sku": s, "qty": q} for s, q in lines],
        "ship_to": {
            "name": "Grace Hopper",
            "line1": "1 Long Road",
            "city": "Springfield",
            "postcode": "12345",
            "country": "US",
            "lat": lat,
            "lon": lon,
        },
    }
    oid, _ = orders.capture(store, OrderIn.model_validate(body))
    assert allocate.allocate_order(store, oid) == "allocated"
    return oid


@pytest.fixture
def seeded_floor(floor_settings, floor_store, floor_tokens):
    """Three pick lists (two east, one west), two east devices and an oddly named one."""
    # Enrolled before device names were kept to what a path carries: still shown as text.
    auth.create_device(floor_store, "odd-packer", "packer", "WH-WEST")
    with floor_store.write():
        floor_store.execute("UPDATE devices SET name = ? WHERE name = 'odd-packer'", (ODD_DEVICE,))
    _place(floor_store, "SHOP-1001", [("SKU-A", 2), ("SKU-B", 1)], 40.0, -75.0, priority=5)
    _place(floor_store, "SHOP-1002", [("SKU-B", 3)], 40.0, -75.0)
    _place(floor_store, "SHOP-1003", [("SKU-C", 1)], 34.0, -118.0)
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    users.add(floor_store, "pia", "picker", BOARD_PASSWORD)
    return floor_settings.data_dir, floor_tokens, floor_store


def test_the_login_page_refuses_a_wrong_password_a_missing_csrf_token_and_a_picker(
    seeded_floor, server_proc, browser_page
):
    from playwright.sync_api import expect

    data_dir, _, floor_store = seeded_floor
    base = server_proc(data_dir)
    page = browser_page
    log_in(page, base, "sam", "not the password")
    expect(page.locator("#error")).to_have_text("Wrong user name or password.")
    assert page.url.startswith(base + "/login")
    # The form without its CSRF token: refused even with the right password.
    page.fill("#username", "sam")
    page.fill("#password", BOARD_PASSWORD)
    page.locator("input[name=csrf_token]").evaluate("e => e.remove()")
    page.click("button[type=submit]")
    expect(page.locator("#error")).to_contain_text("CSRF")
    page.goto(base + "/board")
    assert page.url.startswith(base + "/login")  # still logged out
    # A picker's own log-in works, but opens no board.
    log_in(page, base, "pia")
    expect(page.locator("#no-access")).to_contain_text("no board access")
    assert page.locator("#pick-lists").count() == 0
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    picker = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        picker.connect(
            base,
            namespaces=["/board"],
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
            transports=["websocket"],
            wait_timeout=5,
        )
    # A supervisor's board whose session ends (a new password) goes back to the log-in page
    # when its socket next connects.
    page.context.clear_cookies()
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")
    users.set_password(floor_store, "sam", "a brand new password")
    page.evaluate("window.scanfloorBoard.socket.disconnect().connect()")
    expect(page).to_have_url(re.compile(r"/login\?next=/board$"))


def test_board_shows_the_floor_and_follows_it_live(
    seeded_floor, server_proc, browser_page, tmp_path
):
    from playwright.sync_api import expect

    data_dir, tokens, floor_store = seeded_floor
    base = server_proc(data_dir)
    page = browser_page
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")
    assert page.url == base + "/board"
    lists = page.locator("#columns .card")
    expect(lists).to_have_count(3)
    first = page.locator('.card[data-ref="PL-000001"]')
    expect(first).to_have_attribute("data-state", "queued")
    expect(page.locator('.column[data-state="queued"] .card')).to_have_count(3)
    expect(first.locator(".orders")).to_contain_text("SHOP-1001")
    expect(first).to_contain_text("0 / 3")
    expect(page.locator('.card[data-ref="PL-000003"]')).to_contain_text("WH-WEST")

    devices = page.locator("#devices tbody tr")
    expect(devices).to_have_count(3)
    picker = page.locator('#devices tr[data-device="picker-e1"]')
    expect(picker.locator(".dot")).to_have_class(re.compile(r"\bdot-off\b"))
    expect(picker).to_contain_text("offline")
    odd = page.locator("#devices .name").filter(has_text="bench")
    expect(odd).to_have_text(ODD_DEVICE)
    assert page.locator("#devices b").count() == 0  # the name stayed text
    expect(page.locator('.counter[data-counter="allocated"] .counter-n')).to_have_text("3")
    expect(page.locator('.counter[data-counter="failed_prints"] .counter-n')).to_have_text("0")
    expect(page.locator("footer")).to_contain_text("Signed in as sam (supervisor)")

    # Changes the server makes reach the board as deltas of the rows they touched; a change
    # made behind the server's back shows with the fresh snapshot of the next (re)connect.
    with floor_store.write():
        floor_store.execute("UPDATE pick_steps SET picked = 2 WHERE pick_list_id = 2")
    page.evaluate("window.__sameDocument = 42")
    device = socketio.Client()
    try:
        device.connect(
            base,
            namespaces=["/device"],
            auth={"token": tokens["picker"], "last_seen_seq": 0},
            wait_timeout=10,
        )
        expect(picker.locator(".dot")).to_have_class(re.compile(r"\bdot-on\b"))
        expect(picker).to_contain_text("online")
        expect(picker).to_contain_text("PL-000001")
        expect(first).to_have_attribute("data-state", "picking")
        expect(page.locator('.column[data-state="picking"] .card')).to_have_count(1)
        expect(first.locator(".device")).to_have_text("picker-e1")
        expect(page.locator('.counter[data-counter="picking"] .counter-n')).to_have_text("1")
        second = page.locator('.card[data-ref="PL-000002"]')
        expect(second.locator(".progress-picked .bar-num")).to_have_text("0 / 3")
        page.evaluate("window.scanfloorBoard.socket.disconnect().connect()")
        expect(second.locator(".progress-picked .bar-num")).to_have_text("2 / 3")
        expect(second.locator(".progress-picked .fill")).to_have_attribute("style", "width: 67%;")
        assert page.evaluate("window.__sameDocument") == 42, "the page reloaded"
        helps = page.locator("#exceptions li.k-help")
        expect(helps).to_have_count(0)
        ack = device.call(
            "action", {"id": "h1", "action": "help", "reason": "damaged"}, namespace="/device",
            timeout=5,
        )  # fmt: skip
        assert ack["ok"]
        expect(helps).to_have_count(1)
        expect(helps.first).to_contain_text("Help: damaged")
        expect(helps.first).to_contain_text("picker-e1")
        # A short pick reaches the board with the next snapshot.
        floor_store.execute(
            """INSERT INTO short_picks (device_id, pick_list_id, step_id, order_id, location_id, sku,
                 wanted, found, reason, outcome, at)
               SELECT d.id, 1, 1, 'SO-000001', l.id, 'SKU-B', 2, 0, 'damaged', 'same_warehouse', ?
               FROM devices d, locations l WHERE d.name = 'picker-e1' AND l.code = 'E-01-01'""",
            ("2026-01-01T00:00:00+00:00",),
        )
        shorts = page.locator("#exceptions li.k-short")
        expect(shorts).to_have_count(0)
        device.call("action", {"id": "h2", "action": "help"}, namespace="/device", timeout=5)
        expect(shorts).to_have_count(1)
        expect(shorts.locator(".item-title")).to_have_text(
            "Short pick: SKU-B at E-01-01, 0 of 2 found"
        )
        expect(shorts.locator(".item-detail")).to_have_text(
            "damaged; rest same warehouse · picker-e1 · SO-000001 · PL-000001"
        )
        # Help without a reason says so.
        expect(helps.filter(has_text="no reason given")).to_have_count(1)
        # So does a label that failed to print.
        expect(page.locator("#exceptions li.k-print")).to_have_count(0)
        with floor_store.write():
            pkg = floor_store.execute(
                "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, zpl, "
                "created_at) VALUES ('SO-000001', 1, '006141410000000012', 'SF0000000010', 1, "
                "'labelled', '^XA^XZ', '2026-01-01')"
            ).lastrowid
            floor_store.execute(
                "INSERT INTO print_jobs (package_id, device_id, status, attempts, error, created_at, "
                "updated_at) SELECT ?, id, 'failed', 2, 'paper_out: printer is out of paper', "
                "'2026-01-01', '2026-01-01T00:00:00+00:00' FROM devices WHERE name = 'picker-e1'",
                (pkg,),
            )
        device.call("action", {"id": "h3", "action": "help"}, namespace="/device", timeout=5)
        failed = page.locator("#exceptions li.k-print")
        expect(failed).to_have_count(1)
        expect(failed.locator(".item-title")).to_have_text("Label failed to print (2 tries)")
        expect(failed.locator(".item-detail")).to_have_text(
            "paper_out: printer is out of paper · picker-e1 · SO-000001"
        )
        expect(page.locator('.counter[data-counter="failed_prints"] .counter-n')).to_have_text("1")
        shot = tmp_path / "board.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"board screenshot: {shot}")
    finally:
        device.disconnect()
    expect(picker.locator(".dot")).to_have_class(re.compile(r"\bdot-off\b"))

    assert not problems, problems
    origin = base.replace("http://", "")
    outside = [u for u in requests if origin not in u and not u.startswith("data:")]
    assert not outside, f"the board fetched from elsewhere: {outside}"

    server_proc.stop(base)
    expect(page.locator("#link")).to_have_text("reconnecting…")
    expect(page.locator("#board")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#offline")).to_have_text(re.compile(r"^Offline since .* — reconnecting"))
