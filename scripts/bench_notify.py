"""How fast the worker drains its outboxes: queued webhooks to a shop's receiver, queued customer
mails to an SMTP server (docs/benchmarks.md, "Webhooks and mails").

    .venv/bin/python scripts/bench_notify.py --orders 100 [--write-docs]

A real SQLite file, orders captured and allocated, each moved shipped -> out_for_delivery ->
delivered (three mails and, with three subscriptions, nine webhooks an order); then the worker's
loops (server/notify/delivery.py and mailer.py, under gevent as in `scanfloor worker`) drain
them against a receiver and scripts/mail_sink.py, each in its own process. Prints rates.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402
import gevent  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from scripts.mail_sink import free_port  # noqa: E402

HEADING = "## Webhooks and mails: last run"


def _serve_receiver(port: int) -> None:
    """A shop's receiver: takes every POST with a 200, keep-alive (its own process)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # the body is a write of its own: no 40 ms wait

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the worker opens a pool of connections at once
        daemon_threads = True

    Server(("127.0.0.1", port), Handler).serve_forever()


def _serve_sink(port: int) -> None:
    from scripts.mail_sink import MailSink

    with MailSink(port=port):
        while True:
            time.sleep(3600)


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def _queue(store: Any, orders: int, hook_url: str) -> None:
    from server.capture import orders as capture
    from server.core.clock import now
    from server.core.schemas import CatalogueIn, OrderIn
    from server.inventory import allocate
    from server.inventory import catalogue as catalogue_service
    from server.notify import webhooks

    address = {"name": "DC", "line1": "1 Dock Rd", "city": "Newark", "postcode": "07102",
               "country": "US"}  # fmt: skip
    cat = {
        "warehouses": [
            {"code": "WH-1", "name": "DC", "address": address, "lat": 40.7, "lon": -74.0}
        ],  # fmt: skip
        "locations": [
            {"warehouse": "WH-1", "code": "A-01", "barcode": "LA-01", "aisle": 1, "bay": 1}
        ],  # fmt: skip
        "products": [{"sku": "SKU-A", "name": "Mug", "barcodes": ["4006381333931"]}],
        "stock": [{"warehouse": "WH-1", "location": "A-01", "sku": "SKU-A", "on_hand": orders * 2}],
    }
    catalogue_service.load(store, CatalogueIn.model_validate(cat))
    for i in range(3):
        webhooks.subscribe(store, f"{hook_url}/{i}", ["order.shipped", "order.out_for_delivery",
                                                     "order.delivered"], allowed_hosts=["127.0.0.1"])  # fmt: skip
    for n in range(orders):
        body = {
            "order_id": f"B{n:06d}", "channel": "web", "shop_number": f"#{n}",
            "email": f"c{n}@example.com", "lines": [{"sku": "SKU-A", "qty": 1}],
            "ship_to": {**address, "name": f"Customer {n}"},
        }  # fmt: skip
        oid, _ = capture.capture(store, OrderIn.model_validate(body))
        allocate.allocate_order(store, oid)
        with store.write():
            pl = store.one("SELECT pick_list_id FROM pick_steps WHERE order_id = ? LIMIT 1", (oid,))
            store.execute(
                "INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, "
                "zpl, created_at, confirmed_at) VALUES (?, ?, ?, ?, 350, 'confirmed', '^XA^XZ', "
                "?, ?)",
                (oid, pl["pick_list_id"], f"00{n:018d}", f"SF{n:010d}", now(), now()),
            )
        for status in ("shipped", "out_for_delivery", "delivered"):
            with store.write():
                capture.record(store, oid, status, status)


def _drain(loop: Any, store: Any, table: str, done: str, total: int) -> float:
    """Run a worker loop until `total` rows of `table` are `done`; returns the seconds."""
    start = time.perf_counter()
    g = gevent.spawn(loop)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        n = store.one(f"SELECT COUNT(*) AS n FROM {table} WHERE status = ?", (done,))["n"]
        if n >= total:
            break
        gevent.sleep(0.05)
    took = time.perf_counter() - start
    g.kill()
    return took


@click.command()
@click.option("--orders", default=100, help="orders, each with 3 mails and 9 webhooks")
@click.option("--write-docs", is_flag=True, help="write the figures into docs/benchmarks.md")
@click.option("--serve", type=click.Choice(["receiver", "sink"]), hidden=True)
@click.option("--port", type=int, default=0, hidden=True)
def main(orders: int, write_docs: bool, serve: str | None, port: int) -> None:
    if serve == "receiver":
        return _serve_receiver(port)
    if serve == "sink":
        return _serve_sink(port)
    from server.config import EmailSettings, WebhookSettings
    from server.notify import mail
    from server.notify.delivery import Deliverer
    from server.notify.mailer import Mailer
    from server.store.db import open_store

    hook_port, smtp_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(p)], cwd=ROOT)
        for kind, p in (("receiver", hook_port), ("sink", smtp_port))
    ]
    try:
        _wait_port(hook_port)
        _wait_port(smtp_port)
        with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
            email = EmailSettings(enabled=True, host="127.0.0.1", port=smtp_port, starttls=False,
                                  sender="orders@shop.example.com")  # fmt: skip
            mail.configure(email)
            store = open_store(Path(tmp) / "bench.db", synchronous="NORMAL")
            _queue(store, orders, f"http://127.0.0.1:{hook_port}/hooks")
            hooks = store.one("SELECT COUNT(*) AS n FROM webhook_deliveries")["n"]
            mails = store.one("SELECT COUNT(*) AS n FROM customer_mails")["n"]
            hooks_s = _drain(
                Deliverer(store, WebhookSettings(allowed_hosts=["127.0.0.1"], poll_seconds=0.05),
                          "bench").run,  # fmt: skip
                store, "webhook_deliveries", "delivered", hooks,
            )  # fmt: skip
            mails_s = _drain(
                Mailer(store, email.model_copy(update={"poll_seconds": 0.05}), "bench").run,
                store, "customer_mails", "sent", mails,
            )  # fmt: skip
            store.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    lines = [
        f"- webhooks: {hooks} in {hooks_s:.1f} s: **{hooks / hooks_s:.0f}/s**",
        f"- mails: {mails} in {mails_s:.1f} s: **{mails / mails_s:.0f}/s**",
    ]
    print("\n".join(lines))
    if write_docs:
        write_section(BENCHMARKS_MD, HEADING, "\n".join([
            HEADING, "", f"`scripts/bench_notify.py --orders {orders}` on {machine()}:", "",
            *lines, ""]))  # fmt: skip


if __name__ == "__main__":
    main()
