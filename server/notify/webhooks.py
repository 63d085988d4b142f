"""Telling the shops: webhook subscriptions and the durable outbox of order status changes.

Workflow: a shop subscribes a URL to the events it wants (`order.picked`,
`order.packed`, ...). Every time an order's status changes, `record()` calls
`enqueue()` in the same transaction: one row per matching subscription, with
the exact JSON that will be posted, so a change that commits is never lost and
one that rolls back never goes out. The delivery worker (server/notify/delivery.py)
claims due rows, posts them signed and records the outcome here. For one
subscription and one order, a row waits while an earlier row is pending, so a
shop hears an order's changes in the order they happened; a row that fails past
the retry window is dead (listed, retried by hand). Nothing here does IO.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from server.core.clock import now
from server.core.schemas import WEBHOOK_EVENTS, OrderOut
from server.notify.domain import destinations
from server.notify.mail import take_back
from server.store import Store
from server.store.db import dumps

STATUSES: tuple[str, ...] = get_args(OrderOut.model_fields["status"].annotation)
EVENTS: tuple[str, ...] = WEBHOOK_EVENTS  # order.<status>, for every status; return.received
SECRET_PREFIX = "whsec_"
DELIVERY_STATUSES = ("pending", "delivered", "dead", "dropped")


class SubscriptionError(ValueError):
    """A subscription that cannot be made; `problems` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class NotRetryable(ValueError):
    """Only a dead delivery can be sent again."""


# ---------------------------------------------------------------- the outbox (inside record())
_ENQUEUE = """
INSERT INTO webhook_deliveries (subscription_id, order_id, event, msg_id, payload, status,
                                next_at, created_at)
SELECT s.id, o.id, :type, 'msg_' || lower(hex(randomblob(16))),
       json_object('type', :type, 'timestamp', :at, 'data', json_object(
         'id', o.id, 'order_id', o.external_id, 'channel', o.channel,
         'shop_number', o.shop_number, 'status', :status,
         'previous_status', CASE WHEN first.yes THEN NULL ELSE o.status END,
         'event', :event, 'detail', json(:detail))),
       'pending',
       -- behind a pending event of the same order: not due before it is
       MAX(:due, COALESCE((SELECT MAX(x.next_at) FROM webhook_deliveries x
                           WHERE x.status = 'pending' AND x.subscription_id = s.id
                             AND x.order_id = o.id), 0)),
       :at
FROM webhook_subscription_events e
JOIN webhook_subscriptions s ON s.id = e.subscription_id
JOIN orders o ON o.id = :order
CROSS JOIN (SELECT NOT EXISTS (SELECT 1 FROM order_events WHERE order_id = :order) AS yes) first
WHERE e.event = :type AND s.removed_at IS NULL AND (s.channel IS NULL OR s.channel = o.channel)
  AND (o.status != :status OR first.yes)
"""
# The same on PostgreSQL: its JSON builder, random id and two-argument GREATEST.
_ENQUEUE_PG = """
INSERT INTO webhook_deliveries (subscription_id, order_id, event, msg_id, payload, status,
                                next_at, created_at)
SELECT s.id, o.id, :type, 'msg_' || replace(gen_random_uuid()::text, '-', ''),
       jsonb_build_object('type', CAST(:type AS TEXT), 'timestamp', CAST(:at AS TEXT),
         'data', jsonb_build_object(
         'id', o.id, 'order_id', o.external_id, 'channel', o.channel,
         'shop_number', o.shop_number, 'status', CAST(:status AS TEXT),
         'previous_status', CASE WHEN first.yes THEN NULL ELSE o.status END,
         'event', CAST(:event AS TEXT), 'detail', CAST(:detail AS JSONB)))::text,
       'pending',
       GREATEST(:due, COALESCE((SELECT MAX(x.next_at) FROM webhook_deliveries x
                                WHERE x.status = 'pending' AND x.subscription_id = s.id
                                  AND x.order_id = o.id), 0)),
       :at
FROM webhook_subscription_events e
JOIN webhook_subscriptions s ON s.id = e.subscription_id
JOIN orders o ON o.id = :order
CROSS JOIN (SELECT NOT EXISTS (SELECT 1 FROM order_events WHERE order_id = :order) AS yes) first
WHERE e.event = :type AND s.removed_at IS NULL AND (s.channel IS NULL OR s.channel = o.channel)
  AND (o.status != :status OR first.yes)
"""


