"""Walking order inside a warehouse: which pick location the picker walks to next.

Model: a single-block parallel-aisle warehouse (a `Layout`). Pick aisles 1..A run
front to back, `aisle_pitch` metres apart centre to centre, each lined on both
sides by bays 1..B of `bay_length` metres; a front and a back cross-aisle of
`cross_aisle_width` join the aisle ends, and the picker walks the centre lines.
A location is the point (aisle, bay) on its aisle's centre line; side and level
do not change the walk. The depot (where the picker takes the cart and drops the
totes) is on the front cross-aisle at the mouth of `depot_aisle`. Distances are
metres along the aisles and cross-aisles, never through racking.

Workflow: a pick list's steps become `Stop`s; a method puts them in walking order,
the picker starts at the depot, walks to each stop in turn and comes back to the
depot. `s_shape` is the serpentine baseline (every aisle with a pick walked end
to end); `largest_gap` and `combined` are the classic heuristics from the
literature; `improve` polishes any order with 2-opt on the true walking distance;
`optimal` is exact (Ratliff & Rosenthal's dynamic programme over the aisles,
linear in the number of aisles), so `best_route`, what planning uses, is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar


def s_shape_key(aisle: int, bay: int, level: int) -> tuple[int, int, int]:
    """Sort key placing a location on the serpentine walk."""
    return (aisle, bay if aisle % 2 else -bay, level)


class Located(Protocol):
    @property
    def aisle(self) -> int: ...
    @property
    def bay(self) -> int: ...


S = TypeVar("S", bound=Located)


@dataclass(frozen=True)
class Stop:
    """A place to pick at; ref tells the caller which step it stands for.

    Stops in one bay always come out together, in the order given (so a caller
    that sorts by level first keeps lower levels first).
    """

    aisle: int
    bay: int
    ref: Hashable = None


@dataclass(frozen=True)
class Layout:
    """A single-block parallel-aisle warehouse; lengths in metres."""

    aisles: int = 10
    bays: int = 30
    aisle_pitch: float = 4.5
    bay_length: float = 1.3
    cross_aisle_width: float = 3.0
    middle_cross_aisles: int = 0
    depot_aisle: int = 1

    def __post_init__(self) -> None:
        if self.aisles < 1 or self.bays < 1:
            raise ValueError("a layout needs at least one aisle and one bay")
        if not 1 <= self.depot_aisle <= self.aisles:
            raise ValueError(f"depot aisle {self.depot_aisle} is not in 1..{self.aisles}")
        if self.middle_cross_aisles:
            raise NotImplementedError("middle cross-aisles are not modelled yet")

    @property
    def aisle_length(self) -> float:
        """Front cross-aisle centre line to back cross-aisle centre line."""
        return self.bays * self.bay_length + self.cross_aisle_width

    def y(self, bay: int) -> float:
        """How far up its aisle (from the front centre line) a bay's face is."""
        return self.cross_aisle_width / 2 + (bay - 0.5) * self.bay_length


Point = tuple[int, float]  # (aisle, metres from the front cross-aisle centre line)


def _point(layout: Layout, stop: Located) -> Point:
    if not (1 <= stop.aisle <= layout.aisles and 1 <= stop.bay <= layout.bays):
        raise ValueError(f"location aisle {stop.aisle} bay {stop.bay} is outside the layout")
    return (stop.aisle, layout.y(stop.bay))


def _distance(layout: Layout, p: Point, q: Point) -> float:
    if p[0] == q[0]:
        return abs(p[1] - q[1])
    # Changing aisle means leaving by the front or the back, whichever is shorter.
    length = layout.aisle_length
    across = abs(p[0] - q[0]) * layout.aisle_pitch
    return across + min(p[1] + q[1], 2 * length - p[1] - q[1])


def route_length(layout: Layout, stops_in_order: Sequence[Located]) -> float:
    """Metres walked from the depot through the stops in this order and back."""
    depot = (layout.depot_aisle, 0.0)
    points = [depot, *(_point(layout, s) for s in stops_in_order), depot]
    return sum(_distance(layout, p, q) for p, q in zip(points, points[1:], strict=False))


