"""Picking, as the picker walks it: the rules both the server and the handheld apply.

The picker's handheld is given a pick list for one order or, in cluster
picking, several orders on one cart. They scan an empty tote for each order,
then for each step: walk to the bin, scan its label, scan each item; with
several orders on the cart they then scan the order's tote to confirm the put
(one order's items never land in another's tote). A wrong bin, item or tote is
refused with a clear message and the step stays. When every unit is in its
tote the list is done and the totes go to packing.

A bin holding fewer than the step asks for is a short pick, in two scans so a
bin is never zeroed by one: `CMD-SHORT` at the bin asks (`pick_short`: how many
are in the bin, and where the rest would come from), and the count card
(`CMD-COUNT-n`) or `CMD-SHORT` again (empty) answers. While asked, an item
scan still picks: the picker found one after all.

Everything here works on the protocol's `DeviceState`, so the server judges a
scan against the state it builds from its database and the device judges the
same scan the same way while it is offline. `judge` says what changed; the
server stores it and the device draws the state it returns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared import messages as say
from shared.barcodes import parse_scan
from shared.protocol import MAX_INT, DeviceState, Expect, Progress, StepView

TOTE_PATTERN = re.compile(r"TOTE-[0-9]{1,8}")  # ASCII digits: \d takes "١" too
PICK_LIST_PREFIX = "PL-"
PICK_SCREENS = (
    "idle",
    "pick_tote",
    "pick_location",
    "pick_item",
    "pick_put",
    "pick_short",
    "pick_done",
)

# Screen -> screens a scan may lead to. Tested: no verdict leaves this table.
TRANSITIONS: dict[str, set[str]] = {
    "idle": {"idle"},
    # A picker who fetched a half-picked cart carries on where the list was.
    "pick_tote": {"pick_tote", "pick_location", "pick_put", "pick_done"},
    "pick_location": {"pick_location", "pick_item"},
    "pick_item": {"pick_item", "pick_put", "pick_location", "pick_done"},
    "pick_put": {"pick_put", "pick_item", "pick_location", "pick_done"},
    # A scan while a short pick is asked is judged at the bin, and the question is dropped.
    "pick_short": {"pick_item", "pick_put", "pick_location", "pick_done"},
    "pick_done": {"pick_done"},
}


@dataclass(frozen=True)
class SetTote:
    order_id: str
    tote: str


@dataclass(frozen=True)
class AtLocation:
    step_id: int


@dataclass(frozen=True)
class Picked:
    step_id: int
    put: bool  # a one-order list puts as it picks: the tote is the only one on the cart


@dataclass(frozen=True)
class Put:
    step_id: int


@dataclass(frozen=True)
class CartFetched:
    list_id: int


Change = SetTote | AtLocation | Picked | Put | CartFetched


@dataclass(frozen=True)
class Known:
    """What a barcode is: `kind` "location", "item", "tote", or None (none of them, as far as
    the floor knows); `name` an item's product name."""

    kind: str | None
    name: str | None = None


# What the judging side can say of a barcode beyond the list it holds (the server asks its
# database); asked only after a wrong scan, so a good scan costs nothing more.
Identify = Callable[[str, set[str]], Known]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str
    message: str
    change: Change | None = None
    state: DeviceState | None = None  # the screen after this scan, as far as this side knows


# Barcode forms -------------------------------------------------------------------------
def is_tote(text: str) -> bool:
    """Whether a scan is a tote: `TOTE-` and 1 to 8 digits."""
    return bool(TOTE_PATTERN.fullmatch(text))


def pick_list_ref(list_id: int) -> str:
    """The barcode printed on a pick list."""
    return f"{PICK_LIST_PREFIX}{list_id:06d}"


def parse_pick_list_ref(text: str) -> int | None:
    """The id in a pick-list barcode, or None (a number no row id can be is no pick list)."""
    rest = text[len(PICK_LIST_PREFIX) :]
    if not (text.startswith(PICK_LIST_PREFIX) and rest.isascii() and rest.isdigit()):
        return None
    # Bounded before int(): "PL-" and 30 nines would overflow SQLite's INTEGER in a query.
    return int(rest) if len(rest) <= 16 and int(rest) <= MAX_INT else None


