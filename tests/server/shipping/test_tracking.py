"""Carriers' tracking events: POST /api/carriers/<carrier>/events, signed, applied once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from dbkit import rows
from trackkit import CARRIER_SECRET, OTHER_SECRET, event, ship, signed

from server.board import board
from server.config import Settings
from server.inventory import shipments
from server.notify import webhooks
from server.shipping.domain.tracking import order_status, package_state

URL = "/api/carriers/local/events"
TABLES = ["tracking_events", "order_events", "orders", "webhook_deliveries"]


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Carriers `local` and `acme` take events; `mute` is configured without a secret."""
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    return Settings(
        data_dir=tmp_path / "data",
        sqlite_synchronous="NORMAL",
        carriers={
            "local": {"events_secret": CARRIER_SECRET},
            "acme": {"events_secret": OTHER_SECRET, "tracking_prefix": "AC"},
            "mute": {"tracking_prefix": "MU"},
        },
    )


@pytest.fixture
def post(client):
    """POST events as the carrier does: signed raw body (or the headers given)."""

    def send(payload, headers=None, url=URL, secret=CARRIER_SECRET, msg_id="msg_1"):
        body, made = signed(payload, secret, msg_id)
        return client.post(url, data=body, headers=made if headers is None else headers)

    return send


@pytest.fixture
def tables(store):
    def take() -> dict[str, list]:
        return {t: rows(store, t) for t in TABLES}

    return take


@pytest.fixture
def subscribed(store):
    """A shop subscribed to every order event (nothing listens: the rows stay queued)."""
    webhooks.subscribe(
        store, "http://127.0.0.1:9/hook", list(webhooks.EVENTS), allowed_hosts=["127.0.0.1"]
    )


