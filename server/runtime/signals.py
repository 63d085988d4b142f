"""The worker's news for the server processes of a site with no Redis: a narrow change log.

The worker process (server/runtime/worker.py) changes things devices or boards must hear
(lists given back when a lease runs out, work to hand out again). With Redis it publishes
on the bus (server/realtime/bus.py); alone on one box it writes the same message as a row
of `floor_signals` in the very transaction that made the change, so the news exists if and
only if the change committed. The server reads the rows after the last one it saw a few
times a second (`after()`: one indexed read of a table that stays a few rows long) and
hands each to the hub as if it came over the bus. The worker prunes rows older than
`KEEP_SECONDS`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from server.store import Store

KEEP_SECONDS = 60.0  # a server that missed a row this old has restarted and resynced anyway


def emit(store: Store, *messages: dict[str, Any]) -> None:
    """Write bus messages for the servers to read (inside the write that made the change)."""
    at = time.time()
    for msg in messages:
        store.execute(
            "INSERT INTO floor_signals (message, at) VALUES (?, ?)",
            (json.dumps(msg, separators=(",", ":")), at),
        )


def last_id(store: Store) -> int:
    """The newest row's id (0 with none): where a server starting now begins reading."""
    row = store.one("SELECT MAX(id) AS id FROM floor_signals")
    return (row and row["id"]) or 0


def after(store: Store, seen: int, limit: int = 200) -> list[tuple[int, dict[str, Any]]]:
    """The messages written after row `seen`, oldest first: (id, message)."""
    rows = store.all(
        "SELECT id, message FROM floor_signals WHERE id > ? ORDER BY id LIMIT ?", (seen, limit)
    )
    return [(r["id"], json.loads(r["message"])) for r in rows]


def prune(store: Store, keep_seconds: float = KEEP_SECONDS) -> int:
    """Forget rows older than `keep_seconds`; returns how many went."""
    cur = store.execute("DELETE FROM floor_signals WHERE at < ?", (time.time() - keep_seconds,))
    return cur.rowcount
