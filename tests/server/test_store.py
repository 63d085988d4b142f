"""The store: migrations, write transactions, and the stock invariants SQLite enforces."""

from __future__ import annotations

import sqlite3

import pytest

from server.store import open_store
from server.store.migrations import MIGRATIONS


def test_migrations_apply_once(tmp_path):
    store = open_store(tmp_path / "a.db")
    assert [m.name for m in MIGRATIONS.pending(store.db)] == []
    assert store.migrate() == []
    store.close()
    again = open_store(tmp_path / "a.db")
    assert again.one("PRAGMA journal_mode")["journal_mode"] == "wal"
    assert again.migrate() == []


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
    with pytest.raises(sqlite3.IntegrityError), floor_store.write():
        floor_store.execute(sql)


def test_writes_take_the_lock_up_front(floor_store):
    """A second connection cannot slip a write in between our read and our write."""
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
    other = sqlite3.connect(floor_store.path)
    assert other.execute("SELECT COUNT(*) FROM products WHERE sku = 'X-2'").fetchone()[0] == 1
    other.close()
