"""An order as its customer sees it: on the public tracking page and in the shipping e-mails.

Only what the customer may read: the shop's name, colour and contact, the shop's order
number, the status and the timeline in plain words (newest first, in the ship-to address's
time zone, found from its coordinates with tzfpy, offline), the items by name, the carriers,
services, tracking numbers and the estimated delivery day (the service level's days in
transit from the day it shipped). No internal ids, no warehouse or bin codes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzfpy import get_tz

from server.notify import mail
from server.notify.domain import customer_words
from server.shipping import carriers
from server.shipping.domain.tracking import LEFT
from server.store import Store

# The built-in carrier (packages.carrier = 'local') is the shop's own delivery.
LOCAL_CARRIER = "local"


def shop_name(channel: str) -> str:
    """The name the customer knows the shop by: [email.channels.<code>] name, else
    [email.shop_names] for the channel, else [email] shop_name."""
    return shop_look(channel)["name"]


def shop_look(channel: str) -> dict[str, str]:
    """How the channel's shop shows itself: name, Reply-To, colour and contact, each from
    [email.channels.<code>] when set there, else from [email]."""
    own = _per_channel(mail.SETTINGS.get("channels", {}), channel) or {}
    name = (
        own.get("name")
        or _per_channel(mail.SETTINGS.get("shop_names", {}), channel)
        or mail.SETTINGS.get("shop_name", "Our shop")
    )
    look = {"name": name}
    for key, default in (("reply_to", ""), ("colour", "#1f5fbf"), ("contact", "")):
        look[key] = own.get(key) or mail.SETTINGS.get(key) or default
    return look


def _per_channel(table: dict[str, Any], channel: str) -> Any:
    """The channel's entry of a per-channel table: by its code as the orders carry it, else
    in lower case (the environment's keys, `SCANFLOOR_EMAIL__CHANNELS__<code>__...`, are read
    in lower case)."""
    found = table.get(channel)
    return found if found is not None else table.get(channel.lower())


def zone_of(lat: float | None, lon: float | None) -> ZoneInfo:
    """The ship-to address's time zone, from its coordinates (tzfpy, offline); UTC without."""
    key = get_tz(lon, lat) if lat is not None and lon is not None else ""
    try:
        return ZoneInfo(key or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _transit_days(carrier: str, service: str) -> int | None:
    """Days in transit of a package's service level (the carrier's `standard` if it names none)."""
    known = carriers.REGISTRY.get(carrier)
    if known is None:
        return None
    levels = {level.name: level.transit_days for level in getattr(known, "service_levels", ())}
    return levels.get(service or "standard")


def _with_reasons(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline's events, each one of an order in exception with the reason in force: an
    event of another parcel (in transit, say) keeps the order in exception without one."""
    reason = None
    for e in events:
        if e["event"] == "exception":
            reason = e["detail"].get("reason")
        elif e["status"] == "exception" and "reason" not in e["detail"] and reason:
            e["detail"] = {**e["detail"], "reason": reason}
    return events


def _view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    oid = row["id"]
    packages = store.all(
        # Packed parcels and those re-shipped in place of a lost one; not the lost ones.
        "SELECT carrier, service, tracking FROM packages p WHERE order_id = ? "
        "AND lost_at IS NULL AND (status = 'confirmed' OR EXISTS (SELECT 1 FROM packages x "
        "WHERE x.replaced_by = p.id)) ORDER BY id",
        (oid,),
    )
    events = store.all(
        "SELECT at, status, event, detail FROM order_events WHERE order_id = ? ORDER BY id",
        (oid,),
    )
    items = store.all(
        # What comes to the customer: not the units cancelled with the rest of the order.
        "SELECT l.qty - l.cancelled AS qty, p.name FROM order_lines l "
        "JOIN products p ON p.sku = l.sku "
        "WHERE l.order_id = ? AND l.qty > l.cancelled ORDER BY l.line_no",
        (oid,),
    )
    decoded = _with_reasons([{**e, "detail": json.loads(e["detail"])} for e in events])
    last = decoded[-1] if decoded else {"status": row["status"], "detail": {}}
    ship_to = json.loads(row["ship_to"])
    zone = zone_of(row["lat"], row["lon"])
    look = shop_look(row["channel"])
    status = row["status"]
    parcels = []
    for p in packages:
        known = carriers.REGISTRY.get(p["carrier"])
        parcels.append(
            {
                "carrier": "" if p["carrier"] == LOCAL_CARRIER else p["carrier"],
                "carrier_title": getattr(known, "title", "") or p["carrier"],
                "service": (p["service"] or "standard").capitalize(),
                "tracking": p["tracking"],
                "transit_days": _transit_days(p["carrier"], p["service"]),
            }
        )
    # The carrier's delivery itself: a later event of a delivered order (a hub scan reported
    # late) keeps the status `delivered` but is not where or when the parcel was left.
    delivered = next((e for e in reversed(decoded) if e["event"] == "delivered"), None)
    estimate = None
    days = [p["transit_days"] for p in parcels if p["transit_days"] is not None]
    if days and status not in ("delivered", "returned", "cancelled"):
        # The day it left: the first status of a shipped order (`shipped`, or, in timelines
        # written before orders.record recorded it first, a carrier's status after packed).
        shipped = next((e for e in decoded if e["status"] in LEFT), None)
        left = datetime.fromisoformat(shipped["at"]) if shipped else datetime.now(UTC)
        if left.tzinfo is None:
            left = left.replace(tzinfo=UTC)
        day = customer_words.estimated_delivery(left.astimezone(zone).date(), max(days))
        estimate = customer_words.local_day(day)
    steps = customer_words.timeline(decoded)
    return {
        "shop": look["name"],
        "look": look,
        "number": row["shop_number"] or row["external_id"],
        "status": status,
        "state": customer_words.state_of(status),
        "status_words": customer_words.status_words(status, last["detail"]),
        "name": ship_to.get("name", ""),
        "city": ship_to.get("city", ""),
        "parcels": parcels,
        "items": items,
        "estimate": estimate,
        "milestones": customer_words.milestones(status),
        "zone": customer_words.zone_words(zone.key),
        "delivered_at": customer_words.local_time(
            delivered["detail"].get("at") or delivered["at"], zone
        )
        if delivered
        else None,
        "delivered_where": customer_words.delivered_words(delivered["detail"]) if delivered else "",
        # Newest first, each time in the ship-to address's zone.
        "steps": [
            {"at": s.at, "when": customer_words.local_time(s.at, zone), "words": s.words}
            for s in reversed(steps)
        ],
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
