"""The shop's own webhook endpoint: takes scanfloor's order events, checks their signatures.

A small HTTP server on a free loopback port, as a shop would run one. Each
delivery is checked with the `standardwebhooks` package against the
subscription's secret (`webhook-id`, `webhook-timestamp`, `webhook-signature`);
a bad one is answered 400 and counted. A delivery seen before (same
`webhook-id`) is answered 200 again and counted as a duplicate, as the
Standard Webhooks receivers are told to do. It can be taken down: `closed`
(nothing listens: connection refused) or `busy` (it answers 503), then `up`.
Every request is written to a JSON-lines log.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from standardwebhooks import Webhook, WebhookVerificationError

from scripts.demo.procs import free_port

Mode = Literal["up", "busy", "closed"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender that gave up mid-request: nothing to say


class ShopReceiver:
    """The shop's webhook endpoint; `arrived[order]` holds the webhook ids it took for each
    order, in the order they first came, and `taken[webhook_id]` the event."""

    def __init__(self, secret: str, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/scanfloor"
        self.webhook = Webhook(secret)
        self.log = log
        self.mode: Mode = "closed"
        self.lock = threading.Lock()
        self.taken: dict[str, dict[str, Any]] = {}
        self.arrived: dict[str, list[str]] = {}
        self.duplicates = self.refused = self.bad_signatures = 0
        self.first: dict[str, threading.Event] = {}  # event type -> set when the first is taken
        self._server: _Server | None = None

    def when_first(self, event: str) -> threading.Event:
        """An Event set once the first delivery of `event` (`order.picking`) is taken."""
        with self.lock:
            return self.first.setdefault(event, threading.Event())

    def set_mode(self, mode: Mode) -> None:
        """`up`: takes deliveries; `busy`: answers 503; `closed`: not listening."""
        self.mode = mode  # before it listens again: its first answer is already the new one
        if mode == "closed":
            self._close()
        elif self._server is None:
            self._open()

    def stop(self) -> None:
        self._close()

    def _open(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.take(headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """Answer one delivery: 503 when busy, 400 when its signature is wrong, else 200."""
        msg_id = headers.get("webhook-id", "")
        with self.lock:
            if self.mode == "busy":
                self.refused += 1
                return self._note(msg_id, 503, "busy")
            try:
                self.webhook.verify(body, headers)
                event = json.loads(body)
            except (WebhookVerificationError, ValueError) as exc:
                self.bad_signatures += 1
                return self._note(msg_id, 400, f"refused: {exc}")
            data = event["data"]
            seen = msg_id in self.taken
            if seen:
                self.duplicates += 1
            else:
                self.taken[msg_id] = event
                self.arrived.setdefault(data["id"], []).append(msg_id)
                self.first.setdefault(event["type"], threading.Event()).set()
            what = f"{event['type']} {data['shop_number'] or data['id']}"
            return self._note(msg_id, 200, what + (" (again: a duplicate)" if seen else ""))

    def _note(self, msg_id: str, status: int, what: str) -> int:
        line = {"at": round(time.time(), 3), "webhook_id": msg_id, "status": status, "what": what}
        with self.log.open("a") as f:
            f.write(json.dumps(line) + "\n")
        return status
