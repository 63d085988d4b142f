"""Picking, as the picker walks it.

The picker's handheld is given a pick list. They scan an empty tote to start,
then for each step: walk to the bin, scan its label, scan each item into the
tote (one scan per unit). A wrong bin or item is refused with a clear message
and the step stays. When every step is picked the list is done and the tote
goes to packing. Scans are judged here, without IO: `judge` returns what
changed, and the caller stores it.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain import messages as say
from server.domain.floor import PickList, Step, is_tote, matches_item
from shared.protocol import DeviceState, Expect, Progress, StepView

# Screen -> screens a scan may lead to. Tested: no outcome leaves this table.
TRANSITIONS: dict[str, set[str]] = {
    "idle": {"idle"},
    "pick_tote": {"pick_tote", "pick_location"},
    "pick_location": {"pick_location", "pick_item"},
    "pick_item": {"pick_item", "pick_location", "pick_done"},
    "pick_done": {"pick_done"},
}


@dataclass(frozen=True)
class SetTote:
    tote: str


@dataclass(frozen=True)
class AtLocation:
    step_id: int


@dataclass(frozen=True)
class Picked:
    step_id: int
    qty: int


Change = SetTote | AtLocation | Picked


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str
    message: str
    change: Change | None = None


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
        order_id=step.order_id,
    )


def screen(pl: PickList | None) -> DeviceState:
    """What the picker's handheld shows for its list (or for no list)."""
    if pl is None:
        return DeviceState(screen="idle", instruction=say.wait_for_work())
    units = sum(s.qty for s in pl.steps)
    progress = Progress(done=sum(s.picked for s in pl.steps), total=units)
    remaining = [step_view(s) for s in pl.steps if s.open]
    common = dict(pick_list_id=pl.list_id, tote=pl.tote, progress=progress, remaining=remaining)
    if pl.tote is None:
        return DeviceState(
            screen="pick_tote",
            instruction=say.scan_empty_tote(),
            expect=Expect(kind="tote"),
            **common,
        )
    step = pl.current()
    if step is None:
        return DeviceState(
            screen="pick_done", instruction=say.take_tote_to_packing(pl.tote), **common
        )
    view = step_view(step)
    if not step.at_location:
        return DeviceState(
            screen="pick_location",
            instruction=say.go_to(step.location),
            detail=say.pick(step.qty - step.picked, step.product_name, step.location),
            expect=Expect(kind="location", barcodes=[step.location_barcode]),
            order_id=step.order_id,
            step=view,
            **common,
        )
    return DeviceState(
        screen="pick_item",
        instruction=say.pick(step.qty - step.picked, step.product_name, step.location),
        detail=f"{step.sku} · {step.picked} of {step.qty} in tote",
        expect=Expect(kind="item", barcodes=list(step.item_barcodes)),
        order_id=step.order_id,
        step=view,
        **common,
    )


def judge(pl: PickList | None, text: str, keys: set[str], tote_free: bool = True) -> Verdict:
    """The verdict on one scan. `keys` are the scan's lookup forms (text, GTIN-14)."""
    if pl is None:
        return Verdict(False, "nothing_to_scan", say.nothing_to_scan())
    if pl.tote is None:
        if not is_tote(text):
            return Verdict(False, "not_a_tote", say.not_a_tote(text))
        if not tote_free:
            return Verdict(False, "tote_in_use", say.tote_in_use(text))
        return Verdict(True, "tote_ok", say.tote_taken(text), SetTote(text))
    step = pl.current()
    if step is None:
        return Verdict(False, "nothing_to_scan", say.list_done(pl.tote))
    if not step.at_location:
        if text == step.location_barcode or text == step.location:
            return Verdict(
                True, "location_ok", say.location_ok(step.location), AtLocation(step.step_id)
            )
        return Verdict(False, "wrong_location", say.wrong_location(text, step.location))
    if matches_item(keys, step.item_barcodes):
        change = Picked(step.step_id, 1)
        units_left = sum(s.qty - s.picked for s in pl.steps)
        if units_left == 1:
            return Verdict(True, "list_done", say.list_done(pl.tote), change)
        return Verdict(True, "item_ok", say.item_ok(step.picked + 1, step.qty), change)
    return Verdict(False, "wrong_item", say.wrong_item(text, step.product_name))
