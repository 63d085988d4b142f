"""`scanfloor demo`: a whole floor on this machine, with simulated workers.

It seeds a fresh site, starts the real server process on a free loopback port,
sends the demo orders as a Shopify shop does (signed `orders/create` webhooks,
plus a resend, an address change and a cancel), starts picker and packer device
processes whose fake scanners are driven by simulated workers, and a virtual
Zebra printer on a loopback TCP port per pack station. Each device reaches the
server through its own loopback proxy, the floor's Wi-Fi: mid-run one picker's
link is cut and another's turns into a dead zone (bytes swallowed) for a few
seconds, and the workers keep picking on the devices' own guidance. Beside the
floor run the stages (scripts/demo/stages.py): the shop's webhook receiver,
subscribed to every order event, is down for a while and the server retries; at the
dock packed orders are closed out onto the local carrier's manifests and loaded onto
its truck (one package is left behind once, and goes on the next truck); the local
carrier's simulator posts signed tracking events until each parcel is delivered; the
customers' e-mails go to a local SMTP server the demo starts.
When every order that has stock is delivered (or returned) and the stages have
drained, it prints a summary, one order's way from the shop to the door, and where
the labels are.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import statistics
import threading
import time
from pathlib import Path

from device.sim.netproxy import NetProxy
from device.sim.zpl_printer import ZplPrinterSim
from scripts.demo import procs, seed
from scripts.demo import shopify as shop
from scripts.demo.carrier import Carrier
from scripts.demo.customer_mail import CustomerMail
from scripts.demo.day import Day
from scripts.demo.floor import SUPERVISOR, Floor, Outage, carries
from scripts.demo.handover import HandOver
from scripts.demo.moves import Moves
from scripts.demo.stages import ShopWebhooks, Stage, status_changes
from server.capture import channels
from server.capture import shopify as shopify_service
from server.core.schemas import CatalogueIn
from server.floor import planning
from server.floor.domain.routing import Stop, best_route, route_length
from server.inventory import catalogue, replenishment
from server.people import auth, users
from server.store import open_store

PICKERS_PER_WAREHOUSE = 2
PACKERS_PER_WAREHOUSE = 1
# Link faults mid-run for the first picker of each warehouse in turn: (mode, seconds).
# A dead zone must outlast the device's 4 s link_timeout to be noticed at all.
OUTAGES = [("cut", 4.0), ("blackhole", 6.0)]
# Order statuses that are still the floor's work; stages add their own (Stage.busy).
BUSY = ("received", "allocated", "picking", "picked")
SETTLE_SECONDS = 30.0  # at most this long for the stages to drain once the floor is done
# Statuses past `packed` (the order left the building), and the last of them.
SHIPPED = ("shipped", "in_transit", "out_for_delivery", "delivered", "exception", "returned")
DELIVERED = "delivered"


def stages(seed_value: int = 7) -> list[Stage]:
    """What runs beside the floor, in this order (see scripts/demo/stages.py): the shop's
    receiver, the dock hand-over (busy `packed`), the local carrier's simulator (busy
    until delivered), the customers' SMTP server, one transfer between the warehouses
    (scripts/demo/moves.py) and the rest of the day (a cycle count, returns restocked, the
    unit accounting: last, once the transfer is received)."""
    return [ShopWebhooks(), HandOver(), Carrier(seed_value), CustomerMail(), Moves(), Day()]


def _toml(device: dict) -> str:
    lines = ["[device]"]
    for key, value in device.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    for key, value in device.items():
        if isinstance(value, dict):
            lines.append(f"\n[device.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def seed_site(
    data: Path, rng: random.Random, say=print, shopify_secret: str | None = None
) -> tuple[str, list[dict]]:
    """Catalogue, an API key, device tokens and the shop's channel (with its Shopify secret,
    if given) in a fresh database; returns (key, devices)."""
    store = open_store(data / "scanfloor.db")
    cat = seed.catalogue(rng)
    catalogue.load(store, CatalogueIn.model_validate(cat))
    face = seed.replen_face(cat)
    if face is not None:  # the reserve bin feeds it: its min and max
        replenishment.set_limits(
            store,
            seed.REPLEN_WAREHOUSE,
            face,
            seed.REPLEN_SKU,
            seed.FACE_MIN,
            seed.FACE_MAX,
            "demo",
        )
    if shopify_secret:
        channels.set_channel(store, shop.CHANNEL, shopify_secret=shopify_secret)
    api_key = auth.create_api_key(store, "demo")
    devices: list[dict] = []
    for code, *_ in seed.WAREHOUSES:
        for role, count in (("picker", PICKERS_PER_WAREHOUSE), ("packer", PACKERS_PER_WAREHOUSE)):
            for n in range(1, count + 1):
                name = f"{role}-{code[3].lower()}{n}"
                token = auth.create_device(store, name, role, code)
                devices.append({"name": name, "role": role, "warehouse": code, "token": token})
    store.close()
    faces = sum(loc.get("role", "face") == "face" for loc in cat["locations"])
    say(
        f"seeded {len(seed.WAREHOUSES)} warehouses, {faces} pick faces and "
        f"{len(cat['locations']) - faces} reserve bin, 40 products in {data}"
    )
    return api_key, devices


def add_supervisor(data: Path) -> str:
    """The board's supervisor in the site's database, with a new random password (returned)."""
    password = secrets.token_urlsafe(9)
    store = open_store(data / "scanfloor.db")
    try:
        users.add(store, SUPERVISOR, "supervisor", password)
    finally:
        store.close()
    return password


def seed_only(out: Path, seed_value: int, orders_count: int, say=print) -> None:
    """Seed a site with the demo's catalogue, devices and orders, and start nothing."""
    data = out / "data"
    rng = random.Random(seed_value)
    secret = shop.new_secret()
    api_key, devices = seed_site(data, rng, say, secret)
    password = add_supervisor(data)
    store = open_store(data / "scanfloor.db")
    for payload in seed.shopify_orders(rng, orders_count):  # as the webhook takes them
        body = json.dumps(payload).encode()
        shopify_service.receive(
            store,
            shop.CHANNEL,
            "orders/create",
            seed.webhook_id(rng),
            shop.sign(body, secret),
            body,
        )
    store.close()
    say(f"{orders_count} Shopify orders captured and allocated (channel {shop.CHANNEL})")
    say(f"Shopify webhook secret of channel {shop.CHANNEL}: {secret}")
    say(f"API key: {api_key}")
    say(f"board log-in: {SUPERVISOR} / {password}")
    for dev in devices:
        say(f"device {dev['name']} ({dev['role']}, {dev['warehouse']}): token {dev['token']}")


