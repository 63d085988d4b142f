"""Packing, as the packer works the bench.

The packer scans a tote (or the pick-list barcode) that came from picking.
They scan every item of the order out of the tote: an item the order does not
hold, or one too many, is refused and put aside. When every item is checked
the server makes the shipping label and sends it to the bench printer; the
packer sticks it on the box and scans it, which confirms the package and marks
the order packed. Judged here without IO, like picking.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.floor import PickList, matches_item
from shared import messages as say
from shared.protocol import DeviceState, Expect, Progress

TRANSITIONS: dict[str, set[str]] = {
    "pack_start": {"pack_start", "pack_verify"},
    "pack_verify": {"pack_verify", "pack_label"},
    "pack_label": {"pack_label", "pack_start"},
}


@dataclass(frozen=True)
class Package:
    package_id: int
    tracking: str
    status: str


@dataclass(frozen=True)
class Bench:
    """The list on a packer's bench, and its package once labelled."""

    pick_list: PickList
    package: Package | None = None


@dataclass(frozen=True)
class StartPacking:
    list_id: int


@dataclass(frozen=True)
class Verified:
    step_id: int


@dataclass(frozen=True)
class ConfirmLabel:
    package_id: int


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str
    message: str
    change: StartPacking | Verified | ConfirmLabel | None = None


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
            detail=say.totes_waiting(len(waiting)),
            expect=Expect(kind="container", barcodes=list(waiting)),
        )
    pl = bench.pick_list
    done, total = units(pl)
    common = dict(
        pick_list_id=pl.list_id,
        order_id=pl.order_ids[0] if pl.order_ids else None,
        tote=pl.tote,
        progress=Progress(done=done, total=total),
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
            detail=say.still_to_check([(n, name) for name, n in left.items()]),
            expect=Expect(kind="item", barcodes=expected),
            **common,
        )
    if bench.package is None:
        return DeviceState(screen="pack_label", instruction=say.label_printing(), **common)
    return DeviceState(
        screen="pack_label",
        instruction=say.scan_label(bench.package.tracking),
        expect=Expect(kind="label", barcodes=[bench.package.tracking]),
        **common,
    )


def judge_start(candidate: PickList | None, text: str, elsewhere: bool, held: int = 0) -> Verdict:
    """A scan on an empty bench: it must name a picked tote or list, of an order not held
    (`held`: units the order still waits for while it may ship complete only)."""
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


def judge(bench: Bench, text: str, keys: set[str]) -> Verdict:
    """A scan at a bench holding a list: an item to check, or the label."""
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
        return Verdict(
            True, "label_ok", say.package_confirmed(order), ConfirmLabel(package.package_id)
        )
    return Verdict(False, "wrong_label", say.wrong_label(text, package.tracking))
