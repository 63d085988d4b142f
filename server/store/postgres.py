"""The store on PostgreSQL: the same API as the SQLite Store, so use cases are written once.

One connection per process, in autocommit mode with explicit BEGIN/COMMIT, as the SQLite
store has: a greenlet holds the connection for a whole transaction (psycopg 3 waits
cooperatively under gevent from 3.1.14 on). Every write transaction first takes one
transaction-scoped advisory lock for the site: writers queue as they do on SQLite's
write lock (BEGIN IMMEDIATE), so every rule a use case checks inside its transaction
(stock never promised twice, a scan applied once) holds across processes and hosts,
while reads run beside them on MVCC snapshots. Group commit shares that lock and one
COMMIT among many jobs, exactly as on SQLite.

The connection comes from a psycopg-pool pool of one, which opens and configures it and,
when it is lost (PostgreSQL restarted, a failover, pg_terminate_backend), discards it and
opens the next: the next call runs on a new connection instead of failing for ever. What
was cut runs again only where that is safe: a call that had not begun its transaction, a
lone read, a write that had not reached its COMMIT. A write cut during its COMMIT may have
committed: it fails (`Disconnected.maybe_committed`), and the device's resend of the same
message id settles it (answered from the first reply if it did commit).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import adapt, postgres
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from server.store.dialect import translate

if TYPE_CHECKING:
    from server.store.group import GroupWriter

T = TypeVar("T")
log = logging.getLogger("scanfloor.store")
CONNECT_SECONDS = 15.0  # how long opening (or re-opening) the connection may take
CANCEL_SECONDS = 5.0  # how long cancelling a statement left in flight may take


class Disconnected(psycopg.OperationalError):
    """The connection was lost inside a transaction; the next call runs on a new one.

    `maybe_committed` is False when the transaction cannot have committed (lost before its
    COMMIT: safe to run again), True when the COMMIT itself was cut (it may have committed)."""

    def __init__(self, message: str, maybe_committed: bool):
        super().__init__(message)
        self.maybe_committed = maybe_committed


# pg_advisory_xact_lock's key for "the site's write lock": any constant shared by every process.
WRITE_LOCK_KEY = 0x5CA4F100


class _BoolAsInt(adapt.Dumper):
    """True/False into INTEGER columns as 1/0, as SQLite stores them."""

    oid = postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(adapt.Loader):
    """SUM() and AVG() answer NUMERIC: give int or float back, as SQLite does."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        return float(text) if b"." in text or b"e" in text.lower() else int(text)


class Row(tuple):
    """A row read by index, by unpacking or by column name (like sqlite3.Row)."""

    __slots__ = ()
    names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self.names


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def _row_factory(cursor: psycopg.Cursor[Any]) -> Callable[[Any], Row]:
    names = tuple(c.name for c in cursor.description or ())
    cls = _ROW_CLASSES.get(names)
    if cls is None:  # one class per column list: a few hundred statements, made once each
        cls = _ROW_CLASSES[names] = type("Row", (Row,), {"__slots__": (), "names": names})
    return cls


class Cursor:
    """What a statement left: rows, rowcount and, for an INSERT, the new row's id."""

    def __init__(self, cur: psycopg.Cursor[Any], returns_id: bool):
        self._cur = cur
        self.rowcount = cur.rowcount
        self.lastrowid: int | None = None
        self._rows: list[Any] | None = None
        if returns_id:
            self._rows = cur.fetchall() if cur.description else []
            if self._rows:
                self.lastrowid = self._rows[-1][0]
        elif cur.description:
            self._rows = cur.fetchall()

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return list(self._rows or [])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows or [])


