"""Order capture, status changes with their timeline, and reading an order back."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from server.capture import geocode, search
from server.core.clock import now
from server.core.schemas import OrderIn
from server.notify import mail, webhooks
from server.shipping import carriers
from server.shipping.domain import tracking
from server.store import Store
from server.store.db import dumps


class OrderRejected(ValueError):
    """The order cannot be taken; `problems` lists every reason as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class OrderConflict(ValueError):
    """The shop's order id was already used with a different body."""


class AmbiguousOrder(ValueError):
    """A shop's order id that several channels use, asked for without naming the channel."""

    def __init__(self, ref: str, channels: list[str]):
        super().__init__(
            f"order id {ref} is used by channels {', '.join(channels)}: "
            "name the channel (?channel=NAME)"
        )
        self.channels = channels


def body_hash(order: OrderIn) -> str:
    """A hash of the order as validated, so key order and spacing do not matter."""
    # Unset policy overrides are left out, so orders hashed before they existed still match.
    unset = {
        k
        for k in ("allow_split", "allow_partial", "shop_number", "email", "service")
        if getattr(order, k) is None
    }
    body = order.model_dump(mode="json", exclude=unset)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_number(store: Store, name: str) -> int:
    """The next value of a named counter (call inside a write transaction)."""
    store.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
        (name,),
    )
    return store.one("SELECT value FROM counters WHERE name = ?", (name,))["value"]


def record(store: Store, order_id: str, status: str, event: str, **detail: Any) -> None:
    """Set an order's status and add the change to its timeline (inside a write).

    A change of status is queued for the shops subscribed to it, in this transaction, and
    a change to a status the customer hears about (mail.KINDS) queues their e-mail. A carrier's
    status for an order not yet `shipped` (its parcel scanned before the hand-over) records
    `shipped` first.
    """
    before = None
    if status in mail.KINDS or status in tracking.EVENT_TYPES:  # only then worth a read
        before = store.one("SELECT status FROM orders WHERE id = ?", (order_id,))
    if (
        status in tracking.EVENT_TYPES
        and before is not None
        and before["status"] not in tracking.LEFT
    ):
        # The carrier scanned a parcel before the truck was handed over: the order left all
        # the same, and the shop and the customer hear `shipped` first, as for any order.
        record(store, order_id, tracking.NONE_YET, event, **detail)
        before = {"status": tracking.NONE_YET}
    at = now()
    webhooks.enqueue(store, order_id, status, event, at, detail)
    store.execute(
        "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", (status, at, order_id)
    )
    event_id = store.execute(
        "INSERT INTO order_events (order_id, at, status, event, detail) VALUES (?, ?, ?, ?, ?)",
        (order_id, at, status, event, dumps(detail)),
    ).lastrowid
    if status in mail.KINDS and before is not None and before["status"] != status:
        mail.enqueue(store, order_id, status, event_id, at)


