"""A shop's refund or return webhook authorises a return (called by server/capture/shopify.py).

The webhook's signature, its once-only keeping and its answer are the order webhooks'
(server/capture/shopify.py): this module only reads the refund or return and does what it
says. Workflow, topic by topic:

- `returns/approve` (and a `returns/request` already open: a return the merchant made):
  the return's lines, found by the order's line items (`shop_line_items`), authorise an RMA
  whose external id is the Shopify return's id; the same return again answers that RMA.
- `returns/decline`, `returns/cancel`: the return's RMA is cancelled while nothing of it
  reached the dock; after that the shop is answered, in words, why not (and the order's
  timeline says so). One that comes before its approval (Shopify does not promise the
  order of its webhooks) is remembered (`shop_return_ends`): the approval, when it comes,
  authorises nothing.
- `returns/update`: the return's lines changed in the shop (units removed or added, by
  Shopify's return line item ids, kept at approval in `shop_return_lines`); the RMA's lines
  follow, except that a SKU never drops below the units the dock already received (graded,
  or scanned and in a receiver's hand; said in words). Units added must still be returnable,
  or the change is refused whole. A return authorised before 0039 has its lines rebuilt from
  its RMA's, one per SKU: a change applies when its SKU can be told (the order line item it
  names, or the return's only SKU), else nothing changes and the answer and the log say why.
  A body whose shape is not the one we read changes nothing and is acknowledged (`ignored`,
  kept with its problems and body, logged): Shopify sending it again would not help.
- `returns/request` (still requested), `returns/close`, `returns/reopen`, `returns/process`:
  kept and answered with what we did not do and why.
- `refunds/create`: the refund's `return` lines authorise an RMA under the refund's id; a
  refund made from a Shopify return uses that return's id, so goods an approved return
  already authorised are not authorised twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from server.capture.orders import record
from server.core.clock import now
from server.returns import rmas
from server.returns.domain import returns as rules
from server.returns.domain import shop
from server.store import Store

TOPICS = (shop.TOPIC, *shop.RETURN_TOPICS)
log = logging.getLogger("scanfloor.shopify")


class Taken(NamedTuple):
    """What the refund did: status accepted / rejected / ignored, result in words, the order,
    Shopify's order id and the problems of a rejected one."""

    status: str
    result: str
    order: str | None
    shop_order_id: str | None
    problems: list[tuple[str, str]]


def take(store: Store, channel: str, topic: str, payload: Any) -> Taken:
    """Do what a refund or return webhook says (inside the webhook's write)."""
    if topic == shop.TOPIC:
        return refund(store, channel, payload)
    if topic in ("returns/request", "returns/approve"):
        return approved(store, channel, topic, payload)
    if topic == "returns/update":
        return updated(store, channel, payload)
    found, problems = shop.parse_as(shop.ReturnChange, payload)
    if found is None:
        return Taken("rejected", "invalid", None, None, problems)
    rma = store.one(
        "SELECT id, rma, order_id, status FROM rmas WHERE source = 'shopify' AND external_id = ?",
        (shop.return_key(channel, found.id),),
    )
    order = rma["order_id"] if rma else None
    shop_order_id = str(found.order_id) if found.order_id else None
    if topic in ("returns/decline", "returns/cancel"):
        return _cancel(store, channel, topic, found, rma, shop_order_id)
    what = {
        "returns/close": "closed in the shop",
        "returns/reopen": "reopened in the shop",
        "returns/process": "processed in the shop (a refund of it comes as refunds/create)",
    }[topic]
    if rma is None:
        return Taken(
            "ignored", f"return {found.id} {what}: no RMA of ours", None, shop_order_id, []
        )
    return Taken(
        "accepted", f"noted: {what}; {rma['rma']} stays {rma['status']}", order, shop_order_id, []
    )


