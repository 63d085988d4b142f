"""The webhook delivery worker: posts queued order events to the shops, signed, until they take them.

A background greenlet of the server process, apart from the scan path: `record()`
only INSERTs into the outbox (server/notify/webhooks.py); this worker claims
due deliveries, posts each with the Standard Webhooks headers (`webhook-id`,
`webhook-timestamp`, `webhook-signature`, signed by the `standardwebhooks`
package), and records the outcome: a 2xx is delivered, anything else is retried
with exponential backoff until the retry window closes, then it is dead. A
receiver may get a delivery twice (a crash after it answered, before we wrote
it down), always with the same `webhook-id`: receivers de-duplicate on it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import gevent
import requests
from gevent.pool import Pool
from standardwebhooks import Webhook

from server.config import WebhookSettings
from server.notify import outbound, webhooks
from server.store import Store

log = logging.getLogger("scanfloor.webhooks")
USER_AGENT = "scanfloor-webhooks/1"


def signed_headers(job: webhooks.Job, at: float) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (its own timestamp, the message's id)."""
    stamp = int(at)
    signature = Webhook(job.secret).sign(
        job.msg_id, datetime.fromtimestamp(stamp, UTC), job.payload
    )
    return {
        "webhook-id": job.msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class Deliverer:
    """Claims due deliveries and posts them, a few at a time (one per order and subscription)."""

    def __init__(self, store: Store, settings: WebhookSettings, instance: str | None = None):
        self.store = store
        self.settings = settings
        self.instance = instance  # the server process claims are made for (server_processes)
        # Public addresses only, judged at each connection (server/notify/outbound.py).
        self.session = outbound.session(settings.allowed_hosts, settings.concurrency)

    @property
    def lease(self) -> float:
        """How long a claim holds: past the request's timeout, so a live attempt is never doubled."""
        return self.settings.timeout_seconds + max(1.0, self.settings.timeout_seconds)

    def run(self) -> None:
        """Deliver for ever (a background greenlet): claim what the free slots can take, post."""
        pool = Pool(self.settings.concurrency)
        while True:
            claimed = 0
            try:
                free = pool.free_count()
                if free:
                    for job in webhooks.claim_due(self.store, free, self.lease, self.instance):
                        pool.spawn(self.deliver, job)
                        claimed += 1
            except Exception:  # keep delivering: one bad pass must not end it
                log.exception("claiming webhook deliveries failed")
            gevent.sleep(0 if claimed else self.settings.poll_seconds)

    def run_once(self) -> int:
        """Claim what is due and post it now, one after another; returns how many (tests, tools)."""
        jobs = webhooks.claim_due(self.store, self.settings.concurrency, self.lease, self.instance)
        for job in jobs:
            self.deliver(job)
        return len(jobs)

    def deliver(self, job: webhooks.Job) -> bool:
        """Post one delivery and write down how it went; True if the receiver took it."""
        at = time.time()
        error = None
        try:
            with self.session.post(
                job.url,
                data=job.payload.encode(),
                headers=signed_headers(job, at),
                timeout=self.settings.timeout_seconds,
                allow_redirects=False,
                stream=True,
            ) as resp:
                # Only the status, in our words: what the receiver wrote is never read or kept.
                if not 200 <= resp.status_code < 300:
                    error = outbound.status_words(resp.status_code)
        except requests.RequestException as exc:
            error = outbound.failure_words(exc)
        except Exception as exc:  # a bad URL or secret: retried and, in the end, dead
            log.exception("delivery %s failed", job.id)
            error = outbound.failure_words(exc)
        s = self.settings
        try:
            if error is None:
                webhooks.delivered(self.store, job, at)
                return True
            status = webhooks.failed(
                self.store, job, at, error,
                s.retry_base_seconds, s.retry_max_seconds, s.retry_for_seconds,
            )  # fmt: skip
        except Exception:  # not written down: the claim lapses and it goes again, same id
            log.exception("recording delivery %s failed", job.id)
            return error is None
        if status == "dead":
            log.warning("webhook delivery %s to %s is dead: %s", job.id, job.url, error)
        return False
