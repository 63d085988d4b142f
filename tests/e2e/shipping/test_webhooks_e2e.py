"""Webhooks through the real server process: a Shopify order in, status changes out to a
receiver that is down, then up and slow; the server SIGKILLed mid-delivery loses nothing."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest
import requests
from floorkit import order_body, small_catalogue
from shopkit import SHOPIFY_SECRET, Receiver, shopify_headers, shopify_order
from standardwebhooks import Webhook

from server.capture import channels
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.notify import webhooks
from server.people import auth
from server.store import open_store

pytestmark = pytest.mark.e2e
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = {
    "SCANFLOOR_WEBHOOKS__RETRY_BASE_SECONDS": "0.05",
    "SCANFLOOR_WEBHOOKS__RETRY_MAX_SECONDS": "0.3",
    "SCANFLOOR_WEBHOOKS__TIMEOUT_SECONDS": "1",
    "SCANFLOOR_WEBHOOKS__POLL_SECONDS": "0.05",
    # The test's receiver is on loopback: a shop's own receiver, allowed by name.
    "SCANFLOOR_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]',
}
EVENTS = ["order.received", "order.allocated", "order.cancelled"]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.release()
    r.down()


def test_nothing_is_lost_when_the_server_is_killed_mid_delivery(tmp_path, server_proc, receiver):
    data = tmp_path / "data"
    store = open_store(data / "scanfloor.db")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    key = auth.create_api_key(store, "e2e")
    channels.set_channel(store, "shop-us", shopify_secret=SHOPIFY_SECRET)
    webhooks.subscribe(store, receiver.url, EVENTS, SECRET, allowed_hosts=["127.0.0.1"])
    store.close()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"

    base = server_proc(data, env=FAST)
    # Orders in while the receiver is down: a Shopify order, then REST orders, some cancelled.
    body = json.dumps(shopify_order()).encode()
    resp = requests.post(
        f"{base}/webhooks/shopify/shop-us", data=body, headers=shopify_headers(body)
    )
    assert resp.status_code == 200 and resp.json()["result"] == "created", resp.text
    ours = [api.post(f"{base}/api/orders", json=order_body(f"K{n}", [("SKU-B", 1)])).json()["id"] for n in range(4)]  # fmt: skip
    for oid in ours[:2]:
        assert api.post(f"{base}/api/orders/{oid}/cancel", json={}).status_code == 200

    def pending() -> list[dict]:
        got = api.get(f"{base}/api/webhook-deliveries?status=pending&limit=1000")
        return got.json()["deliveries"]

    deadline = time.monotonic() + 10
    while not any(d["last_error"] for d in pending()):  # tried, and refused: nobody listens
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # Up, but holding every request: the server is mid-delivery when it is killed.
    receiver.hold()
    receiver.up()
    assert receiver.arrived.wait(10)
    time.sleep(0.2)  # let the other orders' heads go out too
    proc = server_proc.procs[base]
    proc.kill()  # SIGKILL: no clean-up, no last write
    proc.wait(10)
    receiver.release()  # it takes what the dead server sent; the server never heard back

    base = server_proc(data, env=FAST)
    deadline = time.monotonic() + 30
    while pending():
        assert time.monotonic() < deadline, pending()
        time.sleep(0.1)

    queued = api.get(f"{base}/api/webhook-deliveries?limit=1000").json()["deliveries"][::-1]
    assert {d["status"] for d in queued} == {"delivered"}
    assert len(queued) == 5 * 2 + 2  # received and allocated each, two cancelled
    expected = defaultdict(list)
    for d in queued:
        expected[d["order_id"]].append(d["msg_id"])
    taken = receiver.taken()
    assert {h.headers["webhook-id"] for h in taken} == {d["msg_id"] for d in queued}  # none lost
    bodies: dict[str, bytes] = {}
    arrived = defaultdict(list)
    for h in taken:
        msg = h.headers["webhook-id"]
        assert bodies.setdefault(msg, h.body) == h.body  # a duplicate is the same message
        Webhook(SECRET).verify(h.body, h.headers)
        line = arrived[h.payload["data"]["id"]]
        if msg not in line:
            line.append(msg)
    assert dict(arrived) == dict(expected)  # in order per order
    # What the killed server had in flight came again after the restart, with its id.
    assert len(taken) > len(queued)
    shop = [h.payload for h in taken if h.payload["data"]["shop_number"] == "#1043"]
    assert shop and shop[0]["data"]["channel"] == "shop-us"
