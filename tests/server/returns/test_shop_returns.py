"""Shopify's own returns (`returns/*` webhooks): an approved return authorises an RMA once,
a refund of it makes no second one, a decline or cancel cancels it until the dock has it,
the other topics are kept with what was not done; bad bodies are refused and change nothing."""

from __future__ import annotations

import json

import pytest
from dbkit import rows
from floorkit import action, connect, scan
from shopkit import SHOPIFY_SECRET, shopify_headers, shopify_order
from trackkit import ship_order

from server.people import auth
from server.returns import rmas

CHANNEL = "shop-us"
SHOP_ID = 5806289289485  # the fixture order (#1043): 2 SKU-A, 1 SKU-B, and two left out
LINE_A, LINE_B, LINE_GIFT = 14870564503821, 14870564536589, 14870564569357
RETURN_ID = 123134564567890
PEN = "0012345678905"  # SKU-B's barcode
TABLES = ("rmas", "rma_lines", "order_events", "audit_log", "shop_line_items")


@pytest.fixture
def send(client):
    """POST a signed Shopify webhook as Shopify does; a fresh webhook id unless given."""
    sent_ids = iter(range(1, 10_000))

    def post(payload, topic, webhook_id=None, signed=True):
        body = json.dumps(payload).encode()
        headers = shopify_headers(body, topic, webhook_id or f"wh-{next(sent_ids)}")
        if not signed:
            headers["X-Shopify-Hmac-Sha256"] = "AAAA"
        return client.post(f"/webhooks/shopify/{CHANNEL}", data=body, headers=headers)

    return post


@pytest.fixture
def shipped(json_post, catalogue, store, send) -> str:
    """The fixture order taken from Shopify's orders/create webhook and shipped from WH-EAST."""
    assert (
        json_post(f"/api/channels/{CHANNEL}", {"shopify_secret": SHOPIFY_SECRET}, "PUT").status_code
        == 200
    )
    resp = send(shopify_order(), "orders/create")
    assert resp.status_code == 200, resp.get_json()
    oid = resp.get_json()["order"]
    ship_order(store, oid)
    assert rmas.shipped_units(store, oid) == {"SKU-A": 2, "SKU-B": 1}
    return oid


def shop_return(status="open", lines=((LINE_A, 1),), return_id=RETURN_ID, **extra):
    """A return as Shopify's returns/request and returns/approve send it (API 2025-01)."""
    return {
        "id": return_id,
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "status": status,
        "name": "#1043-R1",
        "order": {"id": SHOP_ID, "admin_graphql_api_id": f"gid://shopify/Order/{SHOP_ID}"},
        "total_return_line_items": len(lines),
        "return_line_items": [
            {
                "id": 6200524949 + i,
                "admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{6200524949 + i}",
                "fulfillment_line_item": {
                    "id": 10736341352597 + i,
                    "line_item": {
                        "id": line,
                        "admin_graphql_api_id": f"gid://shopify/LineItem/{line}",
                    },
                },
                "quantity": qty,
                "return_reason": "size_too_small",
                "return_reason_note": "",
                "customer_note": None,
            }
            for i, (line, qty) in enumerate(lines)
        ],
        "exchange_line_items": [],
        "return_shipping_fees": [],
        **extra,
    }


def change(status, return_id=RETURN_ID, **extra):
    """returns/cancel, /close, /reopen as Shopify sends them: the return's id and order's."""
    return {"admin_graphql_api_id": f"gid://shopify/Return/{return_id}", "id": return_id,
            "order_id": SHOP_ID, "status": status, **extra}  # fmt: skip


def update(removals=(), additions=(), return_id=RETURN_ID):
    """returns/update as Shopify sends it: the return's gid and its line changes, each by its
    ReturnLineItem gid and delta (an added line new to the return names its order line item)."""

    def change(line, delta, order_line=None):
        got = {"admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{line}", "delta": delta}
        if order_line:
            got["fulfillment_line_item"] = {"id": 1, "line_item": {"id": order_line}}
        return got

    return {
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "return_line_items": {
            "removals": [change(*r) for r in removals],
            "additions": [change(*a) for a in additions],
        },
        "restocking_fees": {"updates": [], "removals": []},
        "return_shipping_fees": {"updates": [], "removals": []},
    }


