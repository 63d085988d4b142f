"""The device's offline judge against the server's own: same scans, same verdicts, same screens."""

from __future__ import annotations

from dataclasses import replace

import pytest

from device import offline
from server.floor.domain import picking
from server.floor.domain.floor import PickList, Step
from shared import picking as rules
from shared import replenishing as moves
from shared.protocol import MoveView


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


# ---------------------------------------------------------------- moves to pick faces
def a_move(carried: int = 0) -> MoveView:
    """Move 4 Red pen from reserve R-01 (label LR-01) to face E-01-01 (label LE-01-01)."""
    return MoveView(task_id=3, sku="SKU-B", name="Red pen", reserve="R-01",
                    reserve_barcode="LR-01", face="E-01-01", face_barcode="LE-01-01",
                    item_barcodes=["0012345678905"], qty=4, carried=carried, urgent=True)  # fmt: skip


def test_a_move_is_judged_offline_with_the_shared_table():
    state = moves.screen(a_move(), "reserve")
    assert state.screen == "replen_reserve" and state.instruction.startswith("Picks wait: ")
    seen = []
    for barcode in [
        "0012345678905",  # the item before the reserve bin
        "LE-09-09",  # not the move's bin
        "R-01",  # the reserve's code works as its label does
        "LE-01-01",  # the face with nothing taken
        "5000000000000",  # not the move's item
        "]C10100012345678905" + "305",  # 5 of 4
        "]C10100012345678905" + "303",
        "SKU-B",  # the SKU itself is the item where it has no other barcode
        "LR-01",  # all taken: the face now
        "LE-09-09",
        "LE-01-01",
        "LR-01",  # after the move: the next work waits for the server
    ]:
        judged = offline.judge(state, barcode)
        seen.append((judged.ok, judged.code))
        state = judged.state
    assert seen == [
        (False, "replen_reserve_first"),
        (False, "replen_not_reserve"),
        (True, "replen_reserve_ok"),
        (False, "replen_item_first"),
        (False, "replen_not_item"),
        (False, "replen_too_many"),
        (True, "replen_item_ok"),
        (True, "replen_item_ok"),
        (False, "replen_all_carried"),
        (False, "replen_not_face"),
        (True, "replen_done"),
        (False, "nothing_to_scan"),
    ]
    assert state.screen == "idle" and state.instruction == "Moved 4 to E-01-01: thank you"
    assert state.detail == moves.NEXT_WHEN_ONLINE


def test_offline_move_words_say_what_was_expected():
    at_reserve = offline.judge(moves.screen(a_move(), "reserve"), "LE-09-09")
    assert at_reserve.message == "LE-09-09 is not the label of R-01: go to R-01 and scan it"
    at_items = offline.judge(moves.screen(a_move(1), "item"), "5000000000000")
    assert at_items.message == "5000000000000 is not Red pen: scan the Red pen you take from R-01"
    at_face = offline.judge(moves.screen(a_move(4), "face"), "LE-09-09")
    assert at_face.message == "LE-09-09 is not the label of E-01-01: take the items to E-01-01"
    taken = offline.judge(moves.screen(a_move(1), "item"), "0012345678905")
    assert (taken.message, taken.state.progress.done) == ("Taken: 2 of 4", 2)


def test_a_move_replays_on_the_servers_state_and_without_the_move_is_only_queued():
    state = moves.screen(a_move(), "reserve")
    after = offline.replay(state, [("LR-01", None), ("0012345678905", None), ("BADGE-pia", None)])
    assert after.screen == "replen_item" and after.move.carried == 1
    # A server of an earlier release sends no move: the scans wait for it, as before.
    bare = state.model_copy(update={"move": None})
    judged = offline.judge(bare, "LR-01")
    assert judged.ok is None and judged.code == offline.QUEUED and judged.state is bare


def test_replay_skips_scans_judged_on_another_move():
    state = moves.screen(a_move(), "reserve")
    after = offline.replay(state, [("LR-01", None, 3), ("0012345678905", None, 99)])
    assert after.screen == "replen_item" and after.move.carried == 0  # move 99 is not shown
    on_a_list = picking.screen(a_list("TOTE-1"))
    assert offline.replay(on_a_list, [("LE-01-01", None, 3)]) == on_a_list


def test_the_journal_keeps_the_move_a_scan_was_judged_on(tmp_path):
    from device.journal import Journal

    journal = Journal(tmp_path / "journal.db")
    entry = journal.append("LR-01")
    journal.judged(entry.msg_id, True, "replen_reserve_ok", None, 3)
    (pending,) = journal.pending()
    assert (pending.move_id, pending.local_code, pending.judged) == (3, "replen_reserve_ok", True)
    reopened = Journal(tmp_path / "journal.db")  # on disk, read back after a restart
    assert reopened.pending()[0].move_id == 3
