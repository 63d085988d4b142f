"""Judging a picker's scans on the device while the server cannot answer.

The server's last state holds the picker's list: the tote, the current step
and every step still open (`DeviceState.remaining`). While the link is down the
device judges each scan against it, exactly as the server would (tote, then for
each step its location, then one scan per unit), and draws the next screen
itself, so the worker keeps picking. The journal keeps each scan with the
verdict the worker saw; on reconnect the server judges them again in order and
its answer wins. Packers' scans are only queued: packing needs the server
(labels, totes on other benches).

This mirrors `server/domain/picking.py` and its sentences in
`server/domain/messages.py`; `tests/device/test_offline_judge.py` runs both on the
same scans so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.barcodes import parse_scan
from shared.protocol import DeviceState, Expect, Progress, StepView

TOTE_PATTERN = re.compile(r"^TOTE-\d{1,8}$")
PICK_SCREENS = ("idle", "pick_tote", "pick_location", "pick_item", "pick_done")
QUEUED = "queued"  # the code of a scan kept for the server without a local verdict


@dataclass(frozen=True)
class Judged:
    """A local verdict: ok is None when the scan is only queued for the server."""

    ok: bool | None
    code: str
    message: str
    state: DeviceState | None


# The sentences a picker reads, as the server words them ------------------------------
def _go_to(location: str) -> str:
    return f"Go to {location}"


def _pick(qty: int, name: str, location: str) -> str:
    return f"Pick {qty} × {name} from {location}"


def _take_tote_to_packing(tote: str | None) -> str:
    return f"List done. Take tote {tote} to packing" if tote else "List done. Take it to packing"


def queued_message(waiting: int) -> str:
    """What a worker reads when a scan waits for the server."""
    return f"Saved offline: sent when the link is back ({waiting} waiting)"


# Barcode forms --------------------------------------------------------------------------
def gtin_key(code: str) -> str:
    """Numeric retail codes (EAN-8, UPC-A, EAN-13, GTIN-14) compare as GTIN-14."""
    return code.zfill(14) if code.isdigit() and len(code) in (8, 12, 13, 14) else code


def scan_keys(raw: str) -> tuple[str, set[str]]:
    """The text to match exactly, and every form an item barcode may match."""
    data = parse_scan(raw)
    keys = {data.text, gtin_key(data.text)}
    if data.gtin:
        keys.add(gtin_key(data.gtin))
    return data.text, keys


# Screens ---------------------------------------------------------------------------------
def picking_screen(
    state: DeviceState, tote: str | None, remaining: list[StepView], at_location: bool
) -> DeviceState:
    """The screen for a list whose open steps are `remaining` (current first)."""
    total = state.progress.total if state.progress else sum(s.qty for s in remaining)
    done = total - sum(s.qty - s.picked for s in remaining)
    common = dict(
        pick_list_id=state.pick_list_id,
        tote=tote,
        progress=Progress(done=done, total=total),
        remaining=remaining,
    )
    if tote is None:
        return DeviceState(
            screen="pick_tote",
            instruction="Scan an empty tote",
            expect=Expect(kind="tote"),
            **common,
        )
    if not remaining:
        return DeviceState(screen="pick_done", instruction=_take_tote_to_packing(tote), **common)
    step = remaining[0]
    left = step.qty - step.picked
    if not at_location:
        return DeviceState(
            screen="pick_location",
            instruction=_go_to(step.location),
            detail=_pick(left, step.product_name, step.location),
            expect=Expect(kind="location", barcodes=[step.location_barcode]),
            order_id=step.order_id,
            step=step,
            **common,
        )
    return DeviceState(
        screen="pick_item",
        instruction=_pick(left, step.product_name, step.location),
        detail=f"{step.sku} · {step.picked} of {step.qty} in tote",
        expect=Expect(kind="item", barcodes=list(step.item_barcodes)),
        order_id=step.order_id,
        step=step,
        **common,
    )


# Judging -------------------------------------------------------------------------------
def judge(state: DeviceState | None, barcode: str) -> Judged:
    """The verdict on one scan made offline, and the screen it leads to."""
    if state is None or state.screen not in PICK_SCREENS:
        return Judged(None, QUEUED, queued_message(0), state)
    if state.screen == "idle":
        return Judged(False, "nothing_to_scan", "Nothing to scan now", state)
    if state.screen == "pick_done":
        return Judged(False, "nothing_to_scan", _take_tote_to_packing(state.tote), state)
    text, keys = scan_keys(barcode)
    remaining = list(state.remaining)
    if state.screen == "pick_tote":
        if not TOTE_PATTERN.match(text):
            return Judged(False, "not_a_tote", f"{text} is not a tote. Scan an empty tote", state)
        # The server also checks that no other list holds the tote; offline we cannot.
        return Judged(
            True, "tote_ok", f"Tote {text} started", picking_screen(state, text, remaining, False)
        )
    if not remaining:  # a list with nothing open shows pick_done; be safe anyway
        return Judged(False, "nothing_to_scan", _take_tote_to_packing(state.tote), state)
    step = remaining[0]
    if state.screen == "pick_location":
        if text in (step.location_barcode, step.location):
            after = picking_screen(state, state.tote, remaining, True)
            return Judged(True, "location_ok", f"At {step.location}", after)
        message = f"Wrong location {text}. Go to {step.location}"
        return Judged(False, "wrong_location", message, state)
    if not any(gtin_key(b) in keys for b in step.item_barcodes):
        message = f"Wrong item {text}. Pick {step.product_name}"
        return Judged(False, "wrong_item", message, state)
    units_left = sum(s.qty - s.picked for s in remaining)
    picked = step.model_copy(update={"picked": step.picked + 1})
    if picked.picked < picked.qty:
        remaining[0] = picked
        after = picking_screen(state, state.tote, remaining, True)
    else:
        after = picking_screen(state, state.tote, remaining[1:], False)
    if units_left == 1:
        return Judged(True, "list_done", _take_tote_to_packing(state.tote), after)
    return Judged(True, "item_ok", f"Picked {picked.picked} of {picked.qty}", after)


def replay(state: DeviceState | None, barcodes: list[tuple[str, int | None]]) -> DeviceState | None:
    """The screen after judging these (barcode, list id) scans in order on top of `state`.

    A scan made for another list than the one `state` shows does not count:
    the server refuses those too (`list_changed`).
    """
    for barcode, list_id in barcodes:
        if state is not None and list_id is not None and list_id != state.pick_list_id:
            continue
        state = judge(state, barcode).state
    return state
