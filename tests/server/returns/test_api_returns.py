"""Returns over REST, from a shop's refund webhook and from a parcel returned to sender: made
once, and every bad request refused with words a person reads, changing nothing."""

from __future__ import annotations

import json

import pytest
from dbkit import rows
from floorkit import place
from shopkit import SHOPIFY_SECRET, shopify_headers
from trackkit import CARRIER_SECRET, event, ship, signed

from server.config import Settings

TABLES = ("rmas", "rma_lines", "order_events", "audit_log", "webhook_deliveries")
SHOP_ID = "5806289289485"


@pytest.fixture
def settings(tmp_path, monkeypatch, database_url) -> Settings:
    """The tests' settings, with the local carrier posting signed tracking events."""
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("SCANFLOOR_DATABASE_URL", database_url)
    return Settings(
        data_dir=tmp_path / "data",
        sqlite_synchronous="NORMAL",
        database_url=database_url,
        carriers={"local": {"events_secret": CARRIER_SECRET}},
    )


@pytest.fixture
def shipped(store, catalogue) -> tuple[str, list[str]]:
    """An order of 2 SKU-B shipped in 2 parcels, from channel shop-us (Shopify id SHOP_ID)."""
    oid, trackings = ship(store, SHOP_ID, packages=2)
    with store.write():
        store.execute("UPDATE orders SET channel = 'shop-us' WHERE id = ?", (oid,))
    return oid, trackings


def snapshot(store) -> dict[str, list]:
    return {t: rows(store, t) for t in TABLES}


def test_a_return_is_authorised_over_rest_once_and_read_back(client, json_post, headers, shipped):
    oid, _ = shipped
    body = {"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 1}], "reason": "too big",
            "request_id": "ret-1"}  # fmt: skip
    resp = json_post("/api/returns", body)
    assert resp.status_code == 201, resp.get_json()
    rma = resp.get_json()
    assert rma["rma"] == "RMA-000001" and rma["status"] == "authorised"
    assert (rma["order_id"], rma["warehouse"], rma["source"]) == (oid, "WH-EAST", "api")
    assert rma["lines"] == [{"sku": "SKU-B", "name": "Red pen", "authorised": 1, "received": 0,
                             "resellable": 0, "scrapped": 0, "reasons": []}]  # fmt: skip
    again = json_post("/api/returns", body)
    assert again.status_code == 200 and again.get_json()["rma"] == "RMA-000001"
    # By the shop's order id too; the second unit is all that may still come back.
    other = json_post("/api/returns", {"order_id": SHOP_ID, "channel": "shop-us",
                                       "lines": [{"sku": "SKU-B", "qty": 1}]})  # fmt: skip
    assert other.status_code == 201 and other.get_json()["rma"] == "RMA-000002"
    listed = client.get(f"/api/returns?order_id={oid}", headers=headers).get_json()["returns"]
    assert [r["rma"] for r in listed] == ["RMA-000002", "RMA-000001"]
    one = client.get("/api/returns/rma-000001", headers=headers)
    assert one.status_code == 200 and one.get_json()["reason"] == "too big"
    assert client.get("/api/returns", headers={}).status_code == 401


def test_a_request_id_again_with_another_body_is_409_and_changes_nothing(json_post, store, shipped):
    oid, _ = shipped
    body = {"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 1}], "reason": "too big",
            "request_id": "ret-2"}  # fmt: skip
    first = json_post("/api/returns", body)
    assert first.status_code == 201, first.get_json()
    before = snapshot(store)
    for other in [
        {**body, "lines": [{"sku": "SKU-B", "qty": 2}]},
        {**body, "reason": "too small"},
        {**body, "order_id": "SO-999999"},  # the key is looked at before the order
    ]:
        resp = json_post("/api/returns", other)
        assert resp.status_code == 409, (other, resp.get_json())
        assert resp.get_json() == {
            "error": "conflict",
            "message": "request_id ret-2 was already used for RMA-000001 with another body",
            "problems": [],
        }
    assert snapshot(store) == before
    # The same body again, by the shop's order id, still answers the first return.
    same = {**body, "order_id": SHOP_ID, "channel": "shop-us"}
    again = json_post("/api/returns", same)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert snapshot(store) == before


