"""The worker's change log for a lone server: read in order, pruned, ids never used twice."""

from __future__ import annotations

from server.runtime import signals
from server.store import open_store


def test_news_is_read_once_in_order_and_pruning_never_reuses_an_id(tmp_path):
    store = open_store(tmp_path / "s.db")
    assert signals.last_id(store) == 0
    with store.write():
        signals.emit(store, {"k": "deliver", "d": [3]}, {"k": "work", "w": ["WH-EAST"]})
    got = signals.after(store, 0)
    assert [m for _, m in got] == [{"k": "deliver", "d": [3]}, {"k": "work", "w": ["WH-EAST"]}]
    seen = got[-1][0]
    assert signals.after(store, seen) == []
    assert signals.prune(store, keep_seconds=-1) == 2  # everything is old enough
    assert signals.last_id(store) == 0
    # A server that saw row 2 must see the next news even after every row was pruned.
    with store.write():
        signals.emit(store, {"k": "work", "w": None})
    ((row_id, msg),) = signals.after(store, seen)
    assert row_id > seen and msg == {"k": "work", "w": None}
    store.close()


def test_news_of_a_rolled_back_change_never_shows(tmp_path):
    store = open_store(tmp_path / "s.db")
    try:
        with store.write():
            signals.emit(store, {"k": "deliver", "d": [1]})
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert signals.after(store, 0) == []
    store.close()
