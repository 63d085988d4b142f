"""Catalogue, stock and floor reads over REST: loads, upserts, refusals, pick lists, devices, stats."""

from __future__ import annotations

import pytest
from floorkit import order_body, small_catalogue

from server.api import models
from server.people import auth


@pytest.fixture
def cat() -> dict:
    return small_catalogue()


def test_health_needs_no_key(client):
    resp = client.get("/api/health")
    assert resp.status_code == 200 and resp.get_json() == {"ok": True}


def test_catalogue_load_counts_and_stock(json_post, client, headers, cat):
    resp = json_post("/api/catalogue", cat)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "warehouses": 2,
        "locations": 8,
        "products": 3,
        "stock": 4,
        "allocation": {},
    }
    stock = client.get("/api/stock?sku=SKU-A", headers=headers).get_json()["stock"]
    assert [(s["warehouse"], s["location"], s["on_hand"], s["free"]) for s in stock] == [
        ("WH-EAST", "E-02-02", 5, 5),
        ("WH-WEST", "W-01-02", 2, 2),
    ]
    west = client.get("/api/stock?warehouse=WH-WEST", headers=headers).get_json()["stock"]
    assert {s["sku"] for s in west} == {"SKU-A", "SKU-C"}
    # Loading the same again is an upsert: nothing doubles.
    assert json_post("/api/catalogue", cat).status_code == 200
    assert len(client.get("/api/stock", headers=headers).get_json()["stock"]) == 4


def test_catalogue_problems_write_nothing(json_post, snapshot, cat):
    cat["locations"][0]["warehouse"] = "WH-NOWHERE"
    cat["stock"].append(
        {"warehouse": "WH-EAST", "location": "E-01-02", "sku": "NOPE", "on_hand": 1}
    )
    before = snapshot()
    resp = json_post("/api/catalogue", cat)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_catalogue"
    fields = {p["field"]: p["message"] for p in body["problems"]}
    assert fields["locations[0].warehouse"] == "unknown warehouse WH-NOWHERE"
    assert fields["stock[1].location"] == "unknown location WH-EAST/E-01-01"  # was locations[0]
    assert fields["stock[4].sku"] == "unknown SKU NOPE"
    assert snapshot() == before


def test_catalogue_schema_problems_are_all_listed(json_post, snapshot, cat):
    cat["warehouses"][1]["lat"] = 123
    cat["products"][0]["weight_g"] = -1
    cat["stock"][0]["on_hand"] = -5
    before = snapshot()
    resp = json_post("/api/catalogue", cat)
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_catalogue"
    assert {p["field"] for p in resp.get_json()["problems"]} == {
        "warehouses[1].lat",
        "products[0].weight_g",
        "stock[0].on_hand",
    }
    assert snapshot() == before


def test_small_upserts(json_post, client, headers, store, cat):
    wh = cat["warehouses"][0]
    resp = json_post("/api/warehouses", {**wh, "name": "East renamed"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "East renamed"
    assert (
        store.one("SELECT name FROM warehouses WHERE code = ?", (wh["code"],))["name"]
        == "East renamed"
    )
    loc = {"warehouse": wh["code"], "code": "A-01-01", "aisle": 1}
    assert json_post("/api/locations", loc).status_code == 200
    prod = {"sku": "SKU-N", "name": "New thing", "barcodes": ["N-1", "N-2"]}
    assert json_post("/api/products", prod).status_code == 200
    put = json_post(
        "/api/stock",
        {"warehouse": wh["code"], "location": "A-01-01", "sku": "SKU-N", "on_hand": 7},
        method="PUT",
    )
    assert put.status_code == 200 and put.get_json()["stock"]["on_hand"] == 7
    assert store.one("SELECT COUNT(*) AS n FROM product_barcodes WHERE sku = 'SKU-N'")["n"] == 2
    stock = client.get("/api/stock?sku=SKU-N", headers=headers).get_json()["stock"]
    assert stock == [
        {
            "warehouse": wh["code"],
            "location": "A-01-01",
            "sku": "SKU-N",
            "lot": "",
            "expires": None,
            "on_hand": 7,
            "reserved": 0,
            "free": 7,
        }
    ]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/locations", {"warehouse": "WH-NONE", "code": "A-1"}, "warehouse"),
        ("/api/locations", {"warehouse": "WH-EAST", "code": "bad code!"}, "code"),
        ("/api/products", {"sku": "P", "name": "P", "barcodes": ["with space"]}, "barcodes[0]"),
        ("/api/products", {"sku": "P", "name": "P", "colour": "red"}, "colour"),
        ("/api/warehouses", {"code": "W", "name": "W", "lat": 0, "lon": 0}, "address"),
    ],
)
def test_small_upserts_refuse_bad_bodies(json_post, snapshot, catalogue, path, body, field):
    before = snapshot()
    resp = json_post(path, body)
    assert resp.status_code == 422
    assert [p["field"] for p in resp.get_json()["problems"]] == [field]
    assert snapshot() == before


