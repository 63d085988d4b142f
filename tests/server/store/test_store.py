"""The store: migrations, write transactions, and the stock invariants SQLite enforces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from dbkit import committed, fresh_postgres, other_connection

from server.store import open_store
from server.store.migrations import MIGRATIONS


@pytest.fixture
def empty_database(database_url):
    """An empty database: the SQLite file does not exist yet; on PostgreSQL a bare one."""
    if not database_url.startswith("postgresql"):
        Path(database_url.removeprefix("sqlite:///")).unlink()  # the fixture's migrated copy
        yield database_url
        return
    with fresh_postgres(migrated=False) as url:
        yield url


def test_migrations_apply_once(empty_database):
    database_url = empty_database
    store = open_store(database_url, migrate=False)
    assert store.migrate() == [m.name for m in MIGRATIONS._migrations]
    assert store.migrate() == []
    store.close()
    again = open_store(database_url)
    if again.dialect == "sqlite":
        assert [m.name for m in MIGRATIONS.pending(again.db)] == []
        assert again.one("PRAGMA journal_mode")["journal_mode"] == "wal"
    assert again.migrate() == []
    again.close()


def test_a_failed_write_changes_nothing(floor_store):
    before = floor_store.one("SELECT COUNT(*) AS n FROM products")["n"]
    with pytest.raises(RuntimeError), floor_store.write():
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('X-1', 'x')")
        raise RuntimeError("boom")
    assert floor_store.one("SELECT COUNT(*) AS n FROM products")["n"] == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE stock SET reserved = on_hand + 1",
        "UPDATE stock SET on_hand = -1, reserved = 0",
        "UPDATE stock SET reserved = -1",
    ],
)
def test_stock_can_never_go_negative_or_over_reserved(floor_store, sql):
    with pytest.raises(floor_store.IntegrityError), floor_store.write():
        floor_store.execute(sql)


def test_writes_take_the_lock_up_front(floor_store):
    """A second connection cannot slip a write in between our read and our write."""
    if floor_store.dialect == "postgresql":
        from server.store.postgres import WRITE_LOCK_KEY

        other = other_connection(floor_store)
        take = "SELECT pg_try_advisory_xact_lock(%s)"
        with floor_store.write(), other.transaction():
            assert other.execute(take, (WRITE_LOCK_KEY,)).fetchone()[0] is False
        with other.transaction():
            assert other.execute(take, (WRITE_LOCK_KEY,)).fetchone()[0] is True
        other.close()
        return
    other = sqlite3.connect(floor_store.path, timeout=0.1)
    with floor_store.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def test_a_lone_statement_commits_and_leaves_no_transaction_open(floor_store):
    floor_store.execute("INSERT INTO products (sku, name) VALUES ('X-2', 'x')")
    assert not floor_store.conn.in_transaction
    with floor_store.write():
        pass
    assert committed(floor_store, "SELECT COUNT(*) FROM products WHERE sku = 'X-2'") == 1


def test_a_write_waits_for_another_process_lock_in_its_own_sleeps(tmp_path, monkeypatch):
    """Several processes: the wait for a sibling's write lock is ours (gevent can run), not
    SQLite's busy handler, and the connection keeps its busy_timeout for everything else."""
    import threading
    import time

    from server.store import db

    path = tmp_path / "shared.db"
    holder, waiter = open_store(path), open_store(path)
    waiter.cooperative_lock_wait = True
    sleeps: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(db.time, "sleep", lambda s: sleeps.append(s) or real_sleep(s))
    released = threading.Event()

    def hold() -> None:
        with holder.write():
            holder.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
            started.set()
            real_sleep(0.1)
        released.set()

    started = threading.Event()
    t = threading.Thread(target=hold)
    t.start()
    started.wait(5)
    with waiter.write():
        assert released.is_set()  # it got the lock only after the holder committed
        waiter.execute("INSERT INTO counters (name, value) VALUES ('b', 1)")
    t.join()
    assert sleeps and max(sleeps) <= 0.004
    assert waiter.one("PRAGMA busy_timeout")["timeout"] == 30000
    assert waiter.one("SELECT COUNT(*) AS n FROM counters WHERE name IN ('a', 'b')")["n"] == 2
    holder.close()
    waiter.close()


def test_rows_come_as_dicts_in_column_order(floor_store):
    store = floor_store
    row = store.one("SELECT code, warehouse, 7 AS n FROM locations ORDER BY code LIMIT 1")
    assert list(row) == ["code", "warehouse", "n"] and row["n"] == 7
    rows = store.all("SELECT code, warehouse FROM locations WHERE code LIKE 'E-01-%' ORDER BY code")
    assert rows == [
        {"code": "E-01-01", "warehouse": "WH-EAST"},
        {"code": "E-01-02", "warehouse": "WH-EAST"},
    ]
    assert store.one("SELECT code FROM locations WHERE code = 'none'") is None
    assert store.all("SELECT code FROM locations WHERE code = 'none'") == []


@pytest.mark.sqlite_only("sqlite3's own rows: PostgreSQL's driver names the columns itself")
def test_a_column_name_given_twice_keeps_the_first_columns_value(floor_store):
    """As `dict(sqlite3.Row)` did before rows were built from the cursor's column names."""
    store = floor_store
    assert store.one("SELECT 1 AS a, 2 AS b, 3 AS a") == {"a": 1, "b": 2}
    assert list(store.one("SELECT 1 AS a, 2 AS b, 3 AS a")) == ["a", "b"]
    assert store.all("SELECT 1 AS a, 2 AS a UNION ALL SELECT 3, 4") == [{"a": 1}, {"a": 3}]
