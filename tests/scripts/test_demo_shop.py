"""The demo's shop: its Shopify orders go through the real webhook path, and its receiver
checks Standard Webhooks signatures, de-duplicates, and can be down."""

from __future__ import annotations

import json
import random
import time

import pytest
import requests

from scripts.demo import seed
from scripts.demo import shopify as shop
from scripts.demo.receiver import ShopReceiver
from scripts.demo.run import seed_site
from scripts.demo.stages import check_order, status_changes
from server.capture import orders
from server.capture import shopify as shopify_service
from server.capture.domain import shopify as domain
from server.notify import webhooks
from server.notify.delivery import signed_headers
from server.store import open_store


def test_the_demo_orders_come_in_through_the_signed_shopify_webhook(tmp_path):
    rng = random.Random(7)
    secret = shop.new_secret()
    seed_site(tmp_path, rng, say=lambda _: None, shopify_secret=secret)
    payloads = seed.shopify_orders(rng, 12)
    assert [p["name"] for p in payloads] == [f"#{1041 + n}" for n in range(12)]
    # Most come with latitude and longitude; the rest are for the server to place offline.
    wanted = [seed.placing(n) for n in range(1, 13)]
    assert wanted.count("given") == 8 and wanted.count("postcode") == 2
    assert wanted[seed.CITY_ORDER - 1] == "city" and wanted[seed.UNPLACED_ORDER - 1] == "none"
    assert [p["shipping_address"]["latitude"] is not None for p in payloads] == [
        w == "given" for w in wanted
    ]
    store = open_store(tmp_path / "scanfloor.db")
    try:
        body = json.dumps(payloads[0]).encode()
        with pytest.raises(shopify_service.BadSignature):  # another shop's secret
            shopify_service.receive(
                store, shop.CHANNEL, "orders/create", "w0", shop.sign(body, "shpss_x"), body
            )
        taken = []
        for n, payload in enumerate(payloads):
            body = json.dumps(payload).encode()
            assert domain.signature_ok(secret, body, shop.sign(body, secret))
            got = shopify_service.receive(
                store, shop.CHANNEL, "orders/create", f"w{n}", shop.sign(body, secret), body
            )
            assert got.result == "created", got
            taken.append(orders.get(store, got.order))
    finally:
        store.close()
    assert [o["shop_number"] for o in taken] == [p["name"] for p in payloads]
    assert [o["geocoded"] for o in taken] == wanted  # placed by ZIP, city, or not at all
    unplaced = taken[seed.UNPLACED_ORDER - 1]
    assert unplaced["lat"] is None and unplaced["status"] == "allocated"  # still ships
    gift = taken[seed.GIFT_CARD_ORDER - 1]
    left = [e for e in gift["timeline"] if e["event"] == "shop_lines_left_out"]
    assert left and left[0]["detail"]["line_items"][0]["why"] == "gift card"
    assert all(line["sku"] for o in taken for line in o["lines"])  # the gift card is no line
    statuses = [o["status"] for o in taken]
    assert statuses[-3:] == ["backordered"] * 3 and set(statuses[:-3]) == {"allocated"}


def _job(secret: str, msg_id: str, order: str = "SO-000001", status: str = "received"):
    payload = json.dumps(
        {"type": f"order.{status}", "timestamp": "2026-11-30T09:00:00Z",
         "data": {"id": order, "shop_number": "#1041", "status": status}}
    )  # fmt: skip
    return webhooks.Job(1, 1, order, "", secret, msg_id, payload, 0, None)


def _post(receiver: ShopReceiver, job: webhooks.Job, body: str | None = None) -> int:
    headers = signed_headers(job, time.time())
    data = (body if body is not None else job.payload).encode()
    return requests.post(receiver.url, data=data, headers=headers, timeout=5).status_code