def test_bad_returns_get_a_clear_answer_and_change_nothing(
    client, json_post, headers, store, shipped
):
    oid, _ = shipped
    json_post("/api/returns", {"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 1}]})
    before = snapshot(store)

    def refused(body, status):
        resp = json_post("/api/returns", body)
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    got = refused({"order_id": "SO-999999", "lines": [{"sku": "SKU-B", "qty": 1}]}, 404)
    assert got["message"] == "no order SO-999999"
    got = refused({"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 2}]}, 422)
    assert got["error"] == "invalid_return"
    assert got["problems"] == [
        {"field": "lines[0].qty", "message": "2 of SKU-B asked, 1 may still be returned"}
    ]
    got = refused({"order_id": oid, "lines": [{"sku": "SKU-A", "qty": 1}]}, 422)
    assert got["problems"][0]["message"] == "SKU-A was not shipped on this order"
    refused({"order_id": oid, "lines": []}, 422)
    refused({"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 0}]}, 422)
    refused({"order_id": oid, "lines": [{"sku": "SKU-B", "qty": 1}], "extra": 1}, 422)
    assert snapshot(store) == before  # nothing written by any of them
    not_shipped = place(store, "NS-1", [("SKU-A", 1)])  # allocated, not shipped
    before = snapshot(store)
    got = refused({"order_id": not_shipped, "lines": [{"sku": "SKU-A", "qty": 1}]}, 422)
    assert "has shipped nothing to return" in got["problems"][0]["message"]
    assert snapshot(store) == before
    missing = client.get("/api/returns/RMA-999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["message"] == "no return RMA-999999"


def test_a_shopify_refund_of_returned_goods_authorises_a_return_once(
    client, json_post, headers, store, shipped
):
    oid, _ = shipped
    json_post("/api/channels/shop-us", {"shopify_secret": SHOPIFY_SECRET}, "PUT")

    def refund(lines, refund_id=7001, webhook_id="wh-r1", sign=True):
        payload = {"id": refund_id, "order_id": int(SHOP_ID), "note": "did not fit",
                   "refund_line_items": lines}  # fmt: skip
        body = json.dumps(payload).encode()
        sent = shopify_headers(body, "refunds/create", webhook_id)
        if not sign:
            sent["X-Shopify-Hmac-Sha256"] = "AAAA"
        return client.post("/webhooks/shopify/shop-us", data=body, headers=sent)

    returned = [{"quantity": 2, "restock_type": "return", "line_item": {"sku": "SKU-B"}}]
    before = snapshot(store)
    assert refund(returned, sign=False).status_code == 401
    assert snapshot(store) == before
    resp = refund(returned)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["result"] == "return RMA-000001" and resp.get_json()["order"] == oid
    # The same refund in a new webhook (another id) makes no second return.
    assert (
        refund(returned, webhook_id="wh-r2").get_json()["result"] == "return RMA-000001 (repeated)"
    )
    assert len(rows(store, "rmas")) == 1
    rma = client.get("/api/returns/RMA-000001", headers=headers).get_json()
    assert (rma["source"], rma["reason"], rma["external_id"]) == (
        "shopify",
        "did not fit",
        "shop-us:7001",
    )
    # A refund that restocks nothing is no return; one asking more than shipped is kept, refused.
    kept = [{"quantity": 1, "restock_type": "no_restock", "line_item": {"sku": "SKU-B"}}]
    assert refund(kept, refund_id=7002, webhook_id="wh-r3").get_json()["status"] == "ignored"
    over = refund(returned, refund_id=7003, webhook_id="wh-r4")
    assert over.status_code == 422
    assert "0 may still be returned" in json.dumps(over.get_json()["problems"])
    assert len(rows(store, "rmas")) == 1


def test_a_parcel_returned_to_sender_becomes_a_return_receipt(client, headers, store, shipped):
    oid, trackings = shipped
    body, sent = signed(event(trackings[0], "returned", "ev-1", reason="refused"))
    resp = client.post("/api/carriers/local/events", data=body, headers=sent)
    assert resp.status_code == 200, resp.get_json()
    listed = client.get("/api/returns", headers=headers).get_json()["returns"]
    assert len(listed) == 1
    rma = listed[0]
    assert (rma["source"], rma["tracking"], rma["reason"]) == (
        "carrier",
        trackings[0],
        "returned to sender",
    )
    assert rma["lines"][0]["authorised"] == 2  # what the parcel's shipment held
    # The carrier's later event for the same parcel makes no second return.
    body, sent = signed(event(trackings[0], "returned", "ev-2"), msg_id="msg_2")
    client.post("/api/carriers/local/events", data=body, headers=sent)
    assert len(rows(store, "rmas")) == 1
