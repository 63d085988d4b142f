"""Throughput for the board's charts: picks per hour per worker, orders packed per hour."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from server.store import Store

HOURS = 12  # hours the charts cover, the current one last


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="microseconds")


def first_id_since(store: Store, table: str, column: str, at: str) -> int | None:
    """The id of the first row of `table` whose `column` (a stored time) is at or after `at`.

    Rows are stored in the order they happen, so a binary search over ids finds it in a few
    point reads, with no index on the time. None if no row is that recent.
    """
    bounds = store.one(f"SELECT MIN(id) AS lo, MAX(id) AS hi FROM {table}")
    lo, hi = bounds["lo"], bounds["hi"]
    if hi is None or store.one(f"SELECT {column} AS t FROM {table} WHERE id = ?", (hi,))["t"] < at:
        return None
    found = hi
    while lo <= hi:
        mid = (lo + hi) // 2
        row = store.one(
            f"SELECT id, {column} AS t FROM {table} WHERE id >= ? ORDER BY id LIMIT 1", (mid,)
        )
        if row is None or row["id"] > hi:
            hi = mid - 1  # no row stored in [mid, hi]
        elif row["t"] < at:
            lo = row["id"] + 1
        else:
            found, hi = row["id"], mid - 1
    return found


def throughput(store: Store, hours: int = HOURS) -> dict[str, Any]:
    """Per hour (UTC, oldest first): units picked by each worker (the device's name while no
    worker signed in) and orders packed."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=hours - 1
    )
    slots = [(start + timedelta(hours=i)).isoformat(timespec="seconds") for i in range(hours)]
    index = {s[:13]: i for i, s in enumerate(slots)}
    since = start.isoformat(timespec="microseconds")
    picks: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    packed = [0] * hours
    with store.read():
        first = first_id_since(store, "scans", "received_at", since)
        if first is not None:
            for r in store.all(
                """SELECT COALESCE(s.worker, d.name) AS who, substr(s.received_at, 1, 13) AS hour,
                          COUNT(*) AS n
                   FROM scans s JOIN devices d ON d.id = s.device_id
                   WHERE s.id >= ? AND s.ok = 1 AND s.screen = 'pick_item'
                   GROUP BY who, hour""",
                (first,),
            ):
                if r["hour"] in index:
                    picks[r["who"]][index[r["hour"]]] += r["n"]
        first = first_id_since(store, "order_events", "at", since)
        if first is not None:
            for r in store.all(
                """SELECT substr(at, 1, 13) AS hour, COUNT(DISTINCT order_id) AS n
                   FROM order_events WHERE id >= ? AND event = 'packed' GROUP BY hour""",
                (first,),
            ):
                if r["hour"] in index:
                    packed[index[r["hour"]]] += r["n"]
    return {
        "hours": slots,
        "picks_per_worker": dict(sorted(picks.items())),
        "orders_packed": packed,
    }
