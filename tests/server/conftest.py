"""Fixtures for the REST API and the CLI: a real SQLite file in tmp_path, a Flask test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbkit import rows as table_rows
from floorkit import small_catalogue, stop_app

from server.app import create_app
from server.config import Settings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue as catalogue_service
from server.people import auth
from server.store import Store

# A product with no stock anywhere: orders for it are backorders.
NO_STOCK_SKU = "SKU-Z"


@pytest.fixture
def settings(tmp_path, monkeypatch, database_url) -> Settings:
    """Settings on a fresh data dir and database, blind to any config file."""
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    if database_url.startswith("postgresql"):  # the CLI, run in process, opens it too
        monkeypatch.setenv("SCANFLOOR_DATABASE_URL", database_url)
    return Settings(
        data_dir=tmp_path / "data", sqlite_synchronous="NORMAL", database_url=database_url
    )


@pytest.fixture
def app(settings):
    app, _socketio = create_app(settings)
    app.config["TESTING"] = True
    yield app
    stop_app(app)


@pytest.fixture
def store(app) -> Store:
    return app.extensions["store"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_key(store) -> str:
    return auth.create_api_key(store, "tests")


@pytest.fixture
def headers(api_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def catalogue(store) -> dict:
    """WH-EAST (New York) and WH-WEST (Los Angeles), SKU-A stocked in both, SKU-Z in neither."""
    cat = small_catalogue()
    cat["products"].append({"sku": NO_STOCK_SKU, "name": "Rare thing", "barcodes": ["RARE-1"]})
    catalogue_service.load(store, CatalogueIn.model_validate(cat))
    return cat


@pytest.fixture
def rows(store):
    """Counts rows of a table, to show a refused request wrote nothing."""

    def count(table: str) -> int:
        return store.one(f"SELECT COUNT(*) AS n FROM {table}")["n"]

    return count


@pytest.fixture
def snapshot(store):
    """Every row of the tables a request could touch, to compare before and after."""

    def take() -> dict[str, list]:
        tables = ["orders", "order_lines", "order_events", "reservations", "pick_lists", "stock"]
        tables += ["warehouses", "locations", "products", "product_barcodes", "counters"]
        return {t: table_rows(store, t) for t in tables}

    return take


@pytest.fixture
def json_post(client, headers) -> Iterator:
    """POST (or another method) JSON with the API key."""

    def send(path: str, body, method: str = "POST"):
        return client.open(path, method=method, json=body, headers=headers)

    yield send
