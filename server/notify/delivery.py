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

import requests
from gevent.event import Event
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


# What of a receiver's answer is read (and thrown away) so its connection can be used again;
# a longer answer closes the connection instead.
DRAIN_BYTES = 64 * 1024


def _release(resp: requests.Response) -> None:
    """Read the answer's body (never kept) and give the connection back to the pool, alive."""
    raw = resp.raw
    raw.read(DRAIN_BYTES, decode_content=False)
    if raw.read(1, decode_content=False) == b"":
        raw.release_conn()  # the whole answer read: the next post to this shop reuses it


Outcome = tuple[webhooks.Job, float, "str | None"]  # the job, when posted, None or the error


class Deliverer:
    """Claims due deliveries and posts them, a few at a time (one per order and subscription),
    over kept-alive connections; the outcomes that came in meanwhile are written down together,
    in one transaction."""

    def __init__(self, store: Store, settings: WebhookSettings, instance: str | None = None):
        self.store = store
        self.settings = settings
        self.instance = instance  # the server process claims are made for (server_processes)
        # Public addresses only, judged at each connection (server/notify/outbound.py).
        self.session = outbound.session(settings.allowed_hosts, settings.concurrency)
        self._done: list[Outcome] = []  # posted, not written down yet
        self._finished = Event()  # set as each post ends

    @property
    def lease(self) -> float:
        """How long a claim holds: past the request's timeout, so a live attempt is never doubled."""
        return self.settings.timeout_seconds + max(1.0, self.settings.timeout_seconds)

    def run(self) -> None:
        """Deliver for ever (a background greenlet): write down what was posted, claim what the
        free slots can take, post; wait for a post to end (or the poll period)."""
        pool = Pool(self.settings.concurrency)
        while True:
            try:
                done, self._done = self._done, []
                if done:
                    self.record(done)
                free = pool.free_count()
                if free:
                    for job in webhooks.claim_due(self.store, free, self.lease, self.instance):
                        pool.spawn(self._post_later, job)
            except Exception:  # keep delivering: one bad pass must not end it
                log.exception("claiming webhook deliveries failed")
            self._finished.clear()
            if not self._done:
                self._finished.wait(self.settings.poll_seconds)

    def _post_later(self, job: webhooks.Job) -> None:
        outcome = self.post(job)  # posted first: the list may be swapped while it goes
        self._done.append(outcome)
        self._finished.set()

    def run_once(self) -> int:
        """Claim what is due and post it now, one after another, then write the outcomes down
        in one transaction; returns how many (tests, tools)."""
        jobs = webhooks.claim_due(self.store, self.settings.concurrency, self.lease, self.instance)
        self.record([self.post(job) for job in jobs])
        return len(jobs)

    def deliver(self, job: webhooks.Job) -> bool:
        """Post one delivery and write down how it went; True if the receiver took it."""
        outcome = self.post(job)
        self.record([outcome])
        return outcome[2] is None

    def post(self, job: webhooks.Job) -> Outcome:
        """Post one delivery (nothing written down): (job, when, None if the receiver took it
        else the error in our words)."""
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
                _release(resp)
        except requests.RequestException as exc:
            error = outbound.failure_words(exc)
        except Exception as exc:  # a bad URL or secret: retried and, in the end, dead
            log.exception("delivery %s failed", job.id)
            error = outbound.failure_words(exc)
        return job, at, error

    def record(self, outcomes: list[Outcome]) -> None:
        """Write down how posts went: all in one transaction; if that fails, each in its own,
        so one bad row holds back only itself. One not written down keeps its claim, which
        lapses: it goes again, same webhook-id (receivers de-duplicate on it)."""
        if not outcomes:
            return
        try:
            with self.store.write():
                dead = [o for o in outcomes if self._write(o) == "dead"]
        except Exception:
            log.exception("recording %d deliveries at once failed; one by one", len(outcomes))
            dead = []
            for outcome in outcomes:
                try:
                    with self.store.write():
                        if self._write(outcome) == "dead":
                            dead.append(outcome)
                except Exception:  # not written down: the claim lapses and it goes again
                    log.exception("recording delivery %s failed", outcome[0].id)
        for job, _, error in dead:
            log.warning("webhook delivery %s to %s is dead: %s", job.id, job.url, error)

    def _write(self, outcome: Outcome) -> str:
        job, at, error = outcome
        if error is None:
            webhooks.delivered(self.store, job, at)
            return "delivered"
        s = self.settings
        return webhooks.failed(
            self.store, job, at, error, s.retry_base_seconds, s.retry_max_seconds,
            s.retry_for_seconds,
        )  # fmt: skip
