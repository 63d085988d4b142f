"""The pure rules of transfers: what is suggested, what the receiving dock takes, what is short."""

from __future__ import annotations

from server.inventory.domain import transfers as rules


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
    shipped, received = {"A": 2}, {"A": 1, "B": 0}
    assert rules.may_receive(shipped, received, "A") == "ok"
    assert rules.may_receive(shipped, received, "B") == "over"  # planned, none shipped
    assert rules.may_receive(shipped, received, "C") == "not_on_transfer"
    assert rules.may_receive(shipped, {"A": 2}, "A") == "over"
    assert rules.in_transit(shipped, received) == {"A": 1}
    assert rules.short({"A": 2, "B": 3}, {"A": 2, "B": 1}) == {"A": 0, "B": 2}
