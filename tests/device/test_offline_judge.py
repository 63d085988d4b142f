"""The device's offline judge against the server's own: same scans, same verdicts, same screens."""

from __future__ import annotations

from dataclasses import replace

import pytest

from device import offline
from server.floor.domain import picking
from server.floor.domain.floor import PickList, Step
from shared import picking as rules


def a_list(tote: str | None = None, second_order: str = "SO-1") -> PickList:
    """Three steps; two in the same bin (each needs its own location scan), one GS1-coded item."""
    steps = (
        Step(1, 1, "SO-1", "E-01-01", "LE-01-01", "SKU-B", "Red pen", ("0012345678905",), 2),
        Step(2, 2, "SO-1", "E-01-01", "LE-01-01", "SKU-C", "Green tea", ("9501101530003",), 1),
        Step(3, 3, second_order, "E-02-02", "LE-02-02", "SKU-A", "Blue mug", ("4006381333931",), 2),
    )
    orders = tuple(dict.fromkeys(s.order_id for s in steps))
    return PickList(7, "assigned", tote, steps, orders, {"SO-1": tote} if tote else {})


def server_scan(pl: PickList, barcode: str) -> tuple[picking.Verdict, PickList]:
    """What the server does with a scan: judge it, then store the change."""
    text, keys, lot = rules.read_scan(barcode)
    verdict = picking.judge(pl, text, keys, lot=lot)
    change = verdict.change
    if isinstance(change, picking.SetTote):
        return verdict, replace(pl, totes={**pl.totes, change.order_id: change.tote})
    steps = list(pl.steps)
    for i, s in enumerate(steps):
        if isinstance(change, picking.AtLocation) and s.step_id == change.step_id:
            steps[i] = replace(s, at_location=True)
        elif isinstance(change, picking.Picked) and s.step_id == change.step_id:
            steps[i] = replace(s, picked=s.picked + 1, put=s.put + int(change.put))
        elif isinstance(change, picking.Put) and s.step_id == change.step_id:
            steps[i] = replace(s, put=s.put + 1)
    return verdict, replace(pl, steps=tuple(steps))


WALK = [
    "BOX-9",  # not a tote
    "TOTE-12",
    "LE-02-02",  # wrong bin
    "LE-01-01",
    "4006381333931",  # the mug, but this step wants the pen
    "0012345678905",
    "]C10100012345678905",  # the pen again, as a GS1-128 element string
    "LE-01-01",  # same bin, next step: scanned again
    "9501101530003",
    "E-02-02",  # the location's code works as well as its barcode
    "4006381333931",
    "WRONG",
    "4006381333931",  # last unit: list done
    "4006381333931",  # nothing left to scan
]


CLUSTER_WALK = [
    "TOTE-1",
    "TOTE-1",  # already on this cart
    "TOTE-2",
    "LE-01-01",
    "0012345678905",
    "TOTE-2",  # the other order's tote
    "TOTE-1",
    "0012345678905",
    "TOTE-1",
    "LE-01-01",
    "9501101530003",
    "TOTE-1",
    "LE-02-02",
    "4006381333931",
    "TOTE-2",
    "4006381333931",
    "TOTE-2",  # last put: list done
]


@pytest.mark.parametrize(
    "pl, walk",
    [(a_list(), WALK), (a_list(second_order="SO-2"), CLUSTER_WALK)],
    ids=["one order", "cluster"],
)
def test_offline_judge_matches_the_server_scan_by_scan(pl, walk):
    state = picking.screen(pl)
    for barcode in walk:
        verdict, pl = server_scan(pl, barcode)
        local = offline.judge(state, barcode)
        assert (local.ok, local.code, local.message) == (
            verdict.ok,
            verdict.code,
            verdict.message,
        ), barcode
        assert local.state == picking.screen(pl), barcode
        state = local.state
    assert state.screen == "pick_done" and state.progress.done == state.progress.total == 5


def test_replay_skips_scans_for_another_list():
    state = picking.screen(a_list("TOTE-1"))
    after = offline.replay(state, [("LE-01-01", 7), ("0012345678905", 99), ("0012345678905", 7)])
    assert after.screen == "pick_item" and after.step.picked == 1


@pytest.mark.parametrize("screen", ["pack_start", "pack_verify", "pack_label"])
def test_packer_scans_are_only_queued(screen):
    state = picking.screen(a_list()).model_copy(update={"screen": screen})
    judged = offline.judge(state, "TOTE-12")
    assert judged.ok is None and judged.code == offline.QUEUED and judged.state is state


def test_no_state_yet_queues_and_idle_refuses():
    assert offline.judge(None, "TOTE-1").code == offline.QUEUED
    idle = picking.screen(None)
    verdict = picking.judge(None, "TOTE-1", {"TOTE-1"})
    local = offline.judge(idle, "TOTE-1")
    assert (local.ok, local.code, local.message) == (verdict.ok, verdict.code, verdict.message)


def test_a_badge_offline_is_queued_for_the_server_and_keeps_the_screen():
    state = picking.screen(a_list("TOTE-1"))
    judged = offline.judge(state, "BADGE-pia")
    assert judged.ok is None and judged.code == offline.QUEUED and judged.state is state
    after = offline.replay(state, [("BADGE-pia", None), ("LE-01-01", state.pick_list_id)])
    assert after.screen == "pick_item"
