"""Every HTML page is sent with its Content-Security-Policy as a header (inline blocks allowed
by hash only), and /favicon.ico answers without a 404."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from floorkit import logged_in
from mailkit import order_with_parcel

from server.core.clock import now
from server.people import auth
from server.web.headers import HEADER


def _styles(html: str) -> list[str]:
    return re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _check(resp) -> str:
    assert resp.mimetype == "text/html"
    csp = resp.headers.get(HEADER)
    assert csp, f"no {HEADER} header"
    for part in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp
    style_src = next(d for d in csp.split("; ") if d.startswith("style-src"))
    for block in _styles(resp.get_data(as_text=True)):
        assert _sha(block) in style_src  # the page's own inline style, and nothing else
    return csp


@pytest.fixture
def manifest_id(store) -> int:
    with store.write():
        return store.execute(
            "INSERT INTO manifests (carrier, warehouse, status, created_at) "
            "VALUES ('local', 'WH-EAST', 'closed', ?)",
            (now(),),
        ).lastrowid


def test_every_html_page_sends_its_csp_header(app, store, catalogue, manifest_id):
    anon = app.test_client()
    _check(anon.get("/login"))
    sup = logged_in(app, "sam", "supervisor")
    _check(sup.get("/board"))
    _check(sup.get(f"/board/manifests/{manifest_id}"))
    _check(logged_in(app, "pia", "picker").get("/board"))  # the no-access page (403)
    key = auth.create_api_key(store, "t")
    _check(
        anon.get(
            f"/api/carriers/local/manifests/{manifest_id}",
            headers={"Authorization": f"Bearer {key}", "Accept": "text/html"},
        )
    )
    oid = order_with_parcel(store)
    token = store.one("SELECT track_token FROM orders WHERE id = ?", (oid,))["track_token"]
    page = anon.get(f"/track/{token}")
    assert page.status_code == 200 and _styles(page.get_data(as_text=True))
    _check(page)
    _check(anon.get("/track/" + "0" * 32))  # the page for an unknown link
    json_resp = anon.get("/api/openapi.json")
    assert HEADER not in json_resp.headers  # JSON is no page


@pytest.mark.sqlite_only("a static answer: no store SQL is run for it")
def test_the_favicon_is_no_404(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 204 and "max-age" in resp.headers["Cache-Control"]