def enqueue(
    store: Store, order_id: str, status: str, event: str, at: str, detail: dict[str, Any]
) -> None:
    """Queue `order.<status>` for every subscription to it, if the status changes (inside the
    write that changes it, before the order row is updated).

    One INSERT: with no subscription to the event it finds no row through the primary key,
    so the scan path pays next to nothing for it.
    """
    store.execute(
        _ENQUEUE_PG if store.dialect == "postgresql" else _ENQUEUE,
        {
            "type": f"order.{status}",
            "at": at,
            "status": status,
            "event": event,
            "detail": dumps(detail),
            "due": time.time(),
            "order": order_id,
        },
    )


def enqueue_event(store: Store, order_id: str, event: str, data: dict[str, Any]) -> int:
    """Queue an event that is not a status change (`return.received`) for every subscription
    to it (inside the write that made it); returns how many deliveries were queued.

    The payload is the order's envelope (as `order.<status>`) with `data` merged in; like a
    status change it waits behind the order's earlier pending deliveries to the same URL.
    """
    order = store.one(
        "SELECT id, external_id, channel, shop_number, status FROM orders WHERE id = ?",
        (order_id,),
    )
    subs = store.all(
        """SELECT s.id FROM webhook_subscription_events e
           JOIN webhook_subscriptions s ON s.id = e.subscription_id
           WHERE e.event = ? AND s.removed_at IS NULL AND (s.channel IS NULL OR s.channel = ?)""",
        (event, order["channel"]),
    )
    at = now()
    payload = {
        "type": event,
        "timestamp": at,
        "data": {
            "id": order["id"],
            "order_id": order["external_id"],
            "channel": order["channel"],
            "shop_number": order["shop_number"],
            "status": order["status"],
            **data,
        },
    }
    for sub in subs:
        behind = store.one(
            "SELECT MAX(next_at) AS at FROM webhook_deliveries WHERE status = 'pending' "
            "AND subscription_id = ? AND order_id = ?",
            (sub["id"], order_id),
        )
        store.execute(
            """INSERT INTO webhook_deliveries (subscription_id, order_id, event, msg_id, payload,
                                               status, next_at, created_at)
               VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)""",
            (
                sub["id"],
                order_id,
                event,
                "msg_" + secrets.token_hex(16),
                dumps(payload),
                max(time.time(), behind["at"] or 0),
                at,
            ),
        )
    return len(subs)


