"""Cycle counts on the handheld: the words a counter reads, once, for server and device.

The count is blind: no sentence here takes the quantity the system expects.
"""

from __future__ import annotations

BIN_DONE_CARD = "CMD-BIN-DONE"


def go_to_bin(location: str, recount: bool) -> str:
    what = "Recount" if recount else "Count"
    return f"{what} bin {location}: go to it and scan its label"


def scan_items(location: str, units: int) -> str:
    return (
        f"Scan every item in {location} ({units} scanned); CMD-COUNT-<n> sets the last "
        f"item's quantity; {BIN_DONE_CARD} when the bin is done"
    )


def bin_ok(location: str) -> str:
    return f"At {location}: scan every item in the bin"


def wrong_bin(location: str) -> str:
    return f"Wrong bin: go to {location} and scan its label"


def counted(units: int, name: str) -> str:
    return f"Counted: {name} ({units} scanned in this bin)"


def unknown_item(text: str) -> str:
    return f"Unknown item {text}: put it aside and call a supervisor"


def bad_lot(lot: str) -> str:
    return f"Lot {lot} cannot be kept (letters, digits . _ / - only): call a supervisor"


def quantity_set(qty: int, name: str) -> str:
    return f"Set: {qty} of {name}"


def last_removed(name: str) -> str:
    return f"Removed the last scan ({name})"


def nothing_to_set() -> str:
    return "Scan an item first, then its count card"


def at_bin_first(location: str) -> str:
    return f"Scan the label of {location} first"


def not_counting() -> str:
    return "No count in progress"


def bin_done(location: str) -> str:
    return f"Bin {location} counted: thank you"


def same_worker() -> str:
    return "You counted this bin the first time: another worker must recount it"


def too_many(limit: int) -> str:
    return f"More than {limit} units of one item: count again"
