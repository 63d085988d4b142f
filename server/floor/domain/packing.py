"""Packing, as the packer works the bench.

The packer scans a tote (or the pick-list barcode) that came from picking.
They scan every item of the order out of the tote: an item the order does not
hold, or one too many, is refused and put aside. When every item is checked
the server makes the shipping label and sends it to the bench printer; the
packer sticks it on the box and scans it, which confirms the package and marks
the order packed. Judged here without IO, like picking.

Boxes: the bench shows the smallest configured box the items fit in
(`server.shipping.domain.boxes`); scanning any box's barcode on the bench takes that box
instead (before the label, or after it: the label is made again with the new
tare in its weight). Weight: a pack station with a scale sends the package's
weight with the label scan; outside the tolerance of the expected weight
(items + tare) the package is held (screen `pack_check`) until it is weighed
again within it or a supervisor accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.floor.domain.floor import PickList, matches_item
from server.shipping.domain.boxes import Box, Item, Tolerance, WeightCheck, check_weight, why_not
from shared import messages as say
from shared.protocol import DeviceState, Expect, Progress

TRANSITIONS: dict[str, set[str]] = {
    "pack_start": {"pack_start", "pack_verify"},
    "pack_verify": {"pack_verify", "pack_label"},
    "pack_label": {"pack_label", "pack_start", "pack_check"},
    "pack_check": {"pack_check", "pack_start"},
}


@dataclass(frozen=True)
class Package:
    package_id: int
    tracking: str
    status: str
    box: str | None = None
    weight_g: int = 0  # expected: items + tare
    held: WeightCheck | None = None  # weighed outside the tolerance, not released yet


@dataclass(frozen=True)
class Bench:
    """The list on a packer's bench, and its package once labelled."""

    pick_list: PickList
    package: Package | None = None
    items: tuple[Item, ...] = ()  # what goes into the box (for its choice and weight)
    box: Box | None = None  # chosen by the packer, else the smallest that fits; None: none fits
    box_chosen: bool = False
    tolerance: Tolerance = Tolerance()


@dataclass(frozen=True)
class StartPacking:
    list_id: int


@dataclass(frozen=True)
class Verified:
    step_id: int


@dataclass(frozen=True)
class ConfirmLabel:
    package_id: int
    measured_g: int | None = None  # what the scale said, if the bench has one


@dataclass(frozen=True)
class ChooseBox:
    box: Box


@dataclass(frozen=True)
class HoldForWeight:
    package_id: int
    check: WeightCheck


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str
    message: str
    change: StartPacking | Verified | ConfirmLabel | ChooseBox | HoldForWeight | None = None


def units(pl: PickList) -> tuple[int, int]:
    """(checked, picked) units of a list."""
    return sum(s.verified for s in pl.steps), sum(s.picked for s in pl.steps)


def all_verified(pl: PickList) -> bool:
    done, total = units(pl)
    return done == total


def screen(bench: Bench | None, waiting: tuple[str, ...] = ()) -> DeviceState:
    """What the packer's station shows; `waiting` are the totes picked and not yet packed."""
    if bench is None:
        return DeviceState(
            screen="pack_start",
            instruction=say.scan_tote_or_list(),
            detail=say.totes_waiting(list(waiting)),
            expect=Expect(kind="container", barcodes=list(waiting)),
        )
    pl = bench.pick_list
    done, total = units(pl)
    common = dict(
        pick_list_id=pl.list_id,
        order_id=pl.order_ids[0] if pl.order_ids else None,
        tote=pl.tote,
        progress=Progress(done=done, total=total),
        reships=dict(pl.reships),
        **_weighing(bench),
    )
    if done < total:
        expected = sorted({b for s in pl.steps if s.verified < s.picked for b in s.item_barcodes})
        left: dict[str, int] = {}  # product name -> units still to check, in step order
        for s in pl.steps:
            if s.verified < s.picked:
                left[s.product_name] = left.get(s.product_name, 0) + s.picked - s.verified
        return DeviceState(
            screen="pack_verify",
            instruction=say.verify_items(done, total),
            detail=_box_line(bench) + say.still_to_check([(n, name) for name, n in left.items()]),
            expect=Expect(kind="item", barcodes=expected),
            **common,
        )
    if bench.package is None:
        return DeviceState(screen="pack_label", instruction=say.label_printing(), **common)
    held = bench.package.held
    if held is not None:
        return DeviceState(
            screen="pack_check",
            instruction=say.weight_off(held.measured_g, held.expected_g, held.tolerance_g),
            detail=say.weight_check_what_to_do(bench.package.tracking),
            expect=Expect(kind="label", barcodes=[bench.package.tracking]),
            **common,
        )
    return DeviceState(
        screen="pack_label",
        instruction=say.scan_label(bench.package.tracking),
        detail=_box_line(bench),
        expect=Expect(kind="label", barcodes=[bench.package.tracking]),
        **common,
    )


