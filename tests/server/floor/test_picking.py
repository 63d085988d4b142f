"""Picking and packing judged without IO, against their declared transition tables."""

from __future__ import annotations

import dataclasses

import pytest

from server.floor.domain import packing, picking
from server.floor.domain.floor import PickList, Step, gtin_key, parse_pick_list_ref, pick_list_ref
from shared import picking as rules

MUG = ("4006381333931",)


def step(
    step_id=1,
    qty=2,
    picked=0,
    at_location=False,
    verified=0,
    location="A-01-01",
    codes=MUG,
    put=None,
):
    """A step of order SO-1; a one-order list puts as it picks, so put defaults to picked."""
    put = picked if put is None else put
    return Step(
        step_id,
        step_id,
        "SO-1",
        location,
        "L" + location,
        "SKU-A",
        "Mug",
        codes,
        qty,
        picked,
        at_location,
        verified,
        put,
    )


CLUSTER = PickList(
    9,
    "assigned",
    "TOTE-1",
    (
        Step(
            1,
            1,
            "SO-1",
            "A-01-01",
            "LA-01-01",
            "SKU-A",
            "Mug",
            ("4006381333931",),
            1,
            0,
            False,
            0,
            0,
        ),
        Step(
            2,
            2,
            "SO-2",
            "B-01-01",
            "LB-01-01",
            "SKU-A",
            "Mug",
            ("4006381333931",),
            1,
            0,
            False,
            0,
            0,
        ),
    ),
    ("SO-1", "SO-2"),
    {"SO-1": "TOTE-1", "SO-2": "TOTE-2"},
)


def keys(text: str) -> set[str]:
    return {text, gtin_key(text)}


def test_idle_without_a_list():
    assert picking.screen(None).screen == "idle"
    v = picking.judge(None, "LA-01-01", keys("LA-01-01"))
    assert not v.ok and v.code == "nothing_to_scan" and v.change is None


def test_tote_first_then_location_then_items():
    pl = PickList(1, "assigned", None, (step(),))
    assert picking.screen(pl).screen == "pick_tote"
    assert picking.judge(pl, "A-01-01", keys("A-01-01")).code == "not_a_tote"
    assert picking.judge(pl, "TOTE-1", keys("TOTE-1"), tote_free=False).code == "tote_in_use"
    v = picking.judge(pl, "TOTE-1", keys("TOTE-1"))
    assert v.ok and v.change == picking.SetTote("SO-1", "TOTE-1")

    pl = dataclasses.replace(pl, tote="TOTE-1")
    s = picking.screen(pl)
    assert s.screen == "pick_location" and s.expect.barcodes == ["LA-01-01"]
    assert picking.judge(pl, "LB-01-01", keys("LB-01-01")).code == "wrong_location"
    assert picking.judge(pl, "LA-01-01", keys("LA-01-01")).change == picking.AtLocation(1)

    pl = dataclasses.replace(pl, steps=(step(at_location=True),))
    assert picking.screen(pl).screen == "pick_item"
    assert picking.judge(pl, "123", keys("123")).code == "wrong_item"
    # An EAN-13 matches the same item scanned as GTIN-14 (a GS1 element string).
    v = picking.judge(pl, "04006381333931", keys("04006381333931"))
    assert v.ok and v.code == "item_ok" and v.change == picking.Picked(1, put=True)

    pl = dataclasses.replace(pl, steps=(step(at_location=True, picked=1, put=1),))
    v = picking.judge(pl, MUG[0], keys(MUG[0]))
    assert v.code == "list_done" and v.state.screen == "pick_done"
    pl = dataclasses.replace(pl, steps=(step(at_location=True, picked=2, put=2),))
    assert picking.screen(pl).screen == "pick_done"


