"""Customer e-mails at the shipping milestones: queued with the status change, sent over real
SMTP (aiosmtpd on loopback, STARTTLS with a test CA), retried until they go, never twice."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import trustme
from mailkit import EMAIL, move, order_with_parcel

from scripts.mail_sink import MailSink
from server.app import create_app
from server.config import EmailSettings, Settings
from server.notify import mail
from server.notify.mailer import Mailer, compose

BASE = "https://track.example.com"


@pytest.fixture
def sink():
    with MailSink() as s:
        yield s


@pytest.fixture
def settings(tmp_path, monkeypatch, sink) -> Settings:
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    email = EmailSettings(
        enabled=True,
        host="127.0.0.1",
        port=sink.port,
        starttls=False,
        sender="orders@shop.example.com",
        shop_name="Hopper Supplies",
        shop_names={"market": "Hopper on Market"},
        public_base_url=BASE,
        retry_base_seconds=0.01,
        retry_max_seconds=0.02,
    )
    return Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL", email=email)


@pytest.fixture
def mailer(store, settings) -> Mailer:
    return Mailer(store, settings.email)


def token_of(store, oid: str) -> str:
    return store.one("SELECT track_token FROM orders WHERE id = ?", (oid,))["track_token"]


def parts(msg) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def send_due(mailer: Mailer) -> int:
    """Send what is due now, waiting out the (tiny) backoff of a retry."""
    import time

    time.sleep(0.05)
    return mailer.run_once()


def test_shipped_mail_names_the_shop_the_number_the_parcel_and_the_tracking_page(
    store, catalogue, sink, mailer, client, headers
):
    oid = order_with_parcel(store)
    move(store, oid, "picked")  # not a customer milestone: no mail
    assert mailer.run_once() == 0
    move(store, oid, "shipped")
    assert mailer.run_once() == 1
    (msg,) = sink.wait_for(1)
    assert msg["To"] == EMAIL
    assert msg["From"] == "Hopper Supplies <orders@shop.example.com>"
    assert msg["Subject"] == "Hopper Supplies: your order #1043 has shipped"
    assert msg.get_content_type() == "multipart/alternative"
    assert sink.envelopes == [("orders@shop.example.com", [EMAIL])]
    text, html = parts(msg)
    url = f"{BASE}/track/{token_of(store, oid)}"
    for body in (text, html):
        assert "#1043" in body and "Hopper Supplies" in body and "Grace Hopper" in body
        assert "SF0000012345" in body and url in body
        assert oid not in body and "WH-EAST" not in body  # no internal ids
    assert f'href="{url}"' in html
    assert "has shipped" in text
    got = client.get(f"/api/orders/{oid}", headers=headers).get_json()
    assert got["tracking_url"] == url and got["email"] == EMAIL
    assert [(m["kind"], m["status"], m["recipient"]) for m in got["customer_mails"]] == [
        ("shipped", "sent", EMAIL)
    ]
    assert mailer.run_once() == 0 and sink.count == 1  # sent once


@pytest.mark.parametrize(
    ("status", "detail", "subject", "words"),
    [
        ("out_for_delivery", {}, "is out for delivery", "out for delivery today"),
        ("delivered", {}, "was delivered", "was delivered"),
        ("exception", {"reason": "delayed"}, "a problem with the delivery", "delayed"),
        ("exception", {"reason": "address_problem"}, "a problem", "could not deliver to the"),
        ("exception", {"reason": "meteor"}, "a problem", "a problem with the delivery"),
    ],
)
def test_each_milestone_has_its_mail(
    store, catalogue, sink, mailer, status, detail, subject, words
):
    oid = order_with_parcel(store, channel="market", shop_number="M-77")
    move(store, oid, "shipped")
    move(store, oid, "in_transit")  # no mail for this one
    move(store, oid, status, **detail)
    assert mailer.run_once() == 2
    shipped, news = sink.wait_for(2)
    assert shipped["Subject"].endswith("has shipped")
    assert news["Subject"].startswith("Hopper on Market: ")  # the channel's shop name
    assert subject in news["Subject"] and "M-77" in news["Subject"]
    text, html = parts(news)
    assert words in text and words in html.replace("\n", " ")


def test_no_mail_twice_for_one_status_change_and_none_for_a_rolled_back_one(
    store, catalogue, sink, mailer
):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    move(store, oid, "shipped")  # the same status again: not a change
    with pytest.raises(RuntimeError), store.write():
        from server.capture import orders

        orders.record(store, oid, "delivered", "delivered")
        raise RuntimeError("the write fails after the status change")
    assert [r["kind"] for r in mail.listing(store, oid)] == ["shipped"]
    assert mailer.run_once() == 1 and mailer.run_once() == 0
    assert sink.count == 1
    # A later real change is its own mail.
    move(store, oid, "delivered")
    assert mailer.run_once() == 1 and sink.count == 2


def test_a_failed_send_is_kept_and_retried_until_the_server_takes_it(
    store, catalogue, sink, mailer
):
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    sink.down = True  # 451: try again later
    assert mailer.run_once() == 1
    (row,) = mail.listing(store, oid)
    assert row["status"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"]
    sink.stop()  # the server is gone altogether: connection refused
    assert send_due(mailer) == 1
    (row,) = mail.listing(store, oid)
    assert row["status"] == "pending" and row["attempts"] == 2
    sink.down = False
    sink.start()
    assert send_due(mailer) == 1
    (msg,) = sink.wait_for(1)
    assert msg["Subject"].endswith("has shipped")
    (row,) = mail.listing(store, oid)
    assert row["status"] == "sent" and row["attempts"] == 3 and row["sent_at"]
    assert send_due(mailer) == 0 and sink.count == 1
    assert mailer.sent == 1


def test_a_mailbox_refused_for_good_is_kept_with_the_reason(store, catalogue, sink, mailer):
    oid = order_with_parcel(store, email="nobody@shop.example.com")
    sink.refuse.add("nobody@shop.example.com")
    move(store, oid, "shipped")
    assert mailer.run_once() == 1
    (row,) = mail.listing(store, oid)
    assert row["status"] == "refused" and "550" in row["last_error"]
    assert send_due(mailer) == 0 and sink.count == 0


def test_an_order_without_address_gets_no_mail_and_says_so(
    store, catalogue, sink, mailer, client, headers
):
    oid = order_with_parcel(store, email=None)
    move(store, oid, "shipped")
    assert mailer.run_once() == 0 and sink.count == 0
    got = client.get(f"/api/orders/{oid}", headers=headers).get_json()
    assert got["email"] is None
    assert got["customer_mails"][0]["status"] == "no_address"
    assert "no e-mail address" in got["timeline"][0]["detail"]["customer_mail"]


def test_with_mail_off_nothing_is_queued_to_send(tmp_path, monkeypatch, store, catalogue, sink):
    monkeypatch.setitem(mail.SETTINGS, "enabled", False)
    oid = order_with_parcel(store)
    move(store, oid, "shipped")
    assert [r["status"] for r in mail.listing(store, oid)] == ["off"]
    assert Mailer(store, EmailSettings(port=sink.port, starttls=False)).run_once() == 0


@pytest.mark.parametrize("bad", ["grace", "grace@", "grace hopper@example.com", "<g@x.io>"])
def test_an_order_with_a_bad_email_is_refused_and_writes_nothing(json_post, catalogue, rows, bad):
    body = {
        "order_id": "bad-mail",
        "email": bad,
        "lines": [{"sku": "SKU-A", "qty": 1}],
        "ship_to": {"name": "A", "line1": "1 Road", "city": "X", "postcode": "1", "country": "US"},
    }
    resp = json_post("/api/orders", body)
    assert resp.status_code == 422
    assert [p["field"] for p in resp.get_json()["problems"]] == ["email"]
    assert rows("orders") == 0


@pytest.fixture
def tls_files(tmp_path):
    """A test CA and a certificate for 127.0.0.1 it signed (trustme)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    ca.cert_pem.write_to_path(ca_file)
    return str(cert_file), str(key_file), str(ca_file)


