"""Replenishment on the handheld: the words a picker reads while moving stock to a face.

One sentence per result code of `server/inventory/domain/replenishment.py`'s table,
for the server's replies and the device's screen alike.
"""

from __future__ import annotations


def go_to_reserve(reserve: str, qty: int, name: str, face: str, urgent: bool) -> str:
    why = "Picks wait: " if urgent else ""
    return f"{why}Move {qty} {name} from {reserve} to {face}: go to {reserve} and scan its label"


def take_items(reserve: str, carried: int, qty: int, name: str, face: str) -> str:
    return (
        f"At {reserve}: scan each {name} you take ({carried} of {qty}); "
        f"scan {face} when you have them"
    )


def to_face(face: str, carried: int, name: str) -> str:
    return f"Take {carried} {name} to {face} and scan its label"


def short_replenishing(found: int, location: str, missing: int, reserve: str) -> str:
    """A short pick that reserve refills: the missing units wait for the move, not elsewhere."""
    rest = f"the other {missing} {'waits' if missing == 1 else 'wait'}"
    return (
        f"Short pick at {location}: {found} found. Bin sent for a count. "
        f"Reserve {reserve} refills it: {rest} for the move, then get picked"
    )


def short_if_empty_replenishing(missing: int, reserve: str) -> str:
    return f"If it is empty: reserve {reserve} refills the bin and {missing} wait for the move"


MESSAGES = {
    "replen_reserve_ok": "Reserve bin OK: scan the items",
    "replen_item_ok": "Taken: {carried} of {qty}",
    "replen_done": "Moved {carried} to {face}: thank you",
    "replen_reserve_first": "Go to reserve bin {reserve} and scan its label first",
    "replen_wrong_bin": "Wrong bin: take the items from {reserve}",
    "replen_wrong_face": "Wrong bin: the items go to {face}",
    "replen_wrong_item": "Wrong item: this move is for {name}",
    "replen_unknown": "Unknown barcode {text}: scan a bin label or the item",
    "replen_item_first": "Scan the items you take from {reserve} first",
    "replen_too_many": "Only {qty} to move: put the extra one back in {reserve}",
    "replen_all_carried": "All {carried} taken: scan {face}",
    "replen_stock_changed": "{reserve} no longer holds these units: call a supervisor",
    "replen_face_full": "{face} cannot take {carried} more: call a supervisor",
}


def message(code: str, **facts: object) -> str:
    """The sentence for a result code, with the move's facts filled in."""
    return MESSAGES[code].format(**facts)