def refund(refund_id, lines, return_id=None):
    """refunds/create, its `return` naming the Shopify return it settles (or null)."""
    return {
        "id": refund_id,
        "order_id": SHOP_ID,
        "note": "returned goods",
        "return": {"id": return_id, "admin_graphql_api_id": f"gid://shopify/Return/{return_id}"}
        if return_id
        else None,
        "refund_line_items": [
            {"quantity": q, "restock_type": "return", "line_item": {"id": 1, "sku": sku}}
            for sku, q in lines
        ],
    }


def snapshot(store):
    return {t: rows(store, t) for t in TABLES}


def test_the_order_keeps_which_sku_each_shopify_line_item_was(store, shipped):
    kept = store.all("SELECT line_item_id, sku, qty FROM shop_line_items ORDER BY sku")
    assert kept == [
        {"line_item_id": str(LINE_A), "sku": "SKU-A", "qty": 2},
        {"line_item_id": str(LINE_B), "sku": "SKU-B", "qty": 1},
    ]  # the gift card and the e-book are no floor goods: no line of ours


def test_an_approved_return_authorises_an_rma_once_and_its_refund_makes_no_second(
    client, headers, store, send, shipped
):
    requested = send(shop_return("requested"), "returns/request")
    assert requested.status_code == 200
    assert requested.get_json()["status"] == "ignored"
    assert "authorised once approved" in requested.get_json()["result"]
    assert rows(store, "rmas") == []

    approved = send(shop_return(lines=((LINE_A, 2), (LINE_B, 1))), "returns/approve")
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json() == {"status": "accepted", "result": "return RMA-000001",
                                   "order": shipped, "duplicate": False}  # fmt: skip
    rma = client.get("/api/returns/RMA-000001", headers=headers).get_json()
    assert (rma["source"], rma["external_id"], rma["status"]) == (
        "shopify", f"{CHANNEL}:return:{RETURN_ID}", "authorised",
    )  # fmt: skip
    assert rma["reason"] == "returned in the shop (size_too_small)"
    assert [(x["sku"], x["authorised"]) for x in rma["lines"]] == [("SKU-A", 2), ("SKU-B", 1)]

    # The same return again (Shopify resends under a new webhook id): the same RMA.
    again = send(shop_return(lines=((LINE_A, 2), (LINE_B, 1))), "returns/approve")
    assert again.get_json()["result"] == "return RMA-000001 (repeated)"
    # The merchant refunds the return: the refund names it, the goods are the same.
    paid = send(refund(9001, [("SKU-A", 2), ("SKU-B", 1)], RETURN_ID), "refunds/create")
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["result"] == "return RMA-000001 (repeated)"
    assert len(rows(store, "rmas")) == 1 and len(rows(store, "rma_lines")) == 2
    # Processed and closed in the shop: noted, the RMA waits for the dock all the same.
    for topic, body in (("returns/process", change("open")), ("returns/close", change("closed"))):
        noted = send(body, topic).get_json()
        assert noted["status"] == "accepted" and "RMA-000001 stays authorised" in noted["result"]
    kept = client.get("/api/inbound-webhooks?channel=shop-us", headers=headers).get_json()
    assert [w["topic"] for w in kept["webhooks"]][:3] == [
        "returns/close", "returns/process", "refunds/create",
    ]  # fmt: skip


def test_a_return_refunded_first_is_the_same_rma_when_its_approval_comes(store, send, shipped):
    """Shopify does not promise the order of its webhooks."""
    paid = send(refund(9002, [("SKU-B", 1)], RETURN_ID), "refunds/create")
    assert paid.get_json()["result"] == "return RMA-000001"
    late = send(shop_return(lines=((LINE_B, 1),)), "returns/approve")
    assert late.get_json()["result"] == "return RMA-000001 (repeated)"
    # A refund of no Shopify return is a return of its own, within what shipped.
    alone = send(refund(9003, [("SKU-A", 2)]), "refunds/create")
    assert alone.get_json()["result"] == "return RMA-000002"
    assert len(rows(store, "rmas")) == 2


