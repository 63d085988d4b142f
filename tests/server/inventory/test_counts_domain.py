"""The pure rules of a cycle count: lines, tolerance, what follows, the ABC schedule."""

from __future__ import annotations

from datetime import date

import pytest

from server.inventory.domain import counts as rules
from server.inventory.domain.counts import CountClass, Line, Tolerance


def test_lines_cover_what_was_expected_and_what_was_found():
    got = rules.lines({("A", ""): 5, ("B", "L1"): 2}, {("A", ""): 4, ("C", ""): 1})
    assert got == [Line("A", "", 5, 4), Line("B", "L1", 2, 0), Line("C", "", 0, 1)]
    assert [x.diff for x in got] == [-1, -2, 1]


@pytest.mark.parametrize(
    ("tolerance", "expected", "counted", "ok"),
    [
        (Tolerance(), 5, 5, True),
        (Tolerance(), 5, 4, False),
        (Tolerance(units=1), 5, 4, True),
        (Tolerance(units=1), 5, 7, False),
        (Tolerance(percent=10), 100, 90, True),
        (Tolerance(percent=10), 100, 89, False),
        (Tolerance(units=2, percent=10), 5, 3, True),  # the larger of the two
        (Tolerance(percent=50), 0, 1, False),  # found where none was: no percentage of 0
    ],
)
def test_tolerance_is_the_larger_of_units_and_percent(tolerance, expected, counted, ok):
    assert tolerance.allows(expected, counted) is ok


def test_a_variance_asks_a_recount_then_an_approval():
    off = [Line("A", "", 5, 3)]
    exact = [Line("A", "", 5, 5)]
    assert rules.next_step("count", exact, Tolerance()) == "adjust"
    assert rules.next_step("count", off, Tolerance()) == "recount"
    assert rules.next_step("recount", off, Tolerance()) == "approval"
    assert rules.next_step("recount", off, Tolerance(units=2)) == "adjust"
    assert rules.matched(exact) and not rules.matched(off)


def test_accuracy_is_a_share_or_none():
    assert rules.accuracy(3, 4) == 0.75
    assert rules.accuracy(0, 0) is None


CLASSES = (CountClass("A", 0.2, 7), CountClass("B", 0.3, 30), CountClass("C", 0.5, 90))


def test_the_most_picked_bins_are_class_a():
    picks = {b: 100 - b for b in range(1, 11)}  # bin 1 most picked
    got = rules.classify(picks, CLASSES)
    assert [b for b, c in got.items() if c.name == "A"] == [1, 2]
    assert sorted(b for b, c in got.items() if c.name == "B") == [3, 4, 5]
    assert sorted(b for b, c in got.items() if c.name == "C") == [6, 7, 8, 9, 10]


def test_the_last_class_takes_every_bin_left():
    got = rules.classify({1: 0, 2: 0, 3: 0}, (CountClass("A", 0.1, 7), CountClass("B", 0.1, 9)))
    assert len(got) == 3 and {c.name for c in got.values()} <= {"A", "B"}


@pytest.mark.parametrize(
    ("bins", "names"),
    [(10, "AABBBCCCCC"), (5, "ABCCC"), (3, "ABC"), (2, "BC")],
)
def test_a_class_ends_at_its_cumulative_share_rounded_to_the_nearest_bin(bins, names):
    # docs/counts.md: of 2 bins none is A (0.4 rounds to 0); ties go to the bin made first.
    picks = dict.fromkeys(range(bins), 5)
    got = rules.classify(picks, rules.DEFAULT_CLASSES)
    assert "".join(got[b].name for b in range(bins)) == names


def test_a_bin_is_due_when_its_interval_has_passed_or_it_was_never_counted():
    classes_of = {1: CLASSES[0], 2: CLASSES[0], 3: CLASSES[2], 4: CLASSES[2]}
    last = {1: date(2026, 1, 1), 2: date(2026, 1, 7), 3: date(2025, 11, 1), 4: None}
    assert rules.due(classes_of, last, date(2026, 1, 8)) == [1, 4]