# ---------------------------------------------------------------- subscriptions
def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(secret: str) -> str | None:
    """Why a signing secret cannot be used, or None."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        return "not base64 (expected whsec_ followed by base64 of 24 to 64 random bytes)"
    if not 24 <= len(key) <= 64:
        return f"{len(key)} bytes: a secret holds 24 to 64 random bytes (whsec_ + base64)"
    return None


def channel_problem(store: Store, channel: str) -> str | None:
    """Why a subscription cannot be bound to `channel`, or None: the channel must be one the
    server knows, set (PUT /api/channels, `scanfloor channel set`) or named by an order."""
    if store.one("SELECT 1 FROM channels WHERE code = ?", (channel,)) is not None:
        return None
    if store.one("SELECT 1 FROM orders WHERE channel = ? LIMIT 1", (channel,)) is not None:
        return None
    return (
        f"unknown channel {channel}: no order came in on it and it is not set; "
        f"set it first (PUT /api/channels/{channel}, an empty body takes the defaults)"
    )


def subscribe(
    store: Store,
    url: str,
    events: list[str],
    secret: str | None = None,
    channel: str | None = None,
    allowed_hosts: Collection[str] = (),
) -> tuple[dict[str, Any], str | None]:
    """Subscribe a URL to events; returns the subscription and the secret if one was made.

    A `channel` must be known (`channel_problem`): a misspelt one would never match an order.
    The URL is judged by server/notify/domain/destinations.py: no `user:pass@`, and an IP
    address must be public unless its host is in `allowed_hosts` (a host name is judged by
    what it resolves to at each send)."""
    problems: list[tuple[str, str]] = []
    if (why := destinations.url_problem(url, allowed_hosts)) is not None:
        problems.append(("url", why))
    if not events:
        problems.append(("events", f"name at least one of {', '.join(EVENTS)}"))
    for i, event in enumerate(events):
        if event not in EVENTS:
            problems.append((f"events[{i}]", f"unknown event {event}; one of {', '.join(EVENTS)}"))
    made = None
    if secret is None:
        secret = made = new_secret()
    elif (why := secret_problem(secret)) is not None:
        problems.append(("secret", why))
    if channel is not None and (why := channel_problem(store, channel)) is not None:
        problems.append(("channel", why))
    if problems:
        raise SubscriptionError(problems)
    with store.write():
        sid = store.execute(
            "INSERT INTO webhook_subscriptions (url, secret, channel, created_at) "
            "VALUES (?, ?, ?, ?)",
            (url, secret, channel, now()),
        ).lastrowid
        for event in dict.fromkeys(events):
            store.execute(
                "INSERT INTO webhook_subscription_events (subscription_id, event) VALUES (?, ?)",
                (sid, event),
            )
    return get_subscription(store, sid), made


def get_subscription(store: Store, sid: int) -> dict[str, Any] | None:
    """A subscription (never its secret), with how its deliveries stand."""
    found = list_subscriptions(store, sid)
    return found[0] if found else None


def list_subscriptions(store: Store, sid: int | None = None) -> list[dict[str, Any]]:
    """Subscriptions still in force, oldest first (secrets are never read back)."""
    where = "AND s.id = ?" if sid is not None else ""
    rows = store.all(
        f"""SELECT s.id, s.url, s.channel, s.created_at,
                   (SELECT {"string_agg(event, ',' ORDER BY event)" if store.dialect == "postgresql" else "GROUP_CONCAT(event)"}
                    FROM webhook_subscription_events
                    WHERE subscription_id = s.id) AS events,
                   (SELECT COUNT(*) FROM webhook_deliveries d
                    WHERE d.subscription_id = s.id AND d.status = 'pending') AS pending,
                   (SELECT COUNT(*) FROM webhook_deliveries d
                    WHERE d.subscription_id = s.id AND d.status = 'dead') AS dead
            FROM webhook_subscriptions s WHERE s.removed_at IS NULL {where} ORDER BY s.id""",
        (sid,) if sid is not None else (),
    )
    for r in rows:
        r["events"] = sorted((r["events"] or "").split(","), key=EVENTS.index)
    return rows


def unsubscribe(store: Store, sid: int) -> int:
    """Remove a subscription; what it had not delivered yet is dropped. Returns how many."""
    with store.write():
        if (
            store.one(
                "SELECT 1 FROM webhook_subscriptions WHERE id = ? AND removed_at IS NULL", (sid,)
            )
            is None
        ):
            raise KeyError(sid)
        store.execute("UPDATE webhook_subscriptions SET removed_at = ? WHERE id = ?", (now(), sid))
        store.execute("DELETE FROM webhook_subscription_events WHERE subscription_id = ?", (sid,))
        return store.execute(
            "UPDATE webhook_deliveries SET status = 'dropped', last_error = 'unsubscribed' "
            "WHERE subscription_id = ? AND status = 'pending'",
            (sid,),
        ).rowcount


# ---------------------------------------------------------------- the delivery worker's side
@dataclass(frozen=True)
class Job:
    """A claimed delivery: post `payload` to `url`, signed with `secret`, as `msg_id`."""

    id: int
    subscription_id: int
    order_id: str
    url: str
    secret: str
    msg_id: str
    payload: str
    attempts: int
    first_attempt_at: float | None


_DUE = """
SELECT d.id, d.next_at FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
WHERE d.status = 'pending' AND d.next_at <= :now
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                  WHERE e.status = 'pending' AND e.subscription_id = d.subscription_id
                    AND e.order_id = d.order_id AND e.id < d.id)
