"""Cycle counts: the pure rules of a blind bin count, its variance, and the ABC schedule.

A count task covers one bin. The counter never sees what the system expects: they
scan what is there, and "bin done" hands the count in. Each (SKU, lot) of the bin,
expected or found, is one line; a line is within tolerance when its difference is at
most `max(units, percent of expected)`. All lines within: the bin is set to what was
counted at once. Any line over: the first count asks for a recount by another worker,
and a recount still over asks for a supervisor's approval (or rejection).

The schedule ranks a warehouse's bins by picks (most picked first) and classes them
A, B, C by their share of the bins; a bin is due when it was last counted longer ago
than its class's interval (or never).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Key = tuple[str, str]  # (sku, lot)
Next = Literal["adjust", "recount", "approval"]


@dataclass(frozen=True)
class Tolerance:
    """How far a counted line may be from the expected before a recount is asked."""

    units: int = 0
    percent: float = 0.0

    def allows(self, expected: int, counted: int) -> bool:
        """Whether the difference on one line is within tolerance."""
        return abs(counted - expected) <= max(self.units, expected * self.percent / 100)


@dataclass(frozen=True)
class Line:
    """One SKU and lot of the bin: what the system held and what was counted."""

    sku: str
    lot: str
    expected: int
    counted: int

    @property
    def diff(self) -> int:
        return self.counted - self.expected


def lines(expected: Mapping[Key, int], counted: Mapping[Key, int]) -> list[Line]:
    """Every (sku, lot) expected or counted, sorted, with both figures (0 where absent)."""
    keys = sorted(set(expected) | set(counted))
    return [Line(k[0], k[1], expected.get(k, 0), counted.get(k, 0)) for k in keys]


def next_step(stage: str, result: Sequence[Line], tolerance: Tolerance) -> Next:
    """What a handed-in count leads to: adjust now, a recount, or a supervisor's approval."""
    if all(tolerance.allows(x.expected, x.counted) for x in result):
        return "adjust"
    return "recount" if stage == "count" else "approval"


def matched(result: Sequence[Line]) -> bool:
    """The count found exactly what the system held."""
    return all(x.diff == 0 for x in result)


def accuracy(hits: int, total: int) -> float | None:
    """Share of counts that matched, 0..1 (None: never counted)."""
    return round(hits / total, 4) if total else None


# ---------------------------------------------------------------- the schedule
@dataclass(frozen=True)
class CountClass:
    """An ABC class: the share of bins (most picked first) it takes, and how often each is counted."""

    name: str
    share: float
    every_days: int


DEFAULT_CLASSES = (
    CountClass("A", 0.2, 7),
    CountClass("B", 0.3, 30),
    CountClass("C", 0.5, 90),
)


def classify(picks: Mapping[int, int], classes: Sequence[CountClass]) -> dict[int, CountClass]:
    """Each bin's class: bins ranked by picks (ties by id), cut by the classes' shares in order.

    The last class takes whatever is left, so every bin has a class.
    """
    ranked = sorted(picks, key=lambda b: (-picks[b], b))
    out: dict[int, CountClass] = {}
    start, total, acc = 0, len(ranked), 0.0
    for i, cls in enumerate(classes):
        acc += cls.share
        end = total if i == len(classes) - 1 else min(total, round(acc * total))
        for b in ranked[start:end]:
            out[b] = cls
        start = end
    return out


def due(
    classes_of: Mapping[int, CountClass],
    last_counted: Mapping[int, date | None],
    today: date,
) -> list[int]:
    """Bins whose class interval has passed since their last count (or never counted), by id."""
    return sorted(
        b
        for b, cls in classes_of.items()
        if (last := last_counted.get(b)) is None or today - last >= timedelta(days=cls.every_days)
    )
