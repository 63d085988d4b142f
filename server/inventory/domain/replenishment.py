"""Replenishment: the pure rules of topping up a pick face from a reserve bin.

A pick face holds a min and a max per SKU. When what it holds falls below the min,
a move task brings it back up to the max from a reserve bin, as far as reserve has
it. A short pick whose face reserve can refill makes an urgent move of at least the
missing units (up to the max when the face has one): the picks wait for it.

On the handheld a move is three scans, declared in `TRANSITIONS`: the reserve bin's
label, the item (each scan one unit, or a GS1 count), then the face bin's label, which
moves the stock. Those rules are the handheld's too (it judges them offline), so they live
in `shared/replenishing.py` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.replenishing import OK_CODES, TRANSITIONS, Move, ScanKind, Stage, Step, judge

__all__ = [
    "OK_CODES",
    "TRANSITIONS",
    "Limits",
    "LimitsError",
    "Move",
    "ScanKind",
    "Source",
    "Stage",
    "Step",
    "choose_source",
    "for_short",
    "judge",
    "top_up",
]


class LimitsError(ValueError):
    """A min and max that cannot be: `problems` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Limits:
    """What a face should hold of one SKU: refilled below `min_qty`, up to `max_qty`."""

    min_qty: int
    max_qty: int

    def __post_init__(self) -> None:
        problems = []
        if self.min_qty < 0:
            problems.append(("min", "must be 0 or more"))
        if self.max_qty <= 0:
            problems.append(("max", "must be more than 0"))
        elif self.max_qty < self.min_qty:
            problems.append(("max", f"must be at least the min ({self.min_qty})"))
        if problems:
            raise LimitsError(problems)


def top_up(on_hand: int, limits: Limits) -> int:
    """Units to bring a face back to its max, or 0 while it holds its min or more."""
    if on_hand >= limits.min_qty:
        return 0
    return limits.max_qty - on_hand


def for_short(missing: int, found: int, limits: Limits | None) -> int:
    """Units an urgent move brings after a short pick: the missing, up to the max if more."""
    if limits is None:
        return missing
    return max(missing, limits.max_qty - found)


@dataclass(frozen=True)
class Source:
    """A reserve bin's lot that holds the SKU, with the units no one else is promised."""

    location_id: int
    lot: str
    expires: str | None
    free: int


def choose_source(sources: Sequence[Source], wanted: int, at_least: int = 1) -> Source | None:
    """The reserve lot to take from: soonest expiry first, then the one covering the most of
    `wanted` (fewest trips), then the lowest bin id. None when none holds `at_least`."""
    fit = [s for s in sources if s.free >= at_least]
    if not fit:
        return None
    return min(fit, key=lambda s: (s.expires or "9999", -min(s.free, wanted), s.location_id))


# ---------------------------------------------------------------- the handheld
# The three scans of a move are judged by the server and by an offline handheld alike: the
# rules live in shared/replenishing.py (Move, Step, TRANSITIONS, judge), re-exported here.
