"""The examples in docs/: the site in docs/examples imports, and the curl order in docs/running.md is taken."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from server.cli.main import main
from server.core.schemas import CatalogueIn
from server.inventory import catalogue as catalogue_service
from server.store import open_store

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples"
CSV_CATALOGUE = ["warehouses.csv", "locations.csv", "products.csv", "stock.csv"]
# What a catalogue puts in the database, in a form two imports can be compared by.
TABLES = {
    "warehouses": "SELECT code, name, lat, lon, daily_capacity FROM warehouses ORDER BY code",
    "locations": "SELECT warehouse, code, barcode, zone, aisle, bay, level FROM locations "
    "ORDER BY warehouse, code",
    "products": "SELECT * FROM products ORDER BY sku",
    "barcodes": "SELECT sku, barcode FROM product_barcodes ORDER BY sku, barcode",
    "stock": "SELECT l.code, s.sku, s.on_hand, s.lot, s.expires FROM stock s "
    "JOIN locations l ON l.id = s.location_id ORDER BY l.code, s.sku, s.lot",
}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Run `scanfloor ARGS --data-dir DIR` on a fresh database; query it afterwards."""
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    monkeypatch.delenv("SCANFLOOR_DATA_DIR", raising=False)

    class Site:
        def __init__(self, name: str) -> None:
            self.data = tmp_path / name
            assert self.run("init").exit_code == 0

        def run(self, *args: str):
            result = CliRunner().invoke(main, [*args, "--data-dir", str(self.data)])
            assert result.exit_code == 0, result.output
            return result

        def rows(self) -> dict[str, list[dict]]:
            store = open_store(self.data / "scanfloor.db", migrate=False)
            try:
                return {name: store.all(sql) for name, sql in TABLES.items()}
            finally:
                store.close()

        def query(self, sql: str) -> list[dict]:
            store = open_store(self.data / "scanfloor.db", migrate=False)
            try:
                return store.all(sql)
            finally:
                store.close()

    return Site


def test_the_example_catalogue_and_orders_import_and_allocate(site):
    s = site("json")
    out = s.run("import", str(EXAMPLES / "catalogue.json")).output
    assert "2 warehouses" in out and "6 locations" in out and "4 products" in out, out
    out = s.run("import", str(EXAMPLES / "orders.csv")).output
    assert "imported 3 orders" in out
    s.run("allocate")
    orders = s.query(
        "SELECT external_id AS order_id, channel, status, priority FROM orders ORDER BY external_id"
    )
    assert [(o["order_id"], o["channel"], o["priority"]) for o in orders] == [
        ("SO-1001", "web", 0),
        ("SO-1002", "web", 5),
        ("SO-1003", "marketplace", 0),
    ]
    assert {o["status"] for o in orders} == {"allocated"}
    # SO-1002 comes without coordinates: placed by its ZIP code (Oakland, 94607).
    placed = s.query("SELECT external_id, geocoded, email FROM orders ORDER BY external_id")
    assert [(o["geocoded"], o["email"]) for o in placed] == [
        ("given", "ada@example.com"),
        ("postcode", "grace@example.com"),
        ("given", None),
    ]
    lines = s.query("SELECT COUNT(*) AS n FROM order_lines")[0]["n"]
    assert lines == len((EXAMPLES / "orders.csv").read_text().strip().splitlines()) - 1
    # SO-1003 needs both coasts (tea only in Newark, notebooks only in Ontario): a split.
    ships = s.query(
        "SELECT o.external_id AS order_id, sh.warehouse FROM shipments sh "
        "JOIN orders o ON o.id = sh.order_id "
        "ORDER BY o.external_id, sh.warehouse"
    )
    assert [(r["order_id"], r["warehouse"]) for r in ships] == [
        ("SO-1001", "WH-NJ"),
        ("SO-1002", "WH-CA"),
        ("SO-1003", "WH-CA"),
        ("SO-1003", "WH-NJ"),
    ]


def test_the_example_csvs_are_the_same_catalogue(site):
    from_json = site("json")
    from_json.run("import", str(EXAMPLES / "catalogue.json"))
    from_csv = site("csv")
    from_csv.run("import", *(str(EXAMPLES / name) for name in CSV_CATALOGUE))
    assert from_csv.rows() == from_json.rows()
    assert len(from_csv.rows()["stock"]) == 6


def readme_curl() -> tuple[str, str, dict[str, str], str]:
    """docs/running.md's `curl ... /api/orders` example: method, URL, headers, body."""
    page = (ROOT / "docs" / "running.md").read_text()
    block = re.search(r"```sh\n(curl [^`]*?/api/orders.*?)```", page, re.S).group(1)
    args = shlex.split(block.replace("\\\n", " "))
    method, url, headers, body = "GET", "", {}, ""
    i = 1
    while i < len(args):
        a = args[i]
        if a == "-X":
            method, i = args[i + 1], i + 1
        elif a == "-H":
            name, _, value = args[i + 1].partition(":")
            headers[name.strip()], i = value.strip(), i + 1
        elif a == "-d":
            body, i = args[i + 1], i + 1
        elif not a.startswith("-"):
            url = a
        i += 1
    return method, url, headers, body


def test_the_readme_curl_order_is_taken(client, store, api_key):
    method, url, headers, body = readme_curl()
    assert (method, urlsplit(url).path) == ("POST", "/api/orders")
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer $SCANFLOOR_API_KEY"
    catalogue_service.load(
        store, CatalogueIn.model_validate_json((EXAMPLES / "catalogue.json").read_text())
    )
    headers["Authorization"] = f"Bearer {api_key}"
    resp = client.open(urlsplit(url).path, method=method, data=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    sent = json.loads(body)
    assert order["order_id"] == sent["order_id"] and order["status"] == "allocated", order
    assert [(x["sku"], x["qty"]) for x in order["lines"]] == [
        (x["sku"], x["qty"]) for x in sent["lines"]
    ]
    again = client.open(urlsplit(url).path, method=method, data=body, headers=headers)
    assert again.status_code == 200
