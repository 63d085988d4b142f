"""Command cards: the barcodes on cards at the cart and the bench that stand for a key.

A help card may say why (`CMD-HELP-DAMAGED`, `-NO-STOCK`, `-WRONG`, `-BLOCKED`,
`-OTHER`): the reason goes with the `help` action and shows on the board.

A worker's hands hold a scanner, not a keyboard, so every request the worker
can make is a barcode printed on a card: short pick, help, log out and in,
receive, done, reprint, dock and hand-over, returns and their grades. The device reads a card and sends an `action` (never a
`scan`); the server prints the cards (`scanfloor labels commands`). Both take
the list from here, and `docs/barcodes.md` is tested against it.

A short pick takes two scans, so one scan never zeroes a bin: a fixed short card
(`CMD-SHORT`, `CMD-SHORT-DAMAGED`, ...) has no count and asks how many are in the
bin; a count card `CMD-COUNT-<n>` (read also in its older form `CMD-SHORT-<n>`)
says n units are there. On the question's screen the device takes a fixed short
card as the answer "empty" (`device/scanflow.py`).
"""

from __future__ import annotations

from typing import NamedTuple

PREFIX = "CMD-"
# A worker's badge (`scanfloor labels badges`): `BADGE-<user>`, sent as a `scan`; the server
# signs that user in on the device.
BADGE_PREFIX = "BADGE-"
SHORT = "CMD-SHORT"
COUNT = "CMD-COUNT"
# A count card: CMD-COUNT-0 .. CMD-COUNT-9999 (units in the bin); CMD-SHORT-<n> the same.
COUNT_PREFIXES = (COUNT, SHORT)
MAX_FOUND_DIGITS = 4


class Card(NamedTuple):
    """One command card: what is printed, the action it sends, and what the card says."""

    barcode: str
    action: str  # the `action` event's `action`
    caption: str  # the words printed under the bars
    found: int | None = None  # short: units in the bin (None: no count, the device asks first)
    # short: why (None: `empty`); help: why (None: not said); return_grade: the grade or scrap reason
    reason: str | None = None


# Every fixed card, in the order a card set is printed.
CARDS: tuple[Card, ...] = (
    Card("CMD-SHORT", "short", "SHORT PICK: ASKS THE COUNT"),
    Card("CMD-SHORT-EMPTY", "short", "SHORT PICK: ASKS THE COUNT", reason="empty"),
    Card("CMD-SHORT-DAMAGED", "short", "SHORT PICK, DAMAGED: ASKS THE COUNT", reason="damaged"),
    Card("CMD-SHORT-MISSING", "short", "SHORT PICK, MISSING: ASKS THE COUNT", reason="missing"),
    Card(
        "CMD-SHORT-WRONG",
        "short",
        "SHORT PICK, WRONG ITEM IN BIN: ASKS THE COUNT",
        reason="wrong_item",
    ),
    Card("CMD-HELP", "help", "CALL A SUPERVISOR"),
    Card("CMD-HELP-DAMAGED", "help", "CALL A SUPERVISOR: DAMAGED ITEM", reason="damaged"),
    Card("CMD-HELP-NO-STOCK", "help", "CALL A SUPERVISOR: NO STOCK", reason="no_stock"),
    Card("CMD-HELP-WRONG", "help", "CALL A SUPERVISOR: WRONG ITEM", reason="wrong_item"),
    Card("CMD-HELP-BLOCKED", "help", "CALL A SUPERVISOR: AISLE OR BIN BLOCKED", reason="blocked"),
    Card("CMD-HELP-OTHER", "help", "CALL A SUPERVISOR: OTHER", reason="other"),
    Card("CMD-LOGOUT", "logout", "LOG OUT"),
    Card("CMD-LOGIN", "login", "LOG IN"),
    Card("CMD-REPRINT", "reprint", "PRINT THE LABEL AGAIN"),
    Card("CMD-WEIGHT-OK", "weight_ok", "SUPERVISOR: ACCEPT THE WEIGHT"),
    Card("CMD-RECEIVE", "receive", "START RECEIVING"),
    Card("CMD-DONE", "receive_done", "RECEIVING DONE: BOOK IT"),
    Card("CMD-DOCK", "dock", "LOAD A TRUCK AT THE DOCK"),
    Card("CMD-DOCK-DONE", "dock_done", "TRUCK LOADED: HAND IT OVER"),
    Card("CMD-BIN-DONE", "count_done", "BIN COUNTED: HAND IN THE COUNT"),
    Card("CMD-RETURN", "return", "RECEIVE A RETURN"),
    Card("CMD-GRADE-OK", "return_grade", "RETURN: RESELLABLE, PUT IT AWAY", reason="resellable"),
    Card("CMD-SCRAP-DAMAGED", "return_grade", "RETURN: SCRAP, DAMAGED", reason="damaged"),
    Card("CMD-SCRAP-DEFECTIVE", "return_grade", "RETURN: SCRAP, DEFECTIVE", reason="defective"),
    Card("CMD-SCRAP-MISSING", "return_grade", "RETURN: SCRAP, PARTS MISSING", reason="missing"),
    Card("CMD-SCRAP-WRONG", "return_grade", "RETURN: SCRAP, NOT WHAT WE SENT", reason="wrong_item"),
    Card("CMD-SCRAP-OTHER", "return_grade", "RETURN: SCRAP, OTHER", reason="other"),
    Card("CMD-RETURN-DONE", "return_done", "RETURN RECEIVED: CLOSE IT"),
    Card("CMD-TRANSFER", "transfer", "RECEIVE A TRANSFER"),
    Card("CMD-TRANSFER-DONE", "transfer_done", "TRANSFER RECEIVED: CLOSE IT"),
)
_BY_BARCODE = {c.barcode: c for c in CARDS}


