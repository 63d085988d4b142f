"""The customer's side end to end: the real server mails the shipping news through a real
SMTP server (aiosmtpd on loopback), and the link in the mail opens the tracking page in
the real headless Chromium at a phone's size."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from mailkit import EMAIL, move, order_with_parcel

from scripts.mail_sink import MailSink
from server.notify import mail

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PUBLIC = "https://track.shop.example"
PHONE = {"width": 390, "height": 844}


def test_the_shipped_mail_links_to_a_tracking_page_a_phone_can_read(
    floor_settings, floor_store, server_proc, chromium, monkeypatch
):
    from playwright.sync_api import expect

    # The floor moves the order (this process writes the same database the server reads).
    monkeypatch.setitem(mail.SETTINGS, "enabled", True)
    oid = order_with_parcel(floor_store)
    move(floor_store, oid, "shipped")
    move(floor_store, oid, "out_for_delivery")
    with MailSink() as sink:
        base = server_proc(
            floor_settings.data_dir,
            env={
                "SCANFLOOR_EMAIL__ENABLED": "true",
                "SCANFLOOR_EMAIL__HOST": "127.0.0.1",
                "SCANFLOOR_EMAIL__PORT": str(sink.port),
                "SCANFLOOR_EMAIL__STARTTLS": "false",
                "SCANFLOOR_EMAIL__SHOP_NAME": "Hopper Supplies",
                "SCANFLOOR_EMAIL__PUBLIC_BASE_URL": PUBLIC,
                "SCANFLOOR_EMAIL__POLL_SECONDS": "0.2",
                # The channel's own settings: where replies go, its colour, how to reach it.
                "SCANFLOOR_EMAIL__CHANNELS__web__REPLY_TO": "help@hopper.example",
                "SCANFLOOR_EMAIL__CHANNELS__web__COLOUR": "#8a2be2",
                "SCANFLOOR_EMAIL__CHANNELS__web__CONTACT": "Call us on 0800 123 456",
            },
        )
        shipped, out = sink.wait_for(2, timeout=60)
        # The server's worker sent both, in order, and wrote it down.
        assert shipped["Subject"] == "Hopper Supplies: your order #1043 has shipped"
        assert out["Subject"] == "Hopper Supplies: your order #1043 is out for delivery"
        assert shipped["To"] == EMAIL
        text = shipped.get_body(("plain",)).get_content()
        link = next(w for w in text.split() if w.startswith(PUBLIC + "/track/"))
        assert "SF0000012345" in text
        for msg in (shipped, out):
            # RFC 5322: a Date on every message (when the status changed); the channel's Reply-To.
            assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
            assert msg["Reply-To"] == "help@hopper.example"
            body = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            for part in (body, html):
                assert "1 × Blue mug" in part or "1 &times; Blue mug" in part  # the items
                assert "SCANFLOOR LOCAL" in part and "Standard" in part  # carrier and service
                assert "Estimated delivery:" in part and "Call us on 0800 123 456" in part
            assert "#8a2be2" in html  # the shop's colour
        move(
            floor_store, oid, "delivered", at="2026-12-03T19:02:00+00:00",
            place={"text": "Left at the front door", "city": "Philadelphia"},
        )  # fmt: skip
        (delivered,) = sink.wait_for(3, timeout=60)[2:]
        assert delivered["Subject"].endswith("was delivered")
        said = delivered.get_body(("plain",)).get_content()
        assert (
            "was delivered Thu 3 Dec 2026, 14:02 EST: Left at the front door, Philadelphia" in said
        )
        assert "Estimated delivery" not in said
    # The sink answers before the server writes the outcome down: wait for the note.
    deadline = time.monotonic() + 10
    while [r["status"] for r in mail.listing(floor_store, oid)] != ["sent"] * 3:
        assert time.monotonic() < deadline, mail.listing(floor_store, oid)
        time.sleep(0.05)

    # The customer opens the link on a phone: the page is served by the real server.
    context = chromium.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        url = base + urlsplit(link).path
        resp = page.goto(url)
        assert resp is not None and resp.status == 200
        expect(page.locator("h1")).to_have_text("Order #1043")
        expect(page.locator("header")).to_contain_text("Hopper Supplies")
        expect(page.locator("#status")).to_have_text("Delivered")
        expect(page.locator("#parcels")).to_contain_text("tracking number SF0000012345")
        expect(page.locator("#parcels")).to_contain_text("SCANFLOOR LOCAL · Standard")
        # The tracking number on one line: its box is one line high.
        number = page.locator("#parcels .tracking")
        line = float(number.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert number.bounding_box()["height"] < 1.5 * line
        # Newest on top, in the ship-to address's time, the zone named.
        steps = page.locator("#timeline li span")
        expect(steps).to_have_text(
            ["Delivered", "Out for delivery", "Shipped", "Being prepared", "Order received"]
        )
        expect(page.locator("#timeline li time").first).to_contain_text("EST")
        expect(page.locator("#zone")).to_have_text(
            "Times are New York time, where the parcel goes."
        )
        # Delivered: a clear state, when and where the carrier left it; no "Going to".
        expect(page.locator("#state")).to_have_class(re.compile(r"\bdelivered\b"))
        expect(page.locator("#delivered")).to_have_text(
            "Delivered Thu 3 Dec 2026, 14:02 EST: Left at the front door, Philadelphia"
        )
        assert "Going to" not in page.locator("#state").inner_text()
        green = page.locator("#state").evaluate("e => getComputedStyle(e).borderLeftColor")
        assert green == "rgb(26, 127, 55)"
        # The progress bar: every milestone reached; the items; how to reach the shop.
        expect(page.locator("#progress li.done")).to_have_count(5)
        expect(page.locator("#progress li.current")).to_have_text("Delivered")
        expect(page.locator("#items")).to_contain_text("1 × Blue mug")
        expect(page.locator("#contact")).to_contain_text("Call us on 0800 123 456")
        expect(page.locator("#contact a")).to_have_attribute("href", "mailto:help@hopper.example")
        bar = page.locator("header").evaluate("e => getComputedStyle(e).borderTopColor")
        assert bar == "rgb(138, 43, 226)"  # the shop's colour
        body = page.locator("body").inner_text()
        for internal in (oid, "WH-EAST", "SKU-A"):
            assert internal not in body
        # Readable on a phone: fits the width (no sideways scrolling), text not tiny.
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16
        assert all(r.startswith(base) for r in requests)  # nothing from elsewhere

        missing = page.goto(base + "/track/not-a-real-token")
        assert missing is not None and missing.status == 404
        expect(page.locator("h1")).to_have_text("Order not found")
    finally:
        context.close()
