"""Judging a picker's scans on the device while the server cannot answer.

The server's last state holds the picker's list: the totes, the current step
and every step still open (`DeviceState.remaining`). While the link is down the
device judges each scan against it with the very rules the server applies
(`shared/picking.py`) and draws the next screen itself, so the worker keeps
picking. A move to a pick face (`replen_*` screens) is judged the same way against
the move the screen holds (`DeviceState.move`, rules in `shared/replenishing.py`):
reserve bin, items, face; the face scan ends the move on the device, and the next
work waits for the server. The journal keeps each scan with the verdict the worker
saw; on reconnect the server judges them again in order and its answer wins (the
stock moves only when the server takes the face scan). Packers' scans are only
queued: packing needs the server (labels, totes on other benches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared import picking as rules
from shared import replenishing as moves
from shared.commands import BADGE_PREFIX
from shared.protocol import DeviceState

QUEUED = "queued"  # the code of a scan kept for the server without a local verdict


@dataclass(frozen=True)
class Judged:
    """A local verdict: ok is None when the scan is only queued for the server."""

    ok: bool | None
    code: str
    message: str
    state: DeviceState | None


def queued_message(waiting: int) -> str:
    """What a worker reads when a scan waits for the server."""
    return f"Saved offline: sent when the link is back ({waiting} waiting)"


def judge(state: DeviceState | None, barcode: str) -> Judged:
    """The verdict on one scan made offline, and the screen it leads to."""
    if barcode.startswith(BADGE_PREFIX):
        # Only the server knows its users: a badge waits for it, in journal order, so the
        # scans after it are that worker's when replayed. The screen stays as it is.
        return Judged(None, QUEUED, queued_message(0), state)
    if state is not None and state.screen in moves.SCREENS and state.move is not None:
        verdict = moves.judge_on_device(state, barcode)
        return Judged(verdict.ok, verdict.code, verdict.message, verdict.state)
    if state is None or state.screen not in rules.PICK_SCREENS:
        return Judged(None, QUEUED, queued_message(0), state)
    text, keys, lot = rules.read_scan(barcode)
    # Whether another cart holds the tote only the server knows; offline the scan is taken.
    verdict = rules.judge(state, text, keys, lot=lot)
    return Judged(verdict.ok, verdict.code, verdict.message, verdict.state)


def replay(
    state: DeviceState | None,
    barcodes: Sequence[tuple[str, int | None] | tuple[str, int | None, int | None]],
) -> DeviceState | None:
    """The screen after judging these (barcode, list id[, move id]) scans in order on top of
    `state`.

    A scan made for another list than the one `state` shows does not count: the server
    refuses those too (`list_changed`); nor does one made for a move to a pick face that
    `state` does not show (`replen_changed`).
    """
    for barcode, list_id, *more in barcodes:
        if state is not None and list_id is not None and list_id != state.pick_list_id:
            continue
        move_id = more[0] if more else None
        if move_id is not None and (
            state is None or state.move is None or state.move.task_id != move_id
        ):
            continue
        state = judge(state, barcode).state
    return state