def test_starttls_and_login(store, catalogue, tls_files, tmp_path):
    cert_file, key_file, ca_file = tls_files
    with MailSink(tls=(cert_file, key_file), login=("shop", "s3cret")) as secure:
        email = EmailSettings(
            enabled=True,
            port=secure.port,
            starttls=True,
            ca_file=ca_file,
            username="shop",
            password="s3cret",
            retry_base_seconds=0.01,
            retry_max_seconds=0.02,
        )
        oid = order_with_parcel(store)
        move(store, oid, "shipped")
        # Without STARTTLS the server offers no login (TLS first): kept, retried.
        plain = Mailer(store, email.model_copy(update={"starttls": False}))
        assert plain.run_once() == 1 and secure.count == 0
        # A certificate from a CA we were not told to trust is not accepted either.
        other = trustme.CA()
        other.cert_pem.write_to_path(tmp_path / "other.pem")
        wrong_ca = Mailer(store, email.model_copy(update={"ca_file": str(tmp_path / "other.pem")}))
        assert send_due(wrong_ca) == 1 and secure.count == 0
        (row,) = mail.listing(store, oid)
        assert row["status"] == "pending" and re.search(
            "CERTIFICATE_VERIFY_FAILED", row["last_error"]
        )
        assert send_due(Mailer(store, email)) == 1
        (msg,) = secure.wait_for(1)
        assert secure.tls_used == [True] and msg["To"] == EMAIL
        assert mail.listing(store, oid)[0]["status"] == "sent"


def test_the_app_hands_its_email_settings_to_the_outbox(settings):
    """create_app sets what record() needs; the worker itself runs only when serving under
    gevent (tests/e2e/shipping/test_customer_tracking.py)."""
    app, _ = create_app(settings)
    try:
        assert "scanfloor.mailer" not in app.extensions
        assert mail.SETTINGS["enabled"] is True and mail.SETTINGS["public_base_url"] == BASE
    finally:
        app.extensions["store"].close()


