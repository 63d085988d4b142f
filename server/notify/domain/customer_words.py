"""What the customer reads about their order: statuses and timeline events in plain words.

The tracking page and the e-mails say these, never our internal ids, warehouses or bins.
A status the customer need not hear about (allocated, picking, ...) reads as the step it
belongs to, and repeated steps collapse into one line of the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

STATUS_WORDS: dict[str, str] = {
    "received": "Order received",
    "backordered": "Waiting for stock",
    "partially_allocated": "Being prepared",
    "allocated": "Being prepared",
    "picking": "Being prepared",
    "picked": "Being prepared",
    "packed": "Packed, waiting for the carrier",
    "shipped": "Shipped",
    "in_transit": "On its way",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delivery problem",
    "returned": "Returned to us",
    "cancelled": "Cancelled",
}

EXCEPTION_WORDS: dict[str, str] = {
    "delayed": "Your parcel is delayed",
    "address_problem": "The carrier could not deliver to the address",
    "damaged": "Your parcel was damaged in transit",
    "lost": "The carrier cannot find your parcel",
    "refused": "The delivery was refused",
    "not_home": "Nobody was home to take the parcel",
}


@dataclass(frozen=True)
class Step:
    """One line of the customer's timeline."""

    at: str
    words: str


def status_words(status: str, detail: Mapping[str, Any] | None = None) -> str:
    """A status in the customer's words; an exception says its reason."""
    if status == "exception":
        return exception_words((detail or {}).get("reason"))
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())


def exception_words(reason: Any) -> str:
    """What went wrong with a delivery, in the customer's words."""
    if isinstance(reason, str) and reason in EXCEPTION_WORDS:
        return EXCEPTION_WORDS[reason]
    return "There is a problem with the delivery"


def timeline(events: Iterable[Mapping[str, Any]]) -> list[Step]:
    """The order's events (at, status, detail) as the customer's steps, oldest first."""
    steps: list[Step] = []
    for e in events:
        words = status_words(e["status"], e.get("detail"))
        if steps and steps[-1].words == words:
            continue
        steps.append(Step(e["at"], words))
    return steps


# The milestones of the tracking page's progress bar, in order; a status before the first
# that counts ("received", "allocated", ...) stands on the first.
MILESTONES: tuple[tuple[str, str], ...] = (
    ("received", "Ordered"),
    ("packed", "Packed"),
    ("shipped", "Shipped"),
    ("out_for_delivery", "Out for delivery"),
    ("delivered", "Delivered"),
)
_REACHED = {
    "packed": 1,
    "shipped": 2,
    "in_transit": 2,
    "out_for_delivery": 3,
    "exception": 2,
    "delivered": 4,
    "returned": 2,
}
# A state the customer must see at a glance, with its own colour on the page.
ENDING = {"delivered": "delivered", "exception": "exception", "returned": "returned"}


def milestones(status: str) -> list[dict[str, Any]]:
    """The progress bar: each milestone with whether it is reached (`done`) or the current one."""
    reached = _REACHED.get(status, 0)
    return [
        {"label": label, "done": i <= reached, "current": i == reached}
        for i, (_, label) in enumerate(MILESTONES)
    ]


def state_of(status: str) -> str:
    """`delivered`, `exception`, `returned`, `cancelled` or `moving`: the page's colour."""
    return ENDING.get(status, "cancelled" if status == "cancelled" else "moving")


def local_time(at: str, zone: tzinfo) -> str:
    """An ISO time (UTC) as the customer reads it in `zone`: "Thu 3 Dec 2026, 03:54 EST"."""
    when = datetime.fromisoformat(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def local_day(day: date) -> str:
    """A date as the customer reads it: "Mon 7 Dec 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def zone_words(key: str) -> str:
    """A time zone's name for people: "America/New_York" -> "New York time"."""
    if key in ("UTC", "Etc/UTC", ""):
        return "UTC"
    return key.rsplit("/", 1)[-1].replace("_", " ") + " time"


def estimated_delivery(shipped_on: date, transit_days: int) -> date:
    """The service level's promise: calendar days in transit from the day it left."""
    return shipped_on + timedelta(days=transit_days)


def delivered_words(detail: Mapping[str, Any]) -> str:
    """Where the carrier left it, as it said: "Left at the front door, Philadelphia"."""
    place = detail.get("place") or {}
    parts = [str(place[k]) for k in ("text", "city") if isinstance(place, dict) and place.get(k)]
    return ", ".join(parts)
