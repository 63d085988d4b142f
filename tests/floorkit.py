"""Test data and helpers every test folder may import: a small floor, orders, a handheld on /device."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any, NamedTuple

import gevent
from flask import Flask
from flask_socketio import SocketIO

from server.capture import orders
from server.core.schemas import OrderIn
from server.floor import planning
from server.inventory import allocate
from server.people import users
from server.realtime.hub import Hub
from server.store import Store
from shared.protocol import BOARD_NAMESPACE
from shared.protocol import DEVICE_NAMESPACE as NS


class Floor(NamedTuple):
    """A server app in process, its Socket.IO, its store and the device tokens (picker, packer)."""

    app: Flask
    socketio: SocketIO
    store: Store
    tokens: dict[str, str]

    @property
    def hub(self) -> Hub:
        """The realtime hub that hands out work and expires leases."""
        return self.app.extensions["scanfloor.hub"]


def address(name: str = "Ada Lovelace", lat: float | None = None, lon: float | None = None) -> dict:
    a = {
        "name": name,
        "line1": "1 Long Road",
        "city": "Springfield",
        "postcode": "12345",
        "country": "US",
    }
    if lat is not None:
        a.update(lat=lat, lon=lon)
    return a


def small_catalogue() -> dict:
    """Two warehouses far apart (New York, Los Angeles), four bins each, three products."""
    whs = [("WH-EAST", 40.71, -74.00), ("WH-WEST", 34.05, -118.24)]
    cat: dict = {
        "warehouses": [
            {"code": c, "name": f"{c} DC", "address": address(f"{c} DC"), "lat": la, "lon": lo}
            for c, la, lo in whs
        ],
        "locations": [],
        "products": [
            {"sku": "SKU-A", "name": "Blue mug", "barcodes": ["4006381333931"], "weight_g": 350},
            {"sku": "SKU-B", "name": "Red pen", "barcodes": ["0012345678905"], "weight_g": 20},
            {"sku": "SKU-C", "name": "Green tea", "barcodes": ["9501101530003"], "weight_g": 120},
        ],
        "stock": [],
    }
    for code, _, _ in whs:
        p = code[3]  # E or W
        for aisle in (1, 2):
            for bay in (1, 2):
                loc = f"{p}-{aisle:02d}-{bay:02d}"
                cat["locations"].append(
                    {
                        "warehouse": code,
                        "code": loc,
                        "barcode": f"L{loc}",
                        "aisle": aisle,
                        "bay": bay,
                    }
                )
    cat["stock"] = [
        {"warehouse": "WH-EAST", "location": "E-02-02", "sku": "SKU-A", "on_hand": 5},
        {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": 10},
        {"warehouse": "WH-WEST", "location": "W-01-02", "sku": "SKU-A", "on_hand": 2},
        {"warehouse": "WH-WEST", "location": "W-02-01", "sku": "SKU-C", "on_hand": 3},
    ]
    return cat


def order_body(
    order_id: str, lines: list[tuple[str, int]], lat: float = 40.0, lon: float = -75.0
) -> dict:
    return {
        "order_id": order_id,
        "lines": [{"sku": s, "qty": q} for s, q in lines],
        "ship_to": address("Grace Hopper", lat, lon),
    }


def place(
    store,
    order_id: str,
    lines: list[tuple[str, int]],
    lat: float = 40.0,
    lon: float = -75.0,
    priority: int = 0,
    **fields: Any,
) -> str:
    """Capture and allocate an order (`fields`: more of OrderIn, e.g. service); returns our id."""
    body = {**order_body(order_id, lines, lat, lon), "priority": priority, **fields}
    oid, _ = orders.capture(store, OrderIn.model_validate(body))
    allocate.allocate_order(store, oid)
    return oid


def pen_and_mug_history(store, today: date, days: int = 28) -> None:
    """An order a day in WH-EAST over the `days` before `today`, dated back: two pens (three on
    Fridays), and a mug one day in four: a demand history for the forecast."""
    for i in range(days):
        day = today - timedelta(days=days - i)
        lines = [("SKU-B", 2 + (day.weekday() == 4))] + ([("SKU-A", 1)] if i % 4 == 1 else [])
        oid = place(store, f"H-{i}", lines)
        store.execute(
            "UPDATE orders SET created_at = ? WHERE id = ?", (f"{day.isoformat()}T10:00:00", oid)
        )


def connect(app, socketio, token: str, last_seen_seq: int = 0):
    """A handheld's Socket.IO test client on /device, already let in."""
    client = socketio.test_client(
        app, namespace=NS, auth={"token": token, "last_seen_seq": last_seen_seq}
    )
    assert client.is_connected(NS)
    settle()
    first_state(client)
    return client


