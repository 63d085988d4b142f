"""Group commit: the writes of many greenlets share one transaction and one fsync.

With `synchronous=FULL` every COMMIT waits for the disk, so committing each scan
on its own caps a busy floor at what the disk can sync. Here each scan's work is
a job: a single writer greenlet takes every job waiting, runs them one after the
other in one `BEGIN IMMEDIATE` transaction (each inside a SAVEPOINT, so a job that
fails is undone alone), commits once, and only then hands each job its result.
Nothing is acknowledged before it is on disk, and a scan never waits for more than
the batch it arrived with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import gevent
from gevent.event import AsyncResult, Event

log = logging.getLogger("scanfloor.store")
T = TypeVar("T")
MAX_BATCH = 256  # jobs in one transaction: bounds how long the loop is held at once


class Connection(Protocol):
    def execute(self, sql: str, /) -> Any: ...


class Writable(Protocol):
    """What a group needs of the store: its connection, its write transaction, its errors."""

    conn: Connection
    Error: type[Exception]

    def write(self) -> AbstractContextManager[Any]: ...


class GroupWriter:
    """Runs write jobs submitted by many greenlets in shared transactions."""

    def __init__(self, store: Writable):
        self.store = store
        self._jobs: list[tuple[Callable[[], Any], AsyncResult]] = []
        self._wake = Event()
        self._greenlet = gevent.spawn(self._run)
        self.batches = 0
        self.jobs = 0

    def submit(self, job: Callable[[], T]) -> T:
        """Run `job` (which may use `store.write()`) in the next group; returns once committed."""
        done = AsyncResult()
        self._jobs.append((job, done))
        self._wake.set()
        return done.get()

    def close(self) -> None:
        self._greenlet.kill()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            gevent.sleep(0)  # let every greenlet already woken by a message submit its job too
            while self._jobs:
                batch, self._jobs = self._jobs[:MAX_BATCH], self._jobs[MAX_BATCH:]
                self._commit(batch)
                if self._jobs:
                    gevent.sleep(0)  # a long queue: let the loop breathe between batches

    def _commit(self, batch: list[tuple[Callable[[], Any], AsyncResult]]) -> None:
        outcomes: list[tuple[AsyncResult, Any, BaseException | None]] = []
        store = self.store
        try:
            with store.write():
                for job, done in batch:
                    store.conn.execute("SAVEPOINT job")
                    try:
                        result = job()
                    except Exception as exc:
                        store.conn.execute("ROLLBACK TO job")
                        store.conn.execute("RELEASE job")
                        outcomes.append((done, None, exc))
                    else:
                        store.conn.execute("RELEASE job")
                        outcomes.append((done, result, None))
        except (store.Error, OSError) as exc:  # the commit itself failed: nothing was written
            log.exception("group commit of %d jobs failed", len(batch))
            for _job, done in batch:
                done.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(batch)
        for done, result, exc in outcomes:
            if exc is None:
                done.set(result)
            else:
                done.set_exception(exc)
