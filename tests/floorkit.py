"""Test data every test folder may import: a small floor and orders for it."""

from __future__ import annotations

from server.schemas import OrderIn
from server.services import allocate, orders


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
) -> str:
    """Capture and allocate an order; returns our id."""
    body = {**order_body(order_id, lines, lat, lon), "priority": priority}
    oid, _ = orders.capture(store, OrderIn.model_validate(body))
    allocate.allocate_order(store, oid)
    return oid