def short_found(found: int, prefix: str = COUNT) -> Card:
    """The count card `CMD-COUNT-<n>` (or, with `prefix=SHORT`, the older `CMD-SHORT-<n>`):
    n units in the bin, reason `missing`."""
    if prefix not in COUNT_PREFIXES:
        raise ValueError(f"a count card starts {' or '.join(COUNT_PREFIXES)}, not {prefix!r}")
    if not 0 <= found < 10**MAX_FOUND_DIGITS:
        raise ValueError(f"a count card's count is 0 to {10**MAX_FOUND_DIGITS - 1}, got {found}")
    return Card(f"{prefix}-{found}", "short", f"SHORT PICK: {found} IN THE BIN", found, "missing")


def read_card(barcode: str) -> Card | None:
    """The command card a scan is, or None; upper or lower case, surrounding spaces ignored."""
    code = barcode.strip().upper()
    card = _BY_BARCODE.get(code)
    if card is not None:
        return card
    for prefix in COUNT_PREFIXES:
        rest = code[len(prefix) + 1 :]
        digits = rest.isascii() and rest.isdigit() and len(rest) <= MAX_FOUND_DIGITS
        if code.startswith(prefix + "-") and digits:
            return short_found(int(rest), prefix)
    return None


def is_command(barcode: str) -> bool:
    """Whether a scan is a command card."""
    return read_card(barcode) is not None


def card_set(found_up_to: int = 5) -> list[Card]:
    """Every fixed card, then `CMD-COUNT-1` .. `CMD-COUNT-<found_up_to>`: a cart's set."""
    return [*CARDS, *(short_found(n) for n in range(1, found_up_to + 1))]


# A carrier's dock card is scanned (sent as a `scan`, not an action) on a pack station in
# dock mode: it says whose truck is loaded. `scanfloor labels carriers` prints one per carrier.
CARRIER_CARD_PREFIX = "CARRIER-"


def carrier_card(name: str) -> str:
    """The barcode of a carrier's dock card: `CARRIER-LOCAL` for carrier `local`."""
    return CARRIER_CARD_PREFIX + name.upper()
