"""Cancelling an order: the one rule, in words, that REST and the board's order page both ask.

What a warehouse expects: a parcel with a carrier can never be cancelled, and everything else
of an order can, whatever part of it left already. Cancelling the unshipped remainder of an
order some of whose parcels shipped (units back-ordered, a second shipment still on the floor,
the re-ship of a lost parcel) is an ordinary shop operation: "cancel the rest".

- the whole order: nothing of it is with a carrier (a parcel the carrier lost does not count);
  its status becomes `cancelled`;
- the rest: a parcel is with a carrier and something is not (a shipment on the floor, units
  waiting for stock); the parcels with the carrier go on, the order's status follows them;
- refused: the order is cancelled already, or every unit of it is with a carrier (or was
  delivered): "order SO-… has shipped: it can no longer be cancelled".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rest:
    """A part of an order not with a carrier: a shipment on the floor, or units that wait."""

    units: tuple[tuple[str, int], ...]  # (SKU, units), by SKU
    warehouse: str | None = None  # the shipment's warehouse; None: units waiting for stock
    reship_of: str | None = None  # the tracking number of the lost parcel it replaces


@dataclass(frozen=True)
class CancelFacts:
    """What the cancel rule needs to know of an order."""

    order: str
    status: str
    with_carrier: int  # parcels with a carrier (their shipment shipped), not lost
    rest: tuple[Rest, ...] = ()


def why_not_cancel(f: CancelFacts) -> str | None:
    """None if the order (or its rest) may be cancelled now, else why not, in words."""
    if f.status == "cancelled":
        return f"order {f.order} is already cancelled"
    if not f.rest:
        return f"order {f.order} has shipped: it can no longer be cancelled"
    return None


def partly(f: CancelFacts) -> bool:
    """A cancel now cancels the rest only: some parcel of the order is with a carrier."""
    return why_not_cancel(f) is None and f.with_carrier > 0


def _units(units: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{n} x {sku}" for sku, n in units)


def what_it_cancels(f: CancelFacts) -> str:
    """In words, what a cancel now cancels: "1 x SKU-C on the floor in WH-WEST; the re-ship of
    lost parcel SF…: 1 x SKU-B on the floor in WH-EAST; 2 x SKU-C waiting for stock"."""
    parts = []
    for r in f.rest:
        where = f"on the floor in {r.warehouse}" if r.warehouse else "waiting for stock"
        said = f"{_units(r.units)} {where}"
        parts.append(f"the re-ship of lost parcel {r.reship_of}: {said}" if r.reship_of else said)
    return "; ".join(parts)


def said(f: CancelFacts) -> str:
    """The sentence a person reads of a cancel that may be done now (for the page's button and
    the answer)."""
    if partly(f):
        n = f.with_carrier
        return (
            f"cancels the rest of order {f.order}: {what_it_cancels(f)}; the "
            f"{'parcel' if n == 1 else f'{n} parcels'} with the carrier go{'es' if n == 1 else ''} on"
        )
    return f"cancels order {f.order}: {what_it_cancels(f)}"
