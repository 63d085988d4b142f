"""PostgreSQL connections cut under the server (pg_terminate_backend): it reconnects on the
next call, runs again a write that cannot have committed, and never one that may have."""

from __future__ import annotations

import psycopg
import pytest
from floorkit import connect, scan

from server.store.postgres import Disconnected


@pytest.fixture
def cut(database_url):
    """A function that cuts a store's connection from the server's side."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite file has no connection to lose")
    admin = psycopg.connect(database_url, autocommit=True)

    def cut_(store) -> int:
        pid = store.conn.raw.info.backend_pid
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        return pid

    yield cut_
    admin.close()


def test_a_server_whose_connection_is_cut_answers_the_next_scan(cut, floor):
    picker = connect(floor.app, floor.socketio, floor.tokens["picker"])
    first = scan(picker, "NOT-A-BIN-1", "s1")
    assert first["code"] == "nothing_to_scan", first
    old = cut(floor.store)
    reply = scan(picker, "NOT-A-BIN-2", "s2")  # the next call: a new connection, not an error
    assert (reply["id"], reply["code"]) == ("s2", "nothing_to_scan"), reply
    assert floor.store.conn.raw.info.backend_pid != old
    assert floor.store.one("SELECT COUNT(*) AS n FROM scans")["n"] == 2
    cut(floor.store)  # lone reads and lone statements reconnect too
    assert floor.store.one("SELECT COUNT(*) AS n FROM scans")["n"] == 2
    cut(floor.store)
    floor.store.execute("INSERT INTO products (sku, name) VALUES ('AFTER-CUT', 'x')")
    assert floor.store.all("SELECT sku FROM products WHERE sku = 'AFTER-CUT'") != []


@pytest.mark.parametrize("group", [False, True], ids=["alone", "group-commit"])
def test_a_write_cut_before_its_commit_runs_again_once(cut, floor_store, group):
    if group:
        floor_store.group_commit()
    runs = []

    def job() -> int:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('CUT-1', 'cut')")
        if len(runs) == 1:
            cut(floor_store)
        return floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'CUT-1'")["n"]

    assert floor_store.grouped(job) == 1
    assert len(runs) == 2  # the first run's insert was never committed: run again
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'CUT-1'")["n"] == 1


def test_a_write_cut_during_its_commit_is_not_run_again(cut, floor_store):
    raw = floor_store.conn.raw
    # A deferred trigger that ends its own session: the cut falls inside the COMMIT, when the
    # client cannot know whether it committed. Temporary: gone with the session it cuts.
    raw.execute("CREATE TEMP TABLE cut_at_commit (n BIGINT)")
    raw.execute(
        "CREATE FUNCTION pg_temp.cut_me() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
    )
    raw.execute(
        "CREATE CONSTRAINT TRIGGER cut AFTER INSERT ON pg_temp.cut_at_commit "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.cut_me()"
    )
    runs = []

    def job() -> None:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('MAYBE-1', 'maybe')")
        floor_store.conn.raw.execute("INSERT INTO pg_temp.cut_at_commit VALUES (1)")

    with pytest.raises(Disconnected) as lost:
        floor_store.grouped(job)
    assert lost.value.maybe_committed and len(runs) == 1
    # and the store works on: the next call is on a new connection
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'MAYBE-1'")["n"] == 0


def test_a_database_that_refuses_for_a_while_is_reached_again_once_back(cut, floor_store):
    """Reconnecting fails while the database refuses connections; the call after it is
    back reconnects: the store does not stay broken."""
    from dbkit import ADMIN_URL

    name = floor_store.conn.raw.info.dbname
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    gate = "ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}"
    floor_store.conn.pool.timeout = 1.0  # give up on a reconnect quickly, for the test
    try:
        admin.execute(gate.format(f'"{name}"', "false"))
        cut(floor_store)
        with pytest.raises(psycopg.OperationalError):
            floor_store.one("SELECT COUNT(*) AS n FROM products")
        with pytest.raises(psycopg.OperationalError):
            floor_store.execute("INSERT INTO products (sku, name) VALUES ('DOWN-1', 'x')")
    finally:
        admin.execute(gate.format(f'"{name}"', "true"))
        admin.close()
    floor_store.conn.pool.timeout = 15.0
    assert floor_store.one("SELECT COUNT(*) AS n FROM products")["n"] == 3
    floor_store.execute("INSERT INTO products (sku, name) VALUES ('UP-1', 'x')")
    assert floor_store.one("SELECT COUNT(*) AS n FROM products")["n"] == 4
