"""Group commit: the writes of many greenlets share one transaction and one fsync.

With `synchronous=FULL` every COMMIT waits for the disk, so committing each scan
on its own caps a busy floor at what the disk can sync. Here each scan's work is
a job: a single writer greenlet takes every job waiting, runs them one after the
other in one `BEGIN IMMEDIATE` transaction (each inside a SAVEPOINT, so a job that
fails is undone alone), commits once, and only then hands each job its result.
Nothing is acknowledged before it is on disk, and a scan never waits for more than
the batch it arrived with.

The disk waits leave the serving loop. With `synchronous=FULL` in WAL mode the
COMMIT's fsync of the WAL held every device link of the process (up to 127 ms
seen); here the group's transaction commits at `synchronous=NORMAL` (the WAL
written, not yet synced), and the writer then fsyncs the WAL file in gevent's
thread pool while the loop serves the other greenlets. Only after that sync
does any job of the batch get its result, so the guarantee is FULL's: nothing
acknowledged before it is on disk. The next batch waits for it (one writer,
commits in order). Checkpoints (copying the WAL into the database, two more
fsyncs) run in the thread pool too, on a connection of their own, instead of
inside whichever COMMIT crossed SQLite's auto-checkpoint size.

A group's jobs run on the loop, one after the other, so a group is cut at
`BATCH_SECONDS` of work: the jobs left go in the next group, after the loop has
served everything else that was ready. At shift start 1,500 sign-ins queued at
once, and a group of 256 of them held the loop (every device link of the
process) 67-116 ms. Jobs come in two lanes: a device's scan, action or print
result (`urgent`, the default) go before sign-ins and sign-outs (`urgent=False`),
so a scan made during the sign-in storm waits for one group, not for the storm.
The oldest waiting job of the second lane opens each group, so sign-ins move on
however busy the first lane is, and the oldest urgent job follows it in the group
whatever the time: a slow sign-in never cuts a group before its first scan.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import gevent
from gevent import get_hub
from gevent.event import AsyncResult, Event

log = logging.getLogger("scanfloor.store")
T = TypeVar("T")
MAX_BATCH = 256  # jobs in one transaction at most
BATCH_SECONDS = 0.015  # a group's jobs stop starting after this much of the loop's time
CHECKPOINT_BYTES = 4 * 1024 * 1024  # SQLite's own auto-checkpoint size (1,000 pages of 4 KiB)
# At most one checkpoint started a second. The WAL file keeps its size once it has grown
# (SQLite writes it again from the start), so the size alone would start one after nearly
# every batch; a second's worth copies each page written many times over once.
CHECKPOINT_SECONDS = 1.0


class Connection(Protocol):
    def execute(self, sql: str, /) -> Any: ...


class Writable(Protocol):
    """What a group needs of the store: its connection, its write transaction, its errors."""

    conn: Connection  # sqlite3's, or the PostgreSQL store's (server/store/postgres.py)
    Error: type[Exception]
    on_commit: Callable[[float], None] | None

    def write(self, synchronous: str | None = None) -> AbstractContextManager[Any]: ...


def sync_file(path: str) -> None:
    """fdatasync a file (run in a thread: the disk's wait is not the loop's)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def checkpoint(path: str) -> None:
    """A passive WAL checkpoint on a connection of its own (run in a thread)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


class GroupWriter:
    """Runs write jobs submitted by many greenlets in shared transactions."""

    def __init__(self, store: Writable):
        self.store = store
        self._jobs: list[tuple[Callable[[], Any], AsyncResult]] = []  # urgent
        self._later: list[tuple[Callable[[], Any], AsyncResult]] = []  # sign-ins and the like
        self._wake = Event()
        self.batches = 0
        self.jobs = 0
        self.checkpoints = 0
        conn = store.conn
        sqlite = isinstance(conn, sqlite3.Connection)  # PostgreSQL syncs inside its COMMIT
        self._level = conn.execute("PRAGMA synchronous").fetchone()[0] if sqlite else 0
        self._db_file = conn.execute("PRAGMA database_list").fetchone()[2] if sqlite else ""
        wal = (
            sqlite and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and self._db_file
        )
        # FULL (or EXTRA) in WAL mode: commit at NORMAL, sync the WAL in a thread before acking.
        self._wal = self._db_file + "-wal" if wal else None
        self._sync_off_loop = bool(self._wal) and self._level >= 2
        if self._wal:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # ours, in a thread (see _checkpoint)
        self._checkpointing = False
        self._checkpointed_at = float("-inf")  # when the last checkpoint started
        self._caught_up = True  # False: a checkpoint beside the groups is done, not its catch-up
        self._checkpoint_later: gevent.Greenlet | None = None
        self._greenlet = gevent.spawn(self._run)

    def submit(self, job: Callable[[], T], urgent: bool = True) -> T:
        """Run `job` (which may use `store.write()`) in a group; returns once committed.
        Not `urgent` (a sign-in): it waits for the urgent jobs before it, in its own order."""
        done = AsyncResult()
        (self._jobs if urgent else self._later).append((job, done))
        self._wake.set()
        return done.get()

    def close(self) -> None:
        self._greenlet.kill()
        if self._checkpoint_later is not None:
            self._checkpoint_later.kill()
        if self._wal:  # a connection without its writer checkpoints for itself again
            self.store.conn.execute("PRAGMA wal_autocheckpoint=1000")

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            gevent.sleep(0)  # let every greenlet already woken by a message submit its job too
            while self._jobs or self._later:
                self._commit(*self._next_batch())
                if self._jobs or self._later:
                    gevent.sleep(0)  # a long queue: let the loop breathe between batches

    def _next_batch(self) -> tuple[list[tuple[Callable[[], Any], AsyncResult]], int, int]:
        """The oldest job of the second lane, then the urgent ones, then the rest of the second
        lane, taken out of the queues; and where the urgent ones start and end in it (what a
        group does not start goes back to its queue: `_started`)."""
        first, self._later = self._later[:1], self._later[1:]
        urgent, self._jobs = self._jobs[: MAX_BATCH - 1], self._jobs[MAX_BATCH - 1 :]
        room = MAX_BATCH - len(first) - len(urgent)
        later, self._later = self._later[:room], self._later[room:]
        return first + urgent + later, len(first), len(first) + len(urgent)

    def _started(
        self, batch: list[tuple[Callable[[], Any], AsyncResult]], ran: int, urgent: int, later: int
    ) -> list[tuple[Callable[[], Any], AsyncResult]]:
        """The first `ran` jobs of `batch`; the rest go back to the head of their queues (the
        urgent ones are `batch[urgent:later]`), in their order, for the next group."""
        self._jobs[:0] = batch[max(ran, urgent) : later]
        self._later[:0] = batch[max(ran, later) :]
        return batch[:ran]

    def _commit(
        self, batch: list[tuple[Callable[[], Any], AsyncResult]], urgent: int, later: int
    ) -> None:
        """Run `batch` in one transaction (`batch[urgent:later]` its urgent jobs, for any it
        does not start), sync it, then answer each job it ran."""
        outcomes: list[tuple[AsyncResult, Any, BaseException | None]] = []
        try:
            committed = self._transaction(batch, outcomes, urgent + 1 if later > urgent else 1)
            batch = self._started(batch, len(outcomes), urgent, later)
            if self._sync_off_loop:
                started = time.perf_counter()
                get_hub().threadpool.apply(sync_file, (self._wal,))
                committed += time.perf_counter() - started
        except (self.store.Error, OSError) as exc:  # the commit or its sync failed: none is acked
            batch = self._started(batch, len(outcomes), urgent, later) if outcomes else batch
            log.exception("group commit of %d jobs failed", len(batch))
            for _job, done in batch:
                done.set_exception(exc)
            return
        if self.store.on_commit is not None:
            self.store.on_commit(committed)  # the COMMIT and its sync: the wait for the disk
        self.batches += 1
        self.jobs += len(batch)
        for done, result, exc in outcomes:
            if exc is None:
                done.set(result)
            else:
                done.set_exception(exc)
        self._checkpoint()  # after the answers: a catch-up delays the next group, not these

    def _transaction(
        self,
        batch: list[tuple[Callable[[], Any], AsyncResult]],
        outcomes: list[tuple[AsyncResult, Any, BaseException | None]],
        least: int,
    ) -> float:
        """Run the batch in one transaction, up to `BATCH_SECONDS` of its jobs' time (at least
        its first `least` jobs: the opening sign-in and the oldest scan); `outcomes` gets one
        entry a job run. Returns how long its COMMIT took."""
        store, conn = self.store, self.store.conn
        took: list[float] = []
        on_commit = store.on_commit
        # The group's transaction alone commits at the lowered level: write() sets it after
        # the wait for the write lock and puts it back before the connection serves any other
        # greenlet, so theirs keep the store's own (FULL: synced inside their COMMIT).
        try:
            with store.write(synchronous="NORMAL" if self._sync_off_loop else None):
                store.on_commit = took.append  # this greenlet holds the connection until COMMIT
                cut = time.perf_counter() + BATCH_SECONDS  # from the write lock on
                for job, done in batch:
                    if len(outcomes) >= least and time.perf_counter() > cut:
                        break
                    conn.execute("SAVEPOINT job")
                    try:
                        result = job()
                    except Exception as exc:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                        outcomes.append((done, None, exc))
                    else:
                        conn.execute("RELEASE job")
                        outcomes.append((done, result, None))
        finally:
            store.on_commit = on_commit
        return sum(took)

    def _checkpoint(self) -> None:
        """Start a checkpoint in the thread pool once the WAL has grown: one at a time, and
        at most one a `CHECKPOINT_SECONDS` (one too soon is started when that time is up).

        A checkpoint beside the groups copies only the frames there when it began, so under
        steady writes it never finds them all copied, and SQLite starts the WAL over (writes
        it again from its start) only at a write that does: the WAL grew without end (46 MB
        in 6,000 scans). So once one is done, the writer copies what the groups wrote
        meanwhile (a few ms in the thread pool, the next group waiting; the loop does not),
        and the next group's write starts the WAL over."""
        if not self._wal or self._checkpointing or self._checkpoint_later is not None:
            return
        if not self._caught_up:
            self._caught_up = True
            try:
                get_hub().threadpool.apply(checkpoint, (self._db_file,))
            except (sqlite3.Error, OSError):  # a later checkpoint copies it; nothing is lost
                log.warning("WAL catch-up checkpoint of %s failed", self._db_file, exc_info=True)
            return
        try:
            if os.path.getsize(self._wal) < CHECKPOINT_BYTES:
                return
        except OSError:
            return
        wait = self._checkpointed_at + CHECKPOINT_SECONDS - time.monotonic()
        if wait > 0:
            self._checkpoint_later = gevent.spawn_later(wait, self._checkpoint_when_due)
            return
        self._checkpointing = True
        self._checkpointed_at = time.monotonic()

        def done(result: Any) -> None:
            self._checkpointing = False
            if result.successful():
                self.checkpoints += 1
                self._caught_up = False
            else:
                log.warning("WAL checkpoint of %s failed: %r", self._db_file, result.exception)

        result = get_hub().threadpool.spawn(checkpoint, self._db_file)
        result.rawlink(done)

    def _checkpoint_when_due(self) -> None:
        self._checkpoint_later = None
        self._checkpoint()