@pytest.mark.parametrize(
    "stock, field",
    [
        ({"warehouse": "WH-EAST", "location": "E-09-09", "sku": "SKU-A", "on_hand": 1}, "location"),
        ({"warehouse": "WH-EAST", "location": "E-01-01", "sku": "NOPE", "on_hand": 1}, "sku"),
        ({"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-A", "on_hand": -1}, "on_hand"),
    ],
)
def test_put_stock_refuses(json_post, snapshot, catalogue, stock, field):
    before = snapshot()
    resp = json_post("/api/stock", stock, method="PUT")
    assert resp.status_code == 422
    assert [p["field"] for p in resp.get_json()["problems"]] == [field]
    assert snapshot() == before


def test_stock_cannot_drop_below_reserved(json_post, snapshot, catalogue):
    json_post("/api/orders", order_body("o", [("SKU-A", 4)]))  # reserves 4 of 5 in E-02-02
    before = snapshot()
    resp = json_post(
        "/api/stock",
        {"warehouse": "WH-EAST", "location": "E-02-02", "sku": "SKU-A", "on_hand": 3},
        method="PUT",
    )
    assert resp.status_code == 422
    assert resp.get_json()["problems"] == [
        {"field": "on_hand", "message": "4 already reserved in E-02-02"}
    ]
    assert snapshot() == before


def test_pick_lists_and_steps(json_post, client, headers, catalogue):
    order = json_post("/api/orders", order_body("o1", [("SKU-A", 2), ("SKU-B", 1)])).get_json()
    lists = client.get("/api/pick-lists?status=open", headers=headers).get_json()["pick_lists"]
    assert len(lists) == 1 and lists[0]["orders"] == [order["id"]] and lists[0]["units"] == 3
    assert client.get("/api/pick-lists?status=packed", headers=headers).get_json() == {
        "pick_lists": []
    }
    one = client.get(f"/api/pick-lists/{lists[0]['id']}", headers=headers).get_json()
    models.PickListOut.model_validate(one)
    assert one["ref"] == f"PL-{lists[0]['id']:06d}"
    # Walking order: aisle 1 (the pen) before aisle 2 (the mug).
    assert [(s["location_barcode"], s["item_barcodes"], s["qty"]) for s in one["steps"]] == [
        ("LE-01-01", ["0012345678905"], 1),
        ("LE-02-02", ["4006381333931"], 2),
    ]
    assert client.get("/api/pick-lists/9999", headers=headers).status_code == 404


def test_devices_show_their_screen(client, headers, store, catalogue):
    auth.create_device(store, "picker-1", "picker", "WH-EAST")
    auth.create_device(store, "packer-1", "packer", "WH-WEST")
    devices = client.get("/api/devices", headers=headers).get_json()["devices"]
    models.DeviceListOut.model_validate({"devices": devices})
    assert [(d["name"], d["role"], d["warehouse"], d["connected"]) for d in devices] == [
        ("packer-1", "packer", "WH-WEST", False),
        ("picker-1", "picker", "WH-EAST", False),
    ]
    assert devices[1]["state"]["screen"] == "idle"
    one = client.get("/api/devices/picker-1", headers=headers).get_json()
    assert one == devices[1]
    assert client.get("/api/devices/nobody", headers=headers).status_code == 404


def test_stats(json_post, client, headers, catalogue):
    json_post("/api/orders", order_body("a", [("SKU-A", 1)]))
    json_post("/api/orders", order_body("b", [("SKU-Z", 1)]))
    stats = client.get("/api/stats", headers=headers).get_json()
    assert stats == {
        "orders": {"allocated": 1, "backordered": 1},
        "scans": 0,
        "wrong_scans": 0,
        "labels_printed": 0,
        "print_failures": 0,
        "packages_confirmed": 0,
    }


@pytest.mark.parametrize("path", ["/api/stock", "/api/pick-lists", "/api/devices", "/api/stats"])
def test_reads_need_a_key(client, path):
    assert client.get(path).status_code == 401


def test_catalogue_stock_allocates_backorders(json_post, catalogue):
    json_post("/api/orders", order_body("b", [("SKU-Z", 1)]))
    more = {
        "stock": [{"warehouse": "WH-WEST", "location": "W-01-01", "sku": "SKU-Z", "on_hand": 1}]
    }
    resp = json_post("/api/catalogue", more)
    assert resp.get_json()["allocation"] == {"allocated": 1}


def test_unknown_api_path_is_json_404(client, headers):
    resp = client.get("/api/nothing-here", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    resp = client.delete("/api/orders", headers=headers)
    assert resp.status_code == 405 and resp.get_json()["error"] == "method_not_allowed"
