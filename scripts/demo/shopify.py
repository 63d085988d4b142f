"""The shop sends its orders: Shopify's order webhooks, signed with the channel's secret.

Each demo order is posted as Shopify posts it, to `/webhooks/shopify/<channel>`
with `X-Shopify-Topic`, `X-Shopify-Webhook-Id` and `X-Shopify-Hmac-Sha256`
(base64 HMAC-SHA256 of the raw body with the channel's secret). Then a few of
the things shops do: one webhook sent twice (Shopify retries; it is applied
once), one order's shipping address changed before picking (`orders/updated`),
one order cancelled in the shop (`orders/cancelled`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

import requests

from scripts.demo import seed

CHANNEL = "demo-shop"
# Which demo orders (1-based) get an address change and a cancel, when there are that many
# orders that have stock (the last three wait as backorders).
UPDATED_ORDER, CANCELLED_ORDER = 4, 5


def new_secret() -> str:
    """A Shopify webhook secret for the demo's channel (made fresh for each run)."""
    return "shpss_" + secrets.token_hex(16)


def sign(body: bytes, secret: str) -> str:
    """X-Shopify-Hmac-Sha256 as Shopify computes it: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Placed:
    """A demo order on the floor: our id and the shop's number (#1043)."""

    id: str
    shop_number: str
    shop_id: int
    payload: dict[str, Any] = field(repr=False)


class Shop:
    """Posts Shopify webhooks for one channel to the server at `base`."""

    def __init__(self, base: str, secret: str, rng: random.Random, channel: str = CHANNEL):
        self.url = f"{base}/webhooks/shopify/{channel}"
        self.secret = secret
        self.rng = rng
        self.session = requests.Session()
        self.sent = 0

    def post(
        self, topic: str, payload: dict[str, Any], webhook_id: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Post one webhook; returns (its webhook id, the answer). Anything but 200 is an error."""
        webhook_id = webhook_id or seed.webhook_id(self.rng)
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(body, self.secret),
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": seed.SHOP_DOMAIN,
            "X-Shopify-API-Version": "2024-04",
            "X-Shopify-Triggered-At": payload.get("updated_at") or "",
        }
        resp = self.session.post(self.url, data=body, headers=headers, timeout=10)
        if resp.status_code != 200:
            raise RuntimeError(f"{topic} for {payload.get('name')}: {resp.status_code} {resp.text}")
        self.sent += 1
        return webhook_id, resp.json()


def _expect(answer: dict[str, Any], result: str, what: str) -> None:
    if answer["result"] != result:
        raise RuntimeError(f"{what}: the server answered {answer}, expected {result}")


def send_orders(shop: Shop, payloads: list[dict[str, Any]], say=print) -> list[Placed]:
    """Every order as `orders/create`, then a resend, an address change and a cancel."""
    placed: list[Placed] = []
    first_id = None
    for payload in payloads:
        webhook_id, answer = shop.post("orders/create", payload)
        _expect(answer, "created", f"orders/create {payload['name']}")
        first_id = first_id or webhook_id
        placed.append(Placed(answer["order"], payload["name"], payload["id"], payload))
    say(
        f"{len(placed)} orders in through signed Shopify webhooks (orders/create to {shop.url}): "
        f"{placed[0].shop_number} .. {placed[-1].shop_number}"
    )
    # Shopify sends a webhook again when it did not hear back in time: applied once.
    _, answer = shop.post("orders/create", payloads[0], first_id)
    if not answer["duplicate"]:
        raise RuntimeError(f"a resent webhook was applied again: {answer}")
    say(f"  shop: {placed[0].shop_number}'s webhook sent twice, applied once")
    if len(payloads) - 3 >= CANCELLED_ORDER:  # orders that have stock, past the backorders
        moved = placed[UPDATED_ORDER - 1]
        payload = copy.deepcopy(moved.payload)
        payload["shipping_address"]["address2"] = "Apartment 5B"
        payload["updated_at"] = payload["created_at"].replace(":00+", ":30+")
        _, answer = shop.post("orders/updated", payload)
        _expect(answer, "ship_to_changed", f"orders/updated {moved.shop_number}")
        say(
            f"  shop: {moved.shop_number}'s shipping address changed before picking (orders/updated)"
        )
        gone = placed[CANCELLED_ORDER - 1]
        payload = copy.deepcopy(gone.payload)
        payload.update(cancel_reason="customer", cancelled_at=payload["created_at"])
        _, answer = shop.post("orders/cancelled", payload)
        _expect(answer, "cancelled", f"orders/cancelled {gone.shop_number}")
        say(f"  shop: {gone.shop_number} cancelled by the customer (orders/cancelled)")
    return placed