@pytest.mark.parametrize(
    "pl",
    [
        None,
        PickList(1, "assigned", None, (step(),)),
        PickList(1, "assigned", "TOTE-1", (step(),)),
        PickList(1, "assigned", "TOTE-1", (step(at_location=True),)),
        PickList(
            1, "assigned", "TOTE-1", (step(at_location=True, picked=1), step(2, location="B-01-01"))
        ),
        PickList(1, "assigned", "TOTE-1", (step(at_location=True, picked=2),)),
        CLUSTER,
        dataclasses.replace(
            CLUSTER, steps=(step(at_location=True, picked=1, put=0), CLUSTER.steps[1])
        ),
        dataclasses.replace(CLUSTER, cart_away=True),
        dataclasses.replace(CLUSTER, totes={"SO-1": "TOTE-1"}),
    ],
)
@pytest.mark.parametrize("text", ["TOTE-9", "TOTE-1", "LA-01-01", "LB-01-01", MUG[0], "junk"])
def test_no_scan_leaves_the_picking_table(pl, text):
    before = picking.screen(pl).screen
    v = picking.judge(pl, text, keys(text))
    after = picking.screen(apply(pl, v.change)).screen if pl else "idle"
    assert after in picking.TRANSITIONS[before] or after == "idle", (before, after)
    if pl is not None:
        # The state the rules predict (what an offline device draws) is the stored outcome.
        assert v.state == picking.screen(apply(pl, v.change)), (before, text)


def apply(pl: PickList, change) -> PickList:
    if isinstance(change, picking.CartFetched):
        steps = tuple(dataclasses.replace(s, at_location=False) for s in pl.steps)
        return dataclasses.replace(pl, cart_away=False, steps=steps)
    if isinstance(change, picking.SetTote):
        return dataclasses.replace(
            pl,
            tote=pl.tote or change.tote,
            totes={**picking.totes_of(pl), change.order_id: change.tote},
        )
    steps = []
    for s in pl.steps:
        if isinstance(change, picking.AtLocation) and s.step_id == change.step_id:
            s = dataclasses.replace(s, at_location=True)
        if isinstance(change, picking.Picked) and s.step_id == change.step_id:
            s = dataclasses.replace(s, picked=s.picked + 1, put=s.put + int(change.put))
        if isinstance(change, picking.Put) and s.step_id == change.step_id:
            s = dataclasses.replace(s, put=s.put + 1)
        steps.append(s)
    return dataclasses.replace(pl, steps=tuple(steps))


def test_cluster_cart_a_tote_per_order_and_every_put_confirmed():
    pl = PickList(9, "assigned", None, CLUSTER.steps, ("SO-1", "SO-2"), {})
    s = picking.screen(pl)
    assert s.screen == "pick_tote" and s.order_id == "SO-1" and "1 of 2" in s.instruction
    pl = apply(pl, picking.judge(pl, "TOTE-1", keys("TOTE-1")).change)
    assert picking.judge(pl, "TOTE-1", keys("TOTE-1")).code == "tote_in_use"  # one tote per order
    pl = apply(pl, picking.judge(pl, "TOTE-2", keys("TOTE-2")).change)
    assert picking.screen(pl).screen == "pick_location"
    pl = apply(pl, picking.judge(pl, "LA-01-01", keys("LA-01-01")).change)
    v = picking.judge(pl, MUG[0], keys(MUG[0]))
    assert v.change == picking.Picked(1, put=False) and v.state.screen == "pick_put"
    pl = apply(pl, v.change)
    s = picking.screen(pl)
    assert s.screen == "pick_put" and s.expect.barcodes == ["TOTE-1"] and s.progress.done == 0
    assert (
        picking.judge(pl, "TOTE-2", keys("TOTE-2")).code == "wrong_tote"
    )  # the other order's tote
    v = picking.judge(pl, "TOTE-1", keys("TOTE-1"))
    assert v.ok and v.code == "put_ok" and v.change == picking.Put(1)
    pl = apply(pl, v.change)
    assert picking.screen(pl).screen == "pick_location"  # the step is done; next bin
    assert picking.screen(pl) == v.state  # what the rules predicted is what the store gives


