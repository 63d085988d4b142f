"""Allocation: choose the warehouses and the bins that ship an order.

Warehouse choice, per order:
(a) ship complete from one warehouse when any can, nearest first (great circle
    from the ship-to);
(b) otherwise, if the policy allows splits, the fewest shipments that ship it
    complete, then the least total distance (exact search over warehouse subsets);
(c) otherwise, if the policy allows partial shipments, ship what can go (again
    fewest shipments, then least distance) and backorder the rest; else it all
    waits as a backorder.
A warehouse promises a SKU only above its safety stock, and takes no shipment
once its daily capacity is used up. An order whose ship-to could not be placed on
the map (no coordinates, no known postcode or city: server/capture/geocode.py) has no
nearest warehouse: "nearest" is then the one with the most capacity left today
(see rank_sites), and its shipments carry no distance.

Bin choice, inside a warehouse: earliest expiry first for lot-tracked stock;
otherwise a bin that fills the line wins, then the fewest bins, then walking order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from server.core.geo import great_circle_km

NEVER = "9999-12-31"  # sorts stock without an expiry date after every dated lot


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
    """Free stock of one SKU (one lot) in one location; walk is its place in walking order."""

    location_id: int
    sku: str
    free: int
    walk: tuple
    lot: str = ""
    expires: str | None = None


@dataclass(frozen=True)
class Take:
    line_no: int
    location_id: int
    sku: str
    qty: int
    lot: str = ""


@dataclass(frozen=True)
class Shipment:
    warehouse: str
    distance_km: float | None  # None: the ship-to could not be placed on the map
    takes: tuple[Take, ...]


@dataclass(frozen=True)
class Policy:
    """What a channel (or one order) accepts when no warehouse ships the order complete."""

    allow_split: bool = True
    allow_partial: bool = False


@dataclass(frozen=True)
class Plan:
    shipments: tuple[Shipment, ...]
    backorder: tuple[Line, ...]  # what still waits, per line

    @property
    def complete(self) -> bool:
        return not self.backorder


def rank_sites(
    sites: Iterable[Site],
    lat: float | None,
    lon: float | None,
    capacity: Mapping[str, int] | None = None,
) -> list[tuple[float, Site]]:
    """Sites nearest first, with their distance in km.

    Without coordinates (an address that could not be placed) there is no nearest: the
    fallback ranks the sites by shipments they may still take today, most first (no daily
    limit counts as most), then by code; the number paired with each is its rank (0, 1, ...),
    not a distance, and shipments planned so carry no distance."""
    if lat is None or lon is None:
        cap = capacity or {}
        order = sorted(sites, key=lambda s: (-cap.get(s.code, math.inf), s.code))
        return [(float(i), s) for i, s in enumerate(order)]
    ranked = [(great_circle_km(lat, lon, s.lat, s.lon), s) for s in sites]
    return sorted(ranked, key=lambda pair: (pair[0], pair[1].code))


def usable(b: Bin, today: str | None) -> bool:
    """Free units of a lot that has not expired."""
    return b.free > 0 and not (today and b.expires and b.expires < today)


def _take(qty: int, bins: Sequence[Bin], free: list[int]) -> list[int]:
    """Units to take from each bin for qty (free is updated); earliest expiry class first."""
    out = [0] * len(bins)
    left = qty
    for expires in sorted({b.expires or NEVER for b in bins}):
        group = [i for i, b in enumerate(bins) if (b.expires or NEVER) == expires and free[i] > 0]
        while left and group:
            filling = [i for i in group if free[i] >= left]
            if filling:  # a bin that fills what is left wins; ties go to walking order
                i = min(filling, key=lambda i: bins[i].walk)
            else:  # fewest bins: the fullest first, ties in walking order
                i = min(group, key=lambda i: (-free[i], bins[i].walk))
            n = min(free[i], left)
            free[i] -= n
            out[i] += n
            left -= n
            group.remove(i)
        if not left:
            break
    return out


def choose_bins(line: Line, bins: Sequence[Bin], today: str | None = None) -> list[Take] | None:
    """Bins for one line (earliest expiry, filling bin, fewest bins, walk); None if short."""
    mine = [b for b in bins if b.sku == line.sku and usable(b, today)]
    if sum(b.free for b in mine) < line.qty:
        return None
    taken = _take(line.qty, mine, [b.free for b in mine])
    return [
        Take(line.line_no, b.location_id, b.sku, n, b.lot)
        for b, n in zip(mine, taken, strict=True)
        if n
    ]


def plan_order(
    lines: Sequence[Line],
    sites: Iterable[Site],
    bins_by_site: Mapping[str, Sequence[Bin]],
    lat: float | None,
    lon: float | None,
    *,
    policy: Policy = Policy(),  # noqa: B008 (frozen, so a shared default is safe)
    safety: Mapping[tuple[str, str], int] | None = None,
    capacity: Mapping[str, int] | None = None,
    today: str | None = None,
) -> Plan:
    """Shipments (warehouse and bins) for an order's lines, and what must wait."""
    demand: dict[str, int] = defaultdict(int)
    for line in lines:
        demand[line.sku] += line.qty
    safety = safety or {}
    capacity = capacity or {}
    atp: dict[str, dict[str, int]] = {}  # site -> sku -> units it may promise
    ranked: list[tuple[float, Site]] = []
    for dist, site in rank_sites(sites, lat, lon, capacity):
        if capacity.get(site.code, 1) <= 0:
            continue
        have: dict[str, int] = defaultdict(int)
        for b in bins_by_site.get(site.code, ()):
            if b.sku in demand and usable(b, today):
                have[b.sku] += b.free
        promise = {
            sku: n - safety.get((site.code, sku), 0)
            for sku, n in have.items()
            if n > safety.get((site.code, sku), 0)
        }
        if promise:
            atp[site.code] = promise
            ranked.append((dist, site))
    max_k = len(ranked) if policy.allow_split else 1
    chosen = _fewest_nearest(ranked, atp, demand, max_k)
    target = dict(demand)
    if chosen is None and policy.allow_partial and ranked:
        if policy.allow_split:
            target = {
                sku: min(n, sum(a.get(sku, 0) for a in atp.values())) for sku, n in demand.items()
            }
            chosen = _fewest_nearest(ranked, atp, target, max_k)
        else:  # one warehouse: the one that ships the most units, nearest on a tie
            best = max(
                ranked,
                key=lambda p: (
                    sum(min(n, atp[p[1].code].get(s, 0)) for s, n in demand.items()),
                    -p[0],
                ),
            )
            chosen = [best]
            target = {s: min(n, atp[best[1].code].get(s, 0)) for s, n in demand.items()}
    if chosen is None:
        return Plan((), tuple(lines))
    plan = _assign(lines, chosen, atp, target, bins_by_site, today)
    if lat is None or lon is None:  # ranks, not distances: say none
        plan = Plan(tuple(replace(s, distance_km=None) for s in plan.shipments), plan.backorder)
    return plan


