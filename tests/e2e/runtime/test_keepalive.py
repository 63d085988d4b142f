"""A reused HTTP keep-alive connection answers at once, not after the client's delayed ACK.

The server once wrote a response's headers and body with two send() calls and left
Nagle on: on a reused connection the body waited for the ACK of the headers, which
the client delays ~40 ms, so one shop connection posted ~20 orders/s. Every request
here goes over one connection and must come back in a few milliseconds, from
`scanfloor-server` and from the production form under gunicorn (when installed).
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from floorkit import address

from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store

pytestmark = pytest.mark.e2e
# The bug costs ~40 ms per request (Linux's shortest delayed ACK); a fixed one
# takes about 1 ms here, a few on a busy machine.
LIMIT_S = 0.015


def seed(data: Path) -> str:
    """One warehouse with stock for one SKU; returns an API key."""
    store = open_store(data / "scanfloor.db")
    cat = {
        "warehouses": [
            {"code": "WH-1", "name": "WH-1", "address": address("WH-1"), "lat": 40.7, "lon": -74.0}
        ],
        "locations": [{"warehouse": "WH-1", "code": "A-1", "aisle": 1, "bay": 1}],
        "products": [{"sku": "K1", "name": "K1"}],
        "stock": [{"warehouse": "WH-1", "location": "A-1", "sku": "K1", "on_hand": 100}],
    }
    catalogue.load(store, CatalogueIn.model_validate(cat))
    key = auth.create_api_key(store, "keepalive")
    store.close()
    return key


@pytest.mark.parametrize("form", ["scanfloor-server", "gunicorn"])
def test_requests_on_a_reused_connection_are_not_delayed(tmp_path, request, form):
    key = seed(tmp_path)
    serve = request.getfixturevalue(
        "server_proc" if form == "scanfloor-server" else "gunicorn_server"
    )
    # The HTTP path alone: the worker process that scanfloor-server starts beside itself
    # spends its first seconds importing, and on a loaded 2-core machine that CPU shows in
    # these millisecond timings (gunicorn starts none).
    base = urlsplit(
        serve(tmp_path, env={"SCANFLOOR_WORKER__WITH_SERVER": "false"})
        if form == "scanfloor-server"
        else serve(tmp_path)
    )
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    calls = [("GET", "/api/health", None, 200)] * 10
    for n in range(5):
        good = {"order_id": f"ka-{n}", "lines": [{"sku": "K1", "qty": 1}], "ship_to": address()}
        calls.append(("POST", "/api/orders", {"order_id": f"bad-{n}", "lines": []}, 422))
        calls.append(("POST", "/api/orders", good, 201))

    took, local_ports = [], set()
    try:
        for method, path, body, status in calls:
            data = json.dumps(body).encode() if body is not None else None
            start = time.perf_counter()
            conn.request(method, path, body=data, headers=headers if data else {})
            resp = conn.getresponse()
            resp.read()
            took.append(time.perf_counter() - start)
            assert resp.status == status, (method, path, resp.status)
            local_ports.add(conn.sock.getsockname()[1])
    finally:
        conn.close()

    assert len(local_ports) == 1, "the connection was not reused"
    ms = [round(t * 1000, 1) for t in took]
    # The bug delays every request of its kind; a loaded machine delays some of any kind. So
    # the lower quartile of each kind (the first request, opening the connection, left out).
    for kind in ("GET", "POST"):
        times = [t for (method, *_), t in zip(calls[1:], took[1:], strict=True) if method == kind]
        quartile = statistics.quantiles(times, n=4)[0]
        assert quartile < LIMIT_S, f"{kind} lower quartile {quartile * 1000:.1f} ms; all: {ms}"
