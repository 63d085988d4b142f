"""Timestamps as stored: UTC ISO-8601 with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def lease_cutoff(lease_seconds: float, at: datetime | None = None) -> str:
    """The stored timestamp a device last seen before has let its lease run out (at `at`,
    default now): what every lease sweep (lists, counts, moves, returns) compares with."""
    return ((at or datetime.now(UTC)) - timedelta(seconds=lease_seconds)).isoformat(
        timespec="microseconds"
    )