class Connection:
    """The psycopg connection behind SQLite's `conn.execute()` shape."""

    def __init__(self, url: str):
        # A pool of one: one connection per process is the store's model (writers queue on
        # the site's lock anyway); the pool opens it, configures it and replaces it when lost.
        self.pool = ConnectionPool(
            url,
            kwargs={"autocommit": True, "prepare_threshold": 2},
            min_size=1,
            max_size=1,
            configure=_configure,
            open=False,
            name="scanfloor",
            timeout=CONNECT_SECONDS,
            num_workers=1,
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_SECONDS)
        except PoolTimeout:
            self.pool.close()
            _why_not(url)  # raises the server's own answer (bad host, no such database...)
            raise
        self.raw: psycopg.Connection[Any] = self.pool.getconn()
        self.id_tables: frozenset[str] = frozenset()

    @property
    def lost(self) -> bool:
        """True when the connection is gone (closed by the server, the network, a failover)."""
        return self.raw.closed or self.raw.broken

    def reconnect(self) -> None:
        """Give the lost connection back (the pool discards it) and take a new one."""
        if self.pool.closed:  # the store was closed: nothing to reconnect for
            raise psycopg.OperationalError("the store is closed")
        log.warning("the PostgreSQL connection was lost: reconnecting")
        with contextlib.suppress(Exception):
            self.pool.putconn(self.raw)
        self.raw = self.pool.getconn()

    @property
    def busy(self) -> bool:
        """True when a statement was sent and its result never read: the greenlet that sent it
        was killed or timed out mid-statement (GreenletExit, gevent.Timeout), or psycopg's wait
        for the result gave up on the socket ("connection socket closed", an OperationalError
        raised when the poll reports the socket in error without data to read: libpq never
        learnt that the connection is gone). psycopg cleans up after an interrupted wait only
        for KeyboardInterrupt and SystemExit, so such a connection refuses every later
        statement ("another command is already in progress"). Seen under the store's lock,
        where every statement of the store is sent, it is never a statement still under way."""
        return self.raw.info.transaction_status == TransactionStatus.ACTIVE

    def abandon(self) -> None:
        """Cancel the statement left in flight and close the connection: the next call finds it
        lost and runs on a new one. Its open transaction, never committed, is rolled back by
        the server; nothing in it was acknowledged (a write is acknowledged after its COMMIT)."""
        log.warning(
            "the PostgreSQL connection was left mid-statement: cancelling it and closing it"
        )
        with contextlib.suppress(Exception):
            self.raw.cancel_safe(timeout=CANCEL_SECONDS)  # the server stops the statement now
        with contextlib.suppress(Exception):
            self.raw.close()

    @property
    def in_transaction(self) -> bool:
        # UNKNOWN: the connection is lost (a reconnect that failed leaves it so): no
        # transaction of ours is open on it, and the next call reconnects
        status = self.raw.info.transaction_status
        return status not in (TransactionStatus.IDLE, TransactionStatus.UNKNOWN)

    def execute(self, sql: str, params: tuple | dict | list = ()) -> Cursor:
        query, returns_id = translate(sql, self.id_tables)
        cur = self.raw.cursor(row_factory=_row_factory)
        cur.execute(query, params)
        return Cursor(cur, returns_id)

    def executemany(self, sql: str, seq: Iterable[tuple | dict]) -> Cursor:
        query, _ = translate(sql, frozenset())
        cur = self.raw.cursor()
        cur.executemany(query, list(seq))
        return Cursor(cur, False)

    def dicts(self, sql: str, params: tuple | dict) -> psycopg.Cursor[dict[str, Any]]:
        query, _ = translate(sql, frozenset())
        cur = self.raw.cursor(row_factory=dict_row)
        return cur.execute(query, params)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.putconn(self.raw)
        self.pool.close()


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Each new connection as the store wants it: statement cache, SQLite's types."""
    conn.prepared_max = 2048  # as the SQLite store's statement cache
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


def _why_not(url: str) -> None:
    """Raise why the pool could not connect, as the server says it (one direct attempt)."""
    with psycopg.connect(url, connect_timeout=5):
        pass


class MigrationDb:
    """What a migration function is handed on PostgreSQL: `execute()` with the DDL's types."""

    dialect = "postgresql"

    def __init__(self, conn: Connection):
        self.conn = conn

    def execute(self, sql: str, params: tuple | dict = ()) -> Cursor:
        from server.store.dialect import ddl

        return self.conn.execute(ddl(sql), params)


