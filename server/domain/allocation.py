"""Allocation: choose the warehouse and the bins that ship an order.

First version: the whole order from one warehouse, the nearest to the ship-to
(great-circle) that can ship it complete; otherwise the order waits as a
backorder. Inside the warehouse each line takes the fewest bins (a bin that
fills the line wins), then the earliest bin in walking order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.domain.geo import great_circle_km


@dataclass(frozen=True)
class Line:
    line_no: int
    sku: str
    qty: int


@dataclass(frozen=True)
class Site:
    code: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Bin:
    """Free stock of one SKU in one location; walk is its place in walking order."""

    location_id: int
    sku: str
    free: int
    walk: tuple


@dataclass(frozen=True)
class Take:
    line_no: int
    location_id: int
    sku: str
    qty: int


@dataclass(frozen=True)
class Allocation:
    warehouse: str
    distance_km: float
    takes: tuple[Take, ...]


def rank_sites(
    sites: Iterable[Site], lat: float | None, lon: float | None
) -> list[tuple[float, Site]]:
    """Sites nearest first; without coordinates, in code order at distance 0."""
    if lat is None or lon is None:
        return [(0.0, s) for s in sorted(sites, key=lambda s: s.code)]
    ranked = [(great_circle_km(lat, lon, s.lat, s.lon), s) for s in sites]
    return sorted(ranked, key=lambda pair: (pair[0], pair[1].code))


def choose_bins(line: Line, bins: Sequence[Bin]) -> list[Take] | None:
    """Bins for one line: one bin that fills it if any, else the largest first; None if short."""
    usable = [b for b in bins if b.sku == line.sku and b.free > 0]
    if sum(b.free for b in usable) < line.qty:
        return None
    filling = [b for b in usable if b.free >= line.qty]
    if filling:
        best = min(filling, key=lambda b: b.walk)
        return [Take(line.line_no, best.location_id, line.sku, line.qty)]
    takes: list[Take] = []
    left = line.qty
    # Fewest bins: take the fullest first; ties go to walking order.
    for b in sorted(usable, key=lambda b: (-b.free, b.walk)):
        n = min(b.free, left)
        takes.append(Take(line.line_no, b.location_id, line.sku, n))
        left -= n
        if left == 0:
            break
    return takes


def plan_in_site(lines: Sequence[Line], bins: Sequence[Bin]) -> list[Take] | None:
    """All lines from one site's bins, or None when any line is short."""
    remaining = {(b.location_id, b.sku): b for b in bins}
    takes: list[Take] = []
    for line in lines:
        chosen = choose_bins(line, list(remaining.values()))
        if chosen is None:
            return None
        for t in chosen:
            b = remaining[(t.location_id, t.sku)]
            remaining[(t.location_id, t.sku)] = Bin(b.location_id, b.sku, b.free - t.qty, b.walk)
        takes.extend(chosen)
    return takes


def allocate(
    lines: Sequence[Line],
    sites: Iterable[Site],
    bins_by_site: Mapping[str, Sequence[Bin]],
    lat: float | None,
    lon: float | None,
) -> Allocation | None:
    """The nearest site that ships the order complete, with its bins; None means backorder."""
    for distance, site in rank_sites(sites, lat, lon):
        takes = plan_in_site(lines, bins_by_site.get(site.code, ()))
        if takes is not None:
            return Allocation(site.code, distance, tuple(takes))
    return None
