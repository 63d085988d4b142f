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