def gtin_key(code: str) -> str:
    """Numeric retail codes (EAN-8, UPC-A, EAN-13, GTIN-14) compare as GTIN-14."""
    return code.zfill(14) if code.isdigit() and len(code) in (8, 12, 13, 14) else code


def scan_keys(raw: str) -> tuple[str, set[str]]:
    """The text to match exactly, and every form an item barcode may match."""
    text, keys, _ = read_scan(raw)
    return text, keys


def read_scan(raw: str) -> tuple[str, set[str], str | None]:
    """The text, the item keys, and the lot a GS1 barcode carries (None if it carries none)."""
    text, keys, lot = _read_scan(raw)
    return text, set(keys), lot


@functools.lru_cache(maxsize=4096)
def _read_scan(raw: str) -> tuple[str, frozenset[str], str | None]:
    # A floor scans the same few thousand bin and item barcodes all day: each is parsed
    # once per process, not once per scan (parsing GS1 was ~4% of a scan's CPU).
    data = parse_scan(raw)
    keys = {data.text, gtin_key(data.text)}
    if data.gtin:
        keys.add(gtin_key(data.gtin))
    return data.text, frozenset(keys), data.lot


def matches_item(keys: set[str], item_barcodes: Sequence[str]) -> bool:
    return any(gtin_key(b) in keys for b in item_barcodes)


# Screens -------------------------------------------------------------------------------
def idle() -> DeviceState:
    return DeviceState(screen="idle", instruction=say.wait_for_work())


def screen(
    list_id: int,
    orders: Sequence[str],
    totes: dict[str, str],
    remaining: Sequence[StepView],
    at_location: bool,
    total: int,
    fetch_cart: bool = False,
    reships: dict[str, str] | None = None,
) -> DeviceState:
    """The picker's screen for a list: `remaining` are its open steps, current first;
    `reships` the list's orders that re-ship a lost parcel, with its tracking number."""
    remaining = [s for s in remaining if s.put < s.qty]
    done = total - sum(s.qty - s.put for s in remaining)
    step = remaining[0] if remaining else None
    tote = (
        totes.get(step.order_id) if step else (totes.get(orders[0]) if len(orders) == 1 else None)
    )
    common = dict(
        pick_list_id=list_id,
        orders=list(orders),
        totes=dict(totes),
        tote=tote,
        progress=Progress(done=done, total=total),
        remaining=remaining,
        reships=dict(reships or {}),
    )
    if fetch_cart and totes:
        on_cart = sorted(totes.values())
        return DeviceState(
            screen="pick_tote",
            instruction=say.fetch_cart(on_cart),
            expect=Expect(kind="tote", barcodes=on_cart),
            fetch_cart=True,
            **common,
        )
    missing = [o for o in orders if o not in totes]
    if missing:
        order = missing[0]
        text = (
            say.scan_empty_tote()
            if len(orders) == 1
            else say.scan_tote_for(order, orders.index(order) + 1, len(orders))
        )
        return DeviceState(
            screen="pick_tote",
            instruction=text,
            expect=Expect(kind="tote"),
            order_id=order,
            **common,
        )
    if step is None:
        # The drop-off: the handheld shows it first and the picker confirms it by scanning a
        # tote of the list at packing, before the next list's "Scan an empty tote".
        on_cart = [totes[o] for o in orders]
        return DeviceState(
            screen="pick_done",
            instruction=say.take_totes_to_packing(on_cart),
            detail=say.drop_off_confirm(on_cart),
            expect=Expect(kind="tote", barcodes=on_cart),
            **common,
        )
    left = step.qty - step.picked
    lot_note = f" · lot {step.lot}" if step.lot else ""
    where = dict(order_id=step.order_id, step=step)
    if step.picked > step.put:
        return DeviceState(
            screen="pick_put",
            instruction=say.put_in_tote(totes[step.order_id], step.order_id),
            detail=f"{step.product_name} · {step.put + 1} of {step.qty}",
            expect=Expect(kind="tote", barcodes=[totes[step.order_id]]),
            **where,
            **common,
        )
    if not at_location:
        return DeviceState(
            screen="pick_location",
            instruction=say.go_to(step.location),
            detail=say.pick(left, step.product_name, step.location),
            expect=Expect(kind="location", barcodes=[step.location_barcode]),
            **where,
            **common,
        )
    return DeviceState(
        screen="pick_item",
        instruction=say.pick(left, step.product_name, step.location),
        detail=f"{step.sku}{lot_note} · {step.put} of {step.qty} in tote {totes[step.order_id]}",
        expect=Expect(kind="item", barcodes=list(step.item_barcodes)),
        **where,
        **common,
    )


