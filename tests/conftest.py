"""Fixtures every test folder may use: a small floor (catalogue, devices) on a real database.

`database_url` runs each test that asks for it (through `floor_settings`, `floor_store`,
`settings`, `store` ...) twice: on a SQLite file in tmp_path and on a fresh PostgreSQL
database of its own (skipped, with the reason, when no PostgreSQL server is reachable).
Select one side with `-m postgresql` / `-m "not postgresql"`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbkit import fresh_postgres, not_yet_on_postgresql, postgres_unreachable
from floorkit import Floor, small_catalogue

from server.app import create_app
from server.config import Settings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request, tmp_path):
    """The test's own database: a SQLite file, or a fresh PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'scanfloor.db'}"
        return
    only = request.node.get_closest_marker("sqlite_only")
    if only:
        pytest.skip(f"SQLite only: {only.args[0]}")
    if "tests/e2e/" in request.node.nodeid and not request.node.get_closest_marker(
        "e2e_postgresql"
    ):
        pytest.skip(
            "not yet on PostgreSQL: end to end with real server and worker processes "
            "(only the allocation race so far, issue 15)"
        )
    why = postgres_unreachable() or not_yet_on_postgresql(request.node.nodeid)
    if why:
        pytest.skip(why)
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def floor_settings(tmp_path, database_url, monkeypatch) -> Settings:
    if database_url.startswith("postgresql"):  # the CLI, run in process, opens it too
        monkeypatch.setenv("SCANFLOOR_DATABASE_URL", database_url)
    return Settings(
        data_dir=tmp_path / "data", sqlite_synchronous="NORMAL", database_url=database_url
    )


@pytest.fixture
def floor_store(floor_settings):
    store = open_store(floor_settings.database, synchronous="NORMAL")
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
def floor(floor_settings, floor_store, floor_tokens) -> Iterator[Floor]:
    """The server app in process on the small floor; override floor_settings or floor_store to vary it."""
    app, socketio = create_app(floor_settings)
    yield Floor(app, socketio, app.extensions["store"], floor_tokens)
    # A board left open by a test must not keep its updates going into the next test.
    hub = app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.stop_board_updates()
