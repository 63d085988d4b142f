"""An order's timeline in the words a supervisor reads: one sentence per event, no JSON.

Known events have their own sentence; any other reads as its name followed by its details
("Label reprinted: package 7, by sam"), so a new event still reads as words.
"""

from __future__ import annotations

from typing import Any

from server.floor.domain.floor import pick_list_ref

SENTENCES = {
    "created": "Order received from the shop",
    "accepted": "Order accepted",
    "received": "Order received",
    "allocated": "Stock reserved",
    "partially_allocated": "Part of the stock reserved; the rest waits",
    "backordered": "Waiting for stock",
    "pick_started": "Picking started",
    "picked": "Picked",
    "packed": "Packed and labelled",
    "label_reprinted": "Label printed again",
    "reprioritised": "Priority changed",
    "missing_at_handover": "Missing when the truck was loaded",
    "shipped": "Handed to the carrier",
    "in_transit": "On its way",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delivery problem",
    "returned": "Returned to the shop",
    "cancelled": "Cancelled",
    "rest_cancelled": "The rest of the order cancelled; its parcels with the carrier go on",
    "pick_released": "Pick list given back to the queue",
    "shop_note": "Note from the shop",
    "shop_lines_left_out": "Shop lines left out",
    "shop_cancel_refused": "The shop's cancel came too late",
    "return_authorised": "Return authorised",
    "return_received": "Return received at the dock",
    "ship_to_changed": "Ship-to address changed",
    "ship_to_change_refused": "The shop's new address came too late",
    "reallocated": "Allocated again for the new address",
    "package_lost": "Parcel lost by the carrier; its units go to the floor again",
    "parcel_reshipped": "New parcel labelled in place of the lost one",
    "mail_resent": "Customer e-mail queued again",
}
# Details a person reads, in this order, with their words; the rest are left out (ids of rows
# a person cannot see, nested lists).
DETAILS = (
    ("rma", "{}"),
    ("cancelled", "{}"),
    ("reason", "{}"),
    ("note", "“{}”"),
    ("tracking", "tracking {}"),
    ("new_tracking", "new tracking {}"),
    ("kind", "the {} mail"),
    ("package", "package {}"),
    ("pick_list", "{}"),
    ("warehouse", "from {}"),
    ("distance_km", "{} km away"),
    ("units", "{} units"),
    ("backordered_units", "{} units wait for stock"),
    ("from", "from {}"),
    ("to", "to {}"),
    ("priority", "priority {}"),
    ("place", "at {}"),
    ("by", "by {}"),
)


def _value(key: str, value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (list, dict)) and key != "place":
        return None
    if key == "pick_list" and isinstance(value, int):
        return pick_list_ref(value)
    if key == "place" and isinstance(value, dict):  # words only: no coordinates
        words = [v for v in value.values() if isinstance(v, str) and v.strip()]
        return ", ".join(words) or None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")


def sentence(event: str, status: str, detail: dict[str, Any] | None) -> str:
    """One timeline entry as a sentence: what happened, then the details that matter."""
    head = SENTENCES.get(event) or SENTENCES.get(status) or event.replace("_", " ").capitalize()
    parts = []
    for key, form in DETAILS:
        text = _value(key, (detail or {}).get(key))
        if text is not None:
            parts.append(form.format(text))
    return f"{head}: {', '.join(parts)}" if parts else head
