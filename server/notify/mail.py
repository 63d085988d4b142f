"""Telling the customer: the durable outbox of shipping e-mails, and the tracking page's link.

Workflow: when an order's status changes to one the customer hears about (`shipped`,
`out_for_delivery`, `delivered`, `exception`), `orders.record()` calls `enqueue()` in
the same transaction: one row per status change (unique on the timeline event), so a
change that commits always has its mail and one that rolls back has none. The mail
worker (server/notify/mailer.py) claims due rows, renders them from the order as it is then,
sends them over SMTP and writes the outcome here. A failed attempt is retried with
backoff for as long as it takes (nothing is dropped); a mail the server refuses for
good (a 5xx answer) is kept as `refused`, with the server's words. An order without an
e-mail address gets a `no_address` row, so the timeline says why no mail went; with
e-mail turned off (`[email] enabled = false`) rows are written `off` and never sent, so
turning it on later does not send old news. Nothing here does IO.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Any

from server.config import EmailSettings
from server.core.clock import now
from server.store import Store
from server.store.db import dumps

KINDS: tuple[str, ...] = ("shipped", "out_for_delivery", "delivered", "exception")
# Not a status change: a return received at the dock (queued by server/returns/rmas.py).
RETURN_KIND = "return_received"
MAIL_STATUSES = ("pending", "sent", "refused", "no_address", "off")

# Set from the server's settings (configure) by the app and the admin CLI.
SETTINGS: dict[str, Any] = {"enabled": False, "public_base_url": ""}


def configure(settings: EmailSettings) -> None:
    """Take the [email] settings record() and the tracking links need (once per process)."""
    SETTINGS.update(
        enabled=settings.enabled,
        public_base_url=settings.public_base_url,
        shop_name=settings.shop_name,
        shop_names=dict(settings.shop_names),
        reply_to=settings.reply_to,
        colour=settings.colour,
        contact=settings.contact,
        channels={code: look.model_dump() for code, look in settings.channels.items()},
    )


def tracking_url(token: str) -> str:
    """The public tracking page of the order with this token (absolute if the base is set)."""
    return f"{SETTINGS['public_base_url'].rstrip('/')}/track/{token}"


def enqueue(store: Store, order_id: str, kind: str, event_id: int, at: str) -> None:
    """Queue the customer's mail for one status change (inside the write that records it)."""
    store.execute(
        """INSERT INTO customer_mails (order_id, event_id, kind, recipient, status, next_at,
                                       created_at)
           SELECT id, :event, :kind, email,
                  CASE WHEN email IS NULL THEN 'no_address'
                       WHEN :enabled = 1 THEN 'pending' ELSE 'off' END,
                  :due, :at
           FROM orders WHERE id = :order""",
        {
            "event": event_id,
            "kind": kind,
            "enabled": bool(SETTINGS["enabled"]),
            "due": time.time(),
            "at": at,
            "order": order_id,
        },
    )


@dataclass(frozen=True)
class Job:
    """One mail claimed for sending."""

    id: int
    order_id: str
    event_id: int
    kind: str
    recipient: str
    attempts: int
    created_at: str = ""
    message_id: str | None = None  # fixed at the first attempt, the same on every later one


# Claims held by a server process that is gone (not in `server_processes`: reaped, or every
# other process forgotten by a lone process at its start) are due at once, not at the lease.
GONE_CLAIMS = """
UPDATE {table} SET next_at = :now, claimed_by = NULL
WHERE status = 'pending' AND claimed_by IS NOT NULL AND claimed_by != :me
  AND claimed_by NOT IN (SELECT instance FROM server_processes)
"""

# Due, oldest first, and not behind an earlier mail of its order that is not due (waiting
# to be retried, or claimed by another process): a later mail of an order never overtakes
# an earlier one, so the customer reads "shipped" before "delivered". Mails of one order
# due together are claimed together and sent in this order (Mailer.send holds the rest of
# an order back when one of its mails fails).
_DUE = """
SELECT id, order_id, event_id, kind, recipient, attempts, created_at, message_id
FROM customer_mails m
WHERE status = 'pending' AND next_at <= :now
  AND NOT EXISTS (SELECT 1 FROM customer_mails e INDEXED BY customer_mails_line
                  WHERE e.status = 'pending' AND e.order_id = m.order_id AND e.id < m.id
                    AND e.next_at > :now)
ORDER BY id LIMIT :limit
"""


def take_back(store: Store, table: str, instance: str | None, at: float) -> int:
    """Make the claims of processes gone due at `at` (inside a write); returns how many."""
    return store.execute(
        GONE_CLAIMS.format(table=table), {"now": at, "me": instance or ""}
    ).rowcount


