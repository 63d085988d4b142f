"""Where every unit went: one SKU's account, and whether it balances.

Every unit a SKU ever had in the building came in one way and is somewhere now:

    received = shipped + on hand + in transit + scrapped + lost by carrier

- received: stock receipts, stock set by the catalogue (initial stock), units a count
  found (a correction up), and units that came back on a return (each graded unit);
- shipped: units picked for shipments that left the building (returns do not lower it:
  a unit that comes back is received again);
- on hand: in bins, in totes on the floor (picked, not shipped yet), and waiting for a
  put-away (a cancelled order's totes, a return's resellable units not yet shelved);
- in transit: between warehouses (a transfer sent and not yet received);
- scrapped: units a count lost (a correction down), returned units graded scrap, and units
  a transfer shipped that never reached the other warehouse (short at its close);
- lost by carrier: units of parcels the carrier lost (shipped once, then re-shipped: the
  units of the parcel sent in their place are shipped, the lost ones are not shipped twice).

A count adjustment is no term of its own: found units are received, lost units are
scrapped, and the account lists each beside the other parts so a reader sees them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Account:
    """One SKU's units: each term, and the parts it is made of."""

    sku: str
    receipts: int = 0  # stock receipts
    initial: int = 0  # stock set by the catalogue (PUT /api/stock, imports), net
    found: int = 0  # count corrections up
    returned: int = 0  # units received on returns, every grade
    shipped: int = 0
    in_bins: int = 0
    in_totes: int = 0  # picked, their shipment not shipped (nor cancelled)
    awaiting_putaway: int = 0  # open put-away tasks
    in_transit: int = 0
    lost: int = 0  # count corrections down
    returned_scrap: int = 0  # returned units graded scrap
    transit_lost: int = 0  # shipped by a transfer, never received (short at its close)
    carrier_lost: int = 0  # units of parcels the carrier lost (re-shipped)

    @property
    def received(self) -> int:
        return self.receipts + self.initial + self.found + self.returned

    @property
    def on_hand(self) -> int:
        return self.in_bins + self.in_totes + self.awaiting_putaway

    @property
    def scrapped(self) -> int:
        return self.lost + self.returned_scrap + self.transit_lost

    @property
    def accounted(self) -> int:
        """Units found somewhere: shipped + on hand + in transit + scrapped + lost by carrier."""
        return self.shipped + self.on_hand + self.in_transit + self.scrapped + self.carrier_lost

    @property
    def missing(self) -> int:
        """Received less accounted for: 0 when the account balances (negative: more found
        somewhere than ever came in)."""
        return self.received - self.accounted

    def holds(self) -> bool:
        """received = shipped + on hand + in transit + scrapped + lost by carrier."""
        return self.missing == 0

    def out(self) -> dict[str, Any]:
        """The account as the REST answer and the CLI's JSON say it."""
        return {
            **asdict(self),
            "received": self.received,
            "on_hand": self.on_hand,
            "scrapped": self.scrapped,
            "missing": self.missing,
            "holds": self.holds(),
        }


def from_out(row: dict[str, Any]) -> Account:
    """An account back from its `out()` (a REST answer)."""
    return Account(**{f.name: row[f.name] for f in fields(Account)})


def line(a: Account) -> str:
    """One SKU's account on one line: the equation with its figures, and whether it holds
    (units lost by a carrier appear only when there are some)."""
    verdict = "ok" if a.holds() else f"NOT ACCOUNTED FOR: {a.missing:+d}"
    carrier = f" + lost by carrier {a.carrier_lost:>3}" if a.carrier_lost else ""
    return (
        f"{a.sku:<12} received {a.received:>5} = shipped {a.shipped:>5} + on hand {a.on_hand:>5}"
        f" + in transit {a.in_transit:>3} + scrapped {a.scrapped:>3}{carrier}  {verdict}"
    )


def unbalanced(accounts: Iterable[Account]) -> list[str]:
    """The SKUs whose account does not balance, in order."""
    return sorted(a.sku for a in accounts if not a.holds())


def sentence(accounts: Iterable[Account]) -> str:
    """One line a person reads: every unit accounted for, or the SKUs that are not."""
    accounts = list(accounts)
    wrong = unbalanced(accounts)
    if not wrong:
        return f"every unit accounted for ({len(accounts)} SKUs)"
    by_sku = {a.sku: a for a in accounts}
    told = ", ".join(f"{sku} ({by_sku[sku].missing:+d})" for sku in wrong)
    return f"{len(wrong)} of {len(accounts)} SKUs not accounted for (received less found): {told}"
