"""An order as its customer sees it: on the public tracking page and in the shipping e-mails.

Only what the customer may read: the shop's name, the shop's order number, the status and
the timeline in plain words, the carriers and tracking numbers. No internal ids, no
warehouse or bin codes.
"""

from __future__ import annotations

import json
from typing import Any

from server.notify import mail
from server.notify.domain import customer_words
from server.store import Store

# The built-in carrier (packages.carrier = 'local') is the shop's own delivery.
LOCAL_CARRIER = "local"


def shop_name(channel: str) -> str:
    """The name the customer knows the shop by: [email.shop_names] for the channel, else
    [email] shop_name."""
    return mail.SETTINGS.get("shop_names", {}).get(channel) or mail.SETTINGS.get(
        "shop_name", "Our shop"
    )


def _view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    oid = row["id"]
    packages = store.all(
        "SELECT carrier, tracking FROM packages WHERE order_id = ? AND status = 'confirmed' "
        "ORDER BY id",
        (oid,),
    )
    events = store.all(
        "SELECT at, status, detail FROM order_events WHERE order_id = ? ORDER BY id", (oid,)
    )
    decoded = [{**e, "detail": json.loads(e["detail"])} for e in events]
    last = decoded[-1] if decoded else {"status": row["status"], "detail": {}}
    ship_to = json.loads(row["ship_to"])
    return {
        "shop": shop_name(row["channel"]),
        "number": row["shop_number"] or row["external_id"],
        "status": row["status"],
        "status_words": customer_words.status_words(row["status"], last["detail"]),
        "name": ship_to.get("name", ""),
        "city": ship_to.get("city", ""),
        "parcels": [
            {
                "carrier": "" if p["carrier"] == LOCAL_CARRIER else p["carrier"],
                "tracking": p["tracking"],
            }
            for p in packages
        ],
        "steps": customer_words.timeline(decoded),
        "url": mail.tracking_url(row["track_token"]),
    }


def by_token(store: Store, token: str) -> dict[str, Any] | None:
    """The customer's view of the order with this tracking token, or None."""
    with store.read():
        row = store.one("SELECT * FROM orders WHERE track_token = ?", (token,))
        return None if row is None else _view(store, row)


def by_order(store: Store, order_id: str) -> dict[str, Any] | None:
    """The customer's view of an order by our id (inside or outside a read)."""
    with store.read():
        row = store.one("SELECT * FROM orders WHERE id = ?", (order_id,))
        return None if row is None else _view(store, row)
