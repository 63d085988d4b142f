"""`http.max_body_bytes` holds for chunked uploads too, on the real server (gevent's WSGI).

A chunked body has no Content-Length to refuse up front; werkzeug stops reading at
the limit and, unguarded, hands the view a cut body: a valid order followed by
padding was taken whole (201), a larger one parsed cut (400). Both must be 413,
with nothing written.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from floorkit import order_body, small_catalogue

from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store

# One xdist worker for the module: its one server serves every test (docs/testing.md).
pytestmark = [pytest.mark.e2e, pytest.mark.server_alone, pytest.mark.xdist_group("body-limit")]
LIMIT = 256 * 1024  # http.max_body_bytes, set for the server below


@pytest.fixture(scope="module")
def site(tmp_path_factory, module_server_proc) -> tuple[str, str]:
    """A real server on the small floor, one for the module: (base URL, API key). Each test
    counts the orders before and after, so it holds in any order and on any worker."""
    data = tmp_path_factory.mktemp("body-limit") / "data"
    store = open_store(data / "scanfloor.db")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    key = auth.create_api_key(store, "limit")
    store.close()
    return module_server_proc(data, env={"SCANFLOOR_HTTP__MAX_BODY_BYTES": str(LIMIT)}), key


def post_chunked(base: str, key: str, body: bytes, chunk: int = 64 * 1024) -> tuple[int, dict]:
    """POST body with Transfer-Encoding: chunked (no Content-Length); the status and JSON."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.putrequest("POST", "/api/orders")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Authorization", f"Bearer {key}")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for i in range(0, len(body), chunk):
                piece = body[i : i + chunk]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the client has sent everything
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def padded_order(order_id: str, size: int) -> bytes:
    """A valid order followed by whitespace up to size bytes (still valid JSON)."""
    raw = json.dumps(order_body(order_id, [("SKU-A", 1)])).encode()
    return raw + b" " * (size - len(raw))


def order_count(base: str, key: str) -> int:
    conn = http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=10)
    conn.request("GET", "/api/orders", headers={"Authorization": f"Bearer {key}"})
    orders = json.loads(conn.getresponse().read())["orders"]
    conn.close()
    return len(orders)


@pytest.mark.parametrize(
    "body",
    [
        padded_order("chunked-2mb", 2 * 1024 * 1024),
        b" " * (20 * 1024 * 1024 - 200) + padded_order("chunked-20mb", 200),
        padded_order("chunked-one-over", LIMIT + 1),
    ],
    ids=["2MB-order-then-padding", "20MB-padding-then-order", "one-byte-over"],
)
def test_chunked_body_over_the_limit_is_413_and_writes_nothing(site, body):
    base, key = site
    before = order_count(base, key)
    status, reply = post_chunked(base, key, body)
    assert status == 413, reply
    assert reply["error"] == "body_too_large"
    assert order_count(base, key) == before


def test_chunked_body_within_the_limit_is_taken(site):
    base, key = site
    before = order_count(base, key)
    status, reply = post_chunked(
        base, key, json.dumps(order_body("small", [("SKU-A", 1)])).encode()
    )
    assert status == 201, reply
    status, reply = post_chunked(base, key, padded_order("exactly-at-limit", LIMIT))
    assert status == 201, reply
    assert order_count(base, key) == before + 2