def claim_due(
    store: Store, limit: int, lease: float, instance: str | None = None, domain: str | None = None
) -> list[Job]:
    """Claim up to `limit` due mails for `lease` seconds, in the name of server process
    `instance`. A claim whose process is gone is taken back at once; with no instance (tools,
    tests) a crashed claim lapses with its lease. With the sender's `domain`, a mail's
    Message-ID is fixed in the same write (at its first claim, kept ever after)."""
    at = time.time()
    jobs = []
    with store.write():
        take_back(store, "customer_mails", instance, at)
        rows = store.all(_DUE, {"now": at, "limit": limit})
        for r in rows:
            job = Job(**r)
            if domain and not job.message_id:
                job = replace(job, message_id=message_id_for(job, domain))
            store.execute(
                "UPDATE customer_mails SET next_at = ?, claimed_by = ?, "
                "message_id = COALESCE(message_id, ?) WHERE id = ?",
                (at + lease, instance, job.message_id, r["id"]),
            )
            jobs.append(job)
    return jobs


def message_id_for(job: Job, domain: str) -> str:
    """The mail's whole Message-ID, from its outbox row alone (no time, no pid, no chance):
    the same on every attempt, so a copy sent again after a crash is the same message."""
    stamp = re.sub(r"[^0-9]", "", job.created_at)
    order = re.sub(r"[^A-Za-z0-9-]", "-", job.order_id)
    return f"<scanfloor.mail{job.id}.{stamp}.{order}@{domain}>"


def fix_message_id(store: Store, job: Job, domain: str) -> str:
    """The mail's Message-ID: made and kept at its first attempt, read back at the others."""
    if job.message_id:
        return job.message_id
    with store.write():
        store.execute(
            "UPDATE customer_mails SET message_id = ? WHERE id = ? AND message_id IS NULL",
            (message_id_for(job, domain), job.id),
        )
        row = store.one("SELECT message_id FROM customer_mails WHERE id = ?", (job.id,))
    return row["message_id"]


def sent(store: Store, job: Job) -> None:
    """The mail server took it."""
    with store.write():
        store.execute(
            "UPDATE customer_mails SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
            "last_error = NULL, claimed_by = NULL WHERE id = ?",
            (now(), job.id),
        )


def hold(store: Store, job: Job) -> None:
    """Not sent, and no attempt: an earlier mail of its order failed. It waits behind it."""
    with store.write():
        store.execute(
            "UPDATE customer_mails SET next_at = ?, claimed_by = NULL WHERE id = ?",
            (time.time(), job.id),
        )


def failed(store: Store, job: Job, error: str, permanent: bool, base: float, cap: float) -> str:
    """An attempt failed: retry after base * 2^(n-1) seconds (at most cap), or keep it refused
    when the server refused it for good; returns the mail's status."""
    attempts = job.attempts + 1
    status = "refused" if permanent else "pending"
    delay = min(cap, base * 2 ** (attempts - 1))
    with store.write():
        store.execute(
            "UPDATE customer_mails SET status = ?, attempts = ?, next_at = ?, last_error = ?, "
            "claimed_by = NULL WHERE id = ?",
            (status, attempts, time.time() + delay, error[:500], job.id),
        )
    return status


def resend(store: Store, mail_id: int, by: str) -> int:
    """Queue a customer mail again (inside a write): a new outbox row of the same kind, to the
    order's e-mail address as it is now, with its own timeline event (`mail_resent`) and so
    its own Message-ID; returns the new row's id."""
    old = store.one("SELECT order_id, kind FROM customer_mails WHERE id = ?", (mail_id,))
    at = now()
    event_id = store.execute(
        "INSERT INTO order_events (order_id, at, status, event, detail) "
        "SELECT id, ?, status, 'mail_resent', ? FROM orders WHERE id = ?",
        (at, dumps({"kind": old["kind"], "mail": mail_id, "by": by}), old["order_id"]),
    ).lastrowid
    enqueue(store, old["order_id"], old["kind"], event_id, at)
    return store.one("SELECT id FROM customer_mails WHERE event_id = ?", (event_id,))["id"]


def listing(store: Store, order_id: str) -> list[dict[str, Any]]:
    """The customer mails of an order, oldest first (inside a read)."""
    return store.all(
        "SELECT id, kind, status, recipient, attempts, last_error, created_at, sent_at "
        "FROM customer_mails WHERE order_id = ? ORDER BY id",
        (order_id,),
    )


def counts(store: Store) -> dict[str, int]:
    """How many customer mails are in each status."""
    return {
        r["status"]: r["n"]
        for r in store.all("SELECT status, COUNT(*) AS n FROM customer_mails GROUP BY status")
    }
