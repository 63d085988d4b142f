"""The pure rules of transfers: what is suggested, what the receiving dock takes, what is short."""

from __future__ import annotations

from server.inventory.domain import transfers as rules


def why_not_settle(*args):
    """The reason `settle_problem` gives, without its field."""
    found = rules.settle_problem(*args)
    return found[1] if found else None


def test_a_need_is_covered_from_the_most_spare_after_what_is_coming():
    need = rules.shortfall(
        waiting={("WEST", "A"): 3, ("EAST", "B"): 1},
        free={("WEST", "A"): 0, ("NORTH", "A"): 4, ("EAST", "A"): 9, ("EAST", "B"): 0},
        safety={("WEST", "A"): 2, ("NORTH", "A"): 3},
    )
    assert need == {("WEST", "A"): 5, ("EAST", "B"): 1}
    spare = rules.spare(
        {("NORTH", "A"): 4, ("EAST", "A"): 9, ("EAST", "B"): 0},
        {("NORTH", "A"): 3},
        need,
    )
    assert spare == {("NORTH", "A"): 1, ("EAST", "A"): 9}
    # Two units already on their way to WEST: three more, all from EAST (most spare).
    moves = rules.suggest(need, spare, coming={("WEST", "A"): 2})
    assert moves == [rules.Suggestion("A", "EAST", "WEST", 3, 3)]
    # With EAST's spare short, the rest comes from NORTH; no source gives twice.
    moves = rules.suggest(
        {("WEST", "A"): 5, ("SOUTH", "A"): 5}, {("EAST", "A"): 4, ("NORTH", "A"): 1}, {}
    )
    assert moves == [
        rules.Suggestion("A", "EAST", "SOUTH", 4, 5),
        rules.Suggestion("A", "NORTH", "SOUTH", 1, 1),
    ]
    assert rules.suggest({("WEST", "A"): 2}, {("WEST", "A"): 9}, {}) == []  # not from itself


def test_the_dock_takes_what_was_shipped_and_closing_counts_the_short():
    shipped, received, planned = {("A", ""): 2}, {("A", ""): 1}, {"A", "B"}
    assert rules.may_receive(shipped, received, planned, "A", None) == ("ok", "")
    assert rules.may_receive(shipped, received, planned, "A", "L1") == ("ok", "")  # no lots sent
    assert rules.may_receive(shipped, received, planned, "B", None) == ("over", "")  # none shipped
    assert rules.may_receive(shipped, received, planned, "C", None)[0] == "not_on_transfer"
    assert rules.may_receive(shipped, {("A", ""): 2}, planned, "A", None) == ("over", "")
    assert rules.in_transit(shipped, received) == {("A", ""): 1}
    assert rules.short({"A": 2, "B": 3}, {"A": 2, "B": 1}) == {"A": 0, "B": 2}


def test_a_sku_shipped_in_lots_is_received_by_lot():
    shipped = {("T", "SOON"): 2, ("T", "LATE"): 1}
    received = {("T", "SOON"): 2}
    assert rules.may_receive(shipped, received, {"T"}, "T", None) == ("lot_required", "")
    assert rules.may_receive(shipped, received, {"T"}, "T", "LATE") == ("ok", "LATE")
    assert rules.may_receive(shipped, received, {"T"}, "T", "SOON") == ("over", "SOON")
    assert rules.may_receive(shipped, received, {"T"}, "T", "NEVER") == ("over", "NEVER")
    # Units without a lot shipped beside lots: a plain barcode counts among those.
    both = {("T", "L1"): 1, ("T", ""): 1}
    assert rules.may_receive(both, {}, {"T"}, "T", None) == ("ok", "")
    assert rules.in_transit(shipped, received) == {("T", "LATE"): 1}


def test_set_aside_units_are_settled_once_each_way():
    assert why_not_settle(2, 1, 0, "accept", "W-01-01") is None
    assert why_not_settle(2, 0, 0, "reject", None) is None
    assert why_not_settle(2, 1, 1, "reject", None) == (
        "no unit of it is set aside: nothing to settle"
    )
    assert why_not_settle(1, 0, 0, "accept", None) == "accept needs the bin the units go into"
    assert why_not_settle(1, 0, 0, "reject", "W-01-01") == (
        "a rejected unit goes into no bin: leave the bin out"
    )
    assert why_not_settle(1, 0, 0, "keep", None) == "decision must be accept or reject, not keep"


def test_some_of_the_set_aside_units_are_settled_and_the_rest_kept_or_rejected():
    assert why_not_settle(4, 1, 0, "accept", "W-01-01", 3) is None
    assert why_not_settle(4, 1, 0, "accept", "W-01-01", 4) == "4 units asked, 3 are set aside"
    assert why_not_settle(2, 1, 0, "reject", None, 2) == "2 units asked, 1 is set aside"
    assert why_not_settle(4, 0, 0, "accept", "W-01-01", 0) == "units must be at least 1, not 0"
    assert why_not_settle(4, 0, 0, "accept", "W-01-01", 1, "later") == (
        "the rest is kept set aside or rejected (keep or reject), not later"
    )
    assert why_not_settle(4, 0, 0, "reject", None, 1, "reject") == (
        "the rest of a rejection stays set aside: reject them all, or leave the rest out"
    )
    assert rules.settled(4, "accept", None, "keep") == {"accepted": 4, "rejected": 0}
    assert rules.settled(4, "accept", 1, "keep") == {"accepted": 1, "rejected": 0}
    assert rules.settled(4, "accept", 1, "reject") == {"accepted": 1, "rejected": 3}
    assert rules.settled(4, "reject", 2, "keep") == {"accepted": 0, "rejected": 2}
    assert rules.settled(4, "reject", None, "keep") == {"accepted": 0, "rejected": 4}
