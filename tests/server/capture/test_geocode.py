"""Ship-to addresses without coordinates are placed offline at capture (REST, CSV, Shopify);
what cannot be placed is said on the order and allocated by the documented fallback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from floorkit import small_catalogue
from shopkit import SHOPIFY_SECRET, shopify_headers, shopify_order

from server.capture import geocode
from server.cli.main import main
from server.core.geo import great_circle_km
from server.inventory.domain.allocation import Site, rank_sites
from server.store import open_store

NEWARK = (40.7082, -74.1891)  # ZIP 07114's centroid in the zipcodes package


def addr(**fields) -> dict:
    base = {"name": "Ada", "line1": "1 Road", "city": "", "postcode": "", "country": "US"}
    return {**base, **fields}


@pytest.mark.parametrize(
    ("address", "source", "near", "within_km"),
    [
        (addr(postcode="07114", lat=1.5, lon=2.5), "given", (1.5, 2.5), 0),
        (addr(postcode="07114", city="Nowhere At All"), "postcode", NEWARK, 0.1),
        (addr(postcode="07114-2233"), "postcode", NEWARK, 0.1),  # ZIP+4
        (addr(postcode="99999", city="Philadelphia"), "city", (39.95, -75.16), 15),
        (addr(postcode="n/a", city="st. louis"), "city", (38.63, -90.20), 15),
        (addr(postcode="75001", city="Paris", country="FR"), "city", (48.85, 2.35), 15),
        (addr(postcode="80331", city="München", country="DE"), "city", (48.14, 11.58), 15),
        (addr(postcode="80331", city="Munich", country="DE"), "city", (48.14, 11.58), 15),
        # Too small for GeoNames' table: found through its ZIP codes.
        (addr(postcode="", city="Schenectady"), "city", (42.81, -73.94), 15),
    ],
)
def test_an_address_is_placed_by_coordinates_postcode_or_city(address, source, near, within_km):
    placed = geocode.place(address)
    assert placed.source == source
    assert great_circle_km(placed.lat, placed.lon, *near) <= within_km


@pytest.mark.parametrize(
    "address",
    [
        addr(postcode="00000", city="Nowhere At All"),
        addr(postcode="10001", city="Paris", country="XX"),  # a US ZIP code means nothing there
        addr(postcode="SW1A 1AA", city="Atlantis", country="GB"),
        addr(postcode="", city="   "),
    ],
)
def test_an_address_nobody_knows_is_not_placed(address):
    assert geocode.place(address) == geocode.Placed(None, None, "none")


def test_unplaced_orders_rank_warehouses_by_capacity_left_not_a_distance():
    sites = [Site("A", 0, 0), Site("B", 0, 0), Site("C", 0, 0)]
    ranked = rank_sites(sites, None, None, {"A": 3, "B": 9})  # C: no daily limit
    assert [(d, s.code) for d, s in ranked] == [(0.0, "C"), (1.0, "B"), (2.0, "A")]


def order(order_id: str, **ship_to) -> dict:
    return {"order_id": order_id, "lines": [{"sku": "SKU-A", "qty": 1}], "ship_to": addr(**ship_to)}


def test_a_rest_order_without_coordinates_is_placed_by_postcode(json_post, catalogue):
    resp = json_post("/api/orders", order("geo-1", postcode="07114", city="Newark"))
    assert resp.status_code == 201, resp.get_json()
    got = resp.get_json()
    assert got["geocoded"] == "postcode" and (got["lat"], got["lon"]) == NEWARK
    assert got["ship_to"]["lat"] is None  # the customer's address stays as given
    received = got["timeline"][0]
    assert received["detail"]["geocoded"] == "postcode"
    assert (received["detail"]["lat"], received["detail"]["lon"]) == NEWARK
    # Placed, so nearest means something: New York's warehouse, a real distance away.
    assert got["warehouse"] == "WH-EAST"
    (shipment,) = got["shipments"]
    assert shipment["distance_km"] == pytest.approx(
        great_circle_km(*NEWARK, 40.71, -74.00), abs=0.1
    )


def test_a_rest_order_placed_by_city_goes_to_the_nearer_warehouse(json_post, catalogue):
    got = json_post("/api/orders", order("geo-2", postcode="none", city="San Diego")).get_json()
    assert got["geocoded"] == "city"
    assert got["warehouse"] == "WH-WEST" and 150 < got["shipments"][0]["distance_km"] < 250


def test_an_order_that_cannot_be_placed_says_so_and_ships_from_the_most_capacity(
    json_post, catalogue
):
    # WH-EAST takes 10 shipments a day, WH-WEST has no limit: the fallback picks WH-WEST,
    # where a distance-0 tie would have gone to WH-EAST by its code.
    east = next(w for w in small_catalogue()["warehouses"] if w["code"] == "WH-EAST")
    resp = json_post("/api/warehouses", {**east, "daily_capacity": 10})
    assert resp.status_code in (200, 201), resp.get_json()
    got = json_post("/api/orders", order("geo-3", postcode="00000", city="Atlantis")).get_json()
    assert got["geocoded"] == "none" and got["lat"] is None and got["lon"] is None
    received = got["timeline"][0]["detail"]
    assert received["geocoded"] == "none" and "could not be placed" in received["note"]
    assert got["warehouse"] == "WH-WEST"
    assert got["shipments"][0]["distance_km"] is None  # no fake 0
    allocated = got["timeline"][-1]
    assert allocated["status"] == "allocated" and allocated["detail"]["distance_km"] is None


def test_a_csv_order_without_coordinates_is_placed(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    data = tmp_path / "data"

    def run(*args):
        result = CliRunner().invoke(main, [*args, "--data-dir", str(data)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run("init")
    (tmp_path / "catalogue.json").write_text(json.dumps(small_catalogue()))
    run("import", str(tmp_path / "catalogue.json"))
    (tmp_path / "orders.csv").write_text(
        "order_id,sku,qty,ship_to_name,ship_to_line1,ship_to_city,ship_to_postcode,"
        "ship_to_country,email\n"
        "C-1,SKU-A,1,Ada,1 Road,Oakland,94607,US,ada@example.com\n"
        "C-2,SKU-A,1,Bob,2 Road,Atlantis,00000,US,\n"
    )
    run("import", str(tmp_path / "orders.csv"))
    store = open_store(data / "scanfloor.db", migrate=False)
    try:
        rows = store.all("SELECT external_id, geocoded, lat, email FROM orders ORDER BY 1")
    finally:
        store.close()
    assert [(r["external_id"], r["geocoded"], r["email"]) for r in rows] == [
        ("C-1", "postcode", "ada@example.com"),
        ("C-2", "none", None),
    ]
    assert rows[0]["lat"] == pytest.approx(37.8, abs=0.1) and rows[1]["lat"] is None


def test_a_shopify_order_without_coordinates_is_placed(client, json_post, headers, catalogue):
    json_post("/api/channels/shop-us", {"shopify_secret": SHOPIFY_SECRET}, "PUT")
    payload = shopify_order()
    del payload["shipping_address"]["latitude"], payload["shipping_address"]["longitude"]
    body = json.dumps(payload).encode()
    resp = client.post("/webhooks/shopify/shop-us", data=body, headers=shopify_headers(body))
    assert resp.status_code == 200, resp.get_json()
    got = client.get(f"/api/orders/{resp.get_json()['order']}", headers=headers).get_json()
    assert got["geocoded"] == "postcode"  # ZIP 19112, Philadelphia
    assert great_circle_km(got["lat"], got["lon"], 39.89, -75.17) < 10
    assert got["email"] == "grace.hopper@example.com"
