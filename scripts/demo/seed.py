"""A generated demo site: two warehouses far apart, their bins, products, stock and orders."""

from __future__ import annotations

import random
from typing import Any

from shared.barcodes import gs1_check_digit

# (code, name, city, lat, lon)
WAREHOUSES = [
    ("WH-EAST", "East DC", "Newark", 40.7357, -74.1724),
    ("WH-WEST", "West DC", "Ontario", 34.0633, -117.6509),
]
# Customers' cities: (city, lat, lon)
CITIES = [
    ("Boston", 42.36, -71.06),
    ("Philadelphia", 39.95, -75.17),
    ("Pittsburgh", 40.44, -80.00),
    ("Atlanta", 33.75, -84.39),
    ("Chicago", 41.88, -87.63),
    ("Miami", 25.76, -80.19),
    ("Seattle", 47.61, -122.33),
    ("Portland", 45.52, -122.68),
    ("San Diego", 32.72, -117.16),
    ("Phoenix", 33.45, -112.07),
    ("Denver", 39.74, -104.99),
    ("Las Vegas", 36.17, -115.14),
]
WORDS = ["Mug", "Pen", "Notebook", "Cable", "Lamp", "Socks", "Tea", "Candle", "Bottle", "Brush"]
COLOURS = ["Blue", "Red", "Green", "Black", "White"]
AISLES, BAYS, LEVELS = 6, 5, 2  # 60 bins per warehouse


def gtin13(n: int) -> str:
    """A valid EAN-13 in the restricted-circulation range 200-299 (safe for demos)."""
    body = f"2{n:011d}"
    return body + str(gs1_check_digit(body))


def _address(
    name: str, city: str, lat: float | None = None, lon: float | None = None
) -> dict[str, Any]:
    a: dict[str, Any] = {
        "name": name,
        "line1": "100 Dock Street",
        "city": city,
        "postcode": "10001",
        "country": "US",
    }
    if lat is not None:
        a.update(lat=lat, lon=lon)
    return a


def catalogue(rng: random.Random, products: int = 40) -> dict[str, Any]:
    """Warehouses, bins (aisle-bay-level), products with GTINs, and stock."""
    cat: dict[str, Any] = {"warehouses": [], "locations": [], "products": [], "stock": []}
    for code, name, city, lat, lon in WAREHOUSES:
        cat["warehouses"].append(
            {"code": code, "name": name, "address": _address(name, city), "lat": lat, "lon": lon}
        )
        for aisle in range(1, AISLES + 1):
            for bay in range(1, BAYS + 1):
                for level in range(1, LEVELS + 1):
                    loc = f"{code[3]}-{aisle:02d}-{bay:02d}-{level}"
                    cat["locations"].append(
                        {
                            "warehouse": code,
                            "code": loc,
                            "barcode": f"L{loc}",
                            "zone": "A",
                            "aisle": aisle,
                            "bay": bay,
                            "level": level,
                        }
                    )
    for i in range(1, products + 1):
        name = f"{COLOURS[i % len(COLOURS)]} {WORDS[i % len(WORDS)]} {i}"
        cat["products"].append(
            {
                "sku": f"SKU-{i:04d}",
                "name": name,
                "barcodes": [gtin13(i)],
                "weight_g": rng.randint(50, 1500),
            }
        )
    bins = {
        code: [loc for loc in cat["locations"] if loc["warehouse"] == code]
        for code, *_ in WAREHOUSES
    }
    for i in range(1, products + 1):
        sku = f"SKU-{i:04d}"
        if i > products - 3:
            continue  # a few products out of stock everywhere: their orders wait as backorders
        for code in bins:
            if i % 7 == 0 and code == "WH-WEST":
                continue  # some products only in the east
            for loc in rng.sample(bins[code], rng.randint(1, 2)):
                cat["stock"].append(
                    {
                        "warehouse": code,
                        "location": loc["code"],
                        "sku": sku,
                        "on_hand": rng.randint(3, 12),
                    }
                )
    return cat


def orders(rng: random.Random, count: int = 30, products: int = 40) -> list[dict[str, Any]]:
    """Orders from customers in the cities above; the last few ask for what nobody has."""
    out = []
    for n in range(1, count + 1):
        city, lat, lon = rng.choice(CITIES)
        skus = rng.sample(range(1, products - 2), rng.randint(1, 3))
        lines = [{"sku": f"SKU-{i:04d}", "qty": rng.randint(1, 2)} for i in skus]
        if n > count - 3:
            lines.append({"sku": f"SKU-{products:04d}", "qty": 1})  # out of stock everywhere
        out.append(
            {
                "order_id": f"DEMO-{n:04d}",
                "channel": "demo-shop",
                "lines": lines,
                "ship_to": _address(f"Customer {n}", city, lat, lon),
                "priority": 5 if n % 10 == 0 else 0,
            }
        )
    return out