def _aisles(layout: Layout, stops: Sequence[S]) -> dict[int, list[list[S]]]:
    """Stops grouped by aisle, then by bay front to back; a bay keeps input order."""
    bays: dict[tuple[int, int], list[S]] = defaultdict(list)
    for s in stops:
        _point(layout, s)
        bays[(s.aisle, s.bay)].append(s)
    aisles: dict[int, list[list[S]]] = defaultdict(list)
    for aisle, bay in sorted(bays):
        aisles[aisle].append(bays[(aisle, bay)])
    return dict(aisles)


def _walk(groups: Sequence[list[S]], upward: bool) -> list[S]:
    return [s for g in (groups if upward else reversed(groups)) for s in g]


def s_shape(layout: Layout, stops: Sequence[S]) -> list[S]:
    """Serpentine: each aisle with a pick walked end to end, alternately up and down."""
    aisles = _aisles(layout, stops)
    # With an odd number of aisles the last one is entered from the front and
    # left the same way, which visits its bays in the same (upward) order.
    return [s for i, a in enumerate(sorted(aisles)) for s in _walk(aisles[a], i % 2 == 0)]


def _widest_gap(layout: Layout, groups: Sequence[list[S]]) -> int:
    """Index g: bays before g are picked from the front, the rest from the back."""
    ys = [0.0, *(layout.y(g[0].bay) for g in groups), layout.aisle_length]
    return max(range(len(ys) - 1), key=lambda i: ys[i + 1] - ys[i])


def largest_gap(layout: Layout, stops: Sequence[S]) -> list[S]:
    """Largest gap: end aisles walked through, inner aisles worked from front and back."""
    aisles = _aisles(layout, stops)
    order = sorted(aisles)
    if len(order) <= 1:
        return [s for a in order for s in _walk(aisles[a], True)]
    inner = order[1:-1]
    split = {a: _widest_gap(layout, aisles[a]) for a in inner}
    route = _walk(aisles[order[0]], True)
    for a in inner:  # along the back cross-aisle, left to right
        route += _walk(aisles[a][split[a] :], False)
    route += _walk(aisles[order[-1]], False)
    for a in reversed(inner):  # along the front cross-aisle, back towards the depot
        route += _walk(aisles[a][: split[a]], True)
    return route


def combined(layout: Layout, stops: Sequence[S]) -> list[S]:
    """Combined (Roodbergen & de Koster): each aisle once, walked through or in-and-back."""
    aisles = _aisles(layout, stops)
    length = layout.aisle_length
    inf = float("inf")
    best = {"front": 0.0, "back": inf}  # cost of the aisle walks so far, by the side we are on
    trail: list[dict[str, str]] = []  # per aisle: side we end on -> side we entered from
    for a in sorted(aisles):
        lo, hi = layout.y(aisles[a][0][0].bay), layout.y(aisles[a][-1][0].bay)
        new, came = {"front": inf, "back": inf}, {}
        for side, cost in best.items():
            other = "back" if side == "front" else "front"
            in_and_back = 2 * hi if side == "front" else 2 * (length - lo)
            for end, extra in ((side, in_and_back), (other, length)):
                if cost + extra < new[end]:
                    new[end], came[end] = cost + extra, side
        trail.append(came)
        best = new
    # Finishing at the back costs one more aisle's length to reach the depot.
    side = "front" if best["front"] <= best["back"] + length else "back"
    entered = []
    for came in reversed(trail):
        side = came[side]
        entered.append(side)
    entered.reverse()
    return [
        s
        for a, e in zip(sorted(aisles), entered, strict=True)
        for s in _walk(aisles[a], e == "front")
    ]