def left_out(floor: Floor, say=print) -> None:
    """Say which shop lines are no floor work (the gift card), from the orders' timelines."""
    for placed in floor.placed[seed.GIFT_CARD_ORDER - 1 : seed.GIFT_CARD_ORDER]:
        for e in floor.order(placed.id)["timeline"]:
            if e["event"] == "shop_lines_left_out":
                items = ", ".join(f"{i['title']} ({i['why']})" for i in e["detail"]["line_items"])
                say(f"  shop: {placed.shop_number}'s line {items} is no floor work: left out")


def setup(
    floor: Floor, seed_value: int, orders_count: int, wrong_rate: float, say=print
) -> list[shop.Placed]:
    """Seed the site and start server, printers and devices; each is on `floor` once started,
    so `floor.stop()` stops whatever had started if this is interrupted."""
    out = floor.out
    data = out / "data"
    rng = random.Random(seed_value)
    secret = shop.new_secret()
    api_key, devices = seed_site(data, rng, say, secret)
    floor.password = add_supervisor(data)
    floor.stages = stages(seed_value)
    floor.port = procs.free_port()
    env = {k: v for stage in floor.stages for k, v in stage.env(floor).items()}
    floor.server = procs.start_server(data, floor.port, out / "logs" / "server.log", env)
    (out / "server.url").write_text(floor.base + "\n")  # for `make handheld` to find it
    floor.api.headers["Authorization"] = f"Bearer {api_key}"
    say(f"server up on {floor.base} (board: {floor.base}/board, {floor.login})")
    for stage in floor.stages:
        stage.start(floor, say)

    payloads = seed.shopify_orders(rng, orders_count)
    floor.placed = shop.send_orders(shop.Shop(floor.base, secret, rng), payloads, say)
    left_out(floor, say)
    unplaced = [p for p in payloads if p["shipping_address"]["latitude"] is None]
    if unplaced:
        say(
            f"  shop: {len(unplaced)} orders came without latitude and longitude "
            "(the server places them offline, by ZIP code or city)"
        )

    short = short_on_shelf(floor)
    for i, dev in enumerate(devices):
        proxy = floor.proxies[dev["name"]] = NetProxy(("127.0.0.1", floor.port)).start()
        cfg: dict = {
            "name": dev["name"],
            "server": proxy.url,
            "token": dev["token"],
            "scanner": f"fake://{dev['name']}",
            "data_dir": str(out / "devices"),
            "screen": "none",
            "stats_file": str(out / "devices" / f"{dev['name']}.stats.json"),
            "simulate": {
                "enabled": True,
                "think_seconds": 0.02,
                "wrong_scan_rate": wrong_rate,
                "seed": seed_value + i,
            },
        }
        if dev["role"] == "picker" and dev["warehouse"] == seed.REPLEN_WAREHOUSE:
            cfg["simulate"]["empty_on_shelf"] = short
        if dev["role"] == "packer":
            printer = ZplPrinterSim(out_dir=out / "labels" / dev["name"]).start()
            floor.printers.append(printer)
            cfg["printer"] = printer.url
            cfg["scale"] = f"fake://{dev['name']}"  # the worker puts each package on it
        path = out / "devices" / f"{dev['name']}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_toml(cfg))
        floor.devices.append(procs.start_device(path, out / "logs" / f"{dev['name']}.log"))
    say(f"{len(devices)} devices started: {', '.join(d['name'] for d in devices)}")
    return floor.placed


