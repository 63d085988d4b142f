"""Fixtures every test folder may use: a small floor (catalogue, devices) on a real SQLite file."""

from __future__ import annotations

import pytest
from floorkit import Floor, small_catalogue

from server.app import create_app
from server.config import Settings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store


@pytest.fixture
def floor_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL")


@pytest.fixture
def floor_store(floor_settings):
    store = open_store(floor_settings.db_path, synchronous="NORMAL")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    yield store
    store.close()


@pytest.fixture
def floor_tokens(floor_store) -> dict[str, str]:
    return {
        "picker": auth.create_device(floor_store, "picker-e1", "picker", "WH-EAST"),
        "packer": auth.create_device(floor_store, "packer-e1", "packer", "WH-EAST"),
    }


@pytest.fixture
def floor(floor_settings, floor_store, floor_tokens) -> Floor:
    """The server app in process on the small floor; override floor_settings or floor_store to vary it."""
    app, socketio = create_app(floor_settings)
    return Floor(app, socketio, app.extensions["store"], floor_tokens)
