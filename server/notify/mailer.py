"""The customer mail worker: sends the queued shipping e-mails over SMTP until they go.

A background greenlet of the server process, like the webhook worker (server/notify/delivery.py):
`orders.record()` only INSERTs into the outbox (server/notify/mail.py); this worker
claims due mails, renders each from the order as it is now (Jinja2 templates in
server/web/templates/mail/, plain text and HTML in one multipart message, with the shop's
name and the shop's order number), and hands them to the SMTP server named in `[email]`
(STARTTLS and login when configured). A refused-for-good answer (5xx) keeps the mail as
`refused`; anything else (server down, timeout, 4xx, a bad login) is retried with
backoff. Each mail's whole Message-ID is made from its outbox row at its first attempt and
kept there, so in the one case it can go twice (a crash after the server took it, before we
wrote that down) the copies are the same message and mail clients show it once. A claim
names this server process: when the process dies, any live one takes its claims back at
once (not when the lease runs out), and an order's mails go in the order of its status
changes (server/notify/mail.py).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import gevent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server.config import EmailSettings
from server.notify import customer_view, mail
from server.notify.domain import customer_words
from server.store import Store

log = logging.getLogger("scanfloor.mail")
TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates" / "mail"
BATCH = 20  # mails sent over one SMTP connection

SUBJECTS = {
    "shipped": "{shop}: your order {number} has shipped",
    "out_for_delivery": "{shop}: your order {number} is out for delivery",
    "delivered": "{shop}: your order {number} was delivered",
    "exception": "{shop}: a problem with the delivery of order {number}",
    "return_received": "{shop}: we received your return for order {number}",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    auto_reload=False,  # each template compiled once per process, not looked at on every mail
)


class Permanent(Exception):
    """The mail server refused the mail for good (a 5xx answer)."""


def render(kind: str, view: dict[str, Any], detail: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of one customer mail."""
    context = {
        **view,
        "kind": kind,
        "problem": customer_words.exception_words(detail.get("reason"))
        if kind == "exception"
        else "",
        # return_received: the RMA and each SKU with what was received and its grade
        "rma": detail.get("rma", ""),
        "returned": detail.get("lines", []),
    }
    subject = SUBJECTS[kind].format(shop=view["shop"], number=view["number"])
    text = _env.get_template(f"{kind}.txt").render(context)
    html = _env.get_template(f"{kind}.html").render({**context, "subject": subject})
    return subject, text, html


def compose(store: Store, job: mail.Job, settings: EmailSettings) -> EmailMessage:
    """The message for one queued mail, from the order as it is now."""
    view = customer_view.by_order(store, job.order_id)
    if view is None:
        raise Permanent(f"order {job.order_id} is gone")
    event = store.one("SELECT detail FROM order_events WHERE id = ?", (job.event_id,))
    detail = json.loads(event["detail"]) if event else {}
    subject, text, html = render(job.kind, view, detail)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr((view["shop"], settings.sender))
    msg["To"] = job.recipient
    msg["Date"] = _date_of(store, job)
    if view["look"]["reply_to"]:
        msg["Reply-To"] = view["look"]["reply_to"]
    domain = settings.sender.rpartition("@")[2] or "localhost"
    # Made from the outbox row once and kept: a second copy after a crash is the same message.
    msg["Message-ID"] = mail.fix_message_id(store, job, domain)
    msg["X-Scanfloor-Order"] = job.order_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _date_of(store: Store, job: mail.Job) -> str:
    """The RFC 5322 Date: when the status changed (the outbox row's time), so a copy sent
    again after a crash carries the same Date as the first."""
    created = job.created_at
    if not created:
        row = store.one("SELECT created_at FROM customer_mails WHERE id = ?", (job.id,))
        created = row["created_at"] if row else ""
    try:
        when = datetime.fromisoformat(created) if created else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    return format_datetime(when if when.tzinfo else when.replace(tzinfo=UTC))


