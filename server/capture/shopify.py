"""Shopify webhooks in: orders created, their address changed, cancelled; refunds and returns.

Workflow: Shopify posts `orders/create`, `orders/updated`, `orders/cancelled`,
`refunds/create` and `returns/*` to `/webhooks/shopify/<channel>`, signed with the channel's secret. A wrong or
missing signature changes nothing. Every signed webhook is kept in
`inbound_webhooks` under Shopify's webhook id, so a resend is answered as before
and applied once; a body that cannot be taken is kept with every problem
(`rejected`) for a person to see, and taken if Shopify sends it again once the
problem is fixed (a missing SKU added). Shopify does not promise the order of its
webhooks, so a cancel that comes before the order is remembered and the order,
when it comes, is not put on the floor.

- create: the order is captured (the same order again changes nothing); line
  items that need no shipping are left out and noted on its timeline.
- updated: only the shipping address is taken, and only before picking starts;
  after that the new address is noted on the timeline and the order keeps its own.
- cancelled: the order is cancelled as `POST /api/orders/<id>/cancel` does; too
  late (shipped) is noted on the timeline.
- refunds/create: the refund's lines restocked as `return` authorise a return
  (server/returns/shop.py), received at the dock like any other.
- returns/*: Shopify's own returns: approved authorises a return, declined or cancelled
  cancels it while nothing was received (or keeps a later approval from authorising),
  updated changes its lines, the rest are noted (server/returns/shop.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from server.capture import address as address_change
from server.capture import cancel as cancelling
from server.capture import orders
from server.capture.domain import shopify
from server.core.clock import now
from server.core.schemas import AddressIn
from server.inventory import allocate
from server.returns import shop as returns_shop
from server.store import Store
from server.store.db import dumps

log = logging.getLogger("scanfloor.shopify")
SOURCE = "shopify"


class BadSignature(PermissionError):
    """The webhook is not signed with the channel's secret (or the channel has none)."""


@dataclass
class Outcome:
    """What a webhook did: `status` accepted / rejected / ignored, `result` in words."""

    status: str
    result: str
    order: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    duplicate: bool = False
    created: bool = False  # a new order: allocate it and offer its work
    cancelled: bool = False  # stock went back: offer work

    def answer(self) -> dict[str, Any]:
        """The JSON body Shopify gets back (a rejected one answers 422 with the problems)."""
        return {
            "status": self.status,
            "result": self.result,
            "order": self.order,
            "duplicate": self.duplicate,
        }


def receive(
    store: Store,
    channel: str,
    topic: str,
    webhook_id: str | None,
    signature: str | None,
    body: bytes,
) -> Outcome:
    """Check the signature, then apply the webhook once (see the module's workflow)."""
    row = store.one("SELECT shopify_secret FROM channels WHERE code = ?", (channel,))
    if row is None or not shopify.signature_ok(row["shopify_secret"] or "", body, signature):
        raise BadSignature(f"the webhook is not signed with channel {channel}'s Shopify secret")
    with store.write():
        seen = None
        if webhook_id:
            seen = store.one(
                "SELECT id, status, result, order_id FROM inbound_webhooks "
                "WHERE source = ? AND channel = ? AND webhook_id = ?",
                (SOURCE, channel, webhook_id),
            )
        if seen is not None and seen["status"] != "rejected":
            store.execute(
                "UPDATE inbound_webhooks SET times = times + 1, updated_at = ? WHERE id = ?",
                (now(), seen["id"]),
            )
            return Outcome(
                seen["status"], seen["result"], seen["order_id"], duplicate=True
            )  # already applied: nothing changes
        outcome, shop_order_id = _apply(store, channel, topic, body)
        _keep(store, seen, channel, topic, webhook_id, shop_order_id, outcome, body)
    if outcome.created:
        try:
            allocate.allocate_order(store, outcome.order)
        except allocate.StockRace:
            log.warning("allocation of %s raced; it waits for the next pass", outcome.order)
    return outcome


