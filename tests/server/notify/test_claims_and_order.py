"""Customer mails and webhooks: a claim names its server process and is taken back at once
when that process is gone; an order's mails go in the order of its status changes; a mail's
whole Message-ID is made once from its outbox row and kept."""

from __future__ import annotations

import time

import pytest
from floorkit import order_body
from mailkit import move, order_with_parcel
from shopkit import Receiver

from scripts.mail_sink import MailSink
from server.config import EmailSettings, Settings, WebhookSettings
from server.notify import webhooks
from server.notify.delivery import Deliverer
from server.notify.mailer import Mailer
from server.runtime import processes

ME, OTHER, DEAD = "host:1:me", "host:2:other", "host:3:dead"


@pytest.fixture
def sink():
    with MailSink() as s:
        yield s


@pytest.fixture
def settings(tmp_path, monkeypatch, sink) -> Settings:
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    email = EmailSettings(
        enabled=True, host="127.0.0.1", port=sink.port, starttls=False,
        sender="orders@shop.example.com", retry_base_seconds=0.05, retry_max_seconds=0.1,
    )  # fmt: skip
    return Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL", email=email)


def _live(store, *instances: str) -> None:
    """Server processes on the site's list (as `register` puts them)."""
    for instance in instances:
        with store.write():
            processes.register(store, instance)
            store.execute(
                "UPDATE server_processes SET instance = ? WHERE instance = ?",
                (instance, instance),
            )


def _claim_all(store, table: str, instance: str) -> None:
    with store.write():
        store.execute(
            f"UPDATE {table} SET claimed_by = ?, next_at = ? WHERE status = 'pending'",
            (instance, time.time() + 445),
        )


def test_a_mail_sent_again_keeps_its_whole_message_id(store, catalogue, sink, settings):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    assert Mailer(store, settings.email).run_once() == 1
    first = sink.wait_for(1)[0]
    # The crash: the SMTP server took it, the outcome was never written down.
    with store.write():
        store.execute("UPDATE customer_mails SET status = 'pending', next_at = 0")
    time.sleep(1.1)  # make_msgid would now give another time (and another random part)
    assert Mailer(store, settings.email, "host:9:after").run_once() == 1
    again = sink.wait_for(2)[1]
    assert again["Message-ID"] == first["Message-ID"]
    row = store.one("SELECT id, created_at, message_id FROM customer_mails")
    kept = first["Message-ID"].strip()  # a long header is folded onto the next line
    assert row["message_id"] == kept
    assert kept.startswith(f"<scanfloor.mail{row['id']}.") and kept.endswith("@shop.example.com>")


def test_claims_of_a_gone_process_are_taken_back_at_once_and_a_live_ones_are_not(
    store, catalogue, sink, settings
):
    _live(store, ME, OTHER)
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "delivered")
    _claim_all(store, "customer_mails", OTHER)  # a live process is sending them
    mailer = Mailer(store, settings.email, ME)
    assert mailer.run_once() == 0  # neither: not the claimed one, not the one behind it
    with store.write():
        store.execute("UPDATE customer_mails SET claimed_by = ?", (DEAD,))  # not on the list
    assert mailer.run_once() == 2
    shipped, delivered = sink.wait_for(2)
    assert shipped["Subject"].endswith("has shipped")
    assert delivered["Subject"].endswith("was delivered")


def test_a_later_mail_never_overtakes_an_earlier_unsent_one(store, catalogue, sink, settings):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    mailer = Mailer(store, settings.email, ME)
    sink.down = True  # "shipped" fails and waits to be retried
    assert mailer.run_once() == 1
    move(store, oid, "out_for_delivery")
    move(store, oid, "delivered")
    assert mailer.run_once() == 0  # both wait behind "shipped"
    rows = store.all("SELECT kind, attempts, status FROM customer_mails ORDER BY id")
    assert [(r["kind"], r["attempts"]) for r in rows] == [
        ("shipped", 1), ("out_for_delivery", 0), ("delivered", 0)
    ]  # fmt: skip
    sink.down = False
    deadline = time.monotonic() + 10
    while sink.count < 3:
        assert time.monotonic() < deadline
        mailer.run_once()
        time.sleep(0.05)
    kinds = [m["Subject"].split("your order ")[1] for m in sink.wait_for(3)]
    assert kinds == ["#1043 has shipped", "#1043 is out for delivery", "#1043 was delivered"]


def test_in_one_batch_a_failure_holds_back_the_rest_of_its_order(store, catalogue, sink, settings):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "delivered")
    sink.down = True
    assert Mailer(store, settings.email, ME).run_once() == 2
    rows = store.all("SELECT kind, attempts, claimed_by FROM customer_mails ORDER BY id")
    assert [(r["kind"], r["attempts"], r["claimed_by"]) for r in rows] == [
        ("shipped", 1, None), ("delivered", 0, None)
    ]  # fmt: skip


def test_webhook_claims_of_a_gone_process_are_taken_back_at_once(store, json_post, catalogue):
    receiver = Receiver().up()
    try:
        _live(store, ME, OTHER)
        webhooks.subscribe(store, receiver.url, ["order.received"], allowed_hosts=["127.0.0.1"])
        assert json_post("/api/orders", order_body("W1", [("SKU-A", 1)])).status_code == 201
        _claim_all(store, "webhook_deliveries", OTHER)
        deliverer = Deliverer(store, WebhookSettings(allowed_hosts=["127.0.0.1"]), ME)
        assert deliverer.run_once() == 0  # a live process holds it
        with store.write():
            store.execute("DELETE FROM server_processes WHERE instance = ?", (OTHER,))  # reaped
        assert deliverer.run_once() == 1
        assert len(receiver.taken()) == 1
        assert webhooks.list_deliveries(store)[0]["status"] == "delivered"
    finally:
        receiver.down()
