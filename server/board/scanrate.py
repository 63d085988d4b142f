"""Scans per device in the last hour, for the board's device rows, without counting the
whole hour again on every update.

The board sends the rows of the devices that changed up to four times a second, each with
the device's scans in the last hour. Counted afresh each time, that was a GROUP BY over
every scan of the hour, on the serving loop: at 1,500 handhelds scanning every 5 s, a
million rows by the hour's end, four times a second. Here the hour is kept in minutes, read
once each by id: between refreshes only the scans stored since the last call are read and
added. Every `REFRESH_SECONDS` the scans stored since the refresh `SETTLE_REFRESHES` before
are counted again (a scan whose transaction committed after a later one's, with a lower id,
still counts: on PostgreSQL ids are taken before the commit), and what is older than that is
settled into its minute for good. So each refresh reads the last 10-15 s of scans, not the
last two minutes (at 1,500 handhelds that was about 37,000 rows grouped every 5 s on the
loop, 45-90 ms each). The figure is the scans received from the start of the minute an hour
ago: up to a minute more than an hour.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from server.board.throughput import first_id_since
from server.store import Store

REFRESH_SECONDS = 5.0
SETTLE_REFRESHES = 2  # a scan is settled once it was read this many refreshes ago
Counts = dict[int, tuple[int, int]]  # device id -> (scans, of which offline)


def _minute(at: datetime) -> str:
    """The stored-timestamp prefix of a minute: '2026-12-04T00:55'."""
    return at.isoformat(timespec="minutes")[:16]


class HourlyScans:
    """The last hour's scans per device, kept by the minute (one per serving process)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._minutes: dict[str, dict[int, list[int]]] = {}  # settled scans, by minute
        self._settled: dict[int, list[int]] = {}  # their sums per device
        self._settled_id: int | None = None  # every scan up to this id is settled
        self._fresh: dict[int, list[int]] = {}  # the sums of the scans after it, per device
        self._last_id = 0  # the newest scan counted in _fresh
        self._seen: deque[int] = deque(maxlen=SETTLE_REFRESHES)  # the newest id at refreshes
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
            kept, fresh = self._settled.get(device, (0, 0)), self._fresh.get(device, (0, 0))
            if kept[0] or fresh[0]:
                out[device] = (kept[0] + fresh[0], kept[1] + fresh[1])
        return out

    def refresh(self, store: Store) -> None:
        """Settle the scans read `SETTLE_REFRESHES` refreshes ago, let the minutes that left
        the hour go, and count the scans after the settled ones again."""
        start = self._start = _minute(self._clock() - timedelta(hours=1))
        last = store.one("SELECT MAX(id) AS id FROM scans")["id"] or 0
        if self._settled_id is None:  # the first count: the whole hour, settled at once
            first = first_id_since(store, "scans", "received_at", start)
            lo, hi = (last if first is None else first - 1), last
        else:
            lo = self._settled_id
            hi = self._seen[0] if len(self._seen) == SETTLE_REFRESHES else lo
        settled = self._by_ids(store, lo, hi, start)
        for minute, counts in settled.items():
            _add(self._minutes.setdefault(minute, {}), (counts,), 1)
        _add(self._settled, settled.values(), 1)
        self._settled_id = max(lo, hi)
        gone = [m for m in self._minutes if m < start]
        _add(self._settled, (self._minutes.pop(m) for m in gone), -1)
        fresh = self._by_ids(store, self._settled_id, last, start)
        self._fresh, self._last_id = _sums(fresh.values()), last
        self._seen.append(last)
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
    def _by_ids(store: Store, lo: int, hi: int, start: str) -> dict[str, Counts]:
        """Scans with ids in (lo, hi] received from `start` on, per minute and device."""
        if hi <= lo:
            return {}
        rows = store.all(
            "SELECT substr(received_at, 1, 16) AS minute, device_id, COUNT(*) AS n, "
            "SUM(offline) AS off FROM scans WHERE id > ? AND id <= ? AND received_at >= ? "
            "GROUP BY substr(received_at, 1, 16), device_id",
            (lo, hi, start),
        )
        out: dict[str, Counts] = {}
        for r in rows:
            out.setdefault(r["minute"], {})[r["device_id"]] = (r["n"], r["off"] or 0)
        return out


def _sums(minutes: Iterable[Mapping[int, Sequence[int]]]) -> dict[int, list[int]]:
    total: dict[int, list[int]] = {}
    _add(total, minutes, 1)
    return total


def _add(
    total: dict[int, list[int]], minutes: Iterable[Mapping[int, Sequence[int]]], sign: int
) -> None:
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
