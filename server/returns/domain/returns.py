"""Returns: the pure rules of what may come back, how each unit is graded, and the count.

An order's units may come back once each: what may still be authorised for a SKU is what
shipped less what earlier returns of the order already authorised. At the dock each unit
is graded once: `resellable` (it goes back to a bin) or `scrap` with a reason from a fixed
list. A return takes no more units of a SKU than it authorised. Where every unit went,
returns included, is the unit accounting's (`inventory/domain/accounting.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Grade = Literal["resellable", "scrap"]
GRADES: tuple[str, ...] = ("resellable", "scrap")
# Why a unit is scrapped: the cards at the dock, the REST body and the reports say these.
SCRAP_REASONS: tuple[str, ...] = ("damaged", "defective", "missing", "wrong_item", "other")
SOURCES: tuple[str, ...] = ("api", "board", "shopify", "carrier")
RMA_PREFIX = "RMA-"


def rma_ref(number: int) -> str:
    """The RMA number people read and scan: RMA-000042."""
    return f"{RMA_PREFIX}{number:06d}"


def is_rma(text: str) -> bool:
    """Whether a scan looks like an RMA number."""
    rest = text.strip().upper().removeprefix(RMA_PREFIX)
    return text.strip().upper().startswith(RMA_PREFIX) and rest.isascii() and rest.isdigit()


def returnable(shipped: Mapping[str, int], authorised: Mapping[str, int]) -> dict[str, int]:
    """Units per SKU that a new return may still take: shipped less already authorised."""
    return {sku: n - authorised.get(sku, 0) for sku, n in shipped.items()}


def line_problems(
    asked: Iterable[tuple[str, int]], left: Mapping[str, int]
) -> list[tuple[str, str]]:
    """Why the asked lines (SKU, units) cannot be authorised, every reason at once."""
    problems: list[tuple[str, str]] = []
    total: dict[str, int] = {}
    for i, (sku, qty) in enumerate(asked):
        total[sku] = total.get(sku, 0) + qty
        if sku not in left:
            problems.append((f"lines[{i}].sku", f"{sku} was not shipped on this order"))
        elif total[sku] > left[sku]:
            problems.append(
                (
                    f"lines[{i}].qty",
                    f"{total[sku]} of {sku} asked, {max(left[sku], 0)} may still be returned",
                )
            )
    return problems


@dataclass(frozen=True)
class Line:
    """One SKU of a return: units authorised, and each graded unit so far."""

    sku: str
    authorised: int
    resellable: int = 0
    scrapped: int = 0

    @property
    def received(self) -> int:
        return self.resellable + self.scrapped

    @property
    def left(self) -> int:
        return self.authorised - self.received


def lines(authorised: Mapping[str, int], graded: Iterable[tuple[str, str]]) -> list[Line]:
    """Each SKU authorised, with the units graded so far ((sku, grade) pairs), by SKU."""
    good: dict[str, int] = {}
    bad: dict[str, int] = {}
    for sku, grade in graded:
        into = good if grade == "resellable" else bad
        into[sku] = into.get(sku, 0) + 1
    return [
        Line(sku, n, good.get(sku, 0), bad.get(sku, 0)) for sku, n in sorted(authorised.items())
    ]


def may_receive(result: Iterable[Line], sku: str) -> Literal["ok", "not_on_return", "all_received"]:
    """Whether one more unit of `sku` may be received on this return."""
    for line in result:
        if line.sku == sku:
            return "ok" if line.left > 0 else "all_received"
    return "not_on_return"


def grade_problem(grade: str, reason: str | None) -> str | None:
    """Why a grade cannot be taken, or None: scrap needs a reason from the list, resellable none."""
    if grade not in GRADES:
        return f"grade is one of {', '.join(GRADES)}"
    if grade == "scrap" and reason not in SCRAP_REASONS:
        return f"a scrapped unit needs a reason: one of {', '.join(SCRAP_REASONS)}"
    if grade == "resellable" and reason is not None:
        return "a resellable unit takes no reason"
    return None


def follow(
    asked: Mapping[str, int], received: Mapping[str, int]
) -> tuple[dict[str, int], list[str]]:
    """A return's units per SKU after the shop changed its lines: what the shop asks, but never
    fewer than the dock already received (graded, or scanned and in a receiver's hand); and,
    in words, each SKU held up by that."""
    units: dict[str, int] = {}
    held: list[str] = []
    for sku in sorted(set(asked) | set(received)):
        want, done = asked.get(sku, 0), received.get(sku, 0)
        units[sku] = max(want, done)
        if want < done:
            held.append(
                f"{sku} stays at {done}: {done} unit{'s' if done != 1 else ''} already received "
                f"at the dock, the shop asks {want}"
            )
    return units, held
