"""A generated site for load runs: one warehouse, its bins and stock, a fleet of devices, open orders.

The fleet simulator and the floor benchmark seed a fresh site with this: the
catalogue goes in through the catalogue service (as `scanfloor import` does),
the devices through bulk enrolment (as `scanfloor device add --count` does),
and the orders through capture and batch allocation (as `POST /api/orders`
and `scanfloor allocate` do), so the server finds a site like any other.
Stock is deep enough that every order is served: the load is picking, not
backorders.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from server.capture import orders
from server.core.schemas import CatalogueIn, OrderIn
from server.floor import planning
from server.inventory import allocate, catalogue
from server.people import auth
from server.store import open_store

WAREHOUSE = ("WH-1", 40.7357, -74.1724)  # code, lat, lon
AISLES, BAYS, LEVELS = 20, 25, 2  # 1,000 bins
SKUS = 1_000


@dataclass
class Site:
    """What a seeded site gives a fleet: its data dir and the devices' names, tokens and roles."""

    data_dir: Path
    devices: list[tuple[str, str, str]] = field(default_factory=list)  # (name, token, role)
    orders: int = 0
    seconds: float = 0.0

    def tokens_csv(self) -> str:
        """The devices as `scanfloor device add --count` prints them."""
        return "name,token,role\n" + "".join(f"{n},{t},{r}\n" for n, t, r in self.devices)


def _address(name: str, lat: float, lon: float) -> dict:
    return {
        "name": name,
        "line1": "1 Dock Road",
        "city": "Newark",
        "postcode": "07102",
        "country": "US",
        "lat": lat,
        "lon": lon,
    }


def _catalogue() -> CatalogueIn:
    code, lat, lon = WAREHOUSE
    bins = [
        (a, b, lv)
        for a in range(1, AISLES + 1)
        for b in range(1, BAYS + 1)
        for lv in range(1, LEVELS + 1)
    ]
    locations = [
        {
            "warehouse": code,
            "code": f"{a:02d}-{b:02d}-{lv}",
            "barcode": f"L{a:02d}{b:02d}{lv}",
            "aisle": a,
            "bay": b,
            "level": lv,
        }
        for a, b, lv in bins
    ]
    products = [
        {"sku": f"SKU-{k:05d}", "name": f"Item {k}", "barcodes": [f"2{k:011d}"], "weight_g": 200}
        for k in range(SKUS)
    ]
    stock = [
        {
            "warehouse": code,
            "location": locations[k % len(locations)]["code"],
            "sku": f"SKU-{k:05d}",
            "on_hand": 1_000_000,
        }
        for k in range(SKUS)
    ]
    return CatalogueIn.model_validate(
        {
            "warehouses": [
                {"code": code, "name": "Load DC", "address": _address("Load DC", lat, lon)}
                | {"lat": lat, "lon": lon}
            ],
            "locations": locations,
            "products": products,
            "stock": stock,
        }
    )


def seed_site(
    data_dir: Path,
    pickers: int,
    packers: int = 0,
    open_orders: int = 0,
    seed: int = 1,
    cart_totes: int = 6,
    database: str | None = None,
) -> Site:
    """A fresh site in data_dir with `open_orders` allocated orders waiting to be picked
    (in `database`, a PostgreSQL URL, when given; else in data_dir's SQLite file)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    store = open_store(database or Path(data_dir) / "scanfloor.db", synchronous="OFF")
    site = Site(Path(data_dir))
    try:
        catalogue.load(store, _catalogue())
        code, lat, lon = WAREHOUSE
        for role, count, prefix in (("picker", pickers, "fleet-p"), ("packer", packers, "fleet-k")):
            if count:
                names = auth.fleet_names(prefix, count)
                made = auth.create_devices(store, names, role, code, cart_totes=cart_totes)
                site.devices += [(n, t, role) for n, t in made]
        with store.write():  # one transaction: on PostgreSQL, one commit instead of one per order
            for n in range(open_orders):
                lines = {f"SKU-{rng.randrange(SKUS):05d}": rng.choice((1, 1, 2)) for _ in range(3)}
                body = {
                    "order_id": f"F-{n:07d}",
                    "lines": [
                        {"sku": s, "qty": q} for s, q in list(lines.items())[: rng.randint(1, 3)]
                    ],
                    "ship_to": _address(
                        "Customer", lat + rng.uniform(-2, 2), lon + rng.uniform(-2, 2)
                    ),
                }
                orders.capture(store, OrderIn.model_validate(body))
        allocate.allocate_pending(store)
        # A shift starts with a cart planned for every picker (the server then keeps a
        # quarter of that planned as carts are taken).
        while planning.plan_ahead(store, code, budget=100, per_picker=1.0):
            pass
        site.orders = open_orders
    finally:
        store.close()
    site.seconds = time.perf_counter() - started
    return site