def approved(store: Store, channel: str, topic: str, payload: Any) -> Taken:
    """An approved Shopify return authorises an RMA for its lines (once per Shopify return)."""
    found, problems = shop.parse_as(shop.ShopReturn, payload)
    if found is None:
        return Taken("rejected", "invalid", None, None, problems)
    shop_order_id = str(found.order.id)
    if found.status != "open":  # requested: the merchant has not said yes
        return Taken(
            "ignored",
            f"return {found.id} is {found.status} in the shop: authorised once approved",
            None, shop_order_id, [],
        )  # fmt: skip
    order = store.one(
        "SELECT id FROM orders WHERE channel = ? AND external_id = ?", (channel, shop_order_id)
    )
    if order is None:
        return Taken(
            "ignored", f"order {shop_order_id} never reached the floor", None, shop_order_id, []
        )
    skus = {
        r["line_item_id"]: r["sku"]
        for r in store.all(
            "SELECT line_item_id, sku FROM shop_line_items WHERE order_id = ?", (order["id"],)
        )
    }
    if not skus:  # taken before line item ids were kept, or not from Shopify's orders/create
        problem = f"order {shop_order_id} has no Shopify line items kept: authorise this return "
        problem += "over REST or on the board"
        return Taken("rejected", "invalid", order["id"], shop_order_id, [("order.id", problem)])
    lines, problems = shop.return_lines(found, skus)
    if problems:
        return Taken("rejected", "invalid", order["id"], shop_order_id, problems)
    if not lines:
        return Taken("ignored", "no goods come back (no return line)", None, shop_order_id, [])
    reasons = sorted({i.return_reason for i in found.return_line_items if i.return_reason})
    reason = f"returned in the shop ({', '.join(reasons)})" if reasons else "returned in the shop"
    return _authorise(
        store,
        channel,
        order["id"],
        shop_order_id,
        lines,
        reason,
        shop.return_key(channel, found.id),
        shop.line_ids(found, skus),
    )


def _cancel(
    store: Store,
    channel: str,
    topic: str,
    found: shop.ReturnChange,
    rma: dict[str, Any] | None,
    shop_order_id: str | None,
) -> Taken:
    """A declined or cancelled Shopify return: its RMA cancelled, or why it cannot be."""
    word = "declined" if topic == "returns/decline" else "cancelled"
    reason = f"{word} in the shop"
    if found.decline and (found.decline.reason or found.decline.note):
        said = ": ".join(x for x in (found.decline.reason, found.decline.note) if x)
        reason += f" ({said})"
    if rma is None:  # before its approval, or a return we never authorise: remembered
        store.execute(
            "INSERT INTO shop_return_ends (external_id, topic, reason, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (shop.return_key(channel, found.id), topic, reason[:500], now()),
        )
        return Taken(
            "ignored",
            f"return {found.id} {word} in the shop: no RMA of ours (remembered: an approval "
            "of it coming later authorises nothing)",
            None,
            shop_order_id,
            [],
        )
    if rma["status"] == "cancelled":
        return Taken(
            "accepted", f"{rma['rma']} already cancelled", rma["order_id"], shop_order_id, []
        )
    try:
        rmas.cancel(store, rma["id"], f"shop:{channel}", reason[:500])
    except rmas.ReturnConflict as exc:
        status = store.one("SELECT status FROM orders WHERE id = ?", (rma["order_id"],))["status"]
        record(store, rma["order_id"], status, "return_cancel_refused", rma=rma["rma"],
               reason=str(exc), asked=reason)  # fmt: skip
        return Taken("ignored", f"too late to cancel: {exc}", rma["order_id"], shop_order_id, [])
    return Taken("accepted", f"{rma['rma']} cancelled", rma["order_id"], shop_order_id, [])


