"""Returns at the dock on the handheld: the cards and the words a receiver reads, once.

`CMD-RETURN` starts receiving a return: scan the parcel's label (its tracking number) or
the RMA number, then each unit; a grade card says what each unit is worth:
`CMD-GRADE-OK` (resellable: scan the bin it goes into) or a scrap card with its reason.
`CMD-RETURN-DONE` closes the return and tells the shop and the customer.
"""

from __future__ import annotations

START_CARD = "CMD-RETURN"
DONE_CARD = "CMD-RETURN-DONE"
RESELLABLE_CARD = "CMD-GRADE-OK"
# Scrap cards: CMD-SCRAP-<REASON>, one per reason in server/returns/domain/returns.py.
SCRAP_CARDS = {
    "damaged": "CMD-SCRAP-DAMAGED",
    "defective": "CMD-SCRAP-DEFECTIVE",
    "missing": "CMD-SCRAP-MISSING",
    "wrong_item": "CMD-SCRAP-WRONG",
    "other": "CMD-SCRAP-OTHER",
}
GRADE_REASONS = ("resellable", *SCRAP_CARDS)


def scan_parcel() -> str:
    return "Return: scan the parcel's label or its RMA number"


def unknown_parcel(text: str) -> str:
    return f"No open return for {text}: put the parcel aside and call a supervisor"


def parcel_ok(rma: str, units: int) -> str:
    return f"{rma}: {units} unit(s) expected. Scan each item"


def held_elsewhere(rma: str) -> str:
    return f"{rma} is being received on another handheld"


def scan_items(rma: str, received: int, expected: int) -> str:
    return (
        f"{rma}: scan each item ({received} of {expected} graded); {DONE_CARD} when the "
        "parcel is empty"
    )


def grade(name: str) -> str:
    return f"{name}: {RESELLABLE_CARD} if it can be sold again, else a CMD-SCRAP card"


def to_bin(name: str, location: str) -> str:
    return f"{name} is resellable: put it in {location} (or another bin) and scan the bin"


def not_on_return(text: str) -> str:
    return f"{text} is not on this return: put it aside and call a supervisor"


def all_received(name: str) -> str:
    return f"Every {name} on this return is already graded: put it aside"


def item_scanned(name: str) -> str:
    return f"Item: {name}. Grade it"


def grade_first(name: str) -> str:
    return f"Grade the {name} first: {RESELLABLE_CARD} or a CMD-SCRAP card"


def bin_first(name: str) -> str:
    return f"Scan the bin the {name} goes into first"


def scan_item_first() -> str:
    return "Scan an item first, then its grade"


def graded_scrap(name: str, reason: str) -> str:
    return f"{name} scrapped ({reason.replace('_', ' ')})"


def put_away(name: str, location: str) -> str:
    return f"{name} put away in {location}"


def unknown_bin(text: str) -> str:
    return f"{text} is not a bin of this warehouse: scan a bin's label"


def bin_refused(problem: str) -> str:
    return f"Cannot put it there: {problem}"


def nothing_received() -> str:
    return "Nothing graded yet: scan the items, or call a supervisor for an empty parcel"


def return_left() -> str:
    return "Return mode left: no parcel was scanned"


def not_returning() -> str:
    return f"Not receiving a return: scan {START_CARD} first"


def return_closed(rma: str, resellable: int, scrapped: int) -> str:
    return f"{rma} received: {resellable} back to stock, {scrapped} scrapped. Thank you"
