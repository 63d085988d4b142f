"""A shop's refund webhook authorises a return (called by server/capture/shopify.py).

The webhook's signature, its once-only keeping and its answer are the order webhooks'
(server/capture/shopify.py): this module only reads the refund and authorises what it says
comes back. The refund's id is the return's external id, so the same refund again (a resend
with a new webhook id) answers the RMA already made.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from server.returns import rmas
from server.returns.domain import shop
from server.store import Store

TOPICS = (shop.TOPIC,)


class Taken(NamedTuple):
    """What the refund did: status accepted / rejected / ignored, result in words, the order,
    Shopify's order id and the problems of a rejected one."""

    status: str
    result: str
    order: str | None
    shop_order_id: str | None
    problems: list[tuple[str, str]]


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
    try:
        rma, made = rmas.authorise(
            store, order["id"], lines, "shopify", f"shop:{channel}",
            reason=(found.note or "refunded in the shop")[:500], external_id=f"{channel}:{found.id}",
        )  # fmt: skip
    except rmas.ReturnError as exc:
        return Taken("rejected", "invalid", order["id"], shop_order_id, exc.problems)
    return Taken(
        "accepted",
        f"return {rma['rma']}" + ("" if made else " (repeated)"),
        order["id"],
        shop_order_id,
        [],
    )