def order(client, headers, oid: str) -> dict:
    resp = client.get(f"/api/orders/{oid}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def queued(store, oid: str) -> list[str]:
    rows = store.all("SELECT event FROM webhook_deliveries WHERE order_id = ? ORDER BY id", (oid,))
    return [r["event"] for r in rows]


def test_a_package_travels_to_the_door(catalogue, store, post, client, headers, subscribed):
    oid, [sf] = ship(store, "door")
    steps = [
        event(sf, "in_transit", "ev-1", -120, place={"city": "Newark", "text": "sorting hub"}),
        event(sf, "out_for_delivery", "ev-2", -60, place={"city": "New York"}),
        event(sf, "delivered", "ev-3", -1),
    ]
    for ev, status in zip(steps, ["in_transit", "out_for_delivery", "delivered"], strict=True):
        resp = post(ev)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {
            "results": [
                {
                    "id": ev["id"],
                    "tracking": sf,
                    "result": "accepted",
                    "order": oid,
                    "status": status,
                }
            ],
            "accepted": 1,
        }
        assert order(client, headers, oid)["status"] == status
    got = order(client, headers, oid)
    [pkg] = got["packages"]
    assert pkg["carrier"] == "local" and pkg["tracking_status"] == "delivered"
    assert [(e["type"], e["event_id"]) for e in pkg["tracking_events"]] == [
        ("in_transit", "ev-1"),
        ("out_for_delivery", "ev-2"),
        ("delivered", "ev-3"),
    ]
    assert pkg["tracking_events"][2]["place"] == {
        "postcode": "10001",
        "city": "New York",
        "lat": 40.75,
        "lon": -73.99,
    }
    last = got["timeline"][-1]
    assert (last["status"], last["event"]) == ("delivered", "delivered")
    assert last["detail"]["tracking"] == sf and last["detail"]["carrier_event"] == "ev-3"
    assert last["detail"]["place"]["postcode"] == "10001"
    # The shop hears each new status once, in order, after the ones it had.
    assert queued(store, oid)[-4:] == [
        "order.shipped",
        "order.in_transit",
        "order.out_for_delivery",
        "order.delivered",
    ]
    payload = json.loads(
        store.one("SELECT payload FROM webhook_deliveries ORDER BY id DESC LIMIT 1")["payload"]
    )
    assert payload["data"]["previous_status"] == "out_for_delivery"
    # Delivered is past cancelling, as shipped is.
    resp = client.post(f"/api/orders/{oid}/cancel", json={}, headers=headers)
    assert resp.status_code == 409 and "shipped" in resp.get_json()["message"]


@pytest.mark.parametrize(
    "spoil",
    ["missing", "wrong_secret", "flipped_body", "flipped_signature", "stale", "garbled"],
)
def test_a_badly_signed_request_is_401_and_writes_nothing(catalogue, store, client, tables, spoil):
    oid, [sf] = ship(store, "sig")
    before = tables()
    body, headers = signed(event(sf, "in_transit", "ev-1"))
    if spoil == "missing":
        headers = {"Content-Type": "application/json"}
    elif spoil == "wrong_secret":
        body, headers = signed(event(sf, "in_transit", "ev-1"), OTHER_SECRET)
    elif spoil == "flipped_body":
        i = body.index(b"in_transit")
        body = body[:i] + b"out_transit"[:1] + body[i + 1 :]  # one byte changed
    elif spoil == "flipped_signature":
        sig = headers["webhook-signature"]
        flip = "A" if sig[5] != "A" else "B"
        headers["webhook-signature"] = sig[:5] + flip + sig[6:]
    elif spoil == "stale":  # a captured request replayed ten minutes later
        body, headers = signed(
            event(sf, "in_transit", "ev-1"), at=datetime.now(UTC) - timedelta(minutes=10)
        )
    elif spoil == "garbled":
        headers["webhook-signature"] = "not a signature"
    resp = client.post(URL, data=body, headers=headers)
    assert resp.status_code == 401, resp.get_json()
    assert resp.get_json()["error"] == "unauthorized"
    assert tables() == before


def test_a_replayed_event_changes_nothing(catalogue, store, post, tables, subscribed):
    oid, [sf] = ship(store, "again")
    assert post(event(sf, "in_transit", "ev-1")).status_code == 200
    before = tables()
    # The same event again, in a new signed message, alone and inside a batch.
    again = post(event(sf, "in_transit", "ev-1"), msg_id="msg_2")
    assert again.status_code == 200
    assert again.get_json()["results"][0]["result"] == "duplicate"
    assert again.get_json()["accepted"] == 0
    batch = post({"events": [event(sf, "in_transit", "ev-1")]}, msg_id="msg_3")
    assert batch.get_json()["results"][0]["result"] == "duplicate"
    assert tables() == before


def test_events_out_of_order_follow_when_they_happened(catalogue, store, post, client, headers):
    oid, [sf] = ship(store, "late")
    assert post(event(sf, "delivered", "ev-3", -5)).get_json()["results"][0]["status"] == (
        "delivered"
    )
    # The hub's scan from an hour before comes in late: the order stays delivered.
    late = post(event(sf, "in_transit", "ev-1", -60)).get_json()["results"][0]
    assert late == {
        "id": "ev-1",
        "tracking": sf,
        "result": "accepted",
        "order": oid,
        "status": "delivered",
    }
    # Even a scan stamped after the hand-over does not take a delivered package back.
    post(event(sf, "out_for_delivery", "ev-9", -1))
    got = order(client, headers, oid)
    assert got["status"] == "delivered"
    assert [e["type"] for e in got["packages"][0]["tracking_events"]] == [
        "in_transit",
        "delivered",
        "out_for_delivery",
    ]
    # A batch in any order ends where its events say.
    oid2, [sf2] = ship(store, "shuffled")
    evs = [
        event(sf2, "out_for_delivery", "b-2", -30),
        event(sf2, "exception", "b-3", -10, reason="delayed"),
        event(sf2, "in_transit", "b-1", -90),
    ]
    resp = post({"events": evs})
    assert [r["status"] for r in resp.get_json()["results"]] == ["out_for_delivery"] + [
        "exception"
    ] * 2
    assert order(client, headers, oid2)["status"] == "exception"


def test_a_batch_reports_each_event(catalogue, store, post, client, headers, tables):
    oid, [sf] = ship(store, "mine")
    other, [theirs] = ship(store, "theirs", carrier="acme")
    resp = post(
        {
            "events": [
                event(sf, "in_transit", "ev-1"),
                event("SF9999999999", "in_transit", "ev-2"),
                event(theirs, "in_transit", "ev-3"),
                event(sf, "out_for_delivery", "ev-4"),
            ]
        }
    )
    assert resp.status_code == 200, resp.get_json()
    assert [(r["id"], r["result"], r["order"]) for r in resp.get_json()["results"]] == [
        ("ev-1", "accepted", oid),
        ("ev-2", "unknown_tracking", None),
        ("ev-3", "wrong_carrier", None),
        ("ev-4", "accepted", oid),
    ]
    assert resp.get_json()["accepted"] == 2
    assert order(client, headers, oid)["status"] == "out_for_delivery"
    assert order(client, headers, other)["status"] == "shipped"
    kept = store.all("SELECT event_id FROM tracking_events ORDER BY id")
    assert [r["event_id"] for r in kept] == ["ev-1", "ev-4"]
    # Alone, an unknown number is 404 and another carrier's package 409: nothing written.
    before = tables()
    unknown = post(event("SF9999999999", "in_transit", "ev-5"))
    assert unknown.status_code == 404 and "SF9999999999" in unknown.get_json()["message"]
    wrong = post(event(theirs, "in_transit", "ev-6"))
    assert wrong.status_code == 409, wrong.get_json()
    assert tables() == before
    # acme, with its own secret, may.
    ok = post(
        event(theirs, "in_transit", "ev-6"), url="/api/carriers/acme/events", secret=OTHER_SECRET
    )
    assert ok.get_json()["results"][0]["result"] == "accepted"


def test_a_scan_before_the_hand_over_counts_once_the_order_ships(
    catalogue, store, post, client, headers, subscribed
):
    oid, [sf] = ship(store, "early", leave=False)
    before = order(client, headers, oid)["status"]
    assert before not in ("shipped", "in_transit")
    resp = post(event(sf, "in_transit", "ev-1"))
    assert resp.get_json()["results"][0] == {
        "id": "ev-1",
        "tracking": sf,
        "result": "accepted",
        "order": oid,
        "status": before,
    }
    sid = store.one("SELECT shipment_id FROM packages WHERE tracking = ?", (sf,))["shipment_id"]
    assert shipments.ship(store, sid) == "in_transit"
    assert order(client, headers, oid)["status"] == "in_transit"
    assert queued(store, oid)[-1] == "order.in_transit"


def test_unknown_carriers_are_404(catalogue, store, post, tables):
    oid, [sf] = ship(store, "nobody")
    before = tables()
    for url in ("/api/carriers/nobody/events", "/api/carriers/mute/events"):
        resp = post(event(sf, "in_transit", "ev-1"), url=url)
        assert resp.status_code == 404, resp.get_json()
    assert tables() == before


def test_every_problem_is_listed_and_nothing_written(catalogue, store, post, tables):
    oid, [sf] = ship(store, "bad")
    before = tables()
    resp = post(
        {
            "events": [
                event(sf, "in_transit", "ev-1"),
                {**event(sf, "delivered", "ev-2"), "place": None},
                {**event(sf, "lost_in_space", "ev-3")},
                {**event(sf, "in_transit", "ev-4"), "at": "2026-01-01T10:00:00"},
                event(sf, "in_transit", "ev-5", reason="delayed"),
                event(sf, "in_transit", "ev-6", minutes=120),
                event(sf, "delivered", "ev-7", place={"lat": 40.7}),
                {**event(sf, "in_transit", "ev-8"), "colour": "red"},
            ]
        }
    )
    assert resp.status_code == 422, resp.get_json()
    fields = [(p["field"], p["message"]) for p in resp.get_json()["problems"]]
    assert [f for f, _ in fields] == [
        "events[1]",
        "events[2].type",
        "events[3].at",
        "events[4]",
        "events[5].at",
        "events[6].place",
        "events[7].colour",
    ], fields
    assert "needs its place" in fields[0][1] and "future" in fields[4][1]
    assert "lat and lon together" in fields[5][1]
    assert tables() == before
    # Signed but not JSON: 400; no events: 422.
    assert post(b"{not json").status_code == 400
    assert post({"events": []}).status_code == 422
    assert tables() == before


def test_an_order_in_boxes_follows_all_of_them(catalogue, store, post, client, headers):
    oid, [a, b] = ship(store, "two", packages=2)
    post(event(a, "in_transit", "a-1", -60))
    assert order(client, headers, oid)["status"] == "in_transit"
    post(event(b, "exception", "b-1", -50, reason="address_problem"))
    got = order(client, headers, oid)
    assert got["status"] == "exception"
    assert got["timeline"][-1]["detail"]["reason"] == "address_problem"
    post(event(a, "delivered", "a-2", -10))  # one box at the door, the other held up
    assert order(client, headers, oid)["status"] == "in_transit"
    post(event(b, "out_for_delivery", "b-2", -5))
    assert order(client, headers, oid)["status"] == "out_for_delivery"
    post(event(b, "delivered", "b-3", -1))
    got = order(client, headers, oid)
    assert got["status"] == "delivered"
    assert [p["tracking_status"] for p in got["packages"]] == ["delivered", "delivered"]


def test_the_board_counts_what_the_carriers_carry(catalogue, store, post):
    with store.read():
        empty = board.counts(store)
    assert {k: empty[k] for k in ("in_transit", "out_for_delivery", "exception")} == {
        "in_transit": 0,
        "out_for_delivery": 0,
        "exception": 0,
    }
    assert empty["delivered_today"] == 0
    trackings = [ship(store, f"b{i}")[1][0] for i in range(5)]
    post(
        {
            "events": [
                event(trackings[0], "in_transit", "e0"),
                event(trackings[1], "out_for_delivery", "e1"),
                event(trackings[2], "exception", "e2", reason="delayed"),
                event(trackings[3], "delivered", "e3"),
                event(trackings[4], "returned", "e4", reason="refused"),
            ]
        }
    )
    with store.read():
        got = board.counts(store)
    assert (got["in_transit"], got["out_for_delivery"], got["exception"]) == (1, 1, 1)
    assert (got["delivered"], got["delivered_today"], got["returned"]) == (1, 1, 1)
    # Delivered yesterday is not today's, even if a late scan comes in today.
    with store.write():
        store.execute("UPDATE order_events SET at = '2000-01-01' WHERE status = 'delivered'")
    post(event(trackings[3], "in_transit", "e5", -600))
    with store.read():
        assert board.counts(store)["delivered_today"] == 0


@pytest.mark.parametrize(
    "events, state",
    [
        ([], "shipped"),
        ([("1", "in_transit")], "in_transit"),
        ([("2", "out_for_delivery"), ("1", "in_transit")], "out_for_delivery"),
        ([("1", "in_transit"), ("2", "exception")], "exception"),
        ([("2", "delivered"), ("3", "in_transit")], "delivered"),
        ([("1", "delivered"), ("2", "returned")], "returned"),
        ([("2", "returned"), ("1", "delivered")], "returned"),
        ([("1", "in_transit"), ("1", "out_for_delivery")], "out_for_delivery"),
    ],
)
def test_a_package_state_is_its_latest_event(events, state):
    assert package_state(events) == state


@pytest.mark.parametrize(
    "states, status",
    [
        ([], "shipped"),
        (["shipped", "shipped"], "shipped"),
        (["in_transit", "shipped"], "in_transit"),
        (["delivered", "delivered"], "delivered"),
        (["returned", "returned"], "returned"),
        (["delivered", "returned"], "delivered"),
        (["exception", "in_transit"], "exception"),
        (["exception", "out_for_delivery"], "exception"),
        (["exception", "delivered"], "in_transit"),
        (["out_for_delivery", "delivered"], "out_for_delivery"),
        (["in_transit", "delivered"], "in_transit"),
    ],
)
def test_an_order_status_follows_its_packages(states, status):
    assert order_status(states) == status


def test_a_carrier_signs_from_the_readme_alone(catalogue, store, client):
    """docs/shipping.md's recipe, with hmac and no Standard Webhooks library, is what the server takes."""
    oid, [sf] = ship(store, "readme")
    key = base64.b64decode(CARRIER_SECRET.removeprefix("whsec_"))
    body = json.dumps({"events": [event(sf, "in_transit", "ev-1")]}).encode()
    msg_id, stamp = "msg_readme", str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1,bm90IHRoaXMgb25l v1," + base64.b64encode(mac).decode(),
    }
    resp = client.post(URL, data=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"][0]["status"] == "in_transit"
    # The webhook-id is signed too: another id with the same signature is refused.
    headers["webhook-id"] = "msg_other"
    assert client.post(URL, data=body, headers=headers).status_code == 401


def test_the_fields_limits_and_the_clock_window_are_as_the_docs_say(
    catalogue, store, post, client, tables
):
    """docs/shipping.md: ids without spaces, a capitals country code, a signature stamped
    more than 5 minutes ahead refused as one stamped behind, a body past max_body_bytes 413."""
    oid, [sf] = ship(store, "limits")
    before = tables()
    for bad in (
        event(sf, "in_transit", "LOC 1"),  # a space is no part of an id
        event(sf, "in_transit", "LOC-2", place={"country": "us"}),
        event(sf, "exception", "LOC-3", reason="Delayed"),
        event(sf, "exception", "LOC-4", reason="x" * 41),
    ):
        assert post(bad).status_code == 422, bad
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    body, made = signed(event(sf, "in_transit", "LOC-5"), at=ahead)
    resp = client.post(URL, data=body, headers=made)
    assert resp.status_code == 401, resp.get_json()
    huge = {"events": [event(sf, "in_transit", f"LOC-{i}", place={"city": "c" * 200, "text": "x" * 200})
                       for i in range(500)]}  # fmt: skip
    assert len(json.dumps(huge)) > 256 * 1024
    assert post(huge).status_code == 413
    assert tables() == before
    ok = post(event(sf, "in_transit", "LOC-6", place={"country": "US", "text": "hub"}))
    assert ok.status_code == 200 and ok.get_json()["accepted"] == 1