def short_on_shelf(floor: Floor) -> list[str]:
    """What the pickers find missing on the shelf (`simulate.empty_on_shelf`): the face that
    reserve feeds (`GET /api/replenishment/limits`) lacks the replenished SKU."""
    r = floor.api.get(
        f"{floor.base}/api/replenishment/limits",
        params={"warehouse": seed.REPLEN_WAREHOUSE},
        timeout=10,
    )
    r.raise_for_status()
    item = seed.gtin13(int(seed.REPLEN_SKU.removeprefix("SKU-")))
    return [f"L{f['location']} {item}" for f in r.json()["limits"] if f["sku"] == seed.REPLEN_SKU]


def disturb(floor: Floor, say=print) -> list[threading.Thread]:
    """Cut or black-hole some pickers' links for a few seconds each, while they are mid-list."""
    pickers = [name for name in floor.proxies if name.startswith("picker") and name.endswith("1")]
    floor.outages = [Outage(name, *fault) for name, fault in zip(pickers, OUTAGES, strict=False)]
    db = floor.out / "data" / "scanfloor.db"

    def mid_list(name: str) -> bool:
        with sqlite3.connect(db) as conn:
            return bool(
                conn.execute(
                    """SELECT COUNT(*) >= 3 FROM scans s JOIN devices d ON d.id = s.device_id
                       WHERE d.name = ? AND EXISTS (SELECT 1 FROM pick_lists p
                       WHERE p.device_id = d.id AND p.status = 'assigned' AND p.tote IS NOT NULL)""",
                    (name,),
                ).fetchone()[0]
            )

    def run(outage: Outage) -> None:
        deadline = time.monotonic() + 60
        while not mid_list(outage.device) and time.monotonic() < deadline:
            if floor.stopping.wait(0.1):
                return
        proxy = floor.proxies[outage.device]
        outage.started = time.time()
        proxy.set_mode(outage.mode)  # type: ignore[arg-type]
        say(f"  network: {outage.device} link {outage.mode} for {outage.seconds:.0f} s")
        floor.stopping.wait(outage.seconds)
        proxy.restore()
        outage.ended = time.time()
        say(f"  network: {outage.device} link back")

    threads = [threading.Thread(target=run, args=(o,), daemon=True) for o in floor.outages]
    for t in threads:
        t.start()
    return threads


