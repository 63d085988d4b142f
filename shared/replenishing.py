"""Replenishment on the handheld: the rules of a move's three scans, and the words a picker
reads while moving stock to a face, for the server and an offline handheld alike.

A move is three scans, declared in `TRANSITIONS`: the reserve bin's label, the item
(each scan one unit, or a GS1 count), then the face bin's label, which moves the stock.
A face scanned with fewer units carried than planned moves what was carried (reserve
held fewer than the system thought). The server judges a scan against the move it stores
(`server/inventory/replenishing.py`, which also says what the barcode is from its
database); a handheld whose link is down judges it against the move its screen holds
(`DeviceState.move`) with the same table and sentences (`judge_on_device`). Offline it
knows only the move's two bins and its item: any other barcode is `unlisted`, and the
server, judging it again when the link is back, says what it was. The server's answer
wins: the stock moves only when the server takes the face scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.barcodes import parse_scan
from shared.picking import Verdict, matches_item, read_scan
from shared.protocol import DeviceState, Expect, MoveView, Progress

Stage = Literal["reserve", "item", "face", "done"]
# What a scan is to the move. `unlisted`: none of the move's bins or item, judged on a
# handheld that cannot ask the server what else it is.
ScanKind = Literal["reserve", "face", "item", "other_item", "other_bin", "unknown", "unlisted"]
SCREENS: dict[str, Stage] = {
    "replen_reserve": "reserve",
    "replen_item": "item",
    "replen_face": "face",
}


@dataclass(frozen=True)
class Move:
    """A move task as the handheld works it."""

    stage: Stage
    qty: int
    carried: int


@dataclass(frozen=True)
class Step:
    """What one scan did: accepted or not, its code, the new stage and units carried."""

    ok: bool
    code: str
    stage: Stage
    carried: int

    @property
    def moves_stock(self) -> bool:
        return self.ok and self.stage == "done"


# (stage, what was scanned) -> result code; an ok code changes the stage as `judge` says.
TRANSITIONS: dict[tuple[Stage, ScanKind], str] = {
    ("reserve", "reserve"): "replen_reserve_ok",
    ("reserve", "face"): "replen_reserve_first",
    ("reserve", "item"): "replen_reserve_first",
    ("reserve", "other_item"): "replen_reserve_first",
    ("reserve", "other_bin"): "replen_wrong_bin",
    ("reserve", "unknown"): "replen_unknown",
    ("reserve", "unlisted"): "replen_not_reserve",
    ("item", "reserve"): "replen_reserve_ok",
    ("item", "item"): "replen_item_ok",
    ("item", "face"): "replen_done",
    ("item", "other_item"): "replen_wrong_item",
    ("item", "other_bin"): "replen_wrong_bin",
    ("item", "unknown"): "replen_unknown",
    ("item", "unlisted"): "replen_not_item",
    ("face", "face"): "replen_done",
    ("face", "item"): "replen_all_carried",
    ("face", "reserve"): "replen_all_carried",
    ("face", "other_item"): "replen_wrong_item",
    ("face", "other_bin"): "replen_wrong_face",
    ("face", "unknown"): "replen_unknown",
    ("face", "unlisted"): "replen_not_face",
}
OK_CODES = frozenset({"replen_reserve_ok", "replen_item_ok", "replen_done"})


def judge(move: Move, kind: ScanKind, units: int = 1) -> Step:
    """One scan of a move: the reserve bin, then the item (`units` each scan), then the face."""
    code = TRANSITIONS[(move.stage, kind)]
    if code == "replen_done" and move.carried == 0:
        return Step(False, "replen_item_first", move.stage, move.carried)
    if code == "replen_item_ok":
        if move.carried + units > move.qty:
            return Step(False, "replen_too_many", move.stage, move.carried)
        carried = move.carried + units
        return Step(True, code, "face" if carried == move.qty else "item", carried)
    if code == "replen_reserve_ok":
        return Step(True, code, "item" if move.carried < move.qty else "face", move.carried)
    if code == "replen_done":
        return Step(True, code, "done", move.carried)
    return Step(False, code, move.stage, move.carried)


def screen(move: MoveView, stage: Stage) -> DeviceState:
    """What a handheld moving stock shows at each stage (the server's and the device's)."""
    if stage == "reserve":
        return DeviceState(
            screen="replen_reserve",
            instruction=go_to_reserve(move.reserve, move.qty, move.name, move.face, move.urgent),
            expect=Expect(kind="location", barcodes=[move.reserve_barcode]),
            move=move,
        )
    progress = Progress(done=move.carried, total=move.qty)
    if stage == "item":
        return DeviceState(
            screen="replen_item",
            instruction=take_items(move.reserve, move.carried, move.qty, move.name, move.face),
            expect=Expect(kind="item", barcodes=list(move.item_barcodes)),
            progress=progress,
            move=move,
        )
    return DeviceState(
        screen="replen_face",
        instruction=to_face(move.face, move.carried, move.name),
        expect=Expect(kind="location", barcodes=[move.face_barcode]),
        progress=progress,
        move=move,
    )


def kind_on_device(move: MoveView, text: str, keys: set[str]) -> ScanKind:
    """What a scan is to the move, from the move alone (the server asks its database)."""
    if text in (move.reserve_barcode, move.reserve):
        return "reserve"
    if text in (move.face_barcode, move.face):
        return "face"
    if text == move.sku or matches_item(keys, move.item_barcodes):
        return "item"
    return "unlisted"


def facts(move: MoveView, text: str, carried: int) -> dict[str, object]:
    """What the sentences of a move's result codes are filled with."""
    return {"reserve": move.reserve, "face": move.face, "name": move.name, "qty": move.qty,
            "carried": carried, "text": text}  # fmt: skip


