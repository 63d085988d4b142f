"""A generated demo site: two warehouses far apart, their bins, products, stock and orders.

The demo's orders come as the shop sends them: Shopify `orders/create` bodies
(`shopify_orders`); `orders` is the same kind of order in our REST format, for
the benchmarks that post to `POST /api/orders`.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.barcodes import gs1_check_digit

# (code, name, city, lat, lon)
WAREHOUSES = [
    ("WH-EAST", "East DC", "Newark", 40.7357, -74.1724),
    ("WH-WEST", "West DC", "Ontario", 34.0633, -117.6509),
]
# Customers' cities: (city, lat, lon, state, zip)
CITIES = [
    ("Boston", 42.36, -71.06, "MA", "02108"),
    ("Philadelphia", 39.95, -75.17, "PA", "19107"),
    ("Pittsburgh", 40.44, -80.00, "PA", "15222"),
    ("Atlanta", 33.75, -84.39, "GA", "30303"),
    ("Chicago", 41.88, -87.63, "IL", "60602"),
    ("Miami", 25.76, -80.19, "FL", "33130"),
    ("Seattle", 47.61, -122.33, "WA", "98104"),
    ("Portland", 45.52, -122.68, "OR", "97204"),
    ("San Diego", 32.72, -117.16, "CA", "92101"),
    ("Phoenix", 33.45, -112.07, "AZ", "85004"),
    ("Denver", 39.74, -104.99, "CO", "80202"),
    ("Las Vegas", 36.17, -115.14, "NV", "89101"),
]
FIRST_NAMES = ["Grace", "Alan", "Ada", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"]
LAST_NAMES = ["Hopper", "Turing", "Lovelace", "Torvalds", "Hamilton", "Liskov", "Ritchie", "Allen"]
STREETS = ["Main Street", "Oak Avenue", "Harbor Road", "Elm Street", "Park Lane", "Mill Road"]
SHOP_DOMAIN = "demo-shop.myshopify.com"
FIRST_SHOP_NUMBER = 1041  # the shop's order names run #1041, #1042, ...
FIRST_SHOP_ID = 5806289289485  # Shopify's order ids: large integers
GIFT_CARD_ORDER = 2  # this order also buys a gift card: no floor work, left out
# Orders that come without latitude and longitude, for the server to place offline
# (server/capture/geocode.py): every third by its ZIP code, one by its city alone (its ZIP lost a
# digit), and one to a made-up place that cannot be placed at all (allocation's fallback).
CITY_ORDER, UNPLACED_ORDER = 6, 9
NOWHERE = ("Quillmere Hollow", "00000")  # no such town, no such ZIP code
WORDS = ["Mug", "Pen", "Notebook", "Cable", "Lamp", "Socks", "Tea", "Candle", "Bottle", "Brush"]
COLOURS = ["Blue", "Red", "Green", "Black", "White"]
AISLES, BAYS, LEVELS = 6, 5, 2  # 60 pick faces per warehouse
# A replenishment before a pick: a reserve bin of WH-EAST holds REPLEN_SKU, whose pick face (its
# first bin there) gets a min and a max. The face looks stocked, but a picker sent to it finds
# it empty (the demo's pickers are told so: `short_on_shelf`): the short pick's missing units
# wait for an urgent move from reserve, a handheld makes it, and the held pick is picked. With
# the demo's seed (7), one order (#1046) asks for this SKU.
REPLEN_SKU, REPLEN_WAREHOUSE = "SKU-0010", "WH-EAST"
RESERVE = {"code": "E-R-01", "on_hand": 20}  # the reserve bin, past the aisles, and what it holds
FACE_MIN, FACE_MAX = 2, 8


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


def product_name(i: int) -> str:
    return f"{COLOURS[i % len(COLOURS)]} {WORDS[i % len(WORDS)]} {i}"


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
        cat["products"].append(
            {
                "sku": f"SKU-{i:04d}",
                "name": product_name(i),
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
    _reserve(cat)
    return cat


def _reserve(cat: dict[str, Any]) -> None:
    """The reserve bin and its stock (after the faces' stock, drawing nothing from the seed's
    random numbers: the rest of the demo stays as it was)."""
    code = RESERVE["code"]
    cat["locations"].append(
        {
            "warehouse": REPLEN_WAREHOUSE,
            "code": code,
            "barcode": f"L{code}",
            "zone": "A",
            "aisle": AISLES + 1,
            "bay": 1,
            "level": 1,
            "role": "reserve",
        }  # fmt: skip
    )
    cat["stock"].append(
        {"warehouse": REPLEN_WAREHOUSE, "location": code, "sku": REPLEN_SKU,
         "on_hand": RESERVE["on_hand"]}
    )  # fmt: skip


def replen_face(cat: dict[str, Any]) -> str | None:
    """The pick face that reserve feeds: REPLEN_SKU's first face in REPLEN_WAREHOUSE, if any."""
    return next(
        (
            s["location"]
            for s in cat["stock"]
            if s["sku"] == REPLEN_SKU
            and s["warehouse"] == REPLEN_WAREHOUSE
            and s["location"] != RESERVE["code"]
        ),
        None,
    )


