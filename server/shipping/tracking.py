"""Carriers' tracking events in: a package's journey after it left, and its order's status.

Workflow: a carrier posts what it saw (`in_transit`, `out_for_delivery`, `delivered`,
`exception`, `returned`), one event or a batch, to `POST /api/carriers/<carrier>/events`,
signed with that carrier's secret (checked by server/api/tracking.py before anything
here runs). A batch is applied in one transaction, event by event:

- An event names its package by tracking number. A number we do not know, or one of a
  package another carrier carries, is not kept and is answered `unknown_tracking` or
  `wrong_carrier`; the batch's other events are still taken.
- An event is kept once per carrier and carrier event id: the same id again changes
  nothing and is answered `duplicate` (a carrier retrying after a lost answer).
- Every event kept goes on its order's timeline through `orders.record`, with the status
  the order now derives (server/inventory/shipments.derive_status, and for a shipped order
  the rules of server/shipping/domain/tracking.py). Events may come late or out of order: the
  status follows when the carrier says things happened, not when we heard. The shops
  hear `order.<status>` only when the status changes.
- A `returned` event (the carrier brings the parcel back to us) authorises a return for what
  the parcel's shipment held (server/returns/rmas.py): the dock receives it by scanning the
  parcel's label, as a customer's return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from server.capture.orders import record
from server.core.clock import now
from server.core.schemas import TrackingEventIn
from server.inventory.shipments import derive_status
from server.returns import rmas
from server.store import Store
from server.store.db import dumps

RESULTS = ("accepted", "duplicate", "unknown_tracking", "wrong_carrier")


@dataclass(frozen=True)
class Result:
    """What became of one event: `result` is one of RESULTS; the order and its status after."""

    id: str
    tracking: str
    result: str
    order: str | None = None
    status: str | None = None

    def answer(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tracking": self.tracking,
            "result": self.result,
            "order": self.order,
            "status": self.status,
        }


def receive(store: Store, carrier: str, events: list[TrackingEventIn]) -> list[Result]:
    """Apply a carrier's events in one write, in the order given; one result per event."""
    with store.write():
        return [_take(store, carrier, event) for event in events]


def _take(store: Store, carrier: str, e: TrackingEventIn) -> Result:
    pkg = store.one("SELECT id, order_id, carrier FROM packages WHERE tracking = ?", (e.tracking,))
    if pkg is None:
        return Result(e.id, e.tracking, "unknown_tracking")
    if pkg["carrier"] != carrier:
        return Result(e.id, e.tracking, "wrong_carrier")
    order_id = pkg["order_id"]
    at = e.at.astimezone(UTC).isoformat(timespec="microseconds")  # one form: sorts as text
    place = e.place.model_dump(exclude_none=True) if e.place is not None else None
    cur = store.execute(
        """INSERT INTO tracking_events (package_id, carrier, event_id, type, at, place, reason,
                                        received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (carrier, event_id) DO NOTHING""",
        (pkg["id"], carrier, e.id, e.type, at, dumps(place) if place else None, e.reason, now()),
    )
    if cur.rowcount == 0:
        status = store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]
        return Result(e.id, e.tracking, "duplicate", order_id, status)
    status = derive_status(store, order_id)
    detail: dict[str, Any] = {
        "package": pkg["id"],
        "tracking": e.tracking,
        "carrier": carrier,
        "carrier_event": e.id,
        "at": at,
    }
    if place:
        detail["place"] = place
    if e.reason:
        detail["reason"] = e.reason
    record(store, order_id, status, e.type, **detail)
    if e.type == "returned":  # the parcel comes back to the dock: a return receipt awaits it
        rmas.from_returned_parcel(store, pkg["id"], carrier)
    return Result(e.id, e.tracking, "accepted", order_id, status)
