"""PostgreSQL connections cut under the server (pg_terminate_backend): it reconnects on the
next call, runs again a write that cannot have committed, and never one that may have."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import psycopg
import pytest
from floorkit import connect, scan

from server.store.postgres import WRITE_LOCK_KEY, Disconnected


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


def at_commit(store, table: str, body: str) -> None:
    """A temporary table whose inserted rows run `body` (PL/pgSQL) inside the COMMIT: a
    deferred constraint trigger. Temporary: gone with the session it cuts."""
    raw = store.conn.raw
    raw.execute(f"CREATE TEMP TABLE {table} (n BIGINT)")
    raw.execute(
        f"CREATE FUNCTION pg_temp.{table}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {body} RETURN NULL; END $$"
    )
    raw.execute(
        f"CREATE CONSTRAINT TRIGGER {table} AFTER INSERT ON pg_temp.{table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.{table}()"
    )


def test_a_write_cut_during_its_commit_is_not_run_again(cut, floor_store):
    # A deferred trigger that ends its own session: the cut falls inside the COMMIT, when the
    # client cannot know whether it committed.
    at_commit(floor_store, "cut_at_commit", "PERFORM pg_terminate_backend(pg_backend_pid());")
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


# A statement that tells the client it has begun (the notice), then runs on for a while: the
# moment to fail its connection while its result is still unread.
NOISY = "DO $$ BEGIN RAISE NOTICE 'cut here'; PERFORM pg_sleep(0.2); END $$"


@pytest.fixture
def fail_socket(cut):
    """A function that ends a store's session from the server's side and leaves libpq's
    socket in error without data to read (an unconnected socket put in its place), so that
    psycopg's wait for the statement in flight gives up ("connection socket closed", an
    OperationalError) while libpq still waits for the result: the connection refuses every
    later statement ("another command is already in progress") though libpq never saw it
    closed. The client-side half of what a loaded machine once produced in a full-suite
    run of the cut test above; PostgreSQL alone does not produce it on demand."""
    dead: list[socket.socket] = []

    def fail(store) -> None:
        cut(store)  # the server ends the session: its transaction is rolled back
        dead.append(socket.socket())
        os.dup2(dead[-1].fileno(), store.conn.raw.pgconn.socket)

    yield fail
    for sock in dead:
        sock.close()


def fail_at_notice(store, fail) -> None:
    """Fail the store's connection at the next notice it receives (once)."""
    raw = store.conn.raw

    def handler(_diag) -> None:
        raw.remove_notice_handler(handler)
        fail(store)

    raw.add_notice_handler(handler)


@pytest.mark.parametrize("group", [False, True], ids=["alone", "group-commit"])
def test_a_write_whose_socket_fails_mid_statement_runs_again_once(fail_socket, floor_store, group):
    if group:
        floor_store.group_commit()
    runs = []

    def job() -> int:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('CUT-2', 'cut')")
        if len(runs) == 1:
            fail_at_notice(floor_store, fail_socket)
        floor_store.execute(NOISY)
        return floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'CUT-2'")["n"]

    assert floor_store.grouped(job) == 1
    assert len(runs) == 2  # the first run's insert was never committed: run again, once
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'CUT-2'")["n"] == 1


def test_a_write_that_kept_quiet_about_its_failed_socket_runs_again_once(fail_socket, floor_store):
    """The job swallowed the error: its COMMIT is never sent, so it cannot have committed."""
    runs = []

    def job() -> None:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('QUIET-1', 'quiet')")
        if len(runs) == 1:
            fail_at_notice(floor_store, fail_socket)
        with contextlib.suppress(psycopg.OperationalError):  # the use case swallows it
            floor_store.execute(NOISY)

    floor_store.grouped(job)
    assert len(runs) == 2
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'QUIET-1'")["n"] == 1


def test_a_commit_whose_socket_fails_is_not_run_again(fail_socket, floor_store):
    # A deferred trigger that speaks up inside the COMMIT: the socket fails there, when the
    # client cannot know whether it committed.
    at_commit(floor_store, "noisy_at_commit", "RAISE NOTICE 'cut here'; PERFORM pg_sleep(0.2);")
    runs = []

    def job() -> None:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('MAYBE-2', 'maybe')")
        floor_store.conn.raw.execute("INSERT INTO pg_temp.noisy_at_commit VALUES (1)")
        fail_at_notice(floor_store, fail_socket)

    with pytest.raises(Disconnected) as lost:
        floor_store.grouped(job)
    assert lost.value.maybe_committed and len(runs) == 1
    # the server ended the session inside the COMMIT's trigger: nothing of it was kept
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'MAYBE-2'")["n"] == 0


def test_a_lone_read_whose_socket_fails_runs_again(fail_socket, floor_store):
    admin = psycopg.connect(floor_store.url, autocommit=True)
    admin.execute(
        "CREATE OR REPLACE FUNCTION noisy_count() RETURNS BIGINT LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE NOTICE 'cut here'; PERFORM pg_sleep(0.2); "
        "RETURN (SELECT COUNT(*) FROM products); END $$"
    )
    try:
        fail_at_notice(floor_store, fail_socket)
        assert floor_store.one("SELECT noisy_count() AS n")["n"] == 3
    finally:
        admin.execute("DROP FUNCTION noisy_count()")
        admin.close()


def test_a_wait_for_the_write_lock_whose_socket_fails_runs_again_once(cut, floor_store):
    """The socket fails while the write waits for the site's lock (held by another process)."""
    holder = psycopg.connect(floor_store.url, autocommit=True)
    watcher = psycopg.connect(floor_store.url, autocommit=True)
    pid = floor_store.conn.raw.info.backend_pid
    fd = floor_store.conn.raw.pgconn.socket
    holder.execute("BEGIN")
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
    dead = socket.socket()

    def fail_when_waiting() -> None:
        waiting = "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event = 'advisory'"
        deadline = time.monotonic() + 10
        while not watcher.execute(waiting, (pid,)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # From this thread, the socket goes first and then the session, both as they were
        # when the wait began: the other way round, the store can see the session end, let
        # its connection go and open a new one whose socket (or pid) this would then break
        # (a CI run hung 120 s on a new connection's lock wait that way). The store's poll
        # holds the old socket until the session's end wakes it onto the dead one.
        os.dup2(dead.fileno(), fd)
        assert watcher.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        holder.execute("COMMIT")

    thread = threading.Thread(target=fail_when_waiting)
    thread.start()
    runs = []

    def job() -> None:
        runs.append(1)
        floor_store.execute("INSERT INTO products (sku, name) VALUES ('LOCK-1', 'lock')")

    try:
        floor_store.grouped(job)
    finally:
        thread.join()
        holder.close()
        watcher.close()
        dead.close()
    assert runs == [1]  # the job had not begun: only the lock's wait was cut
    assert floor_store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'LOCK-1'")["n"] == 1
