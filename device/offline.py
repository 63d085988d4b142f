"""Judging a picker's scans on the device while the server cannot answer.

The server's last state holds the picker's list: the totes, the current step
and every step still open (`DeviceState.remaining`). While the link is down the
device judges each scan against it with the very rules the server applies
(`shared/picking.py`) and draws the next screen itself, so the worker keeps
picking. The journal keeps each scan with the verdict the worker saw; on
reconnect the server judges them again in order and its answer wins. Packers'
scans are only queued: packing needs the server (labels, totes on other benches).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import picking as rules
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
    if state is None or state.screen not in rules.PICK_SCREENS:
        return Judged(None, QUEUED, queued_message(0), state)
    text, keys, lot = rules.read_scan(barcode)
    # Whether another cart holds the tote only the server knows; offline the scan is taken.
    verdict = rules.judge(state, text, keys, lot=lot)
    return Judged(verdict.ok, verdict.code, verdict.message, verdict.state)


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
