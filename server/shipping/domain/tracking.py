"""What a package's tracking events add up to, and what its order's packages add up to.

Carriers' events may come late and out of order, so nothing here depends on the order
they arrived in, only on when the carrier says they happened (`at`):

- A package's state is its latest event by `at` (at the same `at`, the one received
  last). Once it has a `delivered` or `returned` event, only those two move it: a scan
  "in transit" reported after the parcel was handed over does not take it back.
- A package without events is `shipped` (it left; the carrier has not said more).

The order's status after shipping, from its packages' states, first rule that holds:

| packages                                             | order              |
|------------------------------------------------------|--------------------|
| every one delivered                                  | `delivered`        |
| every one returned                                   | `returned`         |
| every one delivered or returned                      | `delivered`        |
| one in exception, none delivered                     | `exception`        |
| one out for delivery                                 | `out_for_delivery` |
| one with any event                                   | `in_transit`       |
| none with an event                                   | `shipped`          |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

EVENT_TYPES = ("in_transit", "out_for_delivery", "delivered", "exception", "returned")
FINAL = ("delivered", "returned")
NONE_YET = "shipped"
LEFT = (NONE_YET, *EVENT_TYPES)  # an order's statuses once it has left: shipped, and after


def package_state(events: Iterable[tuple[str, str]]) -> str:
    """A package's state from its events as (at, type), in the order they were received.

    `at` is an ISO-8601 UTC timestamp of one fixed form, so it sorts as text.
    """
    latest: tuple[str, str] | None = None
    latest_final: tuple[str, str] | None = None
    for at, kind in events:
        if latest is None or at >= latest[0]:
            latest = (at, kind)
        if kind in FINAL and (latest_final is None or at >= latest_final[0]):
            latest_final = (at, kind)
    if latest_final is not None:
        return latest_final[1]
    return latest[1] if latest is not None else NONE_YET


def order_status(states: Sequence[str]) -> str:
    """The status of a shipped order whose packages are in these states (see the table)."""
    if not states:
        return NONE_YET
    if all(s == "delivered" for s in states):
        return "delivered"
    if all(s == "returned" for s in states):
        return "returned"
    if all(s in FINAL for s in states):
        return "delivered"
    if "exception" in states and "delivered" not in states:
        return "exception"
    if "out_for_delivery" in states:
        return "out_for_delivery"
    if any(s != NONE_YET for s in states):
        return "in_transit"
    return NONE_YET
