"""One SQLite connection per process, WAL, every write in BEGIN IMMEDIATE."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils

from server.store.migrations import MIGRATIONS

if TYPE_CHECKING:
    from server.store.group import GroupWriter

T = TypeVar("T")


class Store:
    """The database of one site. Writes are serialised by SQLite's write lock."""

    dialect = "sqlite"
    # The two-argument forms of MAX and MIN (a scalar, not the aggregate), by dialect.
    greatest = "MAX"
    least = "MIN"
    Error: type[Exception] = sqlite3.Error
    IntegrityError: type[Exception] = sqlite3.IntegrityError

    def __init__(self, path: str | Path, synchronous: str = "FULL"):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"  # as PgStore names its database
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A large statement cache: the floor runs a few hundred distinct statements (IN lists
        # of several lengths among them), and re-preparing a join costs more than running it.
        conn = sqlite3.connect(
            str(self.path), check_same_thread=False, timeout=30, cached_statements=2048
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        self.synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]  # 0-3, as SQLite says
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        # One connection serves every greenlet of the process: a transaction
        # must not interleave with another greenlet's statements.
        self._lock = threading.RLock()
        self._depth = 0
        # Told how long each COMMIT of write() took, in seconds (server/runtime/metrics.py).
        self.on_commit: Callable[[float], None] | None = None
        self.group: GroupWriter | None = None  # set by group_commit(): the server process only
        # Several server processes share the file: wait for another's write lock in short
        # sleeps that let the gevent loop run (see _begin_cooperatively).
        self.cooperative_lock_wait = False

    def group_commit(self) -> None:
        """From now on `grouped()` jobs share transactions (needs a gevent-patched process)."""
        from server.store.group import GroupWriter

        self.group = GroupWriter(self)

    def grouped(self, job: Callable[[], T], urgent: bool = True) -> T:
        """Run a write job and return its result once committed: in a shared group commit
        when one is on (not `urgent`: after the urgent jobs waiting), else in a transaction
        of its own."""
        if self.group is not None:
            return self.group.submit(job, urgent)
        with self.write():
            return job()

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied."""
        with self.write():
            pending = [m.name for m in MIGRATIONS.pending(self.db)]
            MIGRATIONS.apply(self.db)
        return pending

    @contextlib.contextmanager
    def write(self, synchronous: str | None = None) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE).

        `synchronous`: this transaction's level, when not the connection's own (the group
        commit commits at NORMAL and syncs the WAL itself); set before BEGIN, put back after.
        """
        free = not self._lock._is_owned()  # no outer read() or write() of this greenlet
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self._begin_immediate(synchronous, yield_connection=free)
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                start = time.perf_counter()
                self.conn.execute("COMMIT")
                if self.on_commit is not None:
                    self.on_commit(time.perf_counter() - start)
            finally:
                self._depth = 0
                if synchronous:
                    self.conn.execute(f"PRAGMA synchronous={self.synchronous}")

    def _begin_immediate(self, synchronous: str | None, yield_connection: bool) -> None:
        """BEGIN IMMEDIATE, retried while another connection holds the write lock (up to 60 s).

        Alone, SQLite's busy handler (busy_timeout) waits, and this loop only guards long
        contention. With `cooperative_lock_wait` (the serving process and the worker: others
        share the file) the busy handler is off while we wait: it sleeps inside the C call,
        holding the whole gevent loop (every device link of the process) in steps up to
        100 ms. The loop's short sleeps are gevent's under its patching, and while this
        greenlet sleeps it lets go of the connection (`yield_connection`: it held nothing
        of it before), so the process's other greenlets read on it meanwhile: a WAL reader
        never waits for a writer, so a write lock held elsewhere for seconds stops this
        process's writes only, not its reads, pings or pages.
        """
        cooperative = self.cooperative_lock_wait
        deadline = time.monotonic() + 60
        pause = 0.0005 if cooperative else 0.01
        while True:
            if synchronous:
                self.conn.execute(f"PRAGMA synchronous={synchronous}")
            if cooperative:
                self.conn.execute("PRAGMA busy_timeout=0")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    if synchronous:
                        self.conn.execute(f"PRAGMA synchronous={self.synchronous}")
                    raise
            finally:
                if cooperative:
                    self.conn.execute("PRAGMA busy_timeout=30000")
            # What the others' transactions must see, before anyone else runs a statement.
            if synchronous:
                self.conn.execute(f"PRAGMA synchronous={self.synchronous}")
            if cooperative and yield_connection:
                self._lock.release()
                try:
                    time.sleep(pause)
                finally:
                    self._lock.acquire()
            else:
                time.sleep(pause)
            if cooperative:
                pause = min(pause * 2, 0.004)

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """A consistent snapshot for several reads."""
        with self._lock:
            if self._depth or self.conn.in_transaction:
                yield self.db
                return
            self.conn.execute("BEGIN")
            try:
                yield self.db
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        """The first row of a query as a dict, or None."""
        with self._lock:
            cur = self.conn.execute(sql, params)
            row = cur.fetchone()
        return None if row is None else _dicts(cur, (row,))[0]

    def all(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        """Every row of a query as dicts."""
        with self._lock:
            cur = self.conn.execute(sql, params)
            rows = cur.fetchall()
        return _dicts(cur, rows) if rows else []

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """Run one statement; outside write() it gets a write transaction of its own."""
        with self._lock:
            if self._depth:
                return self.conn.execute(sql, params)
            with self.write():
                return self.conn.execute(sql, params)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
        self.conn.close()


def _dicts(cur: sqlite3.Cursor, rows: Iterable[sqlite3.Row]) -> list[dict[str, Any]]:
    """Rows as dicts, keyed by the cursor's column names. `dict(row)` looks each name up
    in the row again, comparing it with every name before it: for the device row's 30
    columns, 5 µs of a scan's read of it instead of 2. A name given twice keeps the first
    column's value, as `dict(row)` does."""
    names = [d[0] for d in cur.description]
    if len(set(names)) < len(names):
        return [dict(r) for r in rows]
    return [dict(zip(names, r, strict=True)) for r in rows]


def open_store(path: str | Path, synchronous: str = "FULL", migrate: bool = True) -> Store:
    """Open (and by default migrate) the database at a path or URL: a file path or
    sqlite:///PATH for SQLite, postgresql://USER@HOST:PORT/DB for PostgreSQL."""
    target = str(path)
    if target.startswith(("postgresql://", "postgres://")):
        from server.store.postgres import PgStore

        pg = PgStore(target)
        if migrate:
            pg.migrate()
        return pg  # type: ignore[return-value]  # the same API: use cases are written once
    if target.startswith("sqlite:///"):
        path = target.removeprefix("sqlite:///")
    store = Store(path, synchronous=synchronous)
    if migrate:
        store.migrate()
    return store


def dumps(value: Any) -> str:
    """Compact JSON for TEXT columns."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