def settle() -> None:
    """Let the server's follow-up greenlets run (the welcome after a connect, a hand-out)."""
    for _ in range(3):
        gevent.sleep(0.001)


def first_state(client, timeout: float = 10.0) -> None:
    """Wait until the connect's welcome (its first state) reached the client, without taking it
    from the client's queue. The welcome is a greenlet of its own: on a loaded machine, or with
    many greenlets ready, it may need more than the three turns of the loop `settle` gives."""
    deadline = time.monotonic() + timeout
    while not any(p["name"] == "state" and p["namespace"] == NS for p in client.queue):
        assert time.monotonic() < deadline, f"no first state within {timeout} s of the connect"
        gevent.sleep(0.005)


def plan(store, warehouse: str = "WH-EAST") -> int:
    """Plan the warehouse's carts now, as the worker process's planner does in the background."""
    return planning.plan_ahead(store, warehouse, budget=1000, per_picker=1.0)


def expire_leases(floor: Floor, lease_seconds: float) -> int:
    """Run the worker's lease sweep now, then let the server act on its news (as it does a
    few times a second); returns how many lists went back."""
    from server.runtime.background import Worker

    released = Worker(floor.store, floor.app.config["SETTINGS"]).expire_leases(lease_seconds)
    floor.hub.catch_up()
    settle()
    return released


def emit(client, event: str, msg: Any) -> dict:
    """Send one /device event and return the server's acknowledgement."""
    return client.emit(event, msg, namespace=NS, callback=True)


def scan(client, barcode: str, msg_id: str) -> dict:
    """Scan one barcode from the handheld."""
    return emit(client, "scan", {"id": msg_id, "barcode": barcode})


def action(client, name: str, msg_id: str, **fields: Any) -> dict:
    """A worker action (help, short, ...) from the handheld."""
    return emit(client, "action", {"id": msg_id, "action": name, **fields})


def received(client, event: str) -> list[dict]:
    """The payloads of every `event` the handheld got since last asked."""
    return [e["args"][0] for e in client.get_received(NS) if e["name"] == event]


def states(client) -> list[dict]:
    """The state events (seq, state, message) the handheld got since last asked."""
    return received(client, "state")


def last_state(client) -> dict:
    """The newest state event the handheld got."""
    return states(client)[-1]


def pick_and_pack(
    floor: Floor, order_id: str, tote: str, sku_barcode: str, location: str, **fields: Any
) -> dict:
    """Place a one-unit order (`fields`: more of OrderIn), pick it into `tote` and pack it with
    the floor's picker and packer; returns its package row (tracking, carrier, service...)."""
    app, socketio, store, tokens = floor
    oid = place(store, order_id, [(_SKU_OF[sku_barcode], 1)], **fields)
    picker = connect(app, socketio, tokens["picker"])
    for i, code in enumerate([tote, location, sku_barcode]):
        assert scan(picker, code, f"{order_id}-p{i}")["ok"], code
    picker.disconnect(NS)
    pack_tote(floor, tokens["packer"], tote, sku_barcode, order_id)
    return store.one("SELECT * FROM packages WHERE order_id = ?", (oid,))


def pack_tote(floor: Floor, token: str, tote: str, sku_barcode: str, key: str = "") -> str:
    """A pack station (`token`) packs the one-unit order in `tote`: verifies the unit, prints
    the label, scans it; returns the new tracking number. `key`: the scans' id prefix."""
    key = key or tote
    packer = connect(floor.app, floor.socketio, token)
    assert scan(packer, tote, f"{key}-k0")["ok"]
    r = scan(packer, sku_barcode, f"{key}-k1")
    assert r["state"]["screen"] == "pack_label", r
    job = received(packer, "print")[-1]["job_id"]
    assert emit(packer, "print_result", {"id": f"{key}-pr", "job_id": job, "ok": True})["ok"]
    tracking = r["state"]["expect"]["barcodes"][0]
    assert scan(packer, tracking, f"{key}-k2")["ok"]
    packer.disconnect(NS)
    return tracking


