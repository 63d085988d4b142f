"""Outbound webhooks reach public addresses only (SSRF): refused at subscribe time when the URL
names an internal address, refused at send time when a name resolves to one, a site's own
receivers allowed by name; nothing the receiver answers is kept but its status."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from floorkit import order_body

from server.config import WebhookSettings
from server.notify import outbound, webhooks
from server.notify.delivery import Deliverer
from server.notify.domain import destinations

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
INTERNAL = "db password is hunter2"  # what an internal service would leak in its error page


class Internal:
    """An internal HTTP service on a loopback port, answering every POST with `status` and a
    body nobody outside should read."""

    def __init__(self, status: int = 500):
        self.hits = 0
        internal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                internal.hits += 1
                body = INTERNAL.encode()
                self.send_response(status, "Leaky Reason " + INTERNAL)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal():
    service = Internal()
    yield service
    service.close()


def _subscribe(json_post, url: str):
    return json_post("/api/webhook-subscriptions", {"url": url, "events": ["order.received"]})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1", "not a URL"),  # a malformed IPv6 URL: 422, not 500
        ("http://[::1]:8800/hook", "loopback"),
        ("http://127.0.0.1:8800/hook", "loopback"),  # the server's own port
        ("http://127.1.2.3/hook", "loopback"),
        ("http://localhost:8800/hook", "loopback"),
        ("http://0.0.0.0:8800/hook", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://10.0.0.5/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://user:pass@shop.example/hook", "user:pass@"),
        ("http://shop.example:99999/hook", "not a URL"),
        ("ftp://shop.example/hook", "pattern"),  # refused by the body model
    ],
)
def test_internal_and_malformed_urls_are_refused_with_422(json_post, rows, url, says):
    resp = _subscribe(json_post, url)
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["problems"][0]["field"] == "url" and says in body["problems"][0]["message"]
    assert rows("webhook_subscriptions") == 0


def test_a_public_url_is_taken(json_post):
    assert _subscribe(json_post, "https://shop.example/hooks").status_code == 201


def test_a_host_in_allowed_hosts_may_be_internal(app, json_post):
    app.config["SETTINGS"].webhooks.allowed_hosts = ["127.0.0.1", "receiver.internal"]
    assert _subscribe(json_post, "http://127.0.0.1:9/hooks").status_code == 201
    assert _subscribe(json_post, "http://receiver.internal/hooks").status_code == 201
    assert _subscribe(json_post, "http://127.0.0.2:9/hooks").status_code == 422  # not named


def _deliver(store, settings: WebhookSettings) -> list[dict]:
    deliverer = Deliverer(store, settings)
    deadline = time.monotonic() + 10
    while not webhooks.list_deliveries(store)[0]["attempts"]:
        assert time.monotonic() < deadline
        deliverer.run_once()
        time.sleep(0.01)
    return webhooks.list_deliveries(store)


def _subscribed_before(store, url: str) -> None:
    """A subscription written when its host still resolved to a public address (or before
    these rules): the send must judge it again."""
    with store.write():
        sid = store.execute(
            "INSERT INTO webhook_subscriptions (url, secret, channel, created_at) "
            "VALUES (?, ?, NULL, '2026-01-01')",
            (url, SECRET),
        ).lastrowid
        store.execute(
            "INSERT INTO webhook_subscription_events VALUES (?, 'order.received')", (sid,)
        )


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "0.0.0.0", "[::ffff:127.0.0.1]"])
def test_at_send_time_the_resolved_address_is_judged(store, json_post, catalogue, internal, host):
    _subscribed_before(store, f"http://{host}:{internal.port}/hook")
    assert json_post("/api/orders", order_body("S1", [("SKU-A", 1)])).status_code == 201
    d = _deliver(store, WebhookSettings(retry_base_seconds=30))[0]
    assert internal.hits == 0  # nothing reached the internal service
    assert d["status"] == "pending" and d["last_error"].startswith("refused: ")
    assert "not a public" in d["last_error"] or "address" in d["last_error"]


def test_the_receivers_body_and_reason_are_never_kept(client, headers, store, json_post, catalogue, internal):  # fmt: skip
    _subscribed_before(store, f"http://localhost:{internal.port}/hook")
    assert json_post("/api/orders", order_body("S1", [("SKU-A", 1)])).status_code == 201
    allowed = WebhookSettings(retry_base_seconds=30, allowed_hosts=["localhost"])
    d = _deliver(store, allowed)[0]
    assert internal.hits == 1  # allowed by name: posted
    assert d["last_error"] == "HTTP 500 Internal Server Error"
    listed = client.get("/api/webhook-deliveries", headers=headers).get_data(as_text=True)
    assert "hunter2" not in listed and "Leaky" not in listed
    assert "hunter2" not in json.dumps(store.all("SELECT * FROM webhook_deliveries"))


def test_failure_words_are_ours(store):
    s = outbound.session(())
    with pytest.raises(Exception) as refused:
        s.post("http://localhost:9/x", timeout=2)
    assert outbound.failure_words(refused.value).startswith("refused: localhost resolves to")
    allowed = outbound.session(["localhost"])
    with pytest.raises(Exception) as closed:
        allowed.post("http://localhost:9/x", timeout=2)  # discard port: nothing listens
    assert outbound.failure_words(closed.value) == "connection refused"
    assert outbound.status_words(418) == "HTTP 418 I'm a Teapot"
    assert outbound.status_words(599) == "HTTP 599 not a 2xx answer"


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("224.0.0.1", "a multicast address"),
        ("::", "the unspecified address"),
        ("172.16.0.1", "a private address"),
    ],
)
def test_address_rules(address, refused):
    assert destinations.address_refusal(destinations.literal_address(address)) == refused
