"""When work is due: the windows of the lateness counters and the carriers' next cut-offs.

Times are aware datetimes; "today" and a cut-off's "16:00" are in the zone of the `now`
given (the server's local time), stored times are UTC ISO-8601 text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DueWindows:
    """The bounds (UTC ISO text, comparable with stored times) of the lateness counters."""

    now: str  # promised before this: late now
    within_hour: str  # promised from now to this: due within the hour
    end_of_day: str  # promised from the hour to this: due later today
    start_of_day: str  # today's work (packed, shipped, delivered today) from this


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def windows(now: datetime) -> DueWindows:
    """The counters' bounds at `now` (aware; its zone says when today starts and ends)."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    end = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    return DueWindows(_iso(now), _iso(min(now + HOUR, end)), _iso(end), _iso(midnight))


def parse_cutoff(text: str) -> time:
    """ "16:00" -> time(16, 0); anything else is refused with the reason."""
    try:
        hours, minutes = text.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(
            f"a cut-off is HH:MM on a 24-hour clock, e.g. 16:00, not {text!r}"
        ) from None


def next_cutoff(now: datetime, cutoff: time) -> datetime:
    """The next time the carrier's truck takes what is ready: today at `cutoff`, or tomorrow
    once today's has passed (in `now`'s zone)."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    today = datetime.combine(now.date(), cutoff, tzinfo=now.tzinfo)
    return (
        today
        if today > now
        else datetime.combine(now.date() + timedelta(days=1), cutoff, tzinfo=now.tzinfo)
    )