def capture(store: Store, order: OrderIn) -> tuple[str, bool]:
    """Store a new order, or find the same one again; returns (id, created)."""
    digest = body_hash(order)
    ship_to = order.ship_to.model_dump()
    # Before the write: the first look-up reads the packaged tables (about half a second).
    placed = geocode.place(ship_to)
    with store.write():
        existing = store.one(
            "SELECT id, body_hash FROM orders WHERE channel = ? AND external_id = ?",
            (order.channel, order.order_id),
        )
        if existing:
            if existing["body_hash"] != digest:
                raise OrderConflict(
                    f"order {order.order_id} of channel {order.channel} already exists with another body"
                )
            return existing["id"], False
        skus = sorted({line.sku for line in order.lines})
        known = {
            r["sku"]
            for r in store.all(
                f"SELECT sku FROM products WHERE sku IN ({','.join('?' * len(skus))})", tuple(skus)
            )
        }
        problems = [
            (f"lines[{i}].sku", f"unknown SKU {line.sku}")
            for i, line in enumerate(order.lines)
            if line.sku not in known
        ]
        if order.service is not None and (why := carriers.service_problem(order.service)):
            problems.append(("service", why))
        if problems:
            raise OrderRejected(problems)
        order_id = f"SO-{next_number(store, 'order'):06d}"
        at = now()
        store.execute(
            """INSERT INTO orders (id, channel, external_id, body_hash, status, priority, promised_by,
               ship_to, lat, lon, created_at, updated_at, allow_split, allow_partial, shop_number,
               geocoded, email, track_token, service, customer)
               VALUES (?, ?, ?, ?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                order_id,
                order.channel,
                order.order_id,
                digest,
                order.priority,
                order.promised_by.isoformat() if order.promised_by else None,
                dumps(ship_to),
                placed.lat,
                placed.lon,
                at,
                at,
                order.allow_split,
                order.allow_partial,
                order.shop_number,
                placed.source,
                order.email,
                new_track_token(),
                order.service.lower() if order.service else None,
                ship_to["name"].lower(),  # found by it on the board (server/capture/search.py)
            ),
        )
        search.index_order(store, order_id, ship_to["name"], order.email)
        for n, line in enumerate(order.lines, start=1):
            store.execute(
                "INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES (?, ?, ?, ?)",
                (order_id, n, line.sku, line.qty),
            )
        placing: dict[str, Any] = {"geocoded": placed.source}
        if placed.source == "none":
            placing["note"] = PLACE_FALLBACK
        elif placed.source != "given":
            placing.update(lat=placed.lat, lon=placed.lon)
        if order.email is None:
            placing["customer_mail"] = "no e-mail address: the customer gets no shipping news"
        record(
            store,
            order_id,
            "received",
            "received",
            channel=order.channel,
            external_id=order.order_id,
            **placing,
        )
    return order_id, True


PLACE_FALLBACK = (
    "the ship-to could not be placed on the map (no known postcode or city): it ships from "
    "the warehouse with the most capacity left today that can serve it, and no distance is given"
)


def new_track_token() -> str:
    """The key to an order's public tracking page: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def find(store: Store, ref: str, channel: str | None = None) -> str:
    """Our id of an order named by our id (SO-000001) or by the shop's id.

    A shop's id is unique within its channel only: with `channel`, that channel's order;
    without, our id first, then the one order of any channel with that shop id. KeyError
    if there is none, AmbiguousOrder if several channels use it.
    """
    if channel is not None:
        row = store.one(
            "SELECT id FROM orders WHERE channel = ? AND external_id = ?", (channel, ref)
        ) or store.one("SELECT id FROM orders WHERE id = ? AND channel = ?", (ref, channel))
        if row is None:
            raise KeyError(ref)
        return row["id"]
    row = store.one("SELECT id FROM orders WHERE id = ?", (ref,))
    if row is not None:
        return row["id"]
    rows = store.all(
        "SELECT id, channel FROM orders WHERE external_id = ? ORDER BY channel LIMIT 20", (ref,)
    )
    if not rows:
        raise KeyError(ref)
    if len(rows) > 1:
        raise AmbiguousOrder(ref, [r["channel"] for r in rows])
    return rows[0]["id"]


def get(store: Store, order_id: str, channel: str | None = None) -> dict[str, Any] | None:
    """An order with its lines, packages and timeline, or None (see `find` for the names)."""
    with store.read():
        try:
            oid = find(store, order_id, channel)
        except KeyError:
            return None
        row = store.one("SELECT * FROM orders WHERE id = ?", (oid,))
        lines = store.all(
            "SELECT line_no, sku, qty, cancelled FROM order_lines WHERE order_id = ? "
            "ORDER BY line_no",
            (oid,),
        )
        packages = store.all(
            "SELECT id, sscc, tracking, weight_g, status, carrier, service, rate_cents, zone, "
            "created_at, confirmed_at, lost_at, replaced_by, "
            "(SELECT MAX(loaded_at) FROM manifest_packages m WHERE m.package_id = packages.id) "
            "AS loaded_at FROM packages WHERE order_id = ? ORDER BY id",
            (oid,),
        )
        carried = _tracking_events(store, oid)
        for p in packages:
            p["tracking_events"] = carried.get(p["id"], [])
            p["tracking_status"] = tracking.package_state(
                (e["at"], e["type"]) for e in p["tracking_events"]
            )
        events = store.all(
            "SELECT at, status, event, detail FROM order_events WHERE order_id = ? ORDER BY id",
            (oid,),
        )
        shipments = store.all(
            """SELECT s.id, s.warehouse, s.status, s.distance_km, s.created_at,
                      COALESCE(SUM(r.qty - r.released), 0) AS units,
                      COALESCE(SUM(r.picked), 0) AS picked
               FROM shipments s LEFT JOIN reservations r ON r.shipment_id = s.id
               WHERE s.order_id = ? GROUP BY s.id ORDER BY s.id""",
            (oid,),
        )
        mails = mail.listing(store, oid)
    return {
        "id": oid,
        "order_id": row["external_id"],
        "shop_number": row["shop_number"],
        "channel": row["channel"],
        "status": row["status"],
        "priority": row["priority"],
        "promised_by": row["promised_by"],
        "service": row["service"],
        "warehouse": row["warehouse"],
        "ship_to": json.loads(row["ship_to"]),
        "email": row["email"],
        "lat": row["lat"],
        "lon": row["lon"],
        "geocoded": row["geocoded"],
        "tracking_url": mail.tracking_url(row["track_token"]),
        "lines": lines,
        "shipments": shipments,
        "backordered": row["waiting"],
        "packages": packages,
        "timeline": [{**e, "detail": json.loads(e["detail"])} for e in events],
        "customer_mails": mails,
    }


def _tracking_events(store: Store, order_id: str) -> dict[int, list[dict[str, Any]]]:
    """Each package's tracking events, in the order they happened (inside a read)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for r in store.all(
        """SELECT e.package_id, e.type, e.at, e.place, e.reason, e.event_id, e.received_at
           FROM tracking_events e JOIN packages p ON p.id = e.package_id
           WHERE p.order_id = ? ORDER BY e.package_id, e.at, e.id""",
        (order_id,),
    ):
        r["place"] = json.loads(r["place"]) if r["place"] else None
        found.setdefault(r.pop("package_id"), []).append(r)
    return found


def counts_by_status(store: Store) -> dict[str, int]:
    """How many orders are in each status."""
    return {
        r["status"]: r["n"]
        for r in store.all("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
    }
