"""A PostgreSQL store whose connection was lost connects again on its next call.

A server's one connection goes when PostgreSQL restarts or a standby is promoted (the
whole failover: tests/e2e/runtime/test_standby.py). Here the backend is ended from
another session (`pg_terminate_backend`): the statement that finds out fails, nothing
of its transaction is kept, and the next call works on a new connection.
"""

from __future__ import annotations

import psycopg
import pytest

from server.store import open_store


def _cut(store) -> None:
    pid = store.one("SELECT pg_backend_pid() AS pid")["pid"]
    with psycopg.connect(store.url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_the_next_call_after_a_lost_connection_connects_again(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite file has no connection to lose")
    store = open_store(database_url)
    try:
        store.execute("INSERT INTO channels (code, allow_split) VALUES ('kept', 1)")
        before = store.one("SELECT pg_backend_pid() AS pid")["pid"]
        _cut(store)
        # The write's BEGIN finds the cut: it fails and nothing of it is written.
        with pytest.raises(psycopg.OperationalError), store.write():
            store.execute("INSERT INTO channels (code, allow_split) VALUES ('lost', 1)")
        assert store.one("SELECT allow_split FROM channels WHERE code = 'kept'") == {
            "allow_split": 1
        }
        assert store.one("SELECT pg_backend_pid() AS pid")["pid"] != before
        assert store.one("SELECT 1 AS x FROM channels WHERE code = 'lost'") is None

        def snapshot() -> None:
            with store.read():
                store.all("SELECT code FROM channels")

        # Cut again: a read, a write of its own and a snapshot each get a connection.
        for call in (
            lambda: store.all("SELECT code FROM channels"),
            lambda: store.execute("UPDATE channels SET allow_split = 0 WHERE code = 'kept'"),
            snapshot,
        ):
            _cut(store)
            with pytest.raises(psycopg.OperationalError):
                store.one("SELECT 1 AS x")
            call()
        assert store.one("SELECT allow_split FROM channels WHERE code = 'kept'") == {
            "allow_split": 0
        }
    finally:
        store.close()