_SKU_OF = {"4006381333931": "SKU-A", "0012345678905": "SKU-B", "9501101530003": "SKU-C"}
# ---------------------------------------------------------------- people on the board
BOARD_PASSWORD = "board password 1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def logged_in(app: Flask, name: str = "sup", role: str = "supervisor"):
    """A Flask test client logged in as a new user of this role (made if missing)."""
    store = app.extensions["store"]
    if users.get(store, name) is None:
        users.add(store, name, role, BOARD_PASSWORD)
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post(
        "/login", data={"username": name, "password": BOARD_PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def board_web(app: Flask, name: str = "sup", role: str = "supervisor"):
    """A test client logged in as a supervisor that sends, like the board's JS, the CSRF token
    from the board page's meta tag as header X-CSRFToken on every request."""
    client = logged_in(app, name, role)
    found = _CSRF_META.search(client.get("/board").get_data(as_text=True))
    assert found, "the board page has no csrf-token meta tag"
    client.environ_base["HTTP_X_CSRFTOKEN"] = found.group(1)
    return client


def board_client(app: Flask, socketio: SocketIO, name: str = "sup", role: str = "supervisor"):
    """A /board Socket.IO test client on a supervisor's log-in session."""
    return socketio.test_client(
        app, namespace=BOARD_NAMESPACE, flask_test_client=logged_in(app, name, role)
    )


def first_view(viewer, timeout: float = 10.0) -> None:
    """Wait until a board test client holds its first view (the snapshot), without taking it
    from the client's queue. The build lets the loop poll between its parts (server/realtime/
    hub.py), so it takes a few turns of the loop: more than `settle` gives."""
    deadline = time.monotonic() + timeout
    while not any(
        p["name"] == "snapshot" and p["namespace"] == BOARD_NAMESPACE for p in viewer.queue
    ):
        assert time.monotonic() < deadline, f"no first view within {timeout} s of the connect"
        gevent.sleep(0.005)


def http_login(base: str, name: str, password: str = BOARD_PASSWORD):
    """A requests session logged in on a running server (its cookie opens /board)."""
    import requests

    session = requests.Session()
    token = csrf_from(session.get(f"{base}/login", timeout=10).text)
    resp = session.post(
        f"{base}/login",
        data={"username": name, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.text
    return session


def log_in(page, base: str, name: str, password: str = BOARD_PASSWORD, path: str = "/board"):
    """In a browser (a Playwright page), open a page: the server sends the browser to /login;
    fill the form in and send it."""
    page.goto(base + path)
    assert page.url.startswith(base + "/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def cookie_header(session) -> str:
    """The session's cookies as one Cookie header, for a Socket.IO client."""
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def drawn(state: dict, ok: bool | None, message: str, code: str | None = None) -> str:
    """The handheld's screen (60 x 20) for a server's state and message, as the picker reads it:
    no colours, no trailing blanks. `ok` None: a notice (a `state` event's message)."""
    import io

    from device.screen import TtyScreen, plain_text
    from shared.protocol import DeviceState

    screen = TtyScreen(out=io.StringIO())
    screen.state = DeviceState.model_validate(state)
    if ok is None:
        screen.notice(message)
    else:
        screen.scan_result(ok, message, code)
    return "\n".join(r.rstrip() for r in plain_text(screen.render(60, 20)).split("\n"))


def big(words: str) -> str:
    """`words` in the handheld's block letters."""
    from device.screen import big_line

    return "\n".join(big_line(words))


def words(text: str) -> str:
    """A screen's text with its line breaks as spaces (a sentence wrapped over lines)."""
    return " ".join(text.split())


def stop_app(app: Any) -> None:
    """An in-process app's end: its hub's background greenlets (the boards' updates, the watch
    loops) stopped and its store closed. Left running, they go on polling a closed or
    orphaned database in every later test of the process, and a board left open keeps its
    updates going into the next test."""
    hub = app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.stop()
    app.extensions["store"].close()
