"""What a supervisor does to a transfer: cancel it before it ships, settle its set-aside units.

Cancel: a transfer not yet handed over at the sending dock is cancelled through its order's
cancel (server/capture/cancel.py), as any order is: units still on the shelf are released at
once, units already picked become put-away tasks back to their bins at the sender, and
nothing is in transit. Once its shipment has left, a cancel is refused in words: its units
are on the truck, and the receiving warehouse receives them (what never arrives is recorded
short at the close); to send them back, plan a transfer the other way once they are in.

Set-aside units: a unit scanned at the receiving dock beyond what was shipped of its SKU and
lot is refused there and counted over. A supervisor settles them, per SKU and lot, all at
once or some of them (the rest stay set aside, or are rejected with the same step): `accept`
puts them into a bin of the receiving warehouse (on hand rises by a `correction` stock move,
so the unit accounting counts them found, as a count that found them would), `reject` keeps
them out of stock (sent back or disposed of outside scanfloor). Either is audited, and
refused in words, changing nothing, when it no longer applies.
"""

from __future__ import annotations

from typing import Any

from server.capture import cancel as cancelling
from server.core.schemas import MAX_UNITS
from server.inventory import allocate, stock, transfers
from server.inventory.domain import transfers as rules
from server.people import audit
from server.store import Store


class Refused(ValueError):
    """A supervisor's action on a transfer that does not apply: `status` 404, 409 or 422; a
    422 names the field it concerns (`problems`: (field, why))."""

    def __init__(self, status: int, message: str, problem: tuple[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.problems = [problem] if problem else []


def _find(store: Store, ref: str) -> dict[str, Any]:
    t = transfers.get(store, ref)
    if t is None:
        raise Refused(404, f"no transfer {ref}")
    return t


def why_not_cancel(t: dict[str, Any]) -> str | None:
    """Why a transfer cannot be cancelled now, in words, or None."""
    if t["status"] == "received":
        return f"{t['transfer']} was received at {t['to_warehouse']}: there is nothing to cancel"
    if t["status"] == "in_transit":
        return (
            f"{t['transfer']} has left {t['from_warehouse']}: its units are on their way to "
            f"{t['to_warehouse']}. Receive it there (what never arrives is recorded short), then "
            "plan a transfer back if they must return"
        )
    return None


def cancel(store: Store, ref: str, by: str, reason: str = "") -> dict[str, Any]:
    """Cancel a transfer that has not shipped: reservations released, picked units put away
    at the sender; a cancelled one again answers the same (`already`)."""
    with store.write():
        t = _find(store, ref)
        if t["status"] == "cancelled":
            return {**t, "already": True, "released": 0, "putaway_tasks": []}
        problem = why_not_cancel(t)
        if problem:
            raise Refused(409, problem)
        try:
            done = cancelling.cancel_order(
                store, t["order_id"], reason or f"transfer {t['transfer']} cancelled"
            )
        except cancelling.CannotCancel:  # its shipment left between the read and the write
            raise Refused(409, why_not_cancel({**t, "status": "in_transit"})) from None
        audit.record(
            store, by, "transfer_cancel", t["transfer"],
            {"reason": reason, "released": done["released"], "putaway_tasks": done["putaway_tasks"]},
        )  # fmt: skip
        got = transfers.get(store, t["transfer"])
    return {
        **got,
        "already": False,
        "released": done["released"],
        "putaway_tasks": done["putaway_tasks"],
    }


def settle(
    store: Store,
    ref: str,
    sku: str,
    lot: str,
    decision: str,
    bin_: str | None,
    by: str,
    note: str = "",
    units: int | None = None,
    rest: str = "keep",
) -> dict[str, Any]:
    """Settle the units of `sku` (and `lot`) set aside at the receiving dock: `units` of them
    (None: every one) `accept`ed into `bin_` of the receiving warehouse, or `reject`ed; after
    an accept, the rest stay set aside (`rest` keep) or are rejected (`reject`). Returns the
    transfer."""
    with store.write():
        t = _find(store, ref)
        row = store.one(
            """SELECT l.over, l.accepted, l.rejected, l.expires, t.id AS transfer_id
               FROM transfer_lots l JOIN transfers t ON t.id = l.transfer_id
               WHERE t.transfer = ? AND l.sku = ? AND l.lot = ?""",
            (t["transfer"], sku, lot),
        )
        what = f"{sku}{f' lot {lot}' if lot else ''}"
        if row is None:
            raise Refused(409, f"no {what} was set aside on {t['transfer']}: nothing to settle")
        left = row["over"] - row["accepted"] - row["rejected"]
        found = rules.settle_problem(
            row["over"], row["accepted"], row["rejected"], decision, bin_, units, rest
        )
        if found:
            message = f"{what} on {t['transfer']}: {found[1]}"
            raise Refused(422, message, found) if left > 0 else Refused(409, message)
        split = rules.settled(left, decision, units, rest)
        if split["accepted"]:
            loc = store.one(
                "SELECT id, code FROM locations WHERE warehouse = ? AND code = ?",
                (t["to_warehouse"], bin_),
            )
            if loc is None:
                why = f"{bin_} is not a bin of {t['to_warehouse']}"
                raise Refused(422, why, ("bin", why))
            held = store.one(
                "SELECT on_hand FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
                (loc["id"], sku, lot),
            )
            if (held["on_hand"] if held else 0) + split["accepted"] > MAX_UNITS:
                why = f"{loc['code']} would hold more than {MAX_UNITS} units of {sku}"
                raise Refused(422, why, ("bin", why))
            _found(
                store, loc["id"], sku, lot, row["expires"], split["accepted"], t["transfer"], note
            )
        store.execute(
            "UPDATE transfer_lots SET accepted = accepted + ?, rejected = rejected + ? "
            "WHERE transfer_id = ? AND sku = ? AND lot = ?",
            (split["accepted"], split["rejected"], row["transfer_id"], sku, lot),
        )
        kept = left - split["accepted"] - split["rejected"]
        for done in ("accepted", "rejected"):
            if split[done]:
                detail: dict[str, Any] = {"sku": sku, "units": split[done], "set_aside": kept}
                detail.update({k: v for k, v in (("lot", lot), ("note", note)) if v})
                if done == "accepted":
                    detail["bin"] = bin_
                verb = "accept" if done == "accepted" else "reject"
                audit.record(store, by, f"transfer_over_{verb}", t["transfer"], detail)
    if split["accepted"]:
        allocate.allocate_pending(store, {sku})  # orders waiting for the SKU may take them
    return {**transfers.get(store, t["transfer"]), "settled": {**split, "set_aside": kept}}


def _found(
    store: Store,
    location_id: int,
    sku: str,
    lot: str,
    expires: str | None,
    qty: int,
    transfer: str,
    note: str,
) -> None:
    """Accepted set-aside units into a bin: on hand rises by a correction (inside a write)."""
    stock.add_on_hand(
        store,
        location_id,
        sku,
        lot,
        expires,
        qty,
        "correction",
        f"transfer {transfer} over",
        reason=note or f"over-received on {transfer}, accepted",
    )