def network(floor: Floor) -> dict:
    """Outages survived and scans lost: journal scans the server never recorded."""
    db = floor.out / "data" / "scanfloor.db"
    with sqlite3.connect(db) as conn:
        known = {r[0] for r in conn.execute("SELECT msg_id FROM scans")}
        offline = conn.execute("SELECT COUNT(*) FROM scans WHERE offline = 1").fetchone()[0]
    lost = 0
    waiting: dict[str, int] = {}
    for path in (floor.out / "devices").glob("*.journal.db"):
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT msg_id, acked_at FROM scans WHERE kind = 'scan'").fetchall()
        lost += sum(1 for msg_id, _ in rows if msg_id not in known)
        waiting[path.name.removesuffix(".journal.db")] = sum(1 for _, a in rows if a is None)
    survived = sum(1 for o in floor.outages if o.ended and waiting.get(o.device, 1) == 0)
    return {
        "network_cuts": sum(1 for o in floor.outages if o.started),
        "network_cuts_survived": survived,
        "scans_lost": lost,
        "scans_offline": offline,
    }


def counts(db: Path) -> dict[str, int]:
    """Order counts by status, read straight from the site's database."""
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status").fetchall())


def wait_until_packed(floor: Floor, timeout: float, say=print) -> dict[str, int]:
    """Wait until no order is in a busy status (`BUSY` and the stages'): on the floor alone,
    until every order that can ship is packed."""
    db = floor.out / "data" / "scanfloor.db"
    busy_statuses = set(BUSY).union(*(stage.busy for stage in floor.stages))
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        c = counts(db)
        busy = sum(c.get(s, 0) for s in busy_statuses)
        line = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
        if line != last:
            say(f"  orders: {line}")
            last = line
        if busy == 0:
            return c
        for proc in floor.devices:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"a device process exited with {proc.returncode}: see {floor.out / 'logs'}"
                )
        time.sleep(0.5)
    raise TimeoutError(f"orders still open after {timeout}s: {counts(db)}")


def settle(floor: Floor, say=print, seconds: float = SETTLE_SECONDS) -> None:
    """Once the floor is done: let each stage drain its own queue, all within `seconds`. The
    stages that carry news out (the shop's webhooks, the customers' mails: `carries_news`)
    settle last, after those that still make it (the carrier's last events, a return
    received at the dock, a transfer)."""
    until = time.monotonic() + seconds
    for stage in sorted(floor.stages, key=lambda s: s.carries_news):
        stage.settle(floor, until, say)


def follow(floor: Floor) -> dict | None:
    """One order from the shop's webhook to where it ended (the first delivered, else the
    first that went through the floor): its steps from its timeline over REST, what each
    stage told about it, and step by step what the shop and the customer were told."""
    orders = [(placed, floor.order(placed.id)) for placed in floor.placed]
    chosen = [po for po in orders if po[1]["status"] == DELIVERED] or [
        po for po in orders if po[1]["status"] not in ("received", "backordered", "cancelled")
    ]
    if not chosen:
        return None
    placed, order = chosen[0]
    steps = status_changes(order["timeline"])
    told = [t for stage in floor.stages if (t := stage.told(floor, placed.id))]
    said = [stage.said(floor, placed.id) for stage in floor.stages]
    return {
        "order": placed.id,
        "shop_number": placed.shop_number,
        "steps": steps,
        "told": told,
        "step_by_step": [
            {"status": s, "told": [what[s] for what in said if s in what]} for s in steps
        ],
        "tracking_url": order["tracking_url"],
    }


