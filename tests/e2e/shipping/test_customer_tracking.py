"""The customer's side end to end: the real server mails the shipping news through a real
SMTP server (aiosmtpd on loopback), and the link in the mail opens the tracking page in
the real headless Chromium at a phone's size."""

from __future__ import annotations

import time
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
            },
        )
        shipped, out = sink.wait_for(2, timeout=20)
        # The server's worker sent both, in order, and wrote it down.
        assert shipped["Subject"] == "Hopper Supplies: your order #1043 has shipped"
        assert out["Subject"] == "Hopper Supplies: your order #1043 is out for delivery"
        assert shipped["To"] == EMAIL
        text = shipped.get_body(("plain",)).get_content()
        link = next(w for w in text.split() if w.startswith(PUBLIC + "/track/"))
        assert "SF0000012345" in text
        move(floor_store, oid, "delivered")
        (delivered,) = sink.wait_for(3, timeout=20)[2:]
        assert delivered["Subject"].endswith("was delivered")
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
        steps = page.locator("#timeline li span")
        expect(steps).to_have_text(
            ["Order received", "Being prepared", "Shipped", "Out for delivery", "Delivered"]
        )
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
