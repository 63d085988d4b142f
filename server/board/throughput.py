"""Throughput for the board's charts: picks per worker and orders packed, per hour or, when
the day's work began recently, per 5 or 15 minutes."""

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


# (window, bucket) in minutes, the first whose window holds the first activity of the last
# 12 hours: a demo's quarter of an hour is drawn across the axis, not squeezed into its last hour.
SCALES = ((60, 5), (180, 15), (HOURS * 60, 60))


def _scale(store: Store, since: str, at: datetime) -> tuple[int, int]:
    """The window and bucket (minutes) that fit the first activity since `since`."""
    firsts = []
    for table, column in (("scans", "received_at"), ("order_events", "at")):
        first = first_id_since(store, table, column, since)
        if first is not None:
            firsts.append(
                store.one(f"SELECT {column} AS t FROM {table} WHERE id = ?", (first,))["t"]
            )
    if not firsts:
        return SCALES[-1]
    age = (at - datetime.fromisoformat(min(firsts))).total_seconds() / 60
    return next((s for s in SCALES if age < s[0] - s[1]), SCALES[-1])


def throughput(store: Store, hours: int = HOURS) -> dict[str, Any]:
    """Units picked by each worker (the device's name while no worker signed in) and orders
    packed, per bucket (UTC, oldest first): 5 minutes when the last 12 hours' work began within
    the hour, 15 within 3 hours, else an hour over 12 hours."""
    at = datetime.now(UTC)
    with store.read():
        window, bucket = _scale(store, hours_ago(hours), at)
        if hours != HOURS:
            window, bucket = hours * 60, 60
        top = at.replace(second=0, microsecond=0)
        top -= (
            timedelta(minutes=top.minute % bucket) if bucket < 60 else timedelta(minutes=top.minute)
        )
        n = window // bucket
        start = top - timedelta(minutes=bucket * (n - 1))
        slots = [
            (start + timedelta(minutes=bucket * i)).isoformat(timespec="seconds") for i in range(n)
        ]
        since = start.isoformat(timespec="microseconds")

        def slot(minute: str) -> int | None:
            t = datetime.fromisoformat(minute + ":00+00:00")
            i = int((t - start).total_seconds() // 60 // bucket)
            return i if 0 <= i < n else None

        picks: dict[str, list[int]] = defaultdict(lambda: [0] * n)
        packed = [0] * n
        first = first_id_since(store, "scans", "received_at", since)
        if first is not None:
            for r in store.all(
                """SELECT COALESCE(s.worker, d.name) AS who, substr(s.received_at, 1, 16) AS m,
                          COUNT(*) AS n
                   FROM scans s JOIN devices d ON d.id = s.device_id
                   WHERE s.id >= ? AND s.ok = 1 AND s.screen = 'pick_item'
                   GROUP BY who, m""",
                (first,),
            ):
                if (i := slot(r["m"])) is not None:
                    picks[r["who"]][i] += r["n"]
        first = first_id_since(store, "order_events", "at", since)
        if first is not None:
            for r in store.all(
                """SELECT substr(at, 1, 16) AS m, COUNT(DISTINCT order_id) AS n
                   FROM order_events WHERE id >= ? AND event = 'packed' GROUP BY m""",
                (first,),
            ):
                if (i := slot(r["m"])) is not None:
                    packed[i] += r["n"]
    return {
        "hours": slots,
        "bucket_minutes": bucket,
        "picks_per_worker": dict(sorted(picks.items())),
        "orders_packed": packed,
    }