def test_a_declined_or_cancelled_return_cancels_its_rma_until_the_dock_has_it(
    client, headers, store, send, shipped
):
    send(shop_return(lines=((LINE_A, 1),)), "returns/approve")
    cancelled = send(change("canceled"), "returns/cancel")
    assert cancelled.get_json() == {"status": "accepted", "result": "RMA-000001 cancelled",
                                    "order": shipped, "duplicate": False}  # fmt: skip
    rma = client.get("/api/returns/RMA-000001", headers=headers).get_json()
    assert (rma["status"], rma["cancel_reason"]) == ("cancelled", "cancelled in the shop")
    assert rma["cancelled_at"]
    listed = client.get("/api/returns?status=cancelled", headers=headers).get_json()["returns"]
    assert [r["rma"] for r in listed] == ["RMA-000001"]
    events = [e["event"] for e in rows(store, "order_events") if e["order_id"] == shipped]
    assert events[-1] == "return_cancelled"
    assert rows(store, "audit_log")[-1]["action"] == "return_cancel"
    # The dock no longer finds it; its units may be authorised again (both SKU-A units).
    assert rmas.find_open(store, "WH-EAST", "RMA-000001") is None
    assert rmas.authorised_units(store, shipped) == {}
    second = send(shop_return(lines=((LINE_A, 2),), return_id=RETURN_ID + 1), "returns/approve")
    assert second.get_json()["result"] == "return RMA-000002"
    again = send(change("canceled"), "returns/cancel").get_json()
    assert again["result"] == "RMA-000001 already cancelled"

    # Declined with Shopify's reason and note: cancelled, the reason in words.
    declined = {"admin_graphql_api_id": f"gid://shopify/Return/{RETURN_ID + 1}",
                "id": RETURN_ID + 1, "status": "declined",
                "decline": {"reason": "return_period_ended", "note": "30 days are over"}}  # fmt: skip
    # ... but not once a unit of it was graded at the dock: refused in words, nothing changed.
    rma_id = store.one("SELECT id FROM rmas WHERE rma = 'RMA-000002'")["id"]
    with store.write():
        store.execute(
            "INSERT INTO rma_units (rma_id, sku, grade, reason, at) "
            "VALUES (?, 'SKU-A', 'scrap', 'damaged', '2026-12-03T00:00:00Z')",
            (rma_id,),
        )
    before = rows(store, "rmas")
    refused = send(declined, "returns/decline")
    assert refused.status_code == 200
    assert refused.get_json()["status"] == "ignored"
    assert refused.get_json()["result"] == (
        "too late to cancel: RMA-000002 has 1 unit received at the dock"
    )
    assert rows(store, "rmas") == before
    noted = [e for e in rows(store, "order_events") if e["event"] == "return_cancel_refused"]
    assert len(noted) == 1 and "return_period_ended: 30 days are over" in noted[0]["detail"]
    # Without the unit, the same decline cancels it, with Shopify's reason.
    with store.write():
        store.execute("DELETE FROM rma_units WHERE rma_id = ?", (rma_id,))
    assert send(declined, "returns/decline").get_json()["result"] == "RMA-000002 cancelled"
    assert rmas.get(store, "RMA-000002")["cancel_reason"] == (
        "declined in the shop (return_period_ended: 30 days are over)"
    )


def test_a_return_held_by_a_handheld_is_not_cancelled(store, send, shipped):
    send(shop_return(), "returns/approve")
    device = store.one("SELECT id FROM devices LIMIT 1")
    if device is None:
        with store.write():
            store.execute(
                "INSERT INTO devices (name, role, warehouse, token_hash, created_at) "
                "VALUES ('dock-1', 'picker', 'WH-EAST', 'x', '2026-12-03T00:00:00Z')"
            )
        device = store.one("SELECT id FROM devices LIMIT 1")
    with store.write():
        store.execute("UPDATE rmas SET device_id = ?", (device["id"],))
    got = send(change("canceled"), "returns/cancel").get_json()
    assert (
        got["result"]
        == "too late to cancel: RMA-000001 is being received at the dock on a handheld"
    )
    assert rows(store, "rmas")[0]["status"] == "authorised"