ORDER BY d.next_at LIMIT :limit
"""


_GONE = """
SELECT 1 FROM webhook_deliveries INDEXED BY webhook_deliveries_claimed
WHERE status = 'pending' AND claimed_by IS NOT NULL AND claimed_by != :me
  AND claimed_by NOT IN (SELECT instance FROM server_processes) LIMIT 1
"""


def claim_due(
    store: Store, limit: int, lease_seconds: float, instance: str | None = None
) -> list[Job]:
    """Take up to `limit` due deliveries, each the earliest pending of its subscription and order.

    A claim moves `next_at` past the lease and names the server process `instance`: another
    process passes it by; if this one dies mid-post, any live process takes the claim back
    at once (its process is no longer in `server_processes`), else (no instance: tools,
    tests) the delivery is due again (same webhook-id) once the lease lapses. With nothing
    due this is two indexed reads: no write lock is taken.
    """
    at = time.time()
    if store.one(_GONE, {"me": instance or ""}) is not None:
        with store.write():
            take_back(store, "webhook_deliveries", instance, at)
    due = store.all(_DUE, {"now": at, "limit": limit})
    if not due:
        return []
    jobs = []
    with store.write():
        for row in due:
            # Compare and set: a delivery another process claimed meanwhile is passed by.
            if not store.execute(
                "UPDATE webhook_deliveries SET next_at = ?, claimed_by = ? "
                "WHERE id = ? AND status = 'pending' AND next_at = ?",
                (at + lease_seconds, instance, row["id"], row["next_at"]),
            ).rowcount:
                continue
            job = store.one(
                """SELECT d.id, d.subscription_id, d.order_id, s.url, s.secret, d.msg_id,
                          d.payload, d.attempts, d.first_attempt_at
                   FROM webhook_deliveries d JOIN webhook_subscriptions s
                     ON s.id = d.subscription_id WHERE d.id = ?""",
                (row["id"],),
            )
            jobs.append(Job(**job))
    return jobs


def next_delay(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after the n-th failed attempt: base, 2 base, 4 base ... up to cap,
    with up to 10% jitter so a receiver coming back is not hit by every retry at once."""
    delay = min(cap, base * 2 ** min(attempts - 1, 60))
    return delay * (1 + random.random() / 10)


def delivered(store: Store, job: Job, attempted_at: float) -> None:
    """The receiver took it (a 2xx)."""
    with store.write():
        store.execute(
            """UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,
                 first_attempt_at = COALESCE(first_attempt_at, :at), last_attempt_at = :at,
                 last_error = NULL, delivered_at = :when, claimed_by = NULL
               WHERE id = :id AND status = 'pending'""",
            {"at": attempted_at, "when": now(), "id": job.id},
        )
        # The order's next event, queued while this one was claimed, took the claim's lease as
        # its earliest time: it waited only for this one, so it is due now.
        _next_due_now(store, job)


def _next_due_now(store: Store, job: Job) -> None:
    """The order's next pending event, never tried, is due now (its earliest time may be a
    claim's lease or a backoff of `job`, which no longer holds it back)."""
    store.execute(
        f"""UPDATE webhook_deliveries SET next_at = {store.least}(next_at, :now)
           WHERE id = (SELECT id FROM webhook_deliveries WHERE status = 'pending'
                       AND subscription_id = :sub AND order_id = :order ORDER BY id LIMIT 1)
             AND attempts = 0""",
        {"now": time.time(), "sub": job.subscription_id, "order": job.order_id},
    )


