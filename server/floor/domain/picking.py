"""Picking on the server: the shared picker rules (`shared/picking.py`) applied to a stored list.

The workflow and the judging live in `shared/picking.py`, so the handheld can
apply the very same rules while it is offline; this module only turns a pick
list as the server stores it into the state those rules work on.
"""

from __future__ import annotations

from server.floor.domain.floor import PickList, Step
from shared import picking as rules
from shared.picking import (
    TRANSITIONS,
    AtLocation,
    CartFetched,
    Change,
    Picked,
    Put,
    SetTote,
    Verdict,
)
from shared.protocol import DeviceState, StepView

__all__ = [
    "TRANSITIONS",
    "AtLocation",
    "CartFetched",
    "Change",
    "Picked",
    "Put",
    "SetTote",
    "Verdict",
    "judge",
    "judge_screen",
    "screen",
]


def step_view(step: Step) -> StepView:
    return StepView(
        step_id=step.step_id,
        location=step.location,
        location_barcode=step.location_barcode,
        sku=step.sku,
        product_name=step.product_name,
        item_barcodes=list(step.item_barcodes),
        qty=step.qty,
        picked=step.picked,
        put=step.put,
        lot=step.lot,
        order_id=step.order_id,
    )


def totes_of(pl: PickList) -> dict[str, str]:
    """Each order's tote; a one-order list may carry its tote on the list itself."""
    if pl.totes:
        return dict(pl.totes)
    orders = pl.order_ids
    return {orders[0]: pl.tote} if pl.tote and len(orders) == 1 else {}


def screen(pl: PickList | None) -> DeviceState:
    """What the picker's handheld shows for its list (or for no list)."""
    if pl is None:
        return rules.idle()
    current = pl.current()
    return rules.screen(
        pl.list_id,
        pl.order_ids,
        totes_of(pl),
        [step_view(s) for s in pl.steps if s.open],
        current.at_location if current else False,
        sum(s.qty for s in pl.steps),
        fetch_cart=pl.cart_away,
        reships=pl.reships,
    )


def judge(
    pl: PickList | None, text: str, keys: set[str], tote_free: bool = True, lot: str | None = None
) -> Verdict:
    """The verdict on one scan against a stored list; `lot` is the scan's GS1 lot."""
    return rules.judge(screen(pl) if pl is not None else None, text, keys, tote_free, lot)


def judge_screen(
    state: DeviceState | None,
    text: str,
    keys: set[str],
    tote_free: bool,
    lot: str | None,
    identify: rules.Identify | None = None,
) -> Verdict:
    """The verdict on one scan against the screen the picker holds (drawn by `screen`);
    `identify` says what a barcode off the list is, after a wrong scan."""
    return rules.judge(state, text, keys, tote_free, lot, identify)
