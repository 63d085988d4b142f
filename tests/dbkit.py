"""Databases for tests: a fresh PostgreSQL database per test, dropped after it.

The server to use is SCANFLOOR_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres);
without one reachable the PostgreSQL variants are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from functools import cache

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get(
    "SCANFLOOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@cache
def postgres_unreachable() -> str | None:
    """Why no PostgreSQL test can run here, or None when one can."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL at {ADMIN_URL}: {str(exc).strip().splitlines()[0]}"
    return None


# Tests whose PostgreSQL variant does not pass yet, by node id prefix, with what is missing.
# Kept here in one list (and in the report), not as xfails spread over the suite.
NOT_YET_ON_POSTGRESQL: dict[str, str] = {}


def not_yet_on_postgresql(nodeid: str) -> str | None:
    """Why this test's PostgreSQL variant is skipped for now, or None."""
    for prefix, why in NOT_YET_ON_POSTGRESQL.items():
        if nodeid.startswith(prefix):
            return f"not yet on PostgreSQL: {why}"
    return None


@cache
def migrated_sqlite() -> str:
    """A SQLite file with every migration applied, made once per test process: each test's
    database starts as a copy of it (a few ms) instead of migrating afresh (~60 ms of CPU,
    some 1,500 times a suite). The migrations themselves are tested from an empty file in
    tests/server/store."""
    import atexit
    import tempfile

    from server.store import open_store

    folder = tempfile.mkdtemp(prefix="scanfloor-migrated-")
    atexit.register(shutil.rmtree, folder, True)
    path = os.path.join(folder, "scanfloor.db")
    open_store(path, synchronous="NORMAL").close()
    return path


def _url_for(name: str) -> str:
    head, _, _old = ADMIN_URL.rpartition("/")
    return f"{head}/{name}"


def _create(name: str, template: str | None = None) -> None:
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(query)


def _drop(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@cache
def _worker_database() -> str:
    """This test process's database, migrated once; emptied again before each test.

    Creating a database per test took 2-4 s on a busy machine; emptying every table
    (and restarting its ids at 1) takes a fraction of that.
    Dropped when the process exits.
    """
    import atexit

    from server.store import open_store

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"scanfloor_test_{worker}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _create(name)
    atexit.register(_drop, name)
    open_store(_url_for(name)).close()
    return name


def _empty(name: str) -> None:
    """Every table of the database emptied (its migrations kept); no other session left on it."""
    with psycopg.connect(_url_for(name), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> '_migrations'"
            )
        ]
        sequences = [r[0] for r in conn.execute("SELECT sequencename FROM pg_sequences")]
        # DELETE with foreign keys off (replica role) and the id sequences reset: one round
        # trip, far quicker than TRUNCATE, which makes new files for every table.
        script = ["BEGIN", "SET LOCAL session_replication_role = replica"]
        script += [f'DELETE FROM "{t}"' for t in tables]
        script += [f"SELECT setval('\"{q}\"', 1, false)" for q in sequences]
        conn.execute("; ".join([*script, "COMMIT"]))


@contextmanager
def fresh_postgres(migrated: bool = True) -> Iterator[str]:
    """An empty database of the test's own on the test server (its URL): migrated (this
    process's database, emptied) or, with `migrated=False`, a new bare one dropped after."""
    if migrated:
        name = _worker_database()
        _empty(name)
        yield _url_for(name)
        return
    name = f"scanfloor_bare_{uuid.uuid4().hex[:10]}"
    _create(name)
    try:
        yield _url_for(name)
    finally:
        _drop(name)


@contextmanager
def stores_closed_after() -> Iterator[None]:
    """Close, at the end, every PostgreSQL store opened meanwhile that is still open.

    A test's app left open (its hub's greenlets still polling) would otherwise reconnect to
    the process's database after the next test's emptying cut its connection, and act on
    that test's floor: the store reconnects by design (server/store/postgres.py)."""
    from server.store.postgres import PgStore

    opened: list[PgStore] = []
    init = PgStore.__init__

    def tracked(self: PgStore, url: str) -> None:
        init(self, url)
        opened.append(self)

    PgStore.__init__ = tracked  # type: ignore[method-assign]
    try:
        yield
    finally:
        PgStore.__init__ = init  # type: ignore[method-assign]
        for store in opened:
            if not store.conn.pool.closed:
                with suppress(Exception):
                    store.close()


def other_connection(store):
    """A second connection to the store's database (sees only what is committed)."""
    if store.dialect == "postgresql":
        return psycopg.connect(store.url, autocommit=True)
    import sqlite3

    return sqlite3.connect(store.path, timeout=0.1)


def committed(store, query: str, params: tuple = ()):
    """The first column of the first row of `query` (`?` placeholders), read by another
    connection: only what is committed."""
    conn = other_connection(store)
    try:
        if store.dialect == "postgresql":
            query = query.replace("?", "%s")
        row = conn.execute(query, params).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def rows(store, table: str) -> list[dict]:
    """Every row of a table, in an order both databases agree on (to compare snapshots)."""
    return sorted(store.all(f"SELECT * FROM {table}"), key=lambda r: repr(sorted(r.items())))


def read_all(db: str | os.PathLike, query: str, params: tuple = ()) -> list[dict]:
    """Every row of `query` (`?` placeholders) read by a connection of its own, as dicts:
    `db` is a SQLite file (path or sqlite:/// URL, opened read-only) or a PostgreSQL URL.
    For tests that watch a database other processes write (only what is committed)."""
    db = str(db)
    if db.startswith("postgresql"):
        from psycopg.rows import dict_row

        with psycopg.connect(db, autocommit=True, row_factory=dict_row) as conn:
            return list(conn.execute(query.replace("?", "%s"), params))
    import sqlite3

    path = db.removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(query, params)]
