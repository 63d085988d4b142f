"""The tracking page and a manifest page in a real Chromium: the CSP header lets their own
styles apply and nothing else, and no request of theirs (the favicon included) fails."""

from __future__ import annotations

import pytest
from floorkit import BOARD_PASSWORD
from mailkit import order_with_parcel

from server.core.clock import now
from server.people import users

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]


def test_tracking_and_manifest_pages_load_clean_under_their_csp(
    floor_settings, floor_store, server_proc, chromium
):
    oid = order_with_parcel(floor_store)
    token = floor_store.one("SELECT track_token FROM orders WHERE id = ?", (oid,))["track_token"]
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    with floor_store.write():
        manifest = floor_store.execute(
            "INSERT INTO manifests (carrier, warehouse, status, created_at) "
            "VALUES ('local', 'WH-EAST', 'closed', ?)",
            (now(),),
        ).lastrowid
    base = server_proc(floor_settings.data_dir)
    context = chromium.new_context()
    failed: list[str] = []
    violations: list[str] = []

    def watched():
        """A new tab whose failed requests and CSP violations are noted."""
        tab = context.new_page()
        tab.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        tab.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
        tab.on(
            "console",
            lambda m: "Content Security Policy" in m.text and violations.append(m.text),
        )
        return tab

    page = watched()
    try:
        resp = page.goto(f"{base}/track/{token}", wait_until="networkidle")
        assert (
            resp is not None and "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        )
        # The inline <style> applied (allowed by its hash): the body is not the browser default.
        margin = page.evaluate("getComputedStyle(document.body).margin")
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert (margin, font) != ("8px", '"Times New Roman"'), (margin, font)
        page.wait_for_timeout(500)  # a favicon request goes after the load
        login = context.new_page()  # (the board it lands on is not the page under test)
        login.goto(f"{base}/login", wait_until="networkidle")
        login.fill("input[name=username]", "sam")
        login.fill("input[name=password]", BOARD_PASSWORD)
        login.click("button[type=submit]")
        login.wait_for_url(f"{base}/board")
        login.close()
        page = watched()
        resp = page.goto(f"{base}/board/manifests/{manifest}", wait_until="networkidle")
        assert resp is not None and resp.status == 200
        assert "content-security-policy" in resp.headers
        page.wait_for_timeout(500)  # a favicon request goes after the load
    finally:
        context.close()
    assert not failed, failed
    assert not violations, violations
