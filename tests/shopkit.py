"""Test helpers for the shops: Shopify payloads and signatures, and a real webhook receiver."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

FIXTURES = Path(__file__).parent / "server" / "fixtures" / "shopify"
SHOPIFY_SECRET = "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"


def shopify_order(**changes: Any) -> dict[str, Any]:
    """The hand-written `orders/create` payload (#1043), with top-level fields changed."""
    order = json.loads((FIXTURES / "orders_create.json").read_text())
    order.update(copy.deepcopy(changes))
    return order


def shopify_sign(body: bytes, secret: str = SHOPIFY_SECRET) -> str:
    """X-Shopify-Hmac-Sha256 as Shopify computes it: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    body: bytes, topic: str = "orders/create", webhook_id: str | None = "wh-1", **extra: str
) -> dict[str, str]:
    """The headers Shopify sends with a webhook (signed with the test secret)."""
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_sign(body),
        "X-Shopify-Shop-Domain": "example-store.myshopify.com",
        "X-Shopify-API-Version": "2024-04",
        **extra,
    }
    if webhook_id is not None:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    return headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hit(NamedTuple):
    """One request the receiver got: headers (lower-case names), raw body, the answer it gave."""

    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender that died mid-request (the point of some tests): no traceback


class Receiver:
    """A shop's webhook endpoint on a loopback port: down until `up()`, then answering
    `status` (a list of statuses is used up first, one per request); `hold()` makes the
    next requests wait until `release()`."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/scanfloor"
        self.hits: list[Hit] = []
        self.status = 200
        self.script: list[int] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()  # set by every request as it arrives
        self._gate = threading.Event()
        self._gate.set()
        self._server: ThreadingHTTPServer | None = None

    def up(self, status: int = 200, script: list[int] | None = None) -> Receiver:
        self.status, self.script = status, list(script or [])
        if self._server is None:
            receiver = self

            class Handler(BaseHTTPRequestHandler):
                def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    receiver.arrived.set()
                    receiver._gate.wait(30)
                    with receiver.lock:
                        status = receiver.script.pop(0) if receiver.script else receiver.status
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.hits.append(Hit(headers, body, status))
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

                def log_message(self, *args: Any) -> None:
                    pass

            self._server = _Quiet(("127.0.0.1", self.port), Handler)
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def hold(self) -> None:
        self.arrived.clear()
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def taken(self) -> list[Hit]:
        """The requests it answered with a 2xx, in the order they came."""
        with self.lock:
            return [h for h in self.hits if 200 <= h.status < 300]
