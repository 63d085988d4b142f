"""Test helpers for the carriers: orders shipped in packages, events signed as a carrier signs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from floorkit import place, plan
from standardwebhooks import Webhook

from server.capture.orders import next_number
from server.core.clock import now
from server.core.schemas import CatalogueIn
from server.inventory import catalogue, shipments
from server.notify import webhooks
from server.shipping.domain.labels import make_tracking
from shared.barcodes import make_sscc

# whsec_ + base64 of 32 bytes: the local carrier's secret in the tests.
CARRIER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+b4Y3GvIc1U="
OTHER_SECRET = "whsec_8r5VbHqjbH8KuVYtHXkA1tLd6pSa0Bv3uG1fC2m7oQk="


def ship(
    store, ref: str, packages: int = 1, carrier: str = "local", leave: bool = True
) -> tuple[str, list[str]]:
    """An order for SKU-B placed, picked in WH-EAST, packed in `packages` boxes and shipped
    (unless not `leave`); returns (order id, tracking numbers)."""
    oid = place(store, ref, [("SKU-B", packages)])
    return oid, ship_order(store, oid, packages, carrier, leave)


def pens_in_the_west(store, on_hand: int = 5) -> None:
    """A WH-WEST bin (W-03-01) holding `on_hand` of SKU-B, where a re-ship can go on from, and
    the shop's hook for `parcel.reshipped`."""
    catalogue.load(store, CatalogueIn.model_validate({
        "locations": [{"warehouse": "WH-WEST", "code": "W-03-01", "barcode": "LW-03-01"}],
        "stock": [{"warehouse": "WH-WEST", "location": "W-03-01", "sku": "SKU-B", "on_hand": on_hand}],
    }))  # fmt: skip
    webhooks.subscribe(store, "https://shop.example.com/hooks", ["parcel.reshipped"])


def ship_order(
    store, oid: str, packages: int = 1, carrier: str = "local", leave: bool = True
) -> list[str]:
    """An allocated order picked in WH-EAST, packed in `packages` boxes and shipped (unless not
    `leave`); returns its tracking numbers."""
    plan(store)
    with store.write():
        steps = store.all(
            "SELECT ps.pick_list_id, r.shipment_id FROM pick_steps ps "
            "JOIN reservations r ON r.id = ps.reservation_id WHERE ps.order_id = ?",
            (oid,),
        )
        store.execute("UPDATE pick_steps SET picked = qty WHERE order_id = ?", (oid,))
        trackings = []
        for _ in range(packages):
            tracking = make_tracking("SF", next_number(store, "tracking"))
            store.execute(
                """INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status,
                   zpl, created_at, confirmed_at, shipment_id, carrier)
                   VALUES (?, ?, ?, ?, 20, 'confirmed', '^XA^XZ', ?, ?, ?, ?)""",
                (
                    oid,
                    steps[0]["pick_list_id"],
                    make_sscc(0, "0614141", next_number(store, "sscc")),
                    tracking,
                    now(),
                    now(),
                    steps[0]["shipment_id"],
                    carrier,
                ),
            )
            trackings.append(tracking)
    if leave:
        assert shipments.ship(store, steps[0]["shipment_id"]) == "shipped"
    return trackings


def event(
    tracking: str, kind: str, event_id: str, minutes: float = 0, **extra: Any
) -> dict[str, Any]:
    """One tracking event, `minutes` from now (negative: in the past)."""
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    body = {"id": event_id, "tracking": tracking, "type": kind, "at": at.isoformat()}
    if kind == "delivered" and "place" not in extra:
        body["place"] = {"postcode": "10001", "city": "New York", "lat": 40.75, "lon": -73.99}
    return {**body, **extra}


def signed(
    payload: Any,
    secret: str = CARRIER_SECRET,
    msg_id: str = "msg_1",
    at: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers a carrier sends with it (Standard Webhooks)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return body, {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