def test_return_topics_we_do_not_act_on_are_kept_with_the_reason(store, send, shipped):
    before = snapshot(store)
    unknown = send(change("closed", return_id=42), "returns/close").get_json()
    assert unknown["status"] == "ignored" and unknown["result"] == (
        "return 42 closed in the shop: no RMA of ours"
    )
    cancelled = send(change("canceled", return_id=42), "returns/cancel").get_json()
    assert cancelled["result"] == (
        "return 42 cancelled in the shop: no RMA of ours (remembered: an approval of it "
        "coming later authorises nothing)"
    )
    updated = send(update(removals=[(1, 1)]), "returns/update").get_json()
    assert updated["status"] == "ignored"
    assert updated["result"] == f"return {RETURN_ID} changed in the shop: no RMA of ours"
    other_order = shop_return(order={"id": 77, "admin_graphql_api_id": "gid://shopify/Order/77"})
    assert send(other_order, "returns/approve").get_json()["result"] == (
        "order 77 never reached the floor"
    )
    assert send(shop_return(lines=()), "returns/approve").get_json()["status"] == "ignored"
    assert snapshot(store) == {**before, "order_events": before["order_events"]}


def test_bad_return_webhooks_are_refused_with_every_problem_and_change_nothing(
    client, headers, store, send, shipped
):
    before = snapshot(store)
    assert send(shop_return(), "returns/approve", signed=False).status_code == 401
    not_ours = send(shop_return(lines=((LINE_GIFT, 1), (999, 1))), "returns/approve")
    assert not_ours.status_code == 422
    problems = not_ours.get_json()["problems"]
    assert [p["field"] for p in problems] == [
        "return_line_items[0].fulfillment_line_item.line_item.id",
        "return_line_items[1].fulfillment_line_item.line_item.id",
    ]
    assert problems[0]["message"] == (
        f"line item {LINE_GIFT} is not one of the order's goods we shipped"
    )
    too_many = send(shop_return(lines=((LINE_B, 2),)), "returns/approve")
    assert too_many.status_code == 422
    assert "2 of SKU-B asked, 1 may still be returned" in json.dumps(too_many.get_json())
    no_id = shop_return()
    del no_id["id"]
    assert send(no_id, "returns/approve").status_code == 422
    assert send({"id": "x", "status": "canceled"}, "returns/cancel").status_code == 422
    assert send(["not", "a", "return"], "returns/decline").status_code == 422
    assert snapshot(store) == before
    rejected = client.get("/api/inbound-webhooks?status=rejected", headers=headers).get_json()
    assert len(rejected["webhooks"]) == 5  # kept, with their bodies, for a person


def test_an_order_without_its_shopify_line_items_asks_for_the_return_by_hand(store, send, shipped):
    with store.write():
        store.execute("DELETE FROM shop_line_items")  # an order taken before 0034
    got = send(shop_return(), "returns/approve")
    assert got.status_code == 422
    assert got.get_json()["problems"] == [
        {
            "field": "order.id",
            "message": f"order {SHOP_ID} has no Shopify line items kept: authorise this "
            "return over REST or on the board",
        }
    ]
    assert rows(store, "rmas") == []


def test_a_return_the_merchant_made_comes_open_and_is_authorised_at_once(store, send, shipped):
    made = send(shop_return("open", lines=((LINE_B, 1),)), "returns/request")
    assert made.get_json()["result"] == "return RMA-000001"
    approved = send(shop_return("open", lines=((LINE_B, 1),)), "returns/approve")
    assert approved.get_json()["result"] == "return RMA-000001 (repeated)"
    assert len(rows(store, "rmas")) == 1


RLI_A, RLI_B = 6200524949, 6200524950  # the return line items of shop_return(LINE_A, LINE_B)


def authorised(client, headers, rma="RMA-000001"):
    got = client.get(f"/api/returns/{rma}", headers=headers).get_json()
    return {x["sku"]: x["authorised"] for x in got["lines"]}


