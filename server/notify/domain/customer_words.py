"""What the customer reads about their order: statuses and timeline events in plain words.

The tracking page and the e-mails say these, never our internal ids, warehouses or bins.
A status the customer need not hear about (allocated, picking, ...) reads as the step it
belongs to, and repeated steps collapse into one line of the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
