"""The customers' mailbox: a local SMTP server the demo starts, and the server mails it.

A stage (scripts/demo/stages.py). The server is started with e-mail on, pointed at a
real SMTP server on a free loopback port (scripts/mail_sink.py: aiosmtpd, keeps every
mail it takes), without STARTTLS, and with the demo server's own address as the tracking
pages' base, so the links in the mails open. Customers are mailed when their order
ships, is out for delivery, is delivered or hits a problem (server/notify/mail.py):
the stage counts what the server says it sent (each order's `customer_mails` over REST)
against what the SMTP server took, and writes every mail it took to `mail/` as an .eml
file, for a person to open in a mail program.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from scripts.demo.stages import Stage
from scripts.mail_sink import MailSink, free_port

if TYPE_CHECKING:
    from scripts.demo.floor import Floor

SHOP_NAME = "Demo Shop"  # the shop's name in the mails and on the tracking page
# The mail worker's pace, short enough for the demo (the defaults poll every 2 s and wait
# 30 s before the first retry).
FAST_MAIL = {
    "SCANFLOOR_EMAIL__POLL_SECONDS": "0.2",
    "SCANFLOOR_EMAIL__RETRY_BASE_SECONDS": "0.5",
    "SCANFLOOR_EMAIL__RETRY_MAX_SECONDS": "2",
    "SCANFLOOR_EMAIL__TIMEOUT_SECONDS": "5",
}


class CustomerMail(Stage):
    """The local SMTP server the customers' e-mails go to."""

    name = "customer e-mails"
    key = "mail"
    carries_news = True

    def __init__(self) -> None:
        self.sink = MailSink(port=free_port())
        self.saved: list[str] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sink.port}"

    def env(self, floor: Floor) -> dict[str, str]:
        return {
            "SCANFLOOR_EMAIL__ENABLED": "true",
            "SCANFLOOR_EMAIL__HOST": "127.0.0.1",
            "SCANFLOOR_EMAIL__PORT": str(self.sink.port),
            "SCANFLOOR_EMAIL__STARTTLS": "false",
            "SCANFLOOR_EMAIL__PUBLIC_BASE_URL": floor.base,
            "SCANFLOOR_EMAIL__SHOP_NAME": SHOP_NAME,
            **FAST_MAIL,
        }

    def start(self, floor: Floor, say=print) -> None:
        self.sink.start()
        say(f"customers' mail goes to a local SMTP server on {self.address}")

    def rows(self, floor: Floor) -> list[dict[str, Any]]:
        """Every customer mail of the demo's orders, as the server lists them
        (`customer_mails` of `GET /api/orders/<id>`), with the order's id."""
        return [
            {**m, "order": placed.id}
            for placed in floor.placed
            for m in floor.order(placed.id)["customer_mails"]
        ]

    def settle(self, floor: Floor, until: float, say=print) -> None:
        """Wait (bounded by `until`) until no mail is pending and the SMTP server has every
        mail the server wrote down as sent."""
        while True:
            by = Counter(m["status"] for m in self.rows(floor))
            if not by["pending"] and self.sink.count >= by["sent"]:
                return
            if time.monotonic() >= until:
                say(f"  mail: {by['pending']} customer e-mails still pending when the wait ended")
                return
            time.sleep(0.3)

    def save(self, floor: Floor) -> list[str]:
        """Every mail the SMTP server took, as `mail/NNN-<order>.eml`."""
        folder = floor.out / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        with self.sink.lock:
            messages = list(self.sink.messages)
        for i, msg in enumerate(messages[len(self.saved) :], start=len(self.saved) + 1):
            path = folder / f"{i:03d}-{msg['X-Scanfloor-Order'] or 'order'}.eml"
            path.write_bytes(bytes(msg))
            self.saved.append(str(path))
        return self.saved

    def figures(self, floor: Floor) -> dict[str, Any]:
        """Mails by status (REST), by kind among those sent, and what the SMTP server took."""
        rows = self.rows(floor)
        by = Counter(m["status"] for m in rows)
        return {
            "smtp_server": self.address,
            "by_status": dict(by),
            "sent": by["sent"],
            "sent_by_kind": dict(Counter(m["kind"] for m in rows if m["status"] == "sent")),
            "taken_by_smtp_server": self.sink.count,
            "eml_files": len(self.save(floor)),
            "mail_dir": str(floor.out / "mail"),
        }

    def lines(self, f: dict[str, Any]) -> list[str]:
        line = (
            f"  e-mails sent         {f['sent']} (to the local SMTP server at {f['smtp_server']})"
        )
        if f["sent"]:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(f["sent_by_kind"].items()))
            line += f": {kinds}; {f['mail_dir']} (.eml)"
        else:
            line += ": customers are mailed once an order ships"
        lines = [line]
        wrong = [f"{n} {status}" for status, n in f["by_status"].items() if status != "sent"]
        if f["taken_by_smtp_server"] != f["sent"]:
            wrong.append(f"the SMTP server took {f['taken_by_smtp_server']}")
        if wrong:
            lines.append(f"                       but: {', '.join(sorted(wrong))}")
        return lines

    def told(self, floor: Floor, order_id: str) -> str | None:
        order = floor.order(order_id)
        mails = order["customer_mails"]
        if not mails:
            return (
                f"the customer got no e-mail yet: mails go once an order ships ({order['status']})"
            )
        sent = [m["kind"] for m in mails if m["status"] == "sent"]
        with self.sink.lock:
            taken = sum(m["X-Scanfloor-Order"] == order_id for m in self.sink.messages)
        if len(sent) == len(mails) == taken:
            n = f"{len(sent)} e-mail{'' if len(sent) == 1 else 's'}"
            return f"the customer was told each step: {n} to {order['email']} ({', '.join(sent)})"
        states = ", ".join(f"{m['kind']} {m['status']}" for m in mails)
        return f"the customer's e-mails: {states}; the SMTP server took {taken}"

    def said(self, floor: Floor, order_id: str) -> dict[str, str]:
        """Each mail the SMTP server took for the order, by its kind (the status it tells)."""
        kinds = [
            m["kind"] for m in floor.order(order_id)["customer_mails"] if m["status"] == "sent"
        ]
        with self.sink.lock:
            subjects = [
                m["Subject"] for m in self.sink.messages if m["X-Scanfloor-Order"] == order_id
            ]
        return {kind: f'e-mail "{subject}"' for kind, subject in zip(kinds, subjects, strict=False)}

    def stop(self) -> None:
        self.sink.stop()