def test_a_batch_meeting_a_dead_server_is_kept_whole_and_sent_later(store, catalogue, sink, mailer):
    ids = [order_with_parcel(store, shop_id=f"b-{i}", tracking=f"SF9{i}") for i in range(3)]
    for oid in ids:
        move(store, oid, "shipped")
    sink.stop()
    assert mailer.run_once() == 3  # one failed connection: all three written down, none lost
    rows = [mail.listing(store, oid)[0] for oid in ids]
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1)] * 3
    assert all("Connection refused" in r["last_error"] for r in rows)
    sink.start()
    assert send_due(mailer) == 3
    assert sorted(m["To"] for m in sink.wait_for(3)) == [EMAIL] * 3
    assert {m["Subject"] for m in sink.messages} == {
        "Hopper Supplies: your order #1043 has shipped"
    }


@pytest.mark.parametrize(
    ("email", "contact", "taken"),
    [
        ("grace@example.com", "other@example.com", "grace@example.com"),
        (None, "contact@example.com", "contact@example.com"),
        ("not an address", "contact@example.com", "contact@example.com"),
        ("not an address", None, None),
        (None, None, None),
    ],
)
def test_a_shopify_order_gives_its_email_else_its_contact_email(email, contact, taken):
    from shopkit import shopify_order

    from server.capture.domain import shopify

    order = shopify.ShopifyOrder.model_validate(shopify_order(email=email, contact_email=contact))
    assert shopify.customer_email(order) == taken
    mapped = shopify.to_order("shop-us", order, {"SKU-A", "SKU-B"})
    assert mapped.problems == [] and mapped.order.email == taken  # never refused for it


def test_every_mail_has_a_date_and_the_channels_reply_to(
    store, catalogue, sink, settings, monkeypatch
):
    from email.utils import parsedate_to_datetime

    from server.config import ShopLook

    settings.email.reply_to = "help@hopper.example"
    settings.email.channels = {"market": ShopLook(reply_to="market@hopper.example")}
    monkeypatch.setattr(mail, "SETTINGS", dict(mail.SETTINGS))  # put back after the test
    mail.configure(settings.email)
    mailer = Mailer(store, settings.email)
    web = order_with_parcel(store, shop_id="w-1", tracking="SF71")
    market = order_with_parcel(store, shop_id="m-1", tracking="SF72", channel="market")
    move(store, web, "shipped")
    move(store, market, "shipped")
    assert mailer.run_once() == 2
    got = {m["X-Scanfloor-Order"]: m for m in sink.wait_for(2)}
    assert got[web]["Reply-To"] == "help@hopper.example"  # [email] reply_to
    assert got[market]["Reply-To"] == "market@hopper.example"  # the channel's own
    assert got[market]["From"] == "Hopper on Market <orders@shop.example.com>"
    created = store.one("SELECT created_at FROM customer_mails WHERE order_id = ?", (web,))
    date = parsedate_to_datetime(got[web]["Date"])
    assert date.tzinfo is not None
    assert abs(date.timestamp() - datetime.fromisoformat(created["created_at"]).timestamp()) < 1
    # The same mail composed again (a resend after a crash) has the same Date.
    job_id = store.one("SELECT id FROM customer_mails WHERE order_id = ?", (web,))["id"]
    job = mail.Job(job_id, web, 0, "shipped", EMAIL, 1)
    assert compose(store, job, settings.email)["Date"] == got[web]["Date"]


def test_a_channel_with_capitals_set_from_the_environment_is_found(
    store, catalogue, sink, settings, monkeypatch
):
    # The environment's keys come in lower case: `Demo-Shop` reads as `demo-shop`, yet the
    # orders carry `Demo-Shop`, and customers.md says the code is given as the orders carry it.
    monkeypatch.setenv("SCANFLOOR_EMAIL__CHANNELS__Demo-Shop__REPLY_TO", "demo@hopper.example")
    monkeypatch.setenv("SCANFLOOR_EMAIL__CHANNELS__Demo-Shop__CONTACT", "Call 0800 123 456")
    monkeypatch.setenv("SCANFLOOR_EMAIL__SHOP_NAMES__Demo-Shop", "Hopper on Demo")
    monkeypatch.setattr(mail, "SETTINGS", dict(mail.SETTINGS))  # put back after the test
    mail.configure(Settings(data_dir=settings.data_dir).email)
    oid = order_with_parcel(store, shop_id="d-1", tracking="SF73", channel="Demo-Shop")
    move(store, oid, "shipped")
    job_id = store.one("SELECT id FROM customer_mails WHERE order_id = ?", (oid,))["id"]
    msg = compose(store, mail.Job(job_id, oid, 0, "shipped", EMAIL, 0), settings.email)
    assert msg["Reply-To"] == "demo@hopper.example"
    assert msg["From"] == "Hopper on Demo <orders@shop.example.com>"
    assert "Call 0800 123 456" in parts(msg)[0]