def test_a_return_changed_in_the_shop_changes_its_rma_lines(client, headers, store, send, shipped):
    send(shop_return(lines=((LINE_A, 2), (LINE_B, 1))), "returns/approve")
    kept = store.all("SELECT return_line_item_id, sku, qty FROM shop_return_lines ORDER BY sku")
    assert [(r["return_line_item_id"], r["sku"], r["qty"]) for r in kept] == [
        (str(RLI_A), "SKU-A", 2), (str(RLI_B), "SKU-B", 1),
    ]  # fmt: skip
    less = send(update(removals=[(RLI_A, 1)]), "returns/update").get_json()
    assert less == {"status": "accepted", "result": "RMA-000001 now authorises 1 SKU-A, 1 SKU-B",
                    "order": shipped, "duplicate": False}  # fmt: skip
    assert authorised(client, headers) == {"SKU-A": 1, "SKU-B": 1}
    # The unit removed may be authorised again (by this return or another).
    assert rmas.authorised_units(store, shipped) == {"SKU-A": 1, "SKU-B": 1}
    # Shopify resends a webhook under the same id: applied once.
    for _ in range(2):
        more = send(update(additions=[(RLI_A, 1)]), "returns/update", webhook_id="wh-add-1")
        assert more.get_json()["result"] == "RMA-000001 now authorises 2 SKU-A, 1 SKU-B"
    assert more.get_json()["duplicate"] is True
    fewer = send(update(removals=[(RLI_B, 1)]), "returns/update").get_json()
    assert fewer["result"] == "RMA-000001 now authorises 2 SKU-A"
    assert authorised(client, headers) == {"SKU-A": 2}
    # A line new to the return names the order's line item: its SKU comes back.
    new = send(update(additions=[(RLI_B + 7, 1, LINE_B)]), "returns/update").get_json()
    assert new["result"] == "RMA-000001 now authorises 2 SKU-A, 1 SKU-B"
    events = [e for e in rows(store, "order_events") if e["event"] == "return_changed"]
    assert len(events) == 4
    assert json.loads(events[-1]["detail"])["lines"] == {"SKU-A": 2, "SKU-B": 1}
    assert [a["action"] for a in rows(store, "audit_log")][-1] == "return_change"


def test_a_changed_return_never_drops_below_what_the_dock_graded(
    client, headers, store, send, shipped
):
    send(shop_return(lines=((LINE_A, 2), (LINE_B, 1))), "returns/approve")
    rma_id = store.one("SELECT id FROM rmas")["id"]
    with store.write():
        store.execute(
            "INSERT INTO rma_units (rma_id, sku, grade, reason, at) "
            "VALUES (?, 'SKU-A', 'scrap', 'damaged', '2026-12-03T00:00:00Z')",
            (rma_id,),
        )
    got = send(update(removals=[(RLI_A, 2)]), "returns/update").get_json()
    assert got["status"] == "accepted"
    assert got["result"] == (
        "RMA-000001 now authorises 1 SKU-A, 1 SKU-B; SKU-A stays at 1: 1 unit already received "
        "at the dock, the shop asks 0"
    )
    assert authorised(client, headers) == {"SKU-A": 1, "SKU-B": 1}
    changed = [e for e in rows(store, "order_events") if e["event"] == "return_changed"][-1]
    assert json.loads(changed["detail"])["held"] == [
        "SKU-A stays at 1: 1 unit already received at the dock, the shop asks 0"
    ]
    # Every line removed: the graded unit keeps its line, the RMA stays open for the dock.
    rest = send(update(removals=[(RLI_B, 1)]), "returns/update").get_json()
    assert rest["result"].startswith("RMA-000001 now authorises 1 SKU-A; SKU-A stays at 1")
    assert rmas.get(store, "RMA-000001")["status"] == "authorised"


def test_a_return_whose_every_line_is_removed_is_cancelled(client, headers, store, send, shipped):
    send(shop_return(lines=((LINE_B, 1),)), "returns/approve")
    got = send(update(removals=[(RLI_A, 1)]), "returns/update").get_json()
    assert got["result"] == "RMA-000001 now authorises no unit, and is cancelled"
    rma = rmas.get(store, "RMA-000001")
    assert (rma["status"], rma["cancel_reason"]) == ("cancelled", "every line removed in the shop")
    late = send(update(additions=[(RLI_A, 1)]), "returns/update").get_json()
    assert late == {"status": "ignored", "result": "RMA-000001 is cancelled: its lines stay as "
                    "they are", "order": shipped, "duplicate": False}  # fmt: skip


