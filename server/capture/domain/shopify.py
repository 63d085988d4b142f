"""Shopify orders as our orders: the webhook signature, the payload, and how it maps.

Shopify signs each webhook with the shop's secret: `X-Shopify-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body. Its order `id` becomes the order's shop id,
its `name` (`#1043`) the number people see. Only line items that need shipping
are floor work; gift cards and digital goods are left out (and said so). Line
items find our products by `sku`; the ship-to comes from `shipping_address`.
Problems are named in Shopify's own terms (`line_items[2].sku`), every one at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.core.schemas import EMAIL_PATTERN, MAX_ID, AddressIn, OrderIn

TOPICS = ("orders/create", "orders/updated", "orders/cancelled")
# Our address fields as Shopify names them, to say where a problem lies.
ADDRESS_FIELDS = {
    "name": "name",
    "line1": "address1",
    "line2": "address2",
    "city": "city",
    "postcode": "zip",
    "country": "country_code",
    "phone": "phone",
    "lat": "latitude",
    "lon": "longitude",
}


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the base64 HMAC-SHA256 of the raw body with the secret (in
    constant time)."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


class _Shopify(BaseModel):
    # Shopify sends far more than we read: the rest is ignored, not refused.
    model_config = ConfigDict(extra="ignore")


class ShopifyAddress(_Shopify):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ShopifyLineItem(_Shopify):
    id: int | None = Field(None, ge=0, le=MAX_ID)
    sku: str | None = None
    quantity: int = Field(ge=0, le=1_000_000)  # our own bound per line is said after mapping
    requires_shipping: bool
    gift_card: bool = False
    title: str = ""


class ShopifyOrder(_Shopify):
    """The part of Shopify's order resource the floor needs."""

    id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(min_length=1)
    email: str | None = None
    contact_email: str | None = None
    note: str | None = None
    line_items: list[ShopifyLineItem] = Field(max_length=500)
    shipping_address: ShopifyAddress | None = None
    cancel_reason: str | None = None
    cancelled_at: str | None = None


class Mapped(NamedTuple):
    """A Shopify order as ours: `order` is None when it has nothing to ship or has problems."""

    order: OrderIn | None
    line_items: list[int]  # for each of our lines, the index of its Shopify line item
    left_out: list[dict[str, Any]]  # line items that are not floor work, and why
    problems: list[tuple[str, str]]


def parse(payload: Any) -> tuple[ShopifyOrder | None, list[tuple[str, str]]]:
    """The order from a decoded webhook body, or every problem with it."""
    try:
        return ShopifyOrder.model_validate(payload), []
    except ValidationError as exc:
        return None, [(_path(err["loc"]), err["msg"]) for err in exc.errors()]


def left_out(order: ShopifyOrder) -> list[dict[str, Any]]:
    """Line items that are no floor work: gift cards and goods that need no shipping."""
    return [
        {
            "line_item": item.id,
            "sku": item.sku,
            "title": item.title,
            "quantity": item.quantity,
            "why": "gift card" if item.gift_card else "does not require shipping",
        }
        for item in order.line_items
        if not item.requires_shipping
    ]


def ship_to(order: ShopifyOrder) -> tuple[AddressIn | None, list[tuple[str, str]]]:
    """Our ship-to address from the shipping address, or its problems in Shopify's names."""
    a = order.shipping_address
    if a is None:
        return None, [("shipping_address", "missing: the order has goods to ship")]
    name = a.name or " ".join(p for p in (a.first_name, a.last_name) if p)
    fields = {
        "name": name,
        "line1": a.address1,
        "line2": a.address2 or "",
        "city": a.city,
        "postcode": a.zip,
        "country": a.country_code,
        "phone": a.phone or "",
        "lat": a.latitude,
        "lon": a.longitude,
    }
    if (fields["lat"] is None) != (fields["lon"] is None):
        fields["lat"] = fields["lon"] = None  # one without the other places nothing
    try:
        return AddressIn.model_validate({k: v for k, v in fields.items() if v is not None}), []
    except ValidationError as exc:
        return None, [
            (f"shipping_address.{ADDRESS_FIELDS.get(str(err['loc'][0]), err['loc'][0])}", _msg(err))
            for err in exc.errors()
        ]


EMAIL_RE = re.compile(EMAIL_PATTERN)


def customer_email(order: ShopifyOrder) -> str | None:
    """The customer's address for shipping news: `email`, else `contact_email`; one that is
    not an address is left out (the order still ships, without mail) rather than refused."""
    for candidate in (order.email, order.contact_email):
        if candidate and EMAIL_RE.match(candidate.strip()) and len(candidate.strip()) <= 254:
            return candidate.strip()
    return None


def to_order(channel: str, order: ShopifyOrder, known_skus: set[str]) -> Mapped:
    """Our order for the line items that need shipping, or every problem with them."""
    problems: list[tuple[str, str]] = []
    lines, indexes = [], []
    for i, item in enumerate(order.line_items):
        if not item.requires_shipping:
            continue
        where = f"line_items[{i}]"
        if not item.sku:
            problems.append((f"{where}.sku", f"no SKU on {item.title or 'a line item'}"))
        elif item.sku not in known_skus:
            problems.append((f"{where}.sku", f"unknown SKU {item.sku}"))
        if item.quantity < 1:
            problems.append((f"{where}.quantity", "must be at least 1"))
        lines.append({"sku": item.sku or "", "qty": item.quantity})
        indexes.append(i)
    skipped = left_out(order)
    if not lines:
        return Mapped(None, [], skipped, problems)
    address, address_problems = ship_to(order)
    problems += address_problems
    body = {
        "order_id": str(order.id),
        "channel": channel,
        "shop_number": order.name,
        "email": customer_email(order),
        "lines": lines,
        "ship_to": address.model_dump() if address else None,
    }
    try:
        mapped = OrderIn.model_validate(body)
    except ValidationError as exc:
        flagged = {f for f, _ in problems}
        for err in exc.errors():
            where = _shopify_path(err["loc"], indexes)
            if where is not None and where not in flagged:
                problems.append((where, _msg(err)))
        mapped = None
    return Mapped(None if problems else mapped, indexes, skipped, problems)


def _shopify_path(loc: tuple, indexes: list[int]) -> str | None:
    """Where a problem found in our order lies in Shopify's (None: already said otherwise)."""
    head = loc[0]
    if head == "ship_to":
        return None  # the address was checked, in Shopify's names, before
    if head == "lines" and len(loc) > 2:
        field = {"sku": "sku", "qty": "quantity"}.get(str(loc[2]), str(loc[2]))
        return f"line_items[{indexes[loc[1]]}].{field}"
    return {"order_id": "id", "shop_number": "name", "lines": "line_items"}.get(head, str(head))


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _msg(err: dict[str, Any]) -> str:
    return str(err["msg"])