def drop_off(state: DeviceState) -> DeviceState:
    """The list-done screen of the list `state` belongs to: its totes go to packing."""
    total = state.progress.total if state.progress else 0
    return screen(
        state.pick_list_id or 0, state.orders, state.totes, [], False, total,
        reships=state.reships,
    )  # fmt: skip


def ask_short(state: DeviceState | None, plan: str) -> DeviceState | None:
    """The question after `CMD-SHORT` at the bin: how many are in it; `plan` says where the rest
    would come from. None when the picker is not at a bin (nothing to short)."""
    if state is None or state.screen not in ("pick_item", "pick_put", "pick_short"):
        return None
    step = state.step
    if step is None:
        return None
    return state.model_copy(
        update={
            "screen": "pick_short",
            "instruction": say.how_many_in_bin(step.location),
            "detail": f"{plan}. {say.short_counted(step.location)}",
        }
    )


def at_bin(state: DeviceState) -> DeviceState:
    """The bin's own screen (`pick_item`, or `pick_put` with a unit in hand) under a question."""
    if state.screen != "pick_short":
        return state
    return _again(state, dict(state.totes), list(state.remaining), at_location=True)


def _again(
    state: DeviceState, totes: dict[str, str], remaining: list[StepView], at_location: bool
) -> DeviceState:
    total = state.progress.total if state.progress else sum(s.qty for s in remaining)
    return screen(
        state.pick_list_id or 0, state.orders, totes, remaining, at_location, total,
        reships=state.reships,
    )  # fmt: skip


# Judging -------------------------------------------------------------------------------
def known_on_list(remaining: Sequence[StepView], text: str, keys: set[str]) -> Known | None:
    """What the list itself says a barcode is (a tote, one of its bins or items), or None."""
    if is_tote(text):
        return Known("tote")
    if any(text in (s.location_barcode, s.location) for s in remaining):
        return Known("location")
    held = next((s for s in remaining if matches_item(keys, s.item_barcodes)), None)
    return Known("item", held.product_name) if held else None


def _wrong_at_bin(
    screen_name: str, step: StepView, text: str, known: Known | None
) -> tuple[str, str]:
    """The code and message of a wrong scan at `pick_location` or `pick_item`, saying what the
    barcode is (or that it is none of a location, an item or a tote)."""
    kinds = {"item": "an item", "tote": "a tote", "location": "a bin label"}
    if screen_name == "pick_location":
        if known is None:  # offline, and not on this list: it may still be a bin of ours
            return "wrong_location", say.not_this_bin(text, step.location)
        if known.kind is None:
            return "unknown_barcode", say.unknown_at_location(text, step.location)
        if known.kind == "location":
            return "wrong_location", say.wrong_location(text, step.location)
        what = f"{known.name} ({kinds['item']})" if known.name else kinds[known.kind]
        return "wrong_location", say.not_a_location(text, what, step.location)
    if known is not None and known.kind is None:
        return "unknown_barcode", say.unknown_at_item(text, step.product_name)
    if known is not None and known.kind == "location":
        return "wrong_item", say.location_not_item(text, step.product_name)
    if known is not None and known.kind == "tote":
        return "wrong_item", say.tote_not_item(text, step.product_name)
    if known is None or not known.name:  # offline: only the list is known here
        return "wrong_item", say.not_on_list_item(text, step.product_name)
    return "wrong_item", say.wrong_item(text, step.product_name, known.name)