def placing(floor: Floor) -> dict:
    """How the server placed each order's address on the map (`geocoded` of each order over
    REST): with the shop's coordinates, by postcode, by city, or not at all; and which."""
    by: dict[str, list[str]] = {"given": [], "postcode": [], "city": [], "none": []}
    for placed in floor.placed:
        order = floor.order(placed.id)
        if order["geocoded"] == "none" and order["warehouse"]:  # no nearest: the fallback's
            by["none"].append(f"{placed.shop_number} from {order['warehouse']}")
        else:
            by[order["geocoded"]].append(placed.shop_number)
    return {
        **{how: len(numbers) for how, numbers in by.items()},
        "by_city": by["city"],
        "not_placed": by["none"],
    }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def walking(db: Path) -> dict:
    """Metres walked per unit picked, on the batched lists and if every order had its own list."""
    store = open_store(db, migrate=False)
    try:
        lists = store.all("SELECT id, warehouse, route_m FROM pick_lists WHERE route_m IS NOT NULL")
        units = store.one("SELECT COALESCE(SUM(picked), 0) AS n FROM pick_steps")["n"]
        alone = 0.0
        for warehouse in {r["warehouse"] for r in lists}:
            layout = planning.layout_for(store, warehouse)
            by_order: dict[str, list[Stop]] = {}
            for r in store.all(
                """SELECT ps.order_id, l.aisle, l.bay FROM pick_steps ps
                   JOIN pick_lists p ON p.id = ps.pick_list_id JOIN locations l ON l.id = ps.location_id
                   WHERE p.warehouse = ?""",
                (warehouse,),
            ):
                by_order.setdefault(r["order_id"], []).append(
                    Stop(max(1, r["aisle"]), max(1, r["bay"]))
                )
            alone += sum(route_length(layout, best_route(layout, s)) for s in by_order.values())
    finally:
        store.close()
    walked = sum(r["route_m"] for r in lists)
    return {
        "pick_lists": len(lists),
        "walk_m": round(walked, 1),
        "walk_m_per_pick": round(walked / units, 2) if units else None,
        "walk_m_per_pick_one_order_per_list": round(alone / units, 2) if units else None,
    }


def summary(floor: Floor) -> dict:
    """The figures of the run: counters over REST (`GET /api/stats`, the orders and the
    stages' own), the walk and the journals from the database, the devices' stats files
    and the printers."""
    db = floor.out / "data" / "scanfloor.db"
    resp = floor.api.get(f"{floor.base}/api/stats", timeout=10)
    resp.raise_for_status()
    stats = resp.json()
    rtts: list[float] = []
    for f in (floor.out / "devices").glob("*.stats.json"):
        rtts += json.loads(f.read_text())["rtt_ms"]
    labels = [label for p in floor.printers for label in p.labels]
    by_status = stats["orders"]
    shipped = sum(by_status.get(s, 0) for s in SHIPPED)
    return {
        "orders": by_status,
        "packed": by_status.get("packed", 0) + shipped,  # packed, whether or not it left since
        "shipped": shipped,
        "delivered": by_status.get(DELIVERED, 0),
        "handed_over_in_run": carries(floor, "packed"),
        "carried_in_run": carries(floor, "shipped"),
        "addresses": placing(floor),
        "backordered": floor.shop_numbers("backordered"),
        "cancelled": floor.shop_numbers("cancelled"),
        "orders_from_shopify": len(floor.placed),
        "scans": stats["scans"],
        "wrong_scans": stats["wrong_scans"],
        "labels_printed": len(labels),
        "print_jobs_printed": stats["labels_printed"],
        "packages_confirmed": stats["packages_confirmed"],
        **weighing(floor),
        "rtt_p50_ms": round(statistics.median(rtts), 2) if rtts else None,
        "rtt_p99_ms": round(percentile(rtts, 99), 2) if rtts else None,
        "labels_dir": str(floor.out / "labels"),
        **walking(db),
        **network(floor),
        **{stage.key: stage.figures(floor) for stage in floor.stages if stage.key},
        "followed": follow(floor),
    }


def weighing(floor: Floor) -> dict:
    """Packages the pack stations' scales weighed (the database) and those held for their
    weight (`GET /api/packages/held`)."""
    with sqlite3.connect(floor.out / "data" / "scanfloor.db") as conn:
        weighed = conn.execute(
            "SELECT COUNT(*) FROM packages WHERE measured_g IS NOT NULL"
        ).fetchone()[0]
    resp = floor.api.get(f"{floor.base}/api/packages/held", timeout=10)
    resp.raise_for_status()
    return {"packages_weighed": weighed, "packages_held": len(resp.json()["packages"])}


def previews(floor: Floor) -> int:
    """PNG previews of every label, where a renderer (zplkit) is installed."""
    try:
        from device.sim.label_preview import render_png
    except ImportError:
        return 0
    made = 0
    for zpl in sorted((floor.out / "labels").rglob("*.zpl")):
        try:
            zpl.with_suffix(".png").write_bytes(render_png(zpl.read_bytes()))
            made += 1
        except RuntimeError:
            return made
    return made