def failed(
    store: Store,
    job: Job,
    attempted_at: float,
    error: str,
    base: float,
    cap: float,
    retry_for: float,
) -> str:
    """An attempt failed: due again after the backoff, or dead once `retry_for` seconds have
    passed since the first attempt. Returns the delivery's status."""
    first = job.first_attempt_at if job.first_attempt_at is not None else attempted_at
    attempts = job.attempts + 1
    dead = time.time() - first >= retry_for
    store.execute(
        """UPDATE webhook_deliveries SET status = :status, attempts = :attempts,
             first_attempt_at = :first, last_attempt_at = :at, last_error = :error,
             next_at = :next, claimed_by = NULL WHERE id = :id AND status = 'pending'""",
        {
            "status": "dead" if dead else "pending",
            "attempts": attempts,
            "first": first,
            "at": attempted_at,
            "error": error[:500],
            "next": time.time() + next_delay(attempts, base, cap),
            "id": job.id,
        },
    )
    if dead:
        # A dead event no longer holds back its order's later ones: the next is due now (its
        # earliest time may be a claim's lease or an earlier backoff of this one).
        _next_due_now(store, job)
        return "dead"
    # The order's later events wait for this one: not due before it, so a long outage does
    # not leave every one of them due (and looked at) on every pass.
    store.execute(
        f"""UPDATE webhook_deliveries SET next_at = {store.greatest}(next_at, (SELECT next_at
             FROM webhook_deliveries WHERE id = :id))
           WHERE status = 'pending' AND subscription_id = :sub AND order_id = :order
             AND id > :id""",
        {"id": job.id, "sub": job.subscription_id, "order": job.order_id},
    )
    return "pending"


# ---------------------------------------------------------------- what people see and do
def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def list_deliveries(
    store: Store,
    status: str | None = None,
    subscription: int | None = None,
    order_id: str | None = None,
    limit: int = 100,
    delivery_id: int | None = None,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, by status, subscription or order."""
    filters = {
        "d.status": status,
        "d.subscription_id": subscription,
        "d.order_id": order_id,
        "d.id": delivery_id,
    }
    used = {k: v for k, v in filters.items() if v is not None}
    where = (" WHERE " + " AND ".join(f"{k} = ?" for k in used)) if used else ""
    rows = store.all(
        f"""SELECT d.id, d.subscription_id AS subscription, s.url, d.order_id, d.event, d.msg_id,
                   d.status, d.attempts, d.next_at, d.first_attempt_at, d.last_attempt_at,
                   d.last_error, d.created_at, d.delivered_at, d.payload
            FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
            {where} ORDER BY d.id DESC LIMIT ?""",
        (*used.values(), limit),
    )
    for r in rows:
        r["payload"] = json.loads(r["payload"])
        r["next_at"] = _iso(r["next_at"]) if r["status"] == "pending" else None
        r["first_attempt_at"] = _iso(r["first_attempt_at"])
        r["last_attempt_at"] = _iso(r["last_attempt_at"])
    return rows


def retry(store: Store, delivery_id: int) -> dict[str, Any]:
    """Send a dead delivery again, now, with a fresh retry window (same webhook-id)."""
    with store.write():
        row = store.one(
            """SELECT d.status, s.removed_at FROM webhook_deliveries d
               JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = ?""",
            (delivery_id,),
        )
        if row is None:
            raise KeyError(delivery_id)
        if row["status"] != "dead" or row["removed_at"] is not None:
            why = "its subscription was removed" if row["removed_at"] else f"it is {row['status']}"
            raise NotRetryable(f"delivery {delivery_id} cannot be retried: {why}")
        store.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_at = ?, "
            "first_attempt_at = NULL WHERE id = ?",
            (time.time(), delivery_id),
        )
    return list_deliveries(store, delivery_id=delivery_id)[0]
