"""Scans per device in the last hour, for the board's device rows, without counting the
whole hour again on every update.

The board sends the rows of the devices that changed up to four times a second, each with
the device's scans in the last hour. Counted afresh each time, that was a GROUP BY over
every scan of the hour, on the serving loop: at 1,500 handhelds scanning every 5 s, a
million rows by the hour's end, four times a second. Here the hour is kept in minutes: a
minute older than the newest `RECOUNT_MINUTES` is counted once and kept; the newest minutes
are counted again at each refresh (a scan committed a moment after a later one still
counts) at most every `REFRESH_SECONDS`; between those, only the scans stored since the
last call are read and added. So the figure is the scans received from the start of the
minute an hour ago: up to a minute more than an hour.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from server.board.throughput import first_id_since
from server.store import Store

RECOUNT_MINUTES = 2
REFRESH_SECONDS = 5.0
Counts = dict[int, tuple[int, int]]  # device id -> (scans, of which offline)


def _minute(at: datetime) -> str:
    """The stored-timestamp prefix of a minute: '2026-12-04T00:55'."""
    return at.isoformat(timespec="minutes")[:16]


class HourlyScans:
    """The last hour's scans per device, kept by the minute (one per serving process)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._minutes: dict[str, Counts] = {}  # kept minutes
        self._kept_to: str | None = None  # every minute before this one is kept
        self._kept: dict[int, list[int]] = {}  # the kept minutes' sums per device
        self._fresh: dict[int, list[int]] = {}  # the newest minutes' sums per device
        self._last_id = 0  # the newest scan counted in _fresh
        self._start = ""  # the hour's first minute at the last refresh
        self._refreshed = -REFRESH_SECONDS

    def counts(self, store: Store, device_ids: list[int]) -> Counts:
        """Scans and offline scans of these devices (inside a read). Between refreshes only
        the scans stored since the last call are read."""
        due = time.monotonic() - self._refreshed >= REFRESH_SECONDS
        if due or _minute(self._clock() - timedelta(hours=1)) != self._start:
            self.refresh(store)  # due, or the hour has left a minute behind
        else:
            self._add_new(store)
        out: Counts = {}
        for device in device_ids:
            kept, fresh = self._kept.get(device, (0, 0)), self._fresh.get(device, (0, 0))
            if kept[0] or fresh[0]:
                out[device] = (kept[0] + fresh[0], kept[1] + fresh[1])
        return out

    def refresh(self, store: Store) -> None:
        """Keep the minutes that left the recounted ones, and count the newest again."""
        at = self._clock()
        start = self._start = _minute(at - timedelta(hours=1))
        recount = _minute(at - timedelta(minutes=RECOUNT_MINUTES))
        begin = max(start, self._kept_to) if self._kept_to else start
        if begin < recount:
            kept = self._by_minute(store, begin, recount)
            self._minutes.update(kept)
            _add(self._kept, kept.values(), 1)
            self._kept_to = recount
        # The kept sums move by the minutes that came and went, not summed again from every
        # kept minute: at the hour's end that was 60 minutes of 1,500 devices, 90,000 counts,
        # every REFRESH_SECONDS inside a board update.
        gone = [m for m in self._minutes if m < start]
        _add(self._kept, (self._minutes.pop(m) for m in gone), -1)
        last = store.one("SELECT MAX(id) AS id FROM scans")["id"] or 0
        newest = self._by_minute(store, self._kept_to or recount, None, up_to=last)
        self._fresh, self._last_id = _sums(newest.values()), last
        self._refreshed = time.monotonic()

    def _add_new(self, store: Store) -> None:
        rows = store.all(
            "SELECT device_id, COUNT(*) AS n, SUM(offline) AS off, MAX(id) AS last FROM scans "
            "WHERE id > ? GROUP BY device_id",
            (self._last_id,),
        )
        for r in rows:
            acc = self._fresh.setdefault(r["device_id"], [0, 0])
            acc[0] += r["n"]
            acc[1] += r["off"] or 0
            self._last_id = max(self._last_id, r["last"])

    @staticmethod
    def _by_minute(
        store: Store, begin: str, end: str | None, up_to: int | None = None
    ) -> dict[str, Counts]:
        """Scans received in [begin, end) (end None: to now, ids up to `up_to`), per minute
        and device."""
        first = first_id_since(store, "scans", "received_at", begin)
        if first is None:
            return {}
        where, params = "id >= ? AND received_at >= ?", [first, begin]
        if end is not None:
            where, params = where + " AND received_at < ?", [*params, end]
        if up_to is not None:
            where, params = where + " AND id <= ?", [*params, up_to]
        rows = store.all(
            "SELECT substr(received_at, 1, 16) AS minute, device_id, COUNT(*) AS n, "
            f"SUM(offline) AS off FROM scans WHERE {where} "
            "GROUP BY substr(received_at, 1, 16), device_id",
            tuple(params),
        )
        out: dict[str, Counts] = {}
        for r in rows:
            out.setdefault(r["minute"], {})[r["device_id"]] = (r["n"], r["off"] or 0)
        return out


def _sums(minutes) -> dict[int, list[int]]:
    total: dict[int, list[int]] = {}
    _add(total, minutes, 1)
    return total


def _add(total: dict[int, list[int]], minutes, sign: int) -> None:
    """Add (sign 1) or take away (-1) minutes' counts to per-device sums; a device whose sums
    fall to nothing is dropped."""
    for counts in minutes:
        for device, (n, off) in counts.items():
            acc = total.setdefault(device, [0, 0])
            acc[0] += sign * n
            acc[1] += sign * off
            if sign < 0 and acc[0] == 0 and acc[1] == 0:
                del total[device]


_KEPT: weakref.WeakKeyDictionary[Store, HourlyScans] = weakref.WeakKeyDictionary()


def hourly(store: Store) -> HourlyScans:
    """The store's hourly counts, made on first use (a serving process has one store)."""
    kept = _KEPT.get(store)
    if kept is None:
        kept = _KEPT[store] = HourlyScans()
    return kept