def test_a_bad_return_change_is_refused_whole_and_changes_nothing(
    client, headers, store, send, shipped
):
    send(shop_return(lines=((LINE_A, 1), (LINE_B, 1))), "returns/approve")
    before = {**snapshot(store), "kept": rows(store, "shop_return_lines")}
    # More of SKU-B than shipped, a line the return does not have, more removed than it holds,
    # a new line that names no shipped goods: every reason, nothing applied (not even the
    # removal that was fine).
    too_many = send(update(removals=[(RLI_A, 1)], additions=[(RLI_B, 1)]), "returns/update")
    assert too_many.status_code == 422
    assert too_many.get_json()["problems"] == [
        {"field": "lines[0].qty", "message": "1 of SKU-B asked, 0 may still be returned"}
    ]
    wrong = send(
        update(removals=[(999, 1), (RLI_A, 2)], additions=[(998, 1, LINE_GIFT), (997, 1)]),
        "returns/update",
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["problems"] == [
        {"field": "return_line_items.removals[0].admin_graphql_api_id",
         "message": "return line item 999 is not one of this return's lines"},
        {"field": "return_line_items.removals[1].delta",
         "message": f"2 of return line item {RLI_A} removed, it holds 1"},
        {"field": "return_line_items.additions[0].fulfillment_line_item.line_item.id",
         "message": f"line item {LINE_GIFT} is not one of the order's goods we shipped"},
        {"field": "return_line_items.additions[1].fulfillment_line_item",
         "message": "missing: a line new to the return names the order's line item"},
    ]  # fmt: skip
    assert {**snapshot(store), "kept": rows(store, "shop_return_lines")} == before


def _not_understood():
    """returns/update bodies whose shape is not the one we read, each with the field named."""
    good = update(removals=[(RLI_A, 1)])
    no_lines = {k: v for k, v in good.items() if k != "return_line_items"}
    new_kind = {**good, "return_line_items": {**good["return_line_items"], "updates": []}}
    by_quantity = {**good, "return_line_items": {"removals": [
        {"admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{RLI_A}", "quantity": 1}
    ]}}  # fmt: skip
    return [
        (update(removals=[(RLI_A, 0)]), "return_line_items.removals.0.delta"),
        ({"admin_graphql_api_id": "gid://shopify/Order/1", "return_line_items": {}},
         "admin_graphql_api_id"),
        ({**good, "return_line_items": [good["return_line_items"]]}, "return_line_items"),
        (no_lines, "return_line_items"),
        (new_kind, "return_line_items.updates"),
        (by_quantity, "return_line_items.removals.0.delta"),
        (["not", "a", "return"], ""),
    ]  # fmt: skip


def test_a_returns_update_we_do_not_understand_changes_nothing_and_is_acknowledged(
    client, headers, store, send, shipped, caplog
):
    """Strict: a body that is not the shape we read is acknowledged (Shopify would send it
    again for days, and again would not help), changes nothing, and is kept with every problem
    and its body, and logged."""
    send(shop_return(lines=((LINE_A, 2), (LINE_B, 1))), "returns/approve")
    before = {**snapshot(store), "kept": rows(store, "shop_return_lines")}
    bodies = _not_understood()
    for body, field in bodies:
        got = send(body, "returns/update")
        assert got.status_code == 200, (body, got.get_json())
        said = got.get_json()
        assert said["status"] == "ignored", said
        assert said["result"].startswith("returns/update not understood: nothing changed ("), said
        assert field in said["result"], (field, said)
    assert {**snapshot(store), "kept": rows(store, "shop_return_lines")} == before
    kept = client.get("/api/inbound-webhooks?status=ignored", headers=headers).get_json()
    understood_not = [w for w in kept["webhooks"] if "not understood" in w["result"]]
    assert len(understood_not) == len(bodies)
    assert all(w["problems"] and w["body"] for w in understood_not)  # kept for a person
    logged = [r.getMessage() for r in caplog.records if r.name == "scanfloor.shopify"]
    assert sum("returns/update not understood" in m for m in logged) == len(bodies)
    # A change of the return's fees only, no line: nothing to do, nothing changes.
    fees = send(update(), "returns/update").get_json()
    assert fees["status"] == "ignored"
    assert fees["result"] == (
        f"return {RETURN_ID} changed in the shop, none of its lines: nothing to do"
    )
    # The shape understood again: applied as ever.
    got = send(update(removals=[(RLI_A, 1)]), "returns/update").get_json()
    assert got["result"] == "RMA-000001 now authorises 1 SKU-A, 1 SKU-B"


def _authorised_before_0039(store, shipped, lines):
    """An RMA authorised from a Shopify return before migration 0039: its row and its lines,
    no `shop_return_lines` (the shape such a return has in the database)."""
    with store.write():
        rma, made = rmas.authorise(
            store, shipped, lines, "shopify", f"shop:{CHANNEL}", reason="returned in the shop",
            external_id=f"{CHANNEL}:return:{RETURN_ID}",
        )  # fmt: skip
    assert made and rows(store, "shop_return_lines") == []
    return rma


def test_a_return_authorised_before_0039_follows_the_shop_when_its_skus_can_be_told(
    client, headers, store, send, shipped, caplog
):
    _authorised_before_0039(store, shipped, [("SKU-A", 2), ("SKU-B", 1)])
    before = {**snapshot(store), "kept": rows(store, "shop_return_lines")}
    # Two SKUs, and the removal names only its return line item: which SKU is unknowable.
    got = send(update(removals=[(RLI_A, 1)]), "returns/update").get_json()
    assert got["status"] == "ignored"
    assert got["result"] == (
        "RMA-000001 keeps its lines: it was authorised before the shop's return line ids were "
        "kept (migration 0039) and holds SKU-A, SKU-B, so return line item "
        f"{RLI_A} cannot be told to be one of them; the dock receives what it authorises, and "
        "more is authorised over REST or on the board"
    )
    assert {**snapshot(store), "kept": rows(store, "shop_return_lines")} == before
    assert any("cannot be told" in r.getMessage() for r in caplog.records)
    # Naming the order's line item, as Shopify's line changes may: its lines are rebuilt from
    # the RMA's, one per SKU, and follow.
    got = send(update(removals=[(RLI_A, 1, LINE_A)]), "returns/update").get_json()
    assert got["result"] == "RMA-000001 now authorises 1 SKU-A, 1 SKU-B"
    kept = store.all("SELECT return_line_item_id, sku, qty FROM shop_return_lines ORDER BY sku")
    assert [(r["return_line_item_id"], r["sku"], r["qty"]) for r in kept] == [
        ("sku:SKU-A", "SKU-A", 1), ("sku:SKU-B", "SKU-B", 1),
    ]  # fmt: skip
    assert authorised(client, headers) == {"SKU-A": 1, "SKU-B": 1}
    got = send(update(additions=[(RLI_A + 9, 1, LINE_A)]), "returns/update").get_json()
    assert got["result"] == "RMA-000001 now authorises 2 SKU-A, 1 SKU-B"
    # More removed than the return holds is refused whole, in Shopify's field names.
    before = {**snapshot(store), "kept": rows(store, "shop_return_lines")}
    too_many = send(update(removals=[(RLI_B, 2, LINE_B)]), "returns/update")
    assert too_many.status_code == 422
    assert too_many.get_json()["problems"] == [
        {"field": "return_line_items.removals[0].delta",
         "message": "2 of SKU-B removed, the return holds 1"},
    ]  # fmt: skip
    assert {**snapshot(store), "kept": rows(store, "shop_return_lines")} == before


def test_a_one_sku_return_authorised_before_0039_follows_the_shop(client, headers, store, send,
                                                                  shipped):  # fmt: skip
    _authorised_before_0039(store, shipped, [("SKU-A", 2)])
    # Its only SKU: whatever return line item a change names, it is a mug.
    got = send(update(removals=[(RLI_A, 1)]), "returns/update").get_json()
    assert got == {"status": "accepted", "result": "RMA-000001 now authorises 1 SKU-A",
                   "order": shipped, "duplicate": False}  # fmt: skip
    assert authorised(client, headers) == {"SKU-A": 1}
    got = send(update(removals=[(RLI_A + 1, 1)]), "returns/update").get_json()
    assert got["result"] == "RMA-000001 now authorises no unit, and is cancelled"


def test_a_cancel_or_decline_before_its_approval_keeps_the_approval_from_authorising(
    client, headers, store, send, shipped
):
    """Shopify does not promise the order of its webhooks: the cancel may come first."""
    early = send(change("canceled"), "returns/cancel").get_json()
    assert early["status"] == "ignored" and "remembered" in early["result"]
    late = send(shop_return(lines=((LINE_A, 1),)), "returns/approve")
    assert late.status_code == 200
    assert late.get_json() == {
        "status": "ignored",
        "result": "the return was cancelled in the shop before this came: not authorised",
        "order": shipped,
        "duplicate": False,
    }
    # A refund of that return, or the approval again, authorises nothing either.
    paid = send(refund(9004, [("SKU-A", 1)], RETURN_ID), "refunds/create").get_json()
    assert paid["status"] == "ignored" and "not authorised" in paid["result"]
    assert rows(store, "rmas") == []
    noted = [e for e in rows(store, "order_events") if e["event"] == "return_not_authorised"]
    assert len(noted) == 2 and str(RETURN_ID) in noted[0]["detail"]
    kept = client.get("/api/inbound-webhooks?channel=shop-us", headers=headers).get_json()
    assert [(w["topic"], w["status"]) for w in kept["webhooks"]][:3] == [
        ("refunds/create", "ignored"), ("returns/approve", "ignored"), ("returns/cancel", "ignored"),
    ]  # fmt: skip

    # Declined first, with Shopify's reason: remembered with it.
    other = RETURN_ID + 1
    declined = {"admin_graphql_api_id": f"gid://shopify/Return/{other}", "id": other,
                "status": "declined", "decline": {"reason": "final_sale", "note": None}}  # fmt: skip
    send(declined, "returns/decline")
    got = send(shop_return(lines=((LINE_B, 1),), return_id=other), "returns/approve").get_json()
    assert got["result"] == (
        "the return was declined in the shop (final_sale) before this came: not authorised"
    )
    # Another return of the same goods, never cancelled, is authorised as ever.
    third = send(shop_return(lines=((LINE_B, 1),), return_id=other + 1), "returns/approve")
    assert third.get_json()["result"] == "return RMA-000001"


def test_a_unit_in_a_receivers_hand_holds_its_line_when_the_shop_takes_it_off(floor):
    """On an in-process handheld: the pen is scanned, not graded yet, when Shopify takes the
    pen off the return; the line stays at 1 so the grade that follows finds it."""
    app, socketio, store, tokens = floor
    web = app.test_client()
    key = auth.create_api_key(store, "shop-admin")
    put = web.put(f"/api/channels/{CHANNEL}", json={"shopify_secret": SHOPIFY_SECRET},
                  headers={"X-API-Key": key})  # fmt: skip
    assert put.status_code == 200, put.get_json()

    def post(payload, topic, webhook_id):
        body = json.dumps(payload).encode()
        headers = shopify_headers(body, topic, webhook_id)
        return web.post(f"/webhooks/shopify/{CHANNEL}", data=body, headers=headers).get_json()

    oid = post(shopify_order(), "orders/create", "h-1")["order"]
    ship_order(store, oid)
    post(shop_return(lines=((LINE_A, 1), (LINE_B, 1))), "returns/approve", "h-2")
    dock = connect(app, socketio, tokens["picker"])
    assert action(dock, "return", "u1")["ok"]
    assert scan(dock, "RMA-000001", "u2")["ok"]
    assert scan(dock, PEN, "u3")["ok"]  # in hand, to be graded
    got = post(update(removals=[(RLI_B, 1), (RLI_A, 1)]), "returns/update", "h-3")
    assert got["result"] == (
        "RMA-000001 now authorises 1 SKU-B; SKU-B stays at 1: 1 unit already received at the "
        "dock, the shop asks 0"
    )
    graded = action(dock, "return_grade", "u4", reason="damaged")
    assert graded["ok"], graded
    assert rmas.get(store, "RMA-000001")["lines"][0]["scrapped"] == 1