def improve(layout: Layout, route: Sequence[S]) -> list[S]:
    """2-opt on the true walking distance until no reversal shortens the walk."""
    groups: list[list[S]] = []
    for s in route:  # stops in one bay stay together: walking between them is free
        if groups and (groups[-1][0].aisle, groups[-1][0].bay) == (s.aisle, s.bay):
            groups[-1].append(s)
        else:
            groups.append([s])
    depot = (layout.depot_aisle, 0.0)
    points = [depot, *(_point(layout, g[0]) for g in groups), depot]
    n = len(points)
    d = [[_distance(layout, p, q) for q in points] for p in points]
    tour = list(range(n))  # tour[0] and tour[-1] are the depot
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 2):
            for j in range(i + 1, n - 1):
                a, b, c, e = tour[i - 1], tour[i], tour[j], tour[j + 1]
                if d[a][c] + d[b][e] < d[a][b] + d[c][e] - 1e-9:
                    tour[i : j + 1] = reversed(tour[i : j + 1])
                    improved = True
    return [s for k in tour[1:-1] for s in groups[k - 1]]


# Ratliff & Rosenthal: sweep the aisles left to right keeping, for each class of
# partial tour, the cheapest one. A class is the degree of the current aisle's
# front and back ends (0, odd, even > 0) and whether they share a component.
_ZERO, _ODD, _EVEN = 0, 1, 2
_EMPTY, _DONE = "empty", "done"


def _add(deg: int, k: int) -> int:
    if k == 0:
        return deg
    if k == 2:
        return _ODD if deg == _ODD else _EVEN
    return _EVEN if deg == _ODD else _ODD


def _labels(state: object) -> tuple[int, int, str | None, str | None]:
    if state in (_EMPTY, _DONE):
        return _ZERO, _ZERO, None, None
    da, db, joined = state
    return da, db, ("A" if da else None), (("A" if joined else "B") if db else None)


def _through_aisle(state: object, add_a: int, add_b: int, joins: bool) -> object:
    """Class after adding edges inside the aisle (add_a edge ends at its front, add_b at its back)."""
    if state == _DONE:
        return _DONE if add_a == add_b == 0 else None
    da, db, ca, cb = _labels(state)
    ca = ca or ("NA" if add_a else None)
    cb = cb or ("NB" if add_b else None)
    da, db = _add(da, add_a), _add(db, add_b)
    if not (da or db):
        return _EMPTY
    return (da, db, bool(da and db and (joins or ca == cb)))


def _to_next(state: object, ka: int, kb: int, depot_here: bool) -> object:
    """Class after ka front and kb back cross-aisle edges to the next aisle (this one's ends final)."""
    da, db, ca, cb = _labels(state)
    if (da == _ODD) != (ka == 1) or (db == _ODD) != (kb == 1):
        return None  # an end left with odd degree cannot be on a closed walk
    if depot_here and da == _ZERO and ka == 0:
        return None
    if state == _DONE:
        return _DONE if ka == kb == 0 else None
    na = (ca or "NA") if ka else None
    nb = (cb or "NB") if kb else None
    closed = {ca, cb} - {na, nb} - {None}
    if closed:  # a component that stops here must be the whole tour
        return _DONE if len(closed) == 1 and not (na or nb) else None
    if not (na or nb):
        return _EMPTY
    return (
        (_ODD if ka == 1 else _EVEN) if ka else _ZERO,
        (_ODD if kb == 1 else _EVEN) if kb else _ZERO,
        bool(na and na == nb),
    )


def _aisle_options(
    layout: Layout, groups: Sequence[list[S]]
) -> list[tuple[object, int, int, bool, float]]:
    """(how, add_a, add_b, joins, metres) for the edges inside one aisle.

    how is "none", "through" (walked once end to end), "twice", or the index of
    the one link of the aisle (front, picks..., back) left out, every other link
    walked in and back.
    """
    length = layout.aisle_length
    options: list[tuple[object, int, int, bool, float]] = [
        ("through", 1, 1, True, length),
        ("twice", 2, 2, True, 2 * length),
    ]
    if not groups:
        return [("none", 0, 0, False, 0.0), *options]
    ys = [0.0, *(layout.y(g[0].bay) for g in groups), length]
    m = len(groups)
    options.append((m, 2, 0, False, 2 * ys[m]))  # in from the front and out again
    options.append((0, 0, 2, False, 2 * (length - ys[1])))  # in from the back and out again
    if m >= 2:  # in from both ends, leaving out the widest gap between two picks
        g = max(range(1, m), key=lambda i: ys[i + 1] - ys[i])
        options.append((g, 2, 2, False, 2 * (length - (ys[g + 1] - ys[g]))))
    return options