def _apply(store: Store, channel: str, topic: str, body: bytes) -> tuple[Outcome, str | None]:
    """Do what the webhook asks (inside the write); returns the outcome and Shopify's order id."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Outcome("rejected", "invalid", problems=[("body", f"not valid JSON: {exc}")]), None
    except RecursionError:  # the route refuses these first (400); kept here if one gets past
        return Outcome("rejected", "invalid", problems=[("body", "nested too deep")]), None
    if topic in returns_shop.TOPICS:  # a refund whose goods come back: a return to receive
        taken = returns_shop.take(store, channel, topic, payload)
        outcome = Outcome(taken.status, taken.result, taken.order, problems=taken.problems)
        return outcome, taken.shop_order_id
    if topic not in shopify.TOPICS:
        return Outcome("ignored", f"topic {topic or '(none)'} is not one we take"), None
    order, problems = shopify.parse(payload)
    if order is None:
        return Outcome("rejected", "invalid", problems=problems), None
    shop_id = str(order.id)
    existing = store.one(
        "SELECT id, status, ship_to FROM orders WHERE channel = ? AND external_id = ?",
        (channel, shop_id),
    )
    if topic == "orders/cancelled":
        return _cancelled(store, order, existing), shop_id
    if existing is None:
        return _create(store, channel, order), shop_id
    if topic == "orders/create":
        return Outcome("accepted", "repeated", existing["id"]), shop_id
    return _updated(store, order, existing), shop_id


def _create(store: Store, channel: str, order: shopify.ShopifyOrder) -> Outcome:
    """A new order on the floor (from `orders/updated` too: Shopify may send it first)."""
    cancelled_first = store.one(
        "SELECT 1 FROM inbound_webhooks WHERE channel = ? AND shop_order_id = ? AND topic = ? "
        "AND status = 'accepted'",
        (channel, str(order.id), "orders/cancelled"),
    )
    if cancelled_first or order.cancelled_at:
        return Outcome("ignored", "cancelled in the shop before it reached the floor")
    skus = sorted({i.sku for i in order.line_items if i.sku})
    known = (
        {
            r["sku"]
            for r in store.all(
                f"SELECT sku FROM products WHERE sku IN ({','.join('?' * len(skus))})", tuple(skus)
            )
        }
        if skus
        else set()
    )
    mapped = shopify.to_order(channel, order, known)
    if mapped.problems:
        return Outcome("rejected", "invalid", problems=mapped.problems)
    if mapped.order is None:
        return Outcome("ignored", "nothing to ship: no line item requires shipping")
    oid, created = orders.capture(store, mapped.order)
    if created:  # Shopify's returns name the goods by these ids, not by SKU
        for i in mapped.line_items:
            item = order.line_items[i]
            if item.id:
                store.execute(
                    "INSERT INTO shop_line_items (order_id, line_item_id, sku, qty) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (oid, str(item.id), item.sku, item.quantity),
                )
    if mapped.left_out:
        orders.record(store, oid, "received", "shop_lines_left_out", line_items=mapped.left_out)
    if order.note:
        orders.record(store, oid, "received", "shop_note", note=order.note[:2000])
    return Outcome("accepted", "created" if created else "repeated", oid, created=created)


def _updated(store: Store, order: shopify.ShopifyOrder, existing: dict[str, Any]) -> Outcome:
    """A known order changed in the shop: take its new shipping address if picking has not
    started, else note it on the timeline."""
    oid, status = existing["id"], existing["status"]
    if status == "cancelled":
        return Outcome("ignored", "the order is cancelled", oid)
    address, problems = shopify.ship_to(order)
    if address is None:
        return Outcome("rejected", "invalid", oid, problems=problems)
    before = AddressIn.model_validate(json.loads(existing["ship_to"]))
    if address == before:
        return Outcome("accepted", "unchanged", oid)
    if address_change.picking_started(store, oid, status):
        orders.record(
            store, oid, status, "ship_to_change_refused",
            ship_to=address.model_dump(), reason="picking has started: the order keeps its address",
        )  # fmt: skip
        return Outcome("accepted", "noted: picking has started", oid)
    address_change.change(store, oid, address, by="shop")
    return Outcome("accepted", "ship_to_changed", oid)


def _cancelled(
    store: Store, order: shopify.ShopifyOrder, existing: dict[str, Any] | None
) -> Outcome:
    """Cancel the order; one not here yet is remembered (this row) so it never reaches the floor."""
    if existing is None:
        return Outcome("accepted", "cancelled before the order arrived")
    reason = "cancelled in the shop" + (f" ({order.cancel_reason})" if order.cancel_reason else "")
    try:
        result = cancelling.cancel_order(store, existing["id"], reason)
    except cancelling.CannotCancel as exc:
        orders.record(store, existing["id"], existing["status"], "shop_cancel_refused",
                      reason=str(exc))  # fmt: skip
        return Outcome("ignored", f"too late to cancel: {exc}", existing["id"])
    if result["already"]:
        return Outcome("accepted", "already cancelled", existing["id"])
    return Outcome("accepted", "cancelled", existing["id"], cancelled=True)


def _keep(
    store: Store,
    seen: dict[str, Any] | None,
    channel: str,
    topic: str,
    webhook_id: str | None,
    shop_order_id: str | None,
    outcome: Outcome,
    body: bytes,
) -> None:
    """Keep the webhook and what it did; a rejected one, or one ignored for its problems (a
    shape not understood), keeps its body for a person."""
    at = now()
    keep = outcome.status == "rejected" or outcome.problems
    kept_body = body.decode("utf-8", "replace") if keep else None
    values = (
        topic, shop_order_id, outcome.order, outcome.status, outcome.result,
        dumps(outcome.problems), kept_body, at,
    )  # fmt: skip
    if seen is not None:  # a rejected one sent again
        store.execute(
            """UPDATE inbound_webhooks SET topic = ?, shop_order_id = ?, order_id = ?, status = ?,
                 result = ?, problems = ?, body = ?, updated_at = ?, times = times + 1
               WHERE id = ?""",
            (*values, seen["id"]),
        )
        return
    store.execute(
        """INSERT INTO inbound_webhooks (topic, shop_order_id, order_id, status, result, problems,
             body, updated_at, source, channel, webhook_id, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (*values, SOURCE, channel, webhook_id, at),
    )


def list_inbound(
    store: Store, status: str | None, channel: str | None, limit: int
) -> list[dict[str, Any]]:
    """Webhooks the shops sent, newest first: a rejected one with its problems and body."""
    filters = {"status": status, "channel": channel}
    used = {k: v for k, v in filters.items() if v is not None}
    where = (" WHERE " + " AND ".join(f"{k} = ?" for k in used)) if used else ""
    rows = store.all(
        f"""SELECT id, source, channel, topic, webhook_id, shop_order_id, order_id, status, result,
                   problems, body, times, received_at, updated_at
            FROM inbound_webhooks{where} ORDER BY id DESC LIMIT ?""",
        (*used.values(), limit),
    )
    for r in rows:
        r["problems"] = [{"field": f, "message": m} for f, m in json.loads(r["problems"])]
    return rows
