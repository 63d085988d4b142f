"""Group commit: many greenlets' writes share a transaction; each returns only once on disk."""

from __future__ import annotations

import gevent
import pytest
from dbkit import committed

from server.store import open_store


@pytest.fixture
def grouped_store(database_url):
    store = open_store(database_url, synchronous="FULL")
    store.group_commit()
    yield store
    store.close()


def _count(store, name: str) -> int:
    """Read through a second connection: only committed rows are visible there."""
    return committed(store, "SELECT value FROM counters WHERE name = ?", (name,)) or 0


def test_jobs_that_arrive_together_share_one_commit_and_each_returns_after_it(grouped_store):
    store = grouped_store
    seen_on_disk: dict[int, int] = {}

    def job(n: int):
        with store.write():  # a use case's own write() nests inside the group's transaction
            store.execute("INSERT INTO counters (name, value) VALUES (?, ?)", (f"c{n}", n))
        return n * 10

    def client(n: int) -> int:
        result = store.grouped(lambda: job(n))
        seen_on_disk[n] = _count(store, f"c{n}")  # committed before the answer came
        return result

    greenlets = [gevent.spawn(client, n) for n in range(1, 41)]
    gevent.joinall(greenlets, raise_error=True)
    assert [g.value for g in greenlets] == [n * 10 for n in range(1, 41)]
    assert seen_on_disk == {n: n for n in range(1, 41)}
    assert store.group.jobs == 40
    assert store.group.batches < 5  # not one fsync per job


def test_a_failing_job_is_undone_alone(grouped_store):
    store = grouped_store

    def job(n: int):
        store.execute("INSERT INTO counters (name, value) VALUES (?, ?)", (f"c{n}", n))
        if n == 3:
            raise ValueError("bad scan")
        return n

    greenlets = [gevent.spawn(store.grouped, lambda n=n: job(n)) for n in range(1, 6)]
    gevent.joinall(greenlets)
    assert isinstance(greenlets[2].exception, ValueError)
    assert [g.value for i, g in enumerate(greenlets) if i != 2] == [1, 2, 4, 5]
    assert [_count(store, f"c{n}") for n in range(1, 6)] == [1, 2, 0, 4, 5]


def test_without_group_commit_a_job_gets_a_transaction_of_its_own(database_url):
    store = open_store(database_url)
    try:
        assert store.group is None
        store.grouped(lambda: store.execute("INSERT INTO counters (name, value) VALUES ('x', 7)"))
        assert _count(store, "x") == 7
    finally:
        store.close()