def judge(
    state: DeviceState | None,
    text: str,
    keys: set[str],
    tote_free: bool = True,
    lot: str | None = None,
    identify: Identify | None = None,
) -> Verdict:
    """The verdict on one scan of a picker whose screen is `state`; `lot` is the scan's GS1 lot.
    `identify` names a barcode the list does not know (the server's catalogue), after a wrong
    scan only; without it (offline) a wrong scan is named from the list alone."""
    if state is None or state.screen == "idle":
        return Verdict(False, "nothing_to_scan", say.nothing_to_scan(), state=state)
    if state.screen == "pick_done":
        return Verdict(False, "nothing_to_scan", state.instruction, state=state)
    totes = dict(state.totes)
    remaining = list(state.remaining)
    state = at_bin(state)  # a scan while a short pick is asked is judged at the bin
    if state.screen == "pick_tote" and state.fetch_cart:
        on_cart = sorted(totes.values())
        if text not in on_cart:
            return Verdict(False, "not_this_cart", say.not_this_cart(text, on_cart), state=state)
        # Fetching the cart took the picker away from the bin: the current bin is scanned again.
        after = _again(state, totes, remaining, at_location=False)
        return Verdict(
            True, "cart_found", say.cart_found(), CartFetched(state.pick_list_id or 0), after
        )
    if state.screen == "pick_tote":
        order = state.order_id or next(o for o in state.orders if o not in totes)
        if not is_tote(text):
            return Verdict(False, "not_a_tote", say.not_a_tote(text), state=state)
        if text in totes.values() or not tote_free:
            return Verdict(False, "tote_in_use", say.tote_in_use(text), state=state)
        totes[order] = text
        after = _again(state, totes, remaining, False)
        return Verdict(True, "tote_ok", say.tote_taken(text), SetTote(order, text), after)
    step = remaining[0]
    if state.screen == "pick_location":
        if text in (step.location_barcode, step.location):
            after = _again(state, totes, remaining, True)
            return Verdict(
                True, "location_ok", say.location_ok(step.location), AtLocation(step.step_id), after
            )
        known = known_on_list(remaining, text, keys) or (identify and identify(text, keys))
        code, message = _wrong_at_bin(state.screen, step, text, known or None)
        return Verdict(False, code, message, state=state)
    if state.screen == "pick_item":
        if not matches_item(keys, step.item_barcodes):
            # Name what the picker holds: the list knows its own items, the server all of them.
            known = known_on_list(remaining, text, keys) or (identify and identify(text, keys))
            code, message = _wrong_at_bin(state.screen, step, text, known or None)
            return Verdict(False, code, message, state=state)
        if step.lot and lot is None:
            return Verdict(False, "lot_required", say.scan_lot(step.lot), state=state)
        if step.lot and lot != step.lot:
            return Verdict(False, "wrong_lot", say.wrong_lot(lot or "", step.lot), state=state)
        one_tote = len(state.orders) <= 1
        moved = step.model_copy(update={"picked": step.picked + 1, "put": step.put + int(one_tote)})
        return _moved(state, totes, remaining, moved, Picked(step.step_id, put=one_tote), "item_ok")
    # pick_put: the unit in hand goes into its order's tote
    expected = totes[step.order_id]
    if text != expected:
        return Verdict(False, "wrong_tote", say.wrong_tote(text, expected), state=state)
    moved = step.model_copy(update={"put": step.put + 1})
    return _moved(state, totes, remaining, moved, Put(step.step_id), "put_ok")


def _moved(
    state: DeviceState,
    totes: dict[str, str],
    remaining: list[StepView],
    moved: StepView,
    change: Change,
    code: str,
) -> Verdict:
    """The verdict after a unit was picked or put: next unit, next step, or list done."""
    rest = [moved, *remaining[1:]] if moved.put < moved.qty else remaining[1:]
    after = _again(state, totes, rest, at_location=moved.put < moved.qty)
    if after.screen == "pick_done":
        return Verdict(True, "list_done", after.instruction, change, after)
    if after.screen == "pick_put":
        return Verdict(
            True, code, say.put_in_tote(totes[moved.order_id], moved.order_id), change, after
        )
    if code == "put_ok":
        return Verdict(True, code, say.put_ok(totes[moved.order_id]), change, after)
    return Verdict(True, code, say.item_ok(moved.picked, moved.qty), change, after)
