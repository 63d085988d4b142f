"""The pure rules of replenishment: limits, how much to move, from where, and the three scans."""

from __future__ import annotations

import pytest

from server.inventory.domain import replenishment as rules
from shared import replenishing as say


@pytest.mark.parametrize(
    ("min_qty", "max_qty", "field"),
    [(-1, 5, "min"), (0, 0, "max"), (6, 5, "max")],
)
def test_limits_that_cannot_be_are_refused_with_the_field(min_qty, max_qty, field):
    with pytest.raises(rules.LimitsError) as err:
        rules.Limits(min_qty, max_qty)
    assert [f for f, _ in err.value.problems] == [field]


@pytest.mark.parametrize(
    ("on_hand", "wanted"),
    [(0, 12), (1, 11), (2, 0), (12, 0), (40, 0)],
)
def test_a_face_below_its_min_is_topped_up_to_its_max(on_hand, wanted):
    assert rules.top_up(on_hand, rules.Limits(2, 12)) == wanted


def test_a_short_pick_moves_the_missing_units_or_up_to_the_max_if_more():
    assert rules.for_short(3, 0, None) == 3
    assert rules.for_short(3, 1, rules.Limits(2, 12)) == 11
    assert rules.for_short(20, 0, rules.Limits(2, 12)) == 20


def test_the_source_is_the_soonest_expiry_then_the_one_covering_most():
    a = rules.Source(1, "", None, 50)
    b = rules.Source(2, "L1", "2027-01-01", 5)
    c = rules.Source(3, "", None, 8)
    assert rules.choose_source([a, b, c], 10) == b  # expiring lots leave first
    assert rules.choose_source([a, c], 10) == a  # 50 covers all 10; 8 does not
    assert rules.choose_source([c, rules.Source(4, "", None, 9)], 5) == c  # both cover: lowest bin
    assert rules.choose_source([b, c], 10, at_least=6) == c  # the short needs 6 from one lot
    assert rules.choose_source([b], 10, at_least=6) is None
    assert rules.choose_source([], 1) is None


def test_every_scan_on_every_screen_has_a_verdict_and_a_sentence():
    stages = ("reserve", "item", "face")
    kinds = ("reserve", "face", "item", "other_item", "other_bin", "unknown", "unlisted")
    assert set(rules.TRANSITIONS) == {(s, k) for s in stages for k in kinds}
    codes = set(rules.TRANSITIONS.values()) | {"replen_item_first", "replen_too_many"}
    assert codes <= set(say.MESSAGES)


def test_the_three_scans_move_the_units_carried():
    move = rules.Move("reserve", 3, 0)
    assert rules.judge(move, "face") == rules.Step(False, "replen_reserve_first", "reserve", 0)
    assert rules.judge(move, "other_bin").code == "replen_wrong_bin"
    move = rules.Move("item", 3, 0)
    assert rules.judge(move, "face") == rules.Step(False, "replen_item_first", "item", 0)
    step = rules.judge(move, "item", 2)
    assert step == rules.Step(True, "replen_item_ok", "item", 2) and not step.moves_stock
    assert rules.judge(rules.Move("item", 3, 2), "item", 2).code == "replen_too_many"
    assert rules.judge(rules.Move("item", 3, 2), "item") == rules.Step(
        True, "replen_item_ok", "face", 3
    )
    # Reserve held fewer than planned: the face scanned early moves what was carried.
    early = rules.judge(rules.Move("item", 3, 2), "face")
    assert early == rules.Step(True, "replen_done", "done", 2) and early.moves_stock
    full = rules.Move("face", 3, 3)
    assert rules.judge(full, "item").code == "replen_all_carried"
    assert rules.judge(full, "other_bin").code == "replen_wrong_face"
    assert rules.judge(full, "face").moves_stock
