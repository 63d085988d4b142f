"""Transfers between warehouses: the pure rules of suggesting, receiving and closing one.

A warehouse *needs* a SKU for the units its open orders still wait for, plus what its free
stock lacks of its safety stock. A warehouse has *spare* units of a SKU when its free stock
(on hand less reserved) is above its safety stock plus its own need. A suggestion moves
`min(need, spare)` from the warehouse with most spare to the one in need, after what is
already coming to it (in transit, or planned and not yet received) is taken off its need.

At the receiving dock each unit scanned is taken while fewer than were shipped of its SKU
and lot have been received; one more is an *over* receipt (set aside, counted, for a
supervisor to accept into a bin or reject). A SKU shipped in lots is received by lot: the
unit's GS1 barcode says which, and a unit without one is refused. Closing a transfer
records, per SKU, the units shipped and not received as *short* (lost on the way).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

Key = tuple[str, str]  # (warehouse, sku)
Lot = tuple[str, str]  # (sku, lot): lot '' for stock that is not lot-tracked
Receipt = Literal["ok", "not_on_transfer", "lot_required", "over"]
Settle = Literal["accept", "reject"]
K = TypeVar("K")


@dataclass(frozen=True)
class Suggestion:
    """Move `qty` of `sku` from `from_warehouse` to `to_warehouse` (`need`: what it lacks)."""

    sku: str
    from_warehouse: str
    to_warehouse: str
    qty: int
    need: int


def spare(
    free: Mapping[Key, int], safety: Mapping[Key, int], need: Mapping[Key, int]
) -> dict[Key, int]:
    """Units each warehouse could send of each SKU without short-changing itself."""
    out = {}
    for key, n in free.items():
        left = n - safety.get(key, 0) - need.get(key, 0)
        if left > 0:
            out[key] = left
    return out


def shortfall(
    waiting: Mapping[Key, int], free: Mapping[Key, int], safety: Mapping[Key, int]
) -> dict[Key, int]:
    """What each warehouse lacks per SKU: units its orders wait for plus safety stock not covered."""
    out: dict[Key, int] = {}
    for key in set(waiting) | set(safety):
        lacks = waiting.get(key, 0) + max(0, safety.get(key, 0) - free.get(key, 0))
        if lacks > 0:
            out[key] = lacks
    return out


def suggest(
    need: Mapping[Key, int], spare_units: Mapping[Key, int], coming: Mapping[Key, int]
) -> list[Suggestion]:
    """Moves that cover each need from other warehouses' spare units, biggest need first.

    A need is first reduced by what is already coming; a source gives at most its spare,
    and one source's spare is not promised twice.
    """
    left = dict(spare_units)
    out: list[Suggestion] = []
    wanted = sorted(
        ((n - coming.get(key, 0), key) for key, n in need.items()),
        key=lambda item: (-item[0], item[1]),
    )
    for n, (to, sku) in wanted:
        if n <= 0:
            continue
        sources = sorted(
            ((units, wh) for (wh, s), units in left.items() if s == sku and wh != to and units > 0),
            key=lambda item: (-item[0], item[1]),
        )
        for units, wh in sources:
            if n <= 0:
                break
            qty = min(n, units)
            out.append(Suggestion(sku, wh, to, qty, n))
            left[(wh, sku)] -= qty
            n -= qty
    return out


def may_receive(
    shipped: Mapping[Lot, int],
    received: Mapping[Lot, int],
    planned: Collection[str],
    sku: str,
    lot: str | None,
) -> tuple[Receipt, str]:
    """Whether one more unit of `sku` (its GS1 lot `lot`, None when the barcode carries none)
    is taken into stock at the receiving dock, and the lot it counts under.

    A SKU shipped in lots is received by lot: without a lot it is refused (`lot_required`)
    unless units without a lot were shipped too; a lot on the label of a SKU shipped without
    lots changes nothing. A lot never shipped, like one more unit than shipped, is over.
    """
    lots = {x for (s, x), n in shipped.items() if s == sku and n > 0}
    if not lots and sku not in planned:
        return "not_on_transfer", lot or ""
    tracked = bool(lots - {""})
    if tracked and lot:
        key = lot
    elif tracked and "" not in lots:
        return "lot_required", ""
    else:
        key = ""
    if received.get((sku, key), 0) >= shipped.get((sku, key), 0):
        return "over", key
    return "ok", key


def settle_problem(
    over: int,
    accepted: int,
    rejected: int,
    decision: str,
    bin_: str | None,
    units: int | None = None,
    rest: str = "keep",
) -> tuple[str, str] | None:
    """Why a supervisor cannot settle `units` (None: all) of the set-aside units of one SKU
    and lot this way, with the field the reason concerns: (field, why), or None. `rest` says
    what becomes of the others after an accept: they stay set aside (`keep`) or are rejected
    (`reject`)."""
    if decision not in ("accept", "reject"):
        return "decision", f"decision must be accept or reject, not {decision}"
    left = over - accepted - rejected
    if left <= 0:
        return "sku", "no unit of it is set aside: nothing to settle"
    if units is not None and units < 1:
        return "units", f"units must be at least 1, not {units}"
    if units is not None and units > left:
        return "units", f"{units} units asked, {left} {'is' if left == 1 else 'are'} set aside"
    if rest not in ("keep", "reject"):
        return "rest", f"the rest is kept set aside or rejected (keep or reject), not {rest}"
    if rest == "reject" and decision == "reject":
        return (
            "rest",
            "the rest of a rejection stays set aside: reject them all, or leave the rest out",
        )
    if decision == "accept" and not bin_:
        return "bin", "accept needs the bin the units go into"
    if decision == "reject" and bin_:
        return "bin", "a rejected unit goes into no bin: leave the bin out"
    return None


def settled(left: int, decision: str, units: int | None, rest: str) -> dict[str, int]:
    """Units accepted and rejected by a settlement of `left` set-aside units (checked first
    by `settle_problem`): `units` (None: all) the decided way, the rest rejected if asked."""
    n = left if units is None else units
    if decision == "reject":
        return {"accepted": 0, "rejected": n}
    return {"accepted": n, "rejected": left - n if rest == "reject" else 0}


def in_transit(shipped: Mapping[K, int], received: Mapping[K, int]) -> dict[K, int]:
    """Units of an open transfer on their way: shipped and not yet received, per SKU (or per
    SKU and lot)."""
    out = {}
    for sku, n in shipped.items():
        left = n - received.get(sku, 0)
        if left > 0:
            out[sku] = left
    return out


def short(shipped: Mapping[str, int], received: Mapping[str, int]) -> dict[str, int]:
    """At close: per SKU, units shipped and never received (every SKU shipped is listed)."""
    return {sku: max(0, n - received.get(sku, 0)) for sku, n in shipped.items()}