def _authorise(
    store: Store,
    channel: str,
    order_id: str,
    shop_order_id: str,
    lines: list[tuple[str, int]],
    reason: str,
    external_id: str,
    shop_lines: Sequence[tuple[str, str, int]] = (),
) -> Taken:
    ended = store.one(
        "SELECT e.topic, e.reason FROM shop_return_ends e WHERE e.external_id = ? "
        "AND NOT EXISTS (SELECT 1 FROM rmas m WHERE m.source = 'shopify' AND m.external_id = ?)",
        (external_id, external_id),
    )
    if ended is not None:  # its cancel or decline came first: the shop has said no already
        why = f"the return was {ended['reason']} before this came: not authorised"
        status = store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]
        record(store, order_id, status, "return_not_authorised", reason=why,
               shop_return=external_id.rsplit(":", 1)[1])  # fmt: skip
        return Taken("ignored", why, order_id, shop_order_id, [])
    try:
        rma, made = rmas.authorise(
            store, order_id, lines, "shopify", f"shop:{channel}", reason=reason[:500],
            external_id=external_id,
        )  # fmt: skip
    except rmas.ReturnError as exc:
        return Taken("rejected", "invalid", order_id, shop_order_id, exc.problems)
    if made and shop_lines:  # returns/update names the return's lines by these ids
        for line_id, sku, qty in shop_lines:
            store.execute(
                "INSERT INTO shop_return_lines (rma_id, return_line_item_id, sku, qty) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (rma["id"], line_id, sku, qty),
            )
    return Taken(
        "accepted",
        f"return {rma['rma']}" + ("" if made else " (repeated)"),
        order_id,
        shop_order_id,
        [],
    )


def refund(store: Store, channel: str, payload: Any) -> Taken:
    """Authorise the return a refund's `return` lines say (inside the webhook's write)."""
    found, problems = shop.parse(payload)
    if found is None:
        return Taken("rejected", "invalid", None, None, problems)
    shop_order_id = str(found.order_id)
    lines, problems = shop.returned_lines(found)
    order = store.one(
        "SELECT id FROM orders WHERE channel = ? AND external_id = ?", (channel, shop_order_id)
    )
    if problems:
        return Taken("rejected", "invalid", order and order["id"], shop_order_id, problems)
    if not lines:
        return Taken(
            "ignored", "no goods come back (no line restocked as a return)", None, shop_order_id, []
        )
    if order is None:
        return Taken(
            "ignored", f"order {shop_order_id} never reached the floor", None, shop_order_id, []
        )
    # A refund of a Shopify return is that return's goods: the same RMA, not a second one.
    key = shop.return_key(channel, found.return_.id) if found.return_ else f"{channel}:{found.id}"
    reason = found.note or "refunded in the shop"
    return _authorise(store, channel, order["id"], shop_order_id, lines, reason, key)


