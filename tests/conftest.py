"""Fixtures every test folder may use: a small floor (catalogue, devices) on a real database.

`database_url` runs each test that asks for it (through `floor_settings`, `floor_store`,
`settings`, `store` ...) twice: on a SQLite file in tmp_path and on a fresh PostgreSQL
database of its own (skipped, with the reason, when no PostgreSQL server is reachable).
Select one side with `-m postgresql` / `-m "not postgresql"`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Literal

import pytest
from argon2 import PasswordHasher
from dbkit import (
    fresh_postgres,
    migrated_sqlite,
    not_yet_on_postgresql,
    postgres_unreachable,
    stores_closed_after,
)
from floorkit import Floor, small_catalogue, stop_app

from server.app import create_app
from server.config import Settings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth, users
from server.store import open_store


def _runs_long(item: pytest.Item) -> bool:
    """Real processes (tests/e2e, a browser) or a hang guard of its own (the fuzzers, the
    stateful runs): the tests that take seconds, not milliseconds."""
    return (
        "tests/e2e/" in item.nodeid
        or item.get_closest_marker("browser") is not None
        or item.get_closest_marker("timeout") is not None
        or item.get_closest_marker("slow") is not None
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first, the quick ones after (a stable sort: files keep their order).

    pytest-xdist hands tests out in this order, so the long ones start early on every
    worker and the quick ones fill the gaps at the end; in file order, a 60 s test met
    last kept one worker busy while the others had finished (docs/testing.md)."""
    items.sort(key=lambda item: not _runs_long(item))


class OncePerPassword:
    """argon2 with the product's parameters, each distinct call made once per test process.

    A board, session or badge test signs users up and logs them in, each a real argon2 hash
    or check of about 0.15 s of CPU on purpose (tens of them per test file, a minute of a
    suite's CPU in all). Here the first `hash` of a password and the first `verify` of a
    (hash, password) pair run argon2; the same call again gets the same answer (a `verify`
    that failed raises the same error again). `verify` is a pure function of its two
    arguments; `hash` gives one salt per password per process instead of a fresh one.
    `check_needs_rehash` always runs. Processes the tests start (servers, the CLI run as a
    program, the off-the-loop timing test) hash as the product does."""

    def __init__(self, real: PasswordHasher):
        self.real = real
        self.hashes: dict[str, str] = {}
        self.checks: dict[tuple[str, str], BaseException | None] = {}

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if salt is not None:
            return self.real.hash(password, salt=salt)
        if password not in self.hashes:
            self.hashes[password] = self.real.hash(password)
        return self.hashes[password]

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        key = (hash, password)
        if key not in self.checks:
            try:
                self.real.verify(hash, password)
                self.checks[key] = None
            except Exception as exc:
                self.checks[key] = exc
        failed = self.checks[key]
        if failed is not None:
            raise type(failed)(*failed.args)
        return True

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return self.real.check_needs_rehash(hash)


_ONCE_PER_PASSWORD = OncePerPassword(users._hasher)


@pytest.fixture(autouse=True)
def _argon2_once_per_password(monkeypatch):
    monkeypatch.setattr(users, "_hasher", _ONCE_PER_PASSWORD)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request, tmp_path):
    """The test's own database: a SQLite file, or a fresh PostgreSQL database dropped after."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "scanfloor.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite(), path)
        yield f"sqlite:///{path}"
        return
    only = request.node.get_closest_marker("sqlite_only")
    if only:
        pytest.skip(f"SQLite only: {only.args[0]}")
    if "tests/e2e/" in request.node.nodeid and not request.node.get_closest_marker(
        "e2e_postgresql"
    ):
        pytest.skip(
            "end to end on SQLite only: the PostgreSQL variant runs where marked "
            "e2e_postgresql (the allocation race, the cluster, the kill and exactly-once "
            "proofs; docs/testing.md)"
        )
    why = postgres_unreachable() or not_yet_on_postgresql(request.node.nodeid)
    if why:
        pytest.skip(why)
    with fresh_postgres() as url, stores_closed_after():
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
    stop_app(app)