class PgStore:
    """The database of one site on PostgreSQL, with the SQLite Store's API."""

    dialect = "postgresql"
    greatest = "GREATEST"
    least = "LEAST"
    Error: type[Exception] = psycopg.Error
    IntegrityError: type[Exception] = psycopg.IntegrityError

    def __init__(self, url: str):
        self.url = url
        self.conn = Connection(url)
        self._lock = threading.RLock()
        self._depth = 0
        self.on_commit: Callable[[float], None] | None = None
        self.group: GroupWriter | None = None
        # Servers and the worker: try the write lock and let other greenlets read meanwhile.
        self.cooperative_lock_wait = False
        self._load_id_tables()

    def _load_id_tables(self) -> None:
        rows = self.conn.dicts(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
            (),
        ).fetchall()
        self.conn.id_tables = frozenset(r["table_name"] for r in rows)

    def group_commit(self) -> None:
        """From now on `grouped()` jobs share transactions (needs a gevent-patched process)."""
        from server.store.group import GroupWriter

        self.group = GroupWriter(self)

    def grouped(self, job: Callable[[], T], urgent: bool = True) -> T:
        """Run a write job and return its result once committed (run again, once, when the
        connection was lost before the COMMIT: nothing of it can have been kept). Not
        `urgent`: in a group commit, after the urgent jobs waiting."""
        group = self.group
        if group is not None:
            return self._retry(lambda: group.submit(job, urgent))

        def run() -> T:
            with self.write():
                return job()

        return self._retry(run)

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied."""
        from server.store.migrations import apply_postgres

        with self.write():
            applied = apply_postgres(MigrationDb(self.conn))
        self._load_id_tables()
        return applied

    def _settle(self) -> None:
        """Under the lock, before a call of its own: a connection that an interrupted call left
        mid-statement is abandoned, and the call opens a new one as after any loss."""
        if self.conn.busy:
            self.conn.abandon()

    def _let_go(self) -> bool:
        """After a call failed, under the lock: let go of a connection that cannot run another
        statement. Left mid-statement (see `Connection.busy`) it is abandoned, lost it is
        replaced; either way its open transaction went with it, never committed. True when
        it was let go (the next call runs on a new connection)."""
        if self.conn.busy:
            self.conn.abandon()
            return True
        if self.conn.lost:
            self.conn.reconnect()
            return True
        return False

    def _begin(self, sql: str) -> None:
        """Open a transaction; a connection found lost is replaced first (nothing ran yet)."""
        self._settle()
        try:
            self.conn.raw.execute(sql)
        except psycopg.OperationalError:
            if not self.conn.lost:
                raise
            self.conn.reconnect()
            self.conn.raw.execute(sql)

    def _retry(self, run: Callable[[], T]) -> T:
        """Run a whole write once more when its connection was lost before its COMMIT."""
        try:
            return run()
        except Disconnected as exc:
            if exc.maybe_committed:
                raise
            log.warning("a write was cut before its commit: running it again")
            return run()

    @contextlib.contextmanager
    def write(self, synchronous: str | None = None) -> Iterator[PgStore]:
        """A write transaction holding the site's write lock from its first statement
        (`synchronous`: SQLite's, nothing here: PostgreSQL syncs inside its COMMIT)."""
        free = not self._lock._is_owned()  # no outer read() or write() of this greenlet
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._begin_locked(yield_connection=free and self.cooperative_lock_wait)
            self._depth = 1
            try:
                yield self
            except BaseException as exc:
                # Cut mid-statement (killed, timed out, its socket failed) or lost: the
                # transaction went with the connection, before its COMMIT.
                if self._let_go():
                    if isinstance(exc, psycopg.OperationalError) and not isinstance(
                        exc, Disconnected
                    ):
                        raise Disconnected(f"connection lost: {exc}", False) from exc
                elif self.conn.in_transaction:
                    self.conn.raw.execute("ROLLBACK")
                raise
            else:
                if self._let_go():  # the body kept quiet about its connection's failure
                    raise Disconnected("connection lost before COMMIT", False)
                start = time.perf_counter()
                try:
                    self.conn.raw.execute("COMMIT")
                except psycopg.OperationalError as exc:
                    if not self._let_go():
                        raise
                    raise Disconnected(f"connection lost during COMMIT: {exc}", True) from exc
                if self.on_commit is not None:
                    self.on_commit(time.perf_counter() - start)
            finally:
                self._depth = 0

    def _begin_locked(self, yield_connection: bool) -> None:
        """BEGIN and take the site's write lock.

        psycopg waits cooperatively under gevent, so waiting on the lock in the server
        (pg_advisory_xact_lock) never stops the loop; but this process's one connection
        would be held all the while, and its other greenlets' reads with it. With
        `cooperative_lock_wait` (the serving process and the worker) the lock is tried
        instead, and while another process holds it this greenlet lets go of the
        connection between short sleeps, as the SQLite store does.
        """
        if not yield_connection:
            self._begin("BEGIN")
            self._lock_statement("SELECT pg_advisory_xact_lock(%s)")
            return
        pause = 0.0005
        deadline = time.monotonic() + 60
        while True:
            self._begin("BEGIN")
            got = self._lock_statement("SELECT pg_try_advisory_xact_lock(%s)")
            if got and got[0]:
                return
            self.conn.raw.execute("ROLLBACK")
            if time.monotonic() > deadline:
                raise psycopg.errors.LockNotAvailable("the site's write lock: waited 60 s")
            self._lock.release()
            try:
                time.sleep(pause)
            finally:
                self._lock.acquire()
            pause = min(pause * 2, 0.004)

    def _lock_statement(self, sql: str) -> Any:
        """Run the write lock's statement in the transaction just begun; a connection lost
        meanwhile is replaced and said as `Disconnected` (nothing ran: safe to retry)."""
        try:
            return self.conn.raw.execute(sql, (WRITE_LOCK_KEY,)).fetchone()
        except BaseException as exc:
            if self._let_go():  # cut mid-statement (killed, timed out, its socket failed), lost
                if isinstance(exc, psycopg.OperationalError):
                    raise Disconnected(f"connection lost: {exc}", False) from exc
            elif self.conn.in_transaction:
                self.conn.raw.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[PgStore]:
        """A consistent snapshot for several reads."""
        with self._lock:
            if not self._depth:
                self._settle()
            if self._depth or self.conn.in_transaction:
                yield self
                return
            self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                yield self
            except BaseException:
                if self.conn.busy:  # cut mid-statement (killed, timed out)
                    self.conn.abandon()
                elif self.conn.lost:
                    self.conn.reconnect()
                raise
            finally:
                if self.conn.in_transaction:
                    self.conn.raw.execute("COMMIT")

    def _query(self, run: Callable[[], T]) -> T:
        """A lone read: run again on a new connection when the old one is found lost."""
        with self._lock:
            if not self._depth:
                self._settle()
            if self._depth or self.conn.in_transaction:
                return run()
            try:
                return run()
            except psycopg.OperationalError:
                if not self._let_go():  # lost, or left mid-statement by a failed socket
                    raise
                if self.conn.lost:  # abandoned: closed, not replaced yet
                    self.conn.reconnect()
                return run()
            except BaseException:
                if self.conn.busy:  # cut mid-statement (killed, timed out)
                    self.conn.abandon()
                raise

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        """The first row of a query as a dict, or None."""
        return self._query(lambda: self.conn.dicts(sql, params).fetchone())

    def all(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        """Every row of a query as dicts."""
        return self._query(lambda: self.conn.dicts(sql, params).fetchall())

    def execute(self, sql: str, params: tuple | dict = ()) -> Cursor:
        """Run one statement; outside write() it gets a write transaction of its own."""
        with self._lock:
            if self._depth:
                return self.conn.execute(sql, params)

            def run() -> Cursor:
                with self.write():
                    return self.conn.execute(sql, params)

            return self._retry(run)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
        self.conn.close()