def orders(rng: random.Random, count: int = 30, products: int = 40) -> list[dict[str, Any]]:
    """Orders from customers in the cities above; the last few ask for what nobody has."""
    out = []
    for n in range(1, count + 1):
        city, lat, lon, *_ = rng.choice(CITIES)
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


def shopify_orders(rng: random.Random, count: int = 30, products: int = 40) -> list[dict[str, Any]]:
    """Shopify `orders/create` bodies (the fields Shopify sends that a warehouse reads, and a
    few more): customers in the cities above, SKUs from the catalogue, one gift card that
    needs no shipping, and the last few asking for what nobody has (they wait as backorders).
    Most shipping addresses carry their latitude and longitude; the rest are placed by the
    server (`placing`)."""
    placed_at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    out = []
    for n in range(1, count + 1):
        city, lat, lon, state, zip_code = rng.choice(CITIES)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{n}@example.com".lower()
        skus = rng.sample(range(1, products - 2), rng.randint(1, 3))
        wanted = [(i, rng.randint(1, 2)) for i in skus]
        if n > count - 3:
            wanted.append((products, 1))  # out of stock everywhere
        shop_id = FIRST_SHOP_ID + 7919 * n
        items = [_line_item(shop_id, k, i, qty, rng) for k, (i, qty) in enumerate(wanted)]
        if n == GIFT_CARD_ORDER:
            items.append(
                {
                    "id": shop_id * 10 + len(items),
                    "title": "Gift card",
                    "name": "Gift card - $25",
                    "variant_title": "$25",
                    "sku": "",
                    "quantity": 1,
                    "price": "25.00",
                    "grams": 0,
                    "requires_shipping": False,
                    "gift_card": True,
                    "fulfillment_service": "gift_card",
                }
            )
        at = (placed_at + timedelta(minutes=3 * n)).isoformat()
        total = sum(float(i["price"]) * i["quantity"] for i in items)
        address = {
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "address1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
            "address2": "",
            "city": city,
            "province_code": state,
            "zip": zip_code,
            "country": "United States",
            "country_code": "US",
            "phone": f"+1 555 010 {n:04d}",
            "latitude": lat,
            "longitude": lon,
        }
        _unplace(address, placing(n))
        out.append(
            {
                "id": shop_id,
                "admin_graphql_api_id": f"gid://shopify/Order/{shop_id}",
                "name": f"#{FIRST_SHOP_NUMBER + n - 1}",
                "order_number": FIRST_SHOP_NUMBER + n - 1,
                "email": email,
                "contact_email": email,
                "created_at": at,
                "processed_at": at,
                "updated_at": at,
                "currency": "USD",
                "financial_status": "paid",
                "fulfillment_status": None,
                "total_price": f"{total:.2f}",
                "note": "Leave it with the neighbours if nobody is in." if n % 9 == 0 else None,
                "tags": "",
                "cancel_reason": None,
                "cancelled_at": None,
                "customer": {
                    "id": 7290934640909 + n,
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                },  # fmt: skip
                "line_items": items,
                "shipping_address": address,
                "billing_address": dict(address),
                "shipping_lines": [{"code": "Standard", "title": "Standard", "price": "0.00"}],
            }
        )
    return out


def placing(n: int) -> str:
    """How the server will place demo order n's shipping address: `given` (the shop sent
    latitude and longitude), else by `postcode`, by `city`, or `none` (server/capture/geocode.py)."""
    if n == CITY_ORDER:
        return "city"
    if n == UNPLACED_ORDER:
        return "none"
    return "postcode" if n % 3 == 0 else "given"


def _unplace(address: dict[str, Any], how: str) -> None:
    """Take the coordinates out of a Shopify address, leaving what `how` places it by."""
    if how == "given":
        return
    address["latitude"] = address["longitude"] = None  # as Shopify sends an unplaced one
    if how == "city":
        address["zip"] = address["zip"][:4]  # a digit lost on the way: no such ZIP code
    elif how == "none":
        address["city"], address["zip"] = NOWHERE


def _line_item(shop_id: int, k: int, i: int, qty: int, rng: random.Random) -> dict[str, Any]:
    """A Shopify line item for our product i (found by its SKU)."""
    return {
        "id": shop_id * 10 + k,
        "title": product_name(i),
        "name": product_name(i),
        "sku": f"SKU-{i:04d}",
        "quantity": qty,
        "price": f"{rng.randint(4, 60)}.00",
        "grams": rng.randint(50, 1500),
        "requires_shipping": True,
        "gift_card": False,
        "fulfillment_service": "manual",
    }


def webhook_id(rng: random.Random) -> str:
    """An X-Shopify-Webhook-Id: a UUID, made from the seed so a run can be repeated."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