def _fewest_nearest(
    ranked: list[tuple[float, Site]],
    atp: Mapping[str, Mapping[str, int]],
    target: Mapping[str, int],
    max_k: int,
) -> list[tuple[float, Site]] | None:
    """The fewest sites that together promise the target, least total distance first."""
    wanted = {s: n for s, n in target.items() if n > 0}
    if not wanted:
        return None
    # Nothing to search if even every site together falls short.
    for sku, n in wanted.items():
        if sum(atp[s.code].get(sku, 0) for _, s in ranked) < n:
            return None
    for k in range(1, max_k + 1):
        subsets = combinations(ranked, k)
        if k > 1:  # ranked is nearest first, so k == 1 is already in distance order
            subsets = sorted(subsets, key=lambda c: (sum(d for d, _ in c), [s.code for _, s in c]))
        for subset in subsets:
            if all(
                sum(atp[s.code].get(sku, 0) for _, s in subset) >= n for sku, n in wanted.items()
            ):
                return list(subset)
    return None


def _assign(
    lines: Sequence[Line],
    chosen: list[tuple[float, Site]],
    atp: Mapping[str, Mapping[str, int]],
    target: Mapping[str, int],
    bins_by_site: Mapping[str, Sequence[Bin]],
    today: str | None,
) -> Plan:
    """Split each line over the chosen sites (whole lines where they fit), then pick the bins."""
    left_atp = {s.code: dict(atp[s.code]) for _, s in chosen}
    left_target = dict(target)
    parts: dict[str, list[Line]] = defaultdict(list)
    backorder: list[Line] = []
    for line in lines:
        want = min(line.qty, left_target.get(line.sku, 0))
        left_target[line.sku] = left_target.get(line.sku, 0) - want
        if want < line.qty:
            backorder.append(Line(line.line_no, line.sku, line.qty - want))
        if want == 0:
            continue
        whole = next((s for _, s in chosen if left_atp[s.code].get(line.sku, 0) >= want), None)
        order = [whole] if whole else [s for _, s in chosen]
        for site in order:  # nearest first; a line splits only when no site has all of it
            n = min(want, left_atp[site.code].get(line.sku, 0))
            if n:
                left_atp[site.code][line.sku] -= n
                parts[site.code].append(Line(line.line_no, line.sku, n))
                want -= n
            if want == 0:
                break
    shipments = []
    for dist, site in chosen:
        if not parts[site.code]:
            continue
        takes = _bins_in_site(parts[site.code], bins_by_site.get(site.code, ()), today)
        shipments.append(Shipment(site.code, dist, tuple(takes)))
    return Plan(tuple(shipments), tuple(backorder))


def _bins_in_site(lines: Sequence[Line], bins: Sequence[Bin], today: str | None) -> list[Take]:
    """Bins for every line of one shipment; lines of one SKU share the bins' free units."""
    by_sku: dict[str, list[Bin]] = defaultdict(list)
    for b in bins:
        if usable(b, today):
            by_sku[b.sku].append(b)
    free = {sku: [b.free for b in bs] for sku, bs in by_sku.items()}
    takes: list[Take] = []
    for line in lines:
        mine = by_sku.get(line.sku, [])
        taken = _take(line.qty, mine, free.get(line.sku, []))
        if sum(taken) < line.qty:  # cannot happen: the site promised these units
            raise ValueError(f"{line.sku}: bins hold less than promised")
        takes += [
            Take(line.line_no, b.location_id, b.sku, n, b.lot)
            for b, n in zip(mine, taken, strict=True)
            if n
        ]
    return takes


def allocate(
    lines: Sequence[Line],
    sites: Iterable[Site],
    bins_by_site: Mapping[str, Sequence[Bin]],
    lat: float | None,
    lon: float | None,
) -> Shipment | None:
    """The one nearest site that ships the order complete (no split, no partial), or None."""
    plan = plan_order(lines, sites, bins_by_site, lat, lon, policy=Policy(False, False))
    return plan.shipments[0] if plan.complete and plan.shipments else None
