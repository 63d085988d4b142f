"""Telling the shops: subscriptions, the outbox written with each status change, and delivery
to a real HTTP receiver on loopback (down, then failing, then up), signed per Standard Webhooks."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from floorkit import order_body
from shopkit import Receiver
from standardwebhooks import Webhook

from server.capture import orders
from server.cli.main import main
from server.config import WebhookSettings
from server.notify import webhooks
from server.notify.delivery import Deliverer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = WebhookSettings(
    retry_base_seconds=0.02,
    retry_max_seconds=0.1,
    retry_for_seconds=60,
    timeout_seconds=2,
    poll_seconds=0.01,
    allowed_hosts=["127.0.0.1"],  # the test's receiver, on loopback
)


@pytest.fixture
def settings(settings):
    """The site allows its own receiver on loopback (the tests' receivers)."""
    settings.webhooks.allowed_hosts = ["127.0.0.1"]
    return settings


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.release()
    r.down()


def subscribe(json_post, url: str, events: list[str], **more) -> dict:
    resp = json_post("/api/webhook-subscriptions", {"url": url, "events": events, **more})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def deliveries(store, **where) -> list[dict]:
    return webhooks.list_deliveries(store, limit=1000, **where)[::-1]  # oldest first


def pump(deliverer: Deliverer, store, done, seconds: float = 20.0) -> None:
    """Run the worker's passes until done() holds."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, deliveries(store)
        if not deliverer.run_once():
            time.sleep(0.01)


def no_pending(store):
    return lambda: not deliveries(store, status="pending")


def test_each_status_change_is_queued_in_its_transaction(json_post, store, catalogue):
    everything = subscribe(json_post, "http://127.0.0.1:9/a", ["order.received", "order.allocated", "order.cancelled"], secret=SECRET)  # fmt: skip
    assert (
        json_post("/api/channels/market", {}, method="PUT").status_code == 200
    )  # before its orders
    market_only = subscribe(json_post, "http://127.0.0.1:9/b", ["order.allocated"], channel="market", secret=SECRET)  # fmt: skip
    oid = json_post("/api/orders", order_body("X1", [("SKU-B", 1)])).get_json()["id"]
    got = deliveries(store)
    assert [(d["subscription"], d["event"]) for d in got] == [
        (everything["id"], "order.received"),
        (everything["id"], "order.allocated"),
    ]
    payload = got[1]["payload"]
    assert payload["type"] == "order.allocated" and payload["timestamp"].endswith("+00:00")
    data = payload["data"]
    assert (data["id"], data["order_id"], data["channel"]) == (oid, "X1", "web")
    assert (data["status"], data["previous_status"], data["event"]) == (
        "allocated", "received", "allocated",
    )  # fmt: skip
    assert data["detail"]["warehouse"] == "WH-EAST"
    assert got[0]["payload"]["data"]["previous_status"] is None

    # A timeline note is no status change; a change that rolls back is never sent.
    with store.write():
        orders.record(store, oid, "allocated", "note", text="checked")
    with pytest.raises(RuntimeError), store.write():
        orders.record(store, oid, "cancelled", "cancelled")
        raise RuntimeError("rolled back")
    assert len(deliveries(store)) == 2

    json_post("/api/orders", {**order_body("X1", [("SKU-B", 1)]), "channel": "market"})
    json_post(f"/api/orders/{oid}/cancel", {})
    assert [
        (d["subscription"], d["event"], d["payload"]["data"]["channel"])
        for d in deliveries(store)[2:]
    ] == [  # fmt: skip
        (everything["id"], "order.received", "market"),
        (everything["id"], "order.allocated", "market"),
        (market_only["id"], "order.allocated", "market"),
        (everything["id"], "order.cancelled", "web"),
    ]


def test_every_event_arrives_in_order_per_order_signed_once_the_receiver_is_up(
    json_post, store, catalogue, receiver, client, headers
):
    sub = subscribe(json_post, receiver.url, ["order.received", "order.allocated", "order.backordered", "order.cancelled"], secret=SECRET)  # fmt: skip
    ids = []
    for n in range(6):
        sku = "SKU-Z" if n == 5 else "SKU-B"  # SKU-Z waits for stock: backordered
        ids.append(json_post("/api/orders", order_body(f"S{n}", [(sku, 1)])).get_json()["id"])
    for oid in ids[:3]:
        json_post(f"/api/orders/{oid}/cancel", {})
    queued = deliveries(store)
    expected = defaultdict(list)
    for d in queued:
        expected[d["order_id"]].append(d["msg_id"])
    assert len(queued) == 6 * 2 + 3

    deliverer = Deliverer(store, FAST)
    # Down: nothing listens on the port. Only the head of each order's line is tried.
    for _ in range(3):
        assert deliverer.run_once() <= len(ids)
        time.sleep(0.03)
    pending = client.get("/api/webhook-deliveries?status=pending", headers=headers).get_json()
    tried = [d for d in pending["deliveries"] if d["attempts"]]
    assert tried and all(d["last_error"] == "connection refused" for d in tried)
    assert {d["event"] for d in tried} <= {"order.received"}
    # Up, failing the first answers, then taking everything.
    receiver.up(script=[503, 500, 503, 502])
    pump(deliverer, store, no_pending(store))

    taken = receiver.taken()
    assert {h.headers["webhook-id"] for h in taken} == {d["msg_id"] for d in queued}
    first_arrival = {}
    for h in taken:
        # Duplicates, if any, carry the same id and the same body.
        assert first_arrival.setdefault(h.headers["webhook-id"], h.body) == h.body
        Webhook(SECRET).verify(h.body, h.headers)  # raises if the signature is wrong
    arrived = defaultdict(list)
    for h in receiver.hits:  # every request, refused ones too: never ahead of its turn
        msg = h.headers["webhook-id"]
        line = arrived[h.payload["data"]["id"]]
        if msg not in line:
            line.append(msg)
    assert dict(arrived) == dict(expected)
    for h in receiver.hits:
        order_line = expected[h.payload["data"]["id"]]
        taken_before = {x.headers["webhook-id"] for x in receiver.hits[: receiver.hits.index(h)] if x.status == 200}  # fmt: skip
        assert set(order_line[: order_line.index(h.headers["webhook-id"])]) <= taken_before
    statuses = {d["status"] for d in deliveries(store, subscription=sub["id"])}
    assert statuses == {"delivered"}
    assert max(d["attempts"] for d in deliveries(store)) > 1


def test_a_delivery_that_keeps_failing_goes_dead_and_is_retried_by_hand(
    json_post, store, catalogue, receiver, client, headers
):
    subscribe(json_post, receiver.url, ["order.cancelled"], secret=SECRET)
    oid = json_post("/api/orders", order_body("D1", [("SKU-B", 1)])).get_json()["id"]
    json_post(f"/api/orders/{oid}/cancel", {})
    receiver.up(status=500)
    deliverer = Deliverer(store, FAST.model_copy(update={"retry_for_seconds": 0.2}))
    pump(deliverer, store, no_pending(store))

    dead = client.get("/api/webhook-deliveries?status=dead", headers=headers).get_json()
    [d] = dead["deliveries"]
    assert d["order_id"] == oid and d["event"] == "order.cancelled" and d["attempts"] >= 2
    assert d["last_error"].startswith("HTTP 500") and d["next_at"] is None
    assert {h.headers["webhook-id"] for h in receiver.hits} == {d["msg_id"]}

    receiver.up(status=200)
    resp = client.post(f"/api/webhook-deliveries/{d['id']}/retry", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["status"] == "pending"
    pump(deliverer, store, no_pending(store))
    assert [x["status"] for x in deliveries(store)] == ["delivered"]
    assert receiver.taken()[-1].headers["webhook-id"] == d["msg_id"]  # the same message
    again = client.post(f"/api/webhook-deliveries/{d['id']}/retry", headers=headers)
    assert again.status_code == 409
    assert client.post("/api/webhook-deliveries/999/retry", headers=headers).status_code == 404


def test_an_event_queued_while_the_one_before_is_in_flight_goes_right_after_it(
    json_post, store, catalogue
):
    subscribe(json_post, "http://127.0.0.1:9/x", ["order.received", "order.cancelled"], secret=SECRET)  # fmt: skip
    oid = json_post("/api/orders", order_body("F1", [("SKU-B", 1)])).get_json()["id"]
    [head] = webhooks.claim_due(store, 10, lease_seconds=30)
    # Cancelled while `received` is being posted: queued behind it, not due before its lease.
    assert json_post(f"/api/orders/{oid}/cancel", {}).status_code == 200
    assert webhooks.claim_due(store, 10, lease_seconds=30) == []
    with store.write():
        webhooks.delivered(store, head, time.time())
    [after] = webhooks.claim_due(store, 10, lease_seconds=30)  # not 30 s later
    assert json.loads(after.payload)["type"] == "order.cancelled"


def test_an_order_waits_behind_its_pending_event_and_a_claim_holds(json_post, store, catalogue):
    subscribe(json_post, "http://127.0.0.1:9/x", ["order.received", "order.allocated"], secret=SECRET)  # fmt: skip
    json_post("/api/orders", order_body("W1", [("SKU-B", 1)]))
    json_post("/api/orders", order_body("W2", [("SKU-B", 1)]))
    claimed = webhooks.claim_due(store, 10, lease_seconds=0.2)
    # The allocated ones are due too, but wait behind their orders' received.
    assert [json.loads(j.payload)["type"] for j in claimed] == ["order.received"] * 2
    # Claimed: another worker passes them by (and the rest still wait) until the claim lapses.
    assert webhooks.claim_due(store, 10, lease_seconds=0.2) == []
    time.sleep(0.25)
    again = webhooks.claim_due(store, 10, 0.2)
    assert {j.id for j in again} == {j.id for j in claimed}
    # A failed head puts its order's later events off with it: they are not due before it.
    webhooks.failed(store, again[0], time.time(), "HTTP 503", base=30, cap=60, retry_for=3600)
    line = {d["id"]: d for d in deliveries(store) if d["order_id"] == again[0].order_id}
    head, later = line[again[0].id], next(d for i, d in line.items() if i != again[0].id)
    assert later["next_at"] >= head["next_at"] > datetime.now(UTC).isoformat()


def test_backoff_is_exponential_and_capped_and_the_window_is_over_a_day():
    assert 5 <= webhooks.next_delay(1, 5, 3600) <= 5.5
    assert 10 <= webhooks.next_delay(2, 5, 3600) <= 11
    assert 40 <= webhooks.next_delay(4, 5, 3600) <= 44
    assert 3600 <= webhooks.next_delay(40, 5, 3600) <= 3960
    assert WebhookSettings().retry_for_seconds >= 24 * 3600


def test_subscriptions_over_rest(json_post, client, headers, store, catalogue):
    made = subscribe(json_post, "https://shop.example/hooks", ["order.packed", "order.picked"])
    assert made["secret"].startswith("whsec_") and webhooks.secret_problem(made["secret"]) is None
    assert made["events"] == ["order.picked", "order.packed"]  # in the order statuses come
    given = subscribe(json_post, "https://shop.example/b", ["order.shipped"], secret=SECRET)
    assert given["secret"] is None
    listed = client.get("/api/webhook-subscriptions", headers=headers)
    assert made["secret"] not in listed.get_data(as_text=True)
    assert SECRET not in listed.get_data(as_text=True)
    assert [s["id"] for s in listed.get_json()["subscriptions"]] == [made["id"], given["id"]]

    bad = json_post(
        "/api/webhook-subscriptions",
        {"url": "ftp://x", "events": ["order.lost", "order.packed"], "secret": "whsec_short"},
    )
    assert bad.status_code == 422
    assert {p["field"] for p in bad.get_json()["problems"]} == {"url", "events[0]", "secret"}

    json_post("/api/orders", order_body("R1", [("SKU-B", 1)]))
    sub = subscribe(json_post, "http://127.0.0.1:9/c", ["order.cancelled"], secret=SECRET)
    json_post("/api/orders/R1/cancel", {})
    gone = client.delete(f"/api/webhook-subscriptions/{sub['id']}", headers=headers)
    assert gone.get_json() == {"id": sub["id"], "dropped": 1}
    assert deliveries(store, subscription=sub["id"])[0]["status"] == "dropped"
    assert client.delete(f"/api/webhook-subscriptions/{sub['id']}", headers=headers).status_code == 404  # fmt: skip


def test_a_subscription_names_a_channel_the_server_knows(json_post, client, headers, rows, catalogue):  # fmt: skip
    body = {"url": "https://shop.example/hooks", "events": ["order.shipped"]}
    resp = json_post("/api/webhook-subscriptions", {**body, "channel": "shop-su"})  # a typo
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["problems"] == [{"field": "channel", "message": (
        "unknown channel shop-su: no order came in on it and it is not set; "
        "set it first (PUT /api/channels/shop-su, an empty body takes the defaults)"
    )}]  # fmt: skip
    # Listed with the body's other problems, in one answer.
    both = json_post("/api/webhook-subscriptions", {**body, "events": [], "channel": "shop-su"})
    assert {p["field"] for p in both.get_json()["problems"]} == {"events", "channel"}
    assert rows("webhook_subscriptions") == 0
    # A channel set (before its first order) or one an order came in on is known.
    assert json_post("/api/channels/shop-us", {}, method="PUT").status_code == 200
    assert (
        json_post("/api/webhook-subscriptions", {**body, "channel": "shop-us"}).status_code == 201
    )
    json_post("/api/orders", {**order_body("M1", [("SKU-B", 1)]), "channel": "market"})
    assert json_post("/api/webhook-subscriptions", {**body, "channel": "market"}).status_code == 201
    assert rows("webhook_subscriptions") == 2


def test_cli_webhook_add_list_remove(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    runner.invoke(main, ["init", *data])
    out = runner.invoke(main, ["webhook", "add", "https://shop.example/h", "--events", "order.picked,order.packed", *data])  # fmt: skip
    assert out.exit_code == 0 and "secret (shown once): whsec_" in out.output
    out = runner.invoke(main, ["webhook", "add", "https://shop.example/i", "--events", "order.packed", "--secret", SECRET, "--channel", "shop-us", *data])  # fmt: skip
    assert out.exit_code != 0 and "channel: unknown channel shop-us" in out.output
    assert runner.invoke(main, ["channel", "set", "shop-us", *data]).exit_code == 0
    out = runner.invoke(main, ["webhook", "add", "https://shop.example/i", "--events", "order.packed", "--secret", SECRET, "--channel", "shop-us", *data])  # fmt: skip
    assert out.exit_code == 0 and "whsec_" not in out.output
    listed = runner.invoke(main, ["webhook", "list", *data]).output
    assert "order.picked,order.packed" in listed and "channel shop-us" in listed
    assert SECRET not in listed
    bad = runner.invoke(main, ["webhook", "add", "https://x", "--events", "order.lost", *data])
    assert bad.exit_code != 0 and "unknown event order.lost" in bad.output
    assert runner.invoke(main, ["webhook", "remove", "1", *data]).exit_code == 0
    assert "https://shop.example/h" not in runner.invoke(main, ["webhook", "list", *data]).output


def test_a_dead_event_no_longer_holds_back_its_orders_later_ones(json_post, store, catalogue):
    """docs/shops.md: "A dead event no longer holds back its order's later ones"."""
    subscribe(json_post, "http://127.0.0.1:9/x", ["order.received", "order.allocated"], secret=SECRET)  # fmt: skip
    json_post("/api/orders", order_body("G1", [("SKU-B", 1)]))
    [head] = webhooks.claim_due(store, 10, lease_seconds=30)
    assert json.loads(head.payload)["type"] == "order.received"
    # Its last attempt fails past the retry window (a long backoff would follow): it is dead.
    with store.write():
        status = webhooks.failed(store, head, time.time(), "HTTP 503", base=600, cap=3600, retry_for=0)  # fmt: skip
    assert status == "dead"
    [after] = webhooks.claim_due(store, 10, lease_seconds=30)  # due now, not 10 minutes later
    assert json.loads(after.payload)["type"] == "order.allocated"


def test_a_subscription_without_a_secret_gets_one_shown_once(json_post, client, headers):
    """docs/shops.md: the secret is optional; a made one is shown once, never read back."""
    made = subscribe(json_post, "http://127.0.0.1:9/s", ["parcel.reshipped", "return.received"])
    assert made["secret"].startswith("whsec_") and webhooks.secret_problem(made["secret"]) is None
    given = subscribe(json_post, "http://127.0.0.1:9/t", ["order.packed"], secret=SECRET)
    assert given["secret"] is None
    listed = client.get("/api/webhook-subscriptions", headers=headers).get_json()
    assert "secret" not in json.dumps(listed)