def _permanent(exc: Exception) -> bool:
    """Whether an SMTP failure refuses this mail for good: a 5xx to its recipient or its
    content. A refused sender or login is our configuration's fault: retried until fixed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, Permanent)


class Mailer:
    """Claims due customer mails and sends them, a batch per SMTP connection."""

    def __init__(self, store: Store, settings: EmailSettings, instance: str | None = None):
        self.store = store
        self.settings = settings
        self.instance = instance  # the server process claims are made for (server_processes)
        self.sent = 0  # mails the SMTP server took since start (tools, the demo)

    @property
    def lease(self) -> float:
        """How long a claim holds: past a whole batch's timeouts, so no live send is doubled."""
        return self.settings.timeout_seconds * (BATCH + 2) + 5

    def run(self) -> None:
        """Send for ever (a background greenlet)."""
        while True:
            n = 0
            try:
                n = self.run_once()
            except Exception:  # keep sending: one bad pass must not end it
                log.exception("sending customer mails failed")
            gevent.sleep(0 if n else self.settings.poll_seconds)

    def run_once(self) -> int:
        """Claim what is due and send it now; returns how many were claimed (tests, tools)."""
        domain = self.settings.sender.rpartition("@")[2] or "localhost"
        jobs = mail.claim_due(self.store, BATCH, self.lease, self.instance, domain)
        if jobs:
            self.send(jobs)
        return len(jobs)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            if s.starttls:
                context = ssl.create_default_context(cafile=s.ca_file or None)
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, jobs: list[mail.Job]) -> None:
        """Send the claimed mails over one connection, then write down every outcome in one
        transaction (also when the batch is cut short by an exception).

        When the SMTP server cannot be reached (or refuses the TLS or the login), the rest of
        the batch is not tried: each is written down as failed with that error, to retry.
        Killed before the outcomes are written, the claims lapse and the mails go again, each
        the same message (its Message-ID fixed at its claim)."""
        s = self.settings
        smtp: smtplib.SMTP | None = None
        held: set[str] = set()  # orders one of whose mails failed: their later ones wait
        outcomes: list[tuple[mail.Job, Exception | None | str]] = []  # None sent, "hold"
        jobs = sorted(jobs, key=lambda j: j.id)
        try:
            for i, job in enumerate(jobs):
                if job.order_id in held:
                    outcomes.append((job, "hold"))
                    continue
                try:
                    msg = compose(self.store, job, s)
                except Exception as exc:  # an order we cannot render: retried, said in the log
                    outcomes.append((job, exc))
                    held.add(job.order_id)
                    continue
                if smtp is None:
                    try:
                        smtp = self._connect()
                    except Exception as exc:
                        outcomes += [(rest, exc) for rest in jobs[i:]]
                        return
                try:
                    smtp.send_message(msg)
                except Exception as exc:
                    if not isinstance(exc, smtplib.SMTPResponseException):
                        # The connection is in doubt: drop it, the next mail opens another.
                        smtp.close()
                        smtp = None
                    outcomes.append((job, exc))
                    held.add(job.order_id)
                    continue
                outcomes.append((job, None))
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
            self.record(outcomes)

    def record(self, outcomes: list[tuple[mail.Job, Exception | None | str]]) -> None:
        """Write the outcomes down in one transaction; if that fails, each in its own. One not
        written down keeps its claim, which lapses: it goes again, the same message."""
        if not outcomes:
            return
        try:
            with self.store.write():
                for outcome in outcomes:
                    self._write(*outcome)
        except Exception:
            log.exception("recording %d customer mails at once failed; one by one", len(outcomes))
            for outcome in outcomes:
                try:
                    with self.store.write():
                        self._write(*outcome)
                except Exception:  # not written down: the claim lapses and it goes again
                    log.exception("recording customer mail %s failed", outcome[0].id)
        self.sent += sum(1 for _, how in outcomes if how is None)

    def _write(self, job: mail.Job, how: Exception | None | str) -> None:
        if how is None:
            mail.sent(self.store, job)
        elif how == "hold":
            mail.hold(self.store, job)
        else:
            self._failed(job, how)  # type: ignore[arg-type]

    def _failed(self, job: mail.Job, exc: Exception) -> None:
        s = self.settings
        error = f"{type(exc).__name__}: {exc}"
        status = mail.failed(
            self.store, job, error, _permanent(exc), s.retry_base_seconds, s.retry_max_seconds
        )
        log.warning("customer mail %s (%s): %s, %s", job.id, job.kind, error, status)