def updated(store: Store, channel: str, payload: Any) -> Taken:
    """A return's lines changed in the shop: the RMA's lines follow, never below the units
    the dock already received (inside the webhook's write). Nothing changes on a refusal."""
    found, problems = shop.parse_as(shop.ReturnUpdate, payload)
    if found is None:  # Shopify sending it again would not help: acknowledged, kept, logged
        why = "; ".join(f"{where}: {what}" for where, what in problems[:5])
        log.warning("returns/update not understood, nothing changed: %s", why)
        return Taken(
            "ignored", f"returns/update not understood: nothing changed ({why})", None, None,
            problems,
        )  # fmt: skip
    if not found.return_line_items.removals and not found.return_line_items.additions:
        return Taken(
            "ignored", f"return {found.id} changed in the shop, none of its lines: nothing to do",
            None, None, [],
        )  # fmt: skip
    rma = store.one(
        "SELECT m.id, m.rma, m.order_id, m.status, o.external_id AS shop_order_id FROM rmas m "
        "JOIN orders o ON o.id = m.order_id WHERE m.source = 'shopify' AND m.external_id = ?",
        (shop.return_key(channel, found.id),),
    )
    if rma is None:  # not approved yet: its approval will carry the lines as they are then
        return Taken(
            "ignored", f"return {found.id} changed in the shop: no RMA of ours", None, None, []
        )
    order, shop_order_id = rma["order_id"], rma["shop_order_id"]
    if rma["status"] != "authorised":
        return Taken(
            "ignored", f"{rma['rma']} is {rma['status']}: its lines stay as they are",
            order, shop_order_id, [],
        )  # fmt: skip
    kept = {
        r["return_line_item_id"]: (r["sku"], r["qty"])
        for r in store.all(
            "SELECT return_line_item_id, sku, qty FROM shop_return_lines WHERE rma_id = ?",
            (rma["id"],),
        )
    }
    skus = {
        r["line_item_id"]: r["sku"]
        for r in store.all(
            "SELECT line_item_id, sku FROM shop_line_items WHERE order_id = ?", (order,)
        )
    }
    if not kept or all(line_id.startswith(shop.POOLED) for line_id in kept):
        # Authorised before 0039 kept the return's line ids: its lines are rebuilt from the
        # RMA's, one per SKU, and a change finds its SKU by the order line item it names or
        # as the return's only SKU.
        pools = (
            {sku: qty for sku, qty in kept.values()}
            if kept
            else {x.sku: x.authorised for x in rmas.result(store, rma["id"])}
        )
        lines, problems, unknown = shop.pooled_lines(pools, found, skus)
        if unknown:
            why = (
                f"{rma['rma']} keeps its lines: it was authorised before the shop's return line "
                f"ids were kept (migration 0039) and holds {', '.join(sorted(pools))}, so "
                f"return line item {', '.join(unknown)} cannot be told to be one of them; the "
                "dock receives what it authorises, and more is authorised over REST or on "
                "the board"
            )
            log.warning("returns/update of return %s ignored: %s", found.id, why)
            return Taken("ignored", why, order, shop_order_id, [])
    else:
        lines, problems = shop.changed_lines(kept, found, skus)
    if problems:
        return Taken("rejected", "invalid", order, shop_order_id, problems)
    asked: dict[str, int] = {}
    for sku, qty in lines.values():
        asked[sku] = asked.get(sku, 0) + qty
    before = rmas.result(store, rma["id"])
    now_held = {x.sku: x.authorised for x in before}
    received = {x.sku: x.received for x in before if x.received}
    in_hand = rmas.unit_in_hand(store, rma["id"])
    if in_hand:  # scanned on the handheld holding it, to be graded next
        received[in_hand] = received.get(in_hand, 0) + 1
    units, held = rules.follow(asked, received)
    # More units than before must still be returnable: shipped less every other return's.
    left = rules.returnable(rmas.shipped_units(store, order), rmas.authorised_units(store, order))
    more = [(sku, n - now_held.get(sku, 0)) for sku, n in units.items() if n > now_held.get(sku, 0)]
    problems = rules.line_problems(more, left)
    if problems:
        return Taken("rejected", "invalid", order, shop_order_id, problems)
    for line_id, (sku, qty) in lines.items():
        store.execute(
            "INSERT INTO shop_return_lines (rma_id, return_line_item_id, sku, qty) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (rma_id, return_line_item_id) DO UPDATE SET qty = ?",
            (rma["id"], line_id, sku, qty, qty),
        )
    rmas.set_lines(store, rma["id"], units, f"shop:{channel}", held)
    now_units = {sku: n for sku, n in units.items() if n}
    said = ", ".join(f"{n} {sku}" for sku, n in sorted(now_units.items())) or "no unit"
    result = f"{rma['rma']} now authorises {said}"
    if now_units == now_held:
        result = f"{rma['rma']} unchanged: it authorises {said}"
    if held:
        result += "; " + "; ".join(held)
    if not now_units:
        try:
            rmas.cancel(store, rma["id"], f"shop:{channel}", "every line removed in the shop")
            result += ", and is cancelled"
        except rmas.ReturnConflict as exc:
            result += f"; not cancelled: {exc}"
    return Taken("accepted", result, order, shop_order_id, [])