def optimal(layout: Layout, stops: Sequence[S]) -> list[S]:
    """Exact shortest walk (Ratliff & Rosenthal dynamic programming), in linear time."""
    aisles = _aisles(layout, stops)
    if not aisles:
        return []
    first = min(layout.depot_aisle, *aisles)
    last = max(layout.depot_aisle, *aisles)
    layer: dict[object, float] = {_EMPTY: 0.0}
    # Two steps per aisle (inside it, then across to the next): class -> (previous, how).
    steps: list[dict[object, tuple[object, object]]] = []
    for a in range(first, last + 1):
        new: dict[object, float] = {}
        came: dict[object, tuple[object, object]] = {}
        for state, cost in layer.items():
            for how, add_a, add_b, joins, metres in _aisle_options(layout, aisles.get(a, [])):
                nxt = _through_aisle(state, add_a, add_b, joins)
                if nxt is not None and cost + metres < new.get(nxt, float("inf")):
                    new[nxt], came[nxt] = cost + metres, (state, how)
        steps.append(came)
        layer, new, came = new, {}, {}
        crossings = [(ka, kb) for ka in range(3) for kb in range(3)] if a < last else [(0, 0)]
        for state, cost in layer.items():
            for ka, kb in crossings:
                nxt = _to_next(state, ka, kb, a == layout.depot_aisle)
                metres = (ka + kb) * layout.aisle_pitch
                if nxt is not None and cost + metres < new.get(nxt, float("inf")):
                    new[nxt], came[nxt] = cost + metres, (state, (ka, kb))
        steps.append(came)
        layer = new
    # Rebuild the tour's edges, then walk it as an Euler circuit from the depot.
    edges: list[tuple[tuple, tuple]] = []
    state: object = _DONE
    for step in range(len(steps) - 1, -1, -1):
        a = first + step // 2
        state, how = steps[step][state]
        if step % 2:
            ka, kb = how
            edges += [(("front", a), ("front", a + 1))] * ka + [(("back", a), ("back", a + 1))] * kb
            continue
        picks = [("pick", a, i) for i in range(len(aisles.get(a, [])))]
        chain = [("front", a), *picks, ("back", a)]
        links = list(zip(chain, chain[1:], strict=False))
        if how == "through":
            edges += links
        elif how == "twice":
            edges += links * 2
        elif how != "none":  # every link walked in and back, except the gap left out
            edges += [link for i, link in enumerate(links) if i != how] * 2
    order = [v for v in _euler(edges, ("front", layout.depot_aisle)) if v[0] == "pick"]
    return [s for _, a, i in order for s in aisles[a][i]]


def _euler(edges: list[tuple[tuple, tuple]], start: tuple) -> list[tuple]:
    """Vertices in first-visit order along an Euler circuit (Hierholzer)."""
    adj: dict[tuple, list[tuple[tuple, int]]] = defaultdict(list)
    for k, (u, v) in enumerate(edges):
        adj[u].append((v, k))
        adj[v].append((u, k))
    used = [False] * len(edges)
    stack, circuit, seen = [start], [], set()
    while stack:
        v = stack[-1]
        while adj[v] and used[adj[v][-1][1]]:
            adj[v].pop()
        if adj[v]:
            u, k = adj[v].pop()
            used[k] = True
            stack.append(u)
        else:
            circuit.append(stack.pop())
    first_visits = []
    for v in circuit:
        if v not in seen:
            seen.add(v)
            first_visits.append(v)
    return first_visits


def best_route(layout: Layout, stops: Sequence[S]) -> list[S]:
    """The walking order planning uses: exact, since the exact method is linear-time."""
    return optimal(layout, stops)
