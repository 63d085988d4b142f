"""Helpers for the customer e-mail and tracking page tests: an order taken to `shipped`."""

from __future__ import annotations

from typing import Any

from server.capture import orders
from server.core.clock import now
from server.core.schemas import OrderIn
from server.inventory import allocate

EMAIL = "grace.hopper@example.com"


def order_with_parcel(
    store,
    shop_id: str = "5806289289485",
    shop_number: str | None = "#1043",
    email: str | None = EMAIL,
    tracking: str = "SF0000012345",
    channel: str = "web",
) -> str:
    """Capture and allocate an order, with one confirmed parcel; returns our id."""
    body: dict[str, Any] = {
        "order_id": shop_id,
        "channel": channel,
        "lines": [{"sku": "SKU-A", "qty": 1}],
        "ship_to": {
            "name": "Grace Hopper",
            "line1": "1 Navy Yard Plaza",
            "city": "Philadelphia",
            "postcode": "19112",
            "country": "US",
        },
    }
    if shop_number is not None:
        body["shop_number"] = shop_number
    if email is not None:
        body["email"] = email
    oid, _ = orders.capture(store, OrderIn.model_validate(body))
    assert allocate.allocate_order(store, oid) == "allocated"
    with store.write():
        pick_list = store.one(
            "SELECT pick_list_id FROM pick_steps WHERE order_id = ? LIMIT 1", (oid,)
        )["pick_list_id"]
        store.execute(
            "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, zpl,"
            " created_at, confirmed_at) VALUES (?, ?, ?, ?, 350, 'confirmed', '^XA^XZ', ?, ?)",
            (oid, pick_list, f"00{tracking}", tracking, now(), now()),
        )
    return oid


def move(store, order_id: str, status: str, **detail: Any) -> None:
    """Record a status change as the floor (or a carrier's event) would."""
    with store.write():
        orders.record(store, order_id, status, status, **detail)