def test_the_receiver_checks_signatures_keeps_each_event_once_and_can_be_down(tmp_path):
    secret = webhooks.new_secret()
    receiver = ShopReceiver(secret, tmp_path / "receiver.jsonl")
    try:
        with pytest.raises(requests.ConnectionError):  # not listening yet
            _post(receiver, _job(secret, "msg_1"))
        receiver.set_mode("up")
        first = _job(secret, "msg_1")
        assert _post(receiver, first) == 200
        assert _post(receiver, first) == 200  # the same webhook-id again: taken once
        forged = _job(webhooks.new_secret(), "msg_2", status="picked")
        assert _post(receiver, forged) == 400
        assert _post(receiver, _job(secret, "msg_3"), body=first.payload + " ") == 400
        receiver.set_mode("busy")
        assert _post(receiver, _job(secret, "msg_4", status="allocated")) == 503
        receiver.set_mode("closed")
        with pytest.raises(requests.ConnectionError):
            _post(receiver, _job(secret, "msg_4", status="allocated"))
        receiver.set_mode("up")
        assert _post(receiver, _job(secret, "msg_4", status="allocated")) == 200
    finally:
        receiver.stop()
    assert receiver.arrived == {"SO-000001": ["msg_1", "msg_4"]}
    assert [receiver.taken[m]["type"] for m in receiver.arrived["SO-000001"]] == [
        "order.received",
        "order.allocated",
    ]
    assert (receiver.duplicates, receiver.bad_signatures, receiver.refused) == (1, 2, 1)
    assert receiver.when_first("order.allocated").is_set()
    assert not receiver.when_first("order.picking").is_set()
    log = [json.loads(line) for line in (tmp_path / "receiver.jsonl").read_text().splitlines()]
    assert [x["status"] for x in log] == [200, 200, 400, 400, 503, 200]


def test_each_change_of_status_on_a_timeline_is_one_event():
    timeline = [
        {"status": s}
        for s in ("received", "received", "allocated", "picking", "picking", "picked", "packed")
    ]
    assert status_changes(timeline) == ["received", "allocated", "picking", "picked", "packed"]
    assert status_changes([]) == []


STEPS = ("received", "received", "allocated", "picking", "picked", "packed")


def _rows(statuses=STEPS[1:], attempts=(1, 3, 1, 1, 1)) -> list[dict]:
    return [
        {"event": f"order.{s}", "msg_id": f"m{n}", "status": "delivered", "attempts": a}
        for n, (s, a) in enumerate(zip(statuses, attempts, strict=True))
    ]


def _got(rows: list[dict]) -> list[tuple[str, str]]:
    return [(d["msg_id"], d["event"]) for d in rows]


def test_an_order_whose_every_change_came_once_in_order_passes():
    timeline = [{"status": s} for s in STEPS]
    got = check_order(timeline, _rows(), _got(_rows()))
    assert got["events"] == got["delivered"] == 5 and got["retried"] == 1
    assert got["failed_attempts"] == 2
    for what in ("lost", "not_queued", "unexpected", "out_of_order", "ids_differ", "dead"):
        assert got[what] == 0, what


def test_a_missing_a_late_or_a_foreign_event_is_counted():
    timeline = [{"status": s} for s in STEPS]
    rows = _rows()
    missing = check_order(timeline, rows, _got(rows)[:2] + _got(rows)[3:])
    assert missing["lost"] == 1 and missing["ids_differ"] == 1
    swapped = _got(rows)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    late = check_order(timeline, rows, swapped)
    assert late["out_of_order"] == 1 and late["lost"] == 0
    never_queued = check_order(timeline, rows[:4], _got(rows)[:4])
    assert never_queued["not_queued"] == 1 and never_queued["lost"] == 1
    dead = [dict(d) for d in rows]
    dead[4]["status"] = "dead"
    gone = check_order(timeline, dead, _got(rows)[:4])
    assert gone["dead"] == 1 and gone["lost"] == 1 and gone["delivered"] == 4
    extra = check_order(timeline, rows, _got(rows) + [("x", "order.shipped")])
    assert extra["unexpected"] == 1 and extra["ids_differ"] == 1