def judge_on_device(state: DeviceState, barcode: str) -> Verdict:
    """The verdict on a scan of a move made offline, and the screen it leads to. The face
    scan ends the move on the device, which cannot know the next work: it waits for the
    server (nothing moves on the shelves' books until the server takes that scan)."""
    move = state.move
    if move is None or state.screen not in SCREENS:
        raise ValueError(f"not a move's screen: {state.screen}")
    text, keys, _ = read_scan(barcode)
    units = read_units(barcode)
    step = judge(
        Move(SCREENS[state.screen], move.qty, move.carried), kind_on_device(move, text, keys), units
    )
    said = message(step.code, **facts(move, text, step.carried))
    if not step.ok:
        return Verdict(False, step.code, said, state=state)
    if step.stage == "done":
        after = DeviceState(screen="idle", instruction=said, detail=NEXT_WHEN_ONLINE)
        return Verdict(True, step.code, said, state=after)
    after = screen(move.model_copy(update={"carried": step.carried}), step.stage)
    return Verdict(True, step.code, said, state=after)


def read_units(barcode: str) -> int:
    """Units one item scan takes: a GS1 barcode's count, else one."""
    return parse_scan(barcode).quantity or 1


def go_to_reserve(reserve: str, qty: int, name: str, face: str, urgent: bool) -> str:
    why = "Picks wait: " if urgent else ""
    return f"{why}Move {qty} {name} from {reserve} to {face}: go to {reserve} and scan its label"


def take_items(reserve: str, carried: int, qty: int, name: str, face: str) -> str:
    return (
        f"At {reserve}: scan each {name} you take ({carried} of {qty}); "
        f"scan {face} when you have them"
    )


def to_face(face: str, carried: int, name: str) -> str:
    return f"Take {carried} {name} to {face} and scan its label"


def short_replenishing(found: int, location: str, missing: int, reserve: str) -> str:
    """A short pick that reserve refills: the missing units wait for the move, not elsewhere."""
    rest = f"the other {missing} {'waits' if missing == 1 else 'wait'}"
    return (
        f"Short pick at {location}: {found} found. Bin sent for a count. "
        f"Reserve {reserve} refills it: {rest} for the move, then get picked"
    )


def short_if_empty_replenishing(missing: int, reserve: str) -> str:
    return f"If it is empty: reserve {reserve} refills the bin and {missing} wait for the move"


NEXT_WHEN_ONLINE = "Offline: your next work comes when the link is back"
MESSAGES = {
    "replen_reserve_ok": "Reserve bin OK: scan the items",
    "replen_item_ok": "Taken: {carried} of {qty}",
    "replen_done": "Moved {carried} to {face}: thank you",
    "replen_reserve_first": "Go to reserve bin {reserve} and scan its label first",
    "replen_wrong_bin": "Wrong bin: take the items from {reserve}",
    "replen_wrong_face": "Wrong bin: the items go to {face}",
    "replen_wrong_item": "Wrong item: this move is for {name}",
    "replen_unknown": "Unknown barcode {text}: scan a bin label or the item",
    "replen_item_first": "Scan the items you take from {reserve} first",
    "replen_too_many": "Only {qty} to move: put the extra one back in {reserve}",
    "replen_all_carried": "All {carried} taken: scan {face}",
    "replen_stock_changed": "{reserve} no longer holds these units: call a supervisor",
    "replen_face_full": "{face} cannot take {carried} more: call a supervisor",
    "replen_changed": "Move {task_id} is no longer yours: this scan does not count",
    # Offline only: the handheld knows the move's bins and item, nothing else.
    "replen_not_reserve": "{text} is not the label of {reserve}: go to {reserve} and scan it",
    "replen_not_item": "{text} is not {name}: scan the {name} you take from {reserve}",
    "replen_not_face": "{text} is not the label of {face}: take the items to {face}",
}


def message(code: str, **facts: object) -> str:
    """The sentence for a result code, with the move's facts filled in."""
    return MESSAGES[code].format(**facts)
