"""The board's scans per device in the last hour (server/board/scanrate.py), kept by the
minute, against the same figure counted afresh from every scan of the hour."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from server.board import scanrate
from server.people import auth

T0 = datetime(2026, 12, 3, 8, 0, 7, tzinfo=UTC)


def _insert(store, device: int, at: datetime, offline: bool, n: int) -> None:
    with store.write():
        store.execute(
            "INSERT INTO scans (device_id, msg_id, barcode, ok, code, screen, received_at, "
            "offline) VALUES (?, ?, 'X', 1, 'ok', 'idle', ?, ?)",
            (device, f"m{n}", at.isoformat(timespec="microseconds"), int(offline)),
        )


def _exact(store, at: datetime, devices: list[int]) -> dict[int, tuple[int, int]]:
    """Counted afresh: every scan from the start of the minute an hour ago."""
    since = (at - timedelta(hours=1)).isoformat(timespec="minutes")[:16]
    rows = store.all(
        "SELECT device_id, COUNT(*) AS n, SUM(offline) AS off FROM scans "
        "WHERE received_at >= ? GROUP BY device_id",
        (since,),
    )
    return {r["device_id"]: (r["n"], r["off"]) for r in rows if r["device_id"] in devices}


def test_the_hour_kept_by_the_minute_is_the_hour_counted_afresh(floor_store, monkeypatch):
    store = floor_store
    devices = [
        auth.device_for_token(store, token)["id"]
        for _, token in auth.create_devices(store, ["r1", "r2", "r3"], "picker", "WH-EAST")
    ]
    clock = [T0]
    rates = scanrate.HourlyScans(clock=lambda: clock[0])
    refreshes = []
    real_refresh = rates.refresh
    monkeypatch.setattr(rates, "refresh", lambda s: (refreshes.append(1), real_refresh(s)))
    rng = random.Random(7)
    n = 0
    # Two and a half hours in steps of 0-20 s, scans as they come; a refresh is forced every
    # few steps (as REFRESH_SECONDS would) and comes as each minute leaves the hour; the
    # incremental reads run in between.
    for step in range(900):
        clock[0] += timedelta(seconds=rng.uniform(0, 20))
        for _ in range(rng.randrange(4)):
            n += 1
            _insert(store, rng.choice(devices), clock[0], rng.random() < 0.2, n)
        if step % 9 == 0:
            rates._refreshed = -scanrate.REFRESH_SECONDS  # due
        with store.read():
            got = rates.counts(store, devices[:2])  # only the devices asked for
        assert got == _exact(store, clock[0], devices[:2]), (step, clock[0])
    assert len(refreshes) < 450  # most calls read only what was new
    assert all(
        m >= (clock[0] - timedelta(hours=1, minutes=1)).isoformat()[:16] for m in rates._minutes
    )


def test_a_scan_shows_on_the_next_update_not_at_the_next_refresh(floor_store):
    store = floor_store
    device = auth.device_for_token(store, auth.create_device(store, "r9", "picker", "WH-EAST"))[
        "id"
    ]
    rates = scanrate.HourlyScans()
    with store.read():
        assert rates.counts(store, [device]) == {}
    _insert(store, device, datetime.now(UTC), True, 1)
    with store.read():
        assert rates.counts(store, [device]) == {device: (1, 1)}


def _insert_id(store, scan_id: int, device: int, at: datetime) -> None:
    with store.write():
        store.execute(
            "INSERT INTO scans (id, device_id, msg_id, barcode, ok, code, screen, received_at, "
            "offline) VALUES (?, ?, ?, 'X', 1, 'ok', 'idle', ?, 0)",
            (scan_id, device, f"late{scan_id}", at.isoformat(timespec="microseconds")),
        )


def test_a_scan_committed_after_a_later_one_still_counts(floor_store):
    """On PostgreSQL an id is taken before the commit: a scan may become visible after one
    with a higher id was read. The scans after the settled ones are read again each refresh."""
    store = floor_store
    device = auth.device_for_token(store, auth.create_device(store, "r8", "picker", "WH-EAST"))[
        "id"
    ]
    clock = [T0]
    rates = scanrate.HourlyScans(clock=lambda: clock[0])
    _insert_id(store, 100, device, clock[0])
    _insert_id(store, 102, device, clock[0])
    with store.read():
        assert rates.counts(store, [device]) == {device: (2, 0)}  # the first count
    _insert_id(store, 104, device, clock[0])
    with store.read():
        assert rates.counts(store, [device]) == {device: (3, 0)}  # read since the last call
    _insert_id(store, 103, device, clock[0])  # committed late, below an id already read
    for _ in range(scanrate.SETTLE_REFRESHES + 2):
        clock[0] += timedelta(seconds=scanrate.REFRESH_SECONDS)
        rates._refreshed = -scanrate.REFRESH_SECONDS  # due
        with store.read():
            assert rates.counts(store, [device]) == {device: (4, 0)}
    assert rates._settled_id == 104  # settled once read two refreshes before


def test_a_refresh_reads_the_scans_since_two_refreshes_ago_not_the_last_minutes(
    floor_store, monkeypatch
):
    """At 1,500 handhelds a refresh counted the newest two minutes again: about 37,000 rows,
    45-90 ms on the loop every 5 s. Now the first refresh reads the hour once, and each later
    one the scans stored since `SETTLE_REFRESHES` refreshes ago."""
    store = floor_store
    device = auth.device_for_token(store, auth.create_device(store, "r7", "picker", "WH-EAST"))[
        "id"
    ]
    clock = [T0]
    rates = scanrate.HourlyScans(clock=lambda: clock[0])
    read: list[tuple[int, int]] = []
    real = scanrate.HourlyScans._by_ids
    monkeypatch.setattr(
        scanrate.HourlyScans,
        "_by_ids",
        staticmethod(lambda s, lo, hi, start: (read.append((lo, hi)), real(s, lo, hi, start))[1]),
    )
    n = 0
    last_ids = []
    for _refresh in range(12):  # a minute of refreshes, 30 scans between each
        for _ in range(30):
            n += 1
            clock[0] += timedelta(seconds=scanrate.REFRESH_SECONDS / 30)
            _insert(store, device, clock[0], False, n)
        rates._refreshed = -scanrate.REFRESH_SECONDS
        with store.read():
            assert rates.counts(store, [device]) == _exact(store, clock[0], [device])
        last_ids.append(store.one("SELECT MAX(id) AS id FROM scans")["id"])
    # After the first: each refresh reads at most the scans of its last SETTLE_REFRESHES + 1
    # refreshes' worth (90 here), never the hour's 360 again.
    later = read[2:]
    assert later and all(hi - lo <= 30 * (scanrate.SETTLE_REFRESHES + 1) for lo, hi in later)
    assert rates._settled_id == last_ids[-1 - scanrate.SETTLE_REFRESHES]