def _box_line(bench: Bench) -> str:
    """The box line of the bench's screen, with a separator when there is more to say."""
    if bench.package is not None:
        return say.box_chosen(bench.package.box) if bench.package.box else ""
    if bench.box is None:
        return say.no_box_fits() + ". " if bench.items else ""
    if bench.box_chosen:
        return say.box_chosen(bench.box.code) + ". "
    return say.box_suggested(bench.box.code) + ". "


def _weighing(bench: Bench) -> dict:
    """The box and weight fields of a bench's screen."""
    package = bench.package
    if package is not None:
        held = package.held
        return dict(
            box=package.box,
            expected_weight_g=package.weight_g,
            weight_tolerance_g=bench.tolerance.of(package.weight_g),
            measured_weight_g=held.measured_g if held else None,
        )
    if bench.box is None:
        return {}
    return dict(box=bench.box.code)


def judge_box(bench: Bench, box: Box) -> Verdict:
    """A box's barcode scanned at the bench: the packer takes that box."""
    if bench.package is not None and bench.package.box == box.code:
        return Verdict(True, "box_ok", say.box_chosen(box.code))
    why = why_not(box, bench.items)
    message = say.box_too_small(box.code, why) if why else say.box_chosen(box.code)
    if bench.package is not None and not why:
        message = say.box_changed_label_again(box.code)
    return Verdict(True, "box_chosen", message, ChooseBox(box))


def judge_start(
    candidate: PickList | None,
    text: str,
    elsewhere: bool,
    held: int = 0,
    other_warehouse: str | None = None,
) -> Verdict:
    """A scan on an empty bench: it must name a picked tote or list of this warehouse, of an
    order not held (`held`: units the order still waits for while it may ship complete only;
    `other_warehouse`: the warehouse whose picked tote or list it names instead, if any)."""
    if candidate is None and other_warehouse:
        return Verdict(False, "other_warehouse", say.packed_elsewhere(text, other_warehouse))
    if candidate is None:
        return Verdict(False, "unknown_container", say.unknown_barcode(text))
    if elsewhere:
        return Verdict(False, "on_other_bench", say.list_on_other_bench(text))
    if candidate.status not in ("picked", "packing"):
        return Verdict(False, "not_ready", say.list_not_ready(text))
    order = candidate.order_ids[0] if candidate.order_ids else "?"
    if held:
        return Verdict(False, "order_on_hold", say.order_on_hold(order, held, text))
    return Verdict(
        True, "packing_started", say.packing_started(text, order), StartPacking(candidate.list_id)
    )


def judge(
    bench: Bench, text: str, keys: set[str], box: Box | None = None, weight_g: int | None = None
) -> Verdict:
    """A scan at a bench holding a list: an item to check, a box (`box`: the configured box the
    barcode names), or the label (`weight_g`: what the bench's scale said, if it has one)."""
    if box is not None:
        return judge_box(bench, box)
    pl = bench.pick_list
    if not all_verified(pl):
        matching = [s for s in pl.steps if matches_item(keys, s.item_barcodes)]
        if not matching:
            return Verdict(False, "item_not_in_order", say.item_not_in_order(text))
        step = next((s for s in matching if s.verified < s.picked), None)
        if step is None:
            return Verdict(False, "item_extra", say.item_already_checked(text))
        done, total = units(pl)
        if done + 1 == total:
            return Verdict(True, "all_checked", say.all_checked(), Verified(step.step_id))
        return Verdict(
            True, "item_checked", say.item_checked(done + 1, total), Verified(step.step_id)
        )
    package = bench.package
    if package is None:
        return Verdict(False, "label_not_ready", say.label_printing())
    if text == package.tracking:
        order = pl.order_ids[0] if pl.order_ids else "?"
        if weight_g is None and package.held is not None:
            # Held on a scale's word: only a new weight (or a supervisor) lets it go.
            return Verdict(False, "weight_held", say.weight_check_what_to_do(package.tracking))
        if weight_g is not None:
            check = check_weight(weight_g, package.weight_g, bench.tolerance)
            if not check.ok:
                message = say.weight_off(check.measured_g, check.expected_g, check.tolerance_g)
                return Verdict(
                    False, "weight_off", message, HoldForWeight(package.package_id, check)
                )
        return Verdict(
            True,
            "label_ok",
            say.package_confirmed(order),
            ConfirmLabel(package.package_id, weight_g),
        )
    return Verdict(False, "wrong_label", say.wrong_label(text, package.tracking))