def test_packing_checks_each_item_then_the_label():
    pl = PickList(7, "packing", "TOTE-1", (step(picked=2, verified=0),))
    bench = packing.Bench(pl)
    assert packing.screen(bench).screen == "pack_verify"
    assert packing.judge(bench, "999", keys("999")).code == "item_not_in_order"
    v = packing.judge(bench, MUG[0], keys(MUG[0]))
    assert v.ok and v.code == "item_checked" and v.change == packing.Verified(1)
    bench = packing.Bench(dataclasses.replace(pl, steps=(step(picked=2, verified=1),)))
    assert packing.judge(bench, MUG[0], keys(MUG[0])).code == "all_checked"
    done = dataclasses.replace(pl, steps=(step(picked=2, verified=2),))
    assert packing.screen(packing.Bench(done)).instruction.startswith("Printing")
    assert packing.judge(packing.Bench(done), MUG[0], keys(MUG[0])).code == "label_not_ready"
    labelled = packing.Bench(done, packing.Package(3, "SF0000000012", "printed"))
    s = packing.screen(labelled)
    assert s.screen == "pack_label" and s.expect.barcodes == ["SF0000000012"]
    assert packing.judge(labelled, "SF0000000029", keys("SF0000000029")).code == "wrong_label"
    v = packing.judge(labelled, "SF0000000012", keys("SF0000000012"))
    assert v.ok and v.change == packing.ConfirmLabel(3)


def test_an_extra_unit_is_refused():
    pl = PickList(
        7, "packing", "TOTE-1", (step(picked=1, verified=1), step(2, picked=1, codes=("111",)))
    )
    assert packing.judge(packing.Bench(pl), MUG[0], keys(MUG[0])).code == "item_extra"


def test_start_packing_only_a_picked_list():
    pl = PickList(7, "picked", "TOTE-1", (step(picked=2),))
    assert packing.judge_start(None, "TOTE-2", False).code == "unknown_container"
    assert packing.judge_start(pl, "TOTE-1", True).code == "on_other_bench"
    assert (
        packing.judge_start(dataclasses.replace(pl, status="assigned"), "TOTE-1", False).code
        == "not_ready"
    )
    assert packing.judge_start(pl, "TOTE-1", False).change == packing.StartPacking(7)
    assert packing.screen(None, ("TOTE-1",)).expect.barcodes == ["TOTE-1"]


def test_pick_list_refs_round_trip():
    assert pick_list_ref(12) == "PL-000012"
    assert parse_pick_list_ref("PL-000012") == 12
    assert parse_pick_list_ref("PL-x") is None and parse_pick_list_ref("TOTE-1") is None


def test_a_lot_tracked_step_takes_only_its_lot():
    pl = PickList(3, "assigned", "TOTE-1", (dataclasses.replace(step(at_location=True), lot="L7"),))
    assert "lot L7" in picking.screen(pl).detail
    assert picking.judge(pl, MUG[0], keys(MUG[0])).code == "lot_required"
    gs1 = "]C10104006381333931" + "10L8"
    text, found, lot = rules.read_scan(gs1)
    assert lot == "L8" and picking.judge(pl, text, found, lot=lot).code == "wrong_lot"
    text, found, lot = rules.read_scan("]C10104006381333931" + "10L7")
    v = picking.judge(pl, text, found, lot=lot)
    assert v.ok and v.code == "item_ok"


PEN_STEP = Step(2, 2, "SO-1", "A-01-02", "LA-01-02", "SKU-B", "Red pen", ("0012345678905",), 3)


def test_the_pack_screen_lists_what_is_still_expected():
    picked = (
        step(picked=2, at_location=True),
        dataclasses.replace(PEN_STEP, picked=3, put=3, verified=1),
    )
    bench = packing.Bench(PickList(1, "picked", "TOTE-1", picked))
    s = packing.screen(bench)
    assert s.screen == "pack_verify"
    assert s.detail == "Still to check: 2 × Mug, 2 × Red pen"
    almost = (
        dataclasses.replace(picked[0], verified=2),
        dataclasses.replace(picked[1], verified=2),
    )
    s = packing.screen(packing.Bench(PickList(1, "picked", "TOTE-1", almost)))
    assert s.detail == "Still to check: 1 × Red pen"


def test_a_wrong_item_says_what_was_scanned():
    pl = PickList(1, "assigned", "TOTE-1", (step(at_location=True), PEN_STEP))
    # The pen is on the list (a later step): its name says what the picker holds.
    v = picking.judge(pl, "0012345678905", keys("0012345678905"))
    assert v.code == "wrong_item" and v.message == "Wrong item: Red pen (0012345678905). Pick Mug"
    # Off the list, without the catalogue (a handheld offline): still both named, as far as known.
    v = picking.judge(pl, "5000000000000", keys("5000000000000"))
    assert v.message == "Wrong item: 5000000000000 is not on this list. Pick Mug"
