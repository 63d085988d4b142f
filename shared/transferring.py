"""Transfers received at the dock on the handheld: the cards and the words a receiver reads, once.

`CMD-TRANSFER` starts receiving a transfer from another warehouse: scan the package's label
(its tracking number or SSCC) or the transfer number (TR-000001), then each unit and the bin
it goes into. `CMD-TRANSFER-DONE` closes the receipt; what was shipped and not scanned is
recorded short.
"""

from __future__ import annotations

START_CARD = "CMD-TRANSFER"
DONE_CARD = "CMD-TRANSFER-DONE"


def scan_package() -> str:
    return "Transfer: scan the package's label or the transfer number"


def unknown_package(text: str) -> str:
    return f"No transfer on its way here for {text}: put it aside and call a supervisor"


def not_shipped(transfer: str) -> str:
    return f"{transfer} has not left the sending warehouse yet: call a supervisor"


def cancelled(transfer: str) -> str:
    return f"{transfer} was cancelled before it left: put it aside and call a supervisor"


def lot_required(name: str) -> str:
    return f"{name} travels by lot: scan the GS1 barcode with its lot"


def wrong_expiry(name: str, lot: str, label: str, kept: str) -> str:
    return (
        f"{name} lot {lot}: the label says it expires {label}, the lot sent expires {kept}: "
        "put it aside and call a supervisor"
    )


def held_elsewhere(transfer: str) -> str:
    return f"{transfer} is being received on another handheld"


def package_ok(transfer: str, units: int) -> str:
    return f"{transfer}: {units} unit(s) on the way. Scan each item"


def scan_items(transfer: str, received: int, shipped: int) -> str:
    return f"{transfer}: scan each item ({received} of {shipped} in); {DONE_CARD} when done"


def to_bin(name: str, location: str) -> str:
    return f"{name}: put it in {location} (or another bin) and scan the bin"


def not_on_transfer(text: str) -> str:
    return f"{text} is not on this transfer: put it aside and call a supervisor"


def over(name: str) -> str:
    return f"More {name} than were shipped: put it aside for a supervisor, it is counted over"


def bin_first(name: str) -> str:
    return f"Scan the bin the {name} goes into first"


def unknown_bin(text: str) -> str:
    return f"{text} is not a bin of this warehouse: scan a bin's label"


def bin_refused(problem: str) -> str:
    return f"Cannot put it there: {problem}"


def put_away(name: str, location: str) -> str:
    return f"{name} in stock in {location}"


def nothing_received() -> str:
    return "Nothing received yet: scan the items, or call a supervisor for an empty package"


def transfer_left() -> str:
    return "Transfer mode left: no package was scanned"


def not_transferring() -> str:
    return f"Not receiving a transfer: scan {START_CARD} first"


def closed(transfer: str, received: int, short: int) -> str:
    return f"{transfer} received: {received} in stock, {short} short. Thank you"
