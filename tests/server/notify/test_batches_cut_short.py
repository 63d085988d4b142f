"""The worker writes down a batch of webhook or mail outcomes in one transaction: a batch cut
short (the write fails part way) loses nothing and doubles nothing: what was not written down
goes again under the same webhook-id / Message-ID, once, and an order's events keep their order."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from mailkit import move, order_with_parcel
from shopkit import Receiver

from scripts.mail_sink import MailSink
from server.config import EmailSettings, WebhookSettings
from server.notify import mail, webhooks
from server.notify.delivery import Deliverer
from server.notify.mailer import Mailer

STEPS = ("shipped", "out_for_delivery", "delivered")
FAST = WebhookSettings(retry_base_seconds=0.02, retry_max_seconds=0.1, timeout_seconds=2,
                       poll_seconds=0.01, allowed_hosts=["127.0.0.1"])  # fmt: skip
# Neither process is on the site's list: the second takes the first's claims back at once.
FIRST, SECOND = "host:1:cut-short", "host:2:after"


def _orders(store) -> list[str]:
    ids = [order_with_parcel(store, shop_id=f"58{n}", tracking=f"SF{n:010d}") for n in range(2)]
    for status in STEPS:
        for oid in ids:
            move(store, oid, status)
    return ids


def _until(step, done, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not drained in time"
        step()


def _failing_once(monkeypatch, module, name: str, victim: list[int]) -> None:
    """`module.name` raises for the first job of `victim` (until it is cleared)."""
    real = getattr(module, name)

    def write(store, job, *args, **kwargs):
        if victim and job.id == victim[0]:
            raise RuntimeError("the disk said no")
        return real(store, job, *args, **kwargs)

    monkeypatch.setattr(module, name, write)


def test_a_webhook_batch_cut_short_loses_and_doubles_nothing(store, catalogue, monkeypatch):
    receiver = Receiver().up()
    try:
        webhooks.subscribe(store, receiver.url, [f"order.{s}" for s in STEPS],
                           allowed_hosts=["127.0.0.1"])  # fmt: skip
        ids = _orders(store)
        rows = store.all("SELECT id, order_id, msg_id FROM webhook_deliveries ORDER BY id")
        assert len(rows) == 6
        victim = [rows[0]["id"]]  # the first of the first batch: the batch's write fails
        _failing_once(monkeypatch, webhooks, "delivered", victim)
        first = Deliverer(store, FAST, FIRST)
        assert first.run_once() == 2  # both orders' heads, posted and taken
        states = {
            r["id"]: r["status"] for r in store.all("SELECT id, status FROM webhook_deliveries")
        }
        assert states[victim[0]] == "pending"  # not written down: still claimed, by FIRST
        victim.clear()  # the disk is back
        second = Deliverer(store, FAST, SECOND)

        def drained() -> bool:
            n = store.one("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'delivered'")
            return n["n"] == 6

        _until(second.run_once, drained)
        got = Counter(hit.headers["webhook-id"] for hit in receiver.hits)
        assert set(got) == {r["msg_id"] for r in rows}  # nothing lost
        assert got[rows[0]["msg_id"]] == 2 and sum(got.values()) == 7  # only it again, same id
        for oid in ids:
            seen = [h.payload["type"] for h in receiver.hits if h.payload["data"]["id"] == oid]
            assert list(dict.fromkeys(seen)) == [f"order.{s}" for s in STEPS]  # in order
        assert {r["attempts"] for r in store.all("SELECT attempts FROM webhook_deliveries")} == {1}
    finally:
        receiver.down()


@pytest.fixture
def sink():
    with MailSink() as s:
        yield s


def test_a_mail_batch_cut_short_loses_and_doubles_nothing(store, catalogue, sink, monkeypatch):
    email = EmailSettings(enabled=True, host="127.0.0.1", port=sink.port, starttls=False,
                          sender="orders@shop.example.com")  # fmt: skip
    mail.configure(email)
    _orders(store)
    rows = store.all("SELECT id, order_id FROM customer_mails WHERE status = 'pending' ORDER BY id")
    assert len(rows) == 6
    victim = [rows[3]["id"]]  # in the middle of the batch
    _failing_once(monkeypatch, mail, "sent", victim)
    assert Mailer(store, email, FIRST).run_once() == 6  # one batch, one connection
    sink.wait_for(6)
    left = store.all("SELECT id FROM customer_mails WHERE status = 'pending'")
    assert [r["id"] for r in left] == victim  # the others written down, one by one
    victim.clear()
    second = Mailer(store, email, SECOND)
    _until(second.run_once, lambda: not mail.counts(store).get("pending"))
    msgs = sink.wait_for(7)
    got = Counter(m["Message-ID"].strip() for m in msgs)
    kept = [r["message_id"] for r in store.all("SELECT message_id FROM customer_mails ORDER BY id")]
    assert set(got) == set(kept) and len(kept) == 6  # nothing lost, each its own Message-ID
    assert got[kept[3]] == 2 and sum(got.values()) == 7  # only the victim again, the same message
    assert mail.counts(store) == {"sent": 6}
