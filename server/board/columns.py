"""The board's pick-list columns, paged, filtered, searched and sorted in SQL.

A floor of 60,000 open orders has as many lists: the board never holds them all. It gets
each column's total and the first lists of each column in its view (`view`), then asks for
later lists a page at a time (`GET /board/api/lists`). Totals are a GROUP BY over the
lists' (status) index, made once per board update for every open board (server/realtime/
hub.py), never once per board.

A search word matches a list by its number (`PL-000123` or `123`), one of its orders (our
id, the shop's id or the shop's number, `#1043` or `1043`), a SKU, a tote, a tracking
number, the device or the worker: whole values, any case, each through an index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from server.floor.domain.floor import pick_list_ref
from server.shipping.domain.tracking import LEFT
from server.store import Store

STATES = ("queued", "picking", "short", "to_pack", "packing", "packed", "shipped")
SORTS = ("priority", "oldest", "newest", "due")
PAGE = 30  # lists per column in a first view
MAX_PAGE = 200
MAX_WORDS = 5
RECENT_PACKED = 20  # packed lists kept on the board so a supervisor sees them leave

SHORT = "p.id IN (SELECT pick_list_id FROM short_picks)"
# The column of a list not yet packed, from its stored status and its short picks.
OPEN_STATES: dict[str, str] = {
    "queued": f"p.status = 'open' AND NOT {SHORT}",
    "picking": f"p.status = 'assigned' AND NOT {SHORT}",
    "short": f"p.status IN ('open', 'assigned') AND {SHORT}",
    "to_pack": "p.status = 'picked'",
    "packing": "p.status = 'packing'",
}
PROMISE = """(SELECT MIN(o.promised_by) FROM pick_steps s JOIN orders o ON o.id = s.order_id
               WHERE s.pick_list_id = p.id)"""
ORDER_BY = {
    "priority": "p.priority DESC, p.id",
    "oldest": "p.id",
    "newest": "p.id DESC",
    "due": f"({PROMISE} IS NULL), {PROMISE}, p.priority DESC, p.id",
}


class BadView(ValueError):
    """A view the board cannot show (unknown column or sort, a page out of range)."""


@dataclass(frozen=True)
class View:
    """What a board looks at: filters, a search, a sort, and one column's page."""

    warehouse: str = ""
    zone: str = ""
    state: str = ""
    q: str = ""
    sort: str = "priority"
    offset: int = 0
    limit: int = PAGE

    def __post_init__(self) -> None:
        if self.state and self.state not in STATES:
            raise BadView(f"state must be one of {', '.join(STATES)}")
        if self.sort not in SORTS:
            raise BadView(f"sort must be one of {', '.join(SORTS)}")
        if not 0 <= self.offset <= 10_000_000:
            raise BadView("offset must be 0 or more")
        if not 1 <= self.limit <= MAX_PAGE:
            raise BadView(f"limit must be 1 to {MAX_PAGE}")
        if len(self.q) > 200 or len(self.q.split()) > MAX_WORDS:
            raise BadView(f"the search takes at most {MAX_WORDS} words of 200 characters")

    @property
    def default(self) -> bool:
        """The view every board starts with (no filter, no search, by priority)."""
        return not (self.warehouse or self.zone or self.state or self.q) and self.sort == "priority"


def _word(word: str, n: int) -> tuple[str, dict[str, Any]]:
    """One search word as a condition on list p: one set of list ids, each part through an
    index, so a search costs what it finds, not what the floor holds."""
    key = f"w{n}"
    values: dict[str, Any] = {key: word, f"{key}u": word.upper()}
    values[f"{key}h"] = word if word.startswith("#") else f"#{word}"
    either = f"(:{key}, :{key}u)"
    parts = [
        f"""SELECT s.pick_list_id FROM pick_steps s WHERE s.order_id IN
               (SELECT id FROM orders WHERE id IN {either}
                UNION SELECT id FROM orders WHERE external_id IN {either}
                UNION SELECT id FROM orders WHERE shop_number IN (:{key}, :{key}u, :{key}h))""",
        f"SELECT pick_list_id FROM pick_steps WHERE sku IN {either}",
        f"SELECT pick_list_id FROM pick_list_totes WHERE tote IN {either}",
        f"""SELECT id FROM pick_lists WHERE tote IN {either} AND tote IS NOT NULL
               AND status != 'packed'""",
        f"SELECT pick_list_id FROM packages WHERE tracking IN {either}",
        f"""SELECT id FROM pick_lists WHERE device_id IN
               (SELECT id FROM devices WHERE name = :{key} OR worker = :{key})""",
    ]
    number = word.upper().removeprefix("PL-").removeprefix("#")
    if number.isdigit() and len(number) <= 12:
        parts.append(f"SELECT id FROM pick_lists WHERE id = :{key}n")
        values[f"{key}n"] = int(number)
    return f"p.id IN ({' UNION '.join(parts)})", values


def _where(view: View) -> tuple[str, dict[str, Any]]:
    """The view's filters and search as one condition on list p, with its parameters."""
    parts, params = ["1 = 1"], {}
    if view.warehouse:
        parts.append("p.warehouse = :warehouse")
        params["warehouse"] = view.warehouse
    if view.zone:
        parts.append("(',' || p.zones || ',') LIKE :zone")
        params["zone"] = f"%,{view.zone},%"
    for n, word in enumerate(view.q.split()):
        cond, values = _word(word, n)
        parts.append(cond)
        params.update(values)
    return " AND ".join(parts), params


def totals(store: Store, view: View = View()) -> dict[str, int]:
    """How many lists each column holds in the view (inside a read). The packed and shipped
    columns hold only the lists packed last."""
    where, params = _where(view)
    out = dict.fromkeys(STATES, 0)
    rows = store.all(
        f"""SELECT p.status, COUNT(*) AS n FROM pick_lists p
            WHERE p.status != 'packed' AND {where} GROUP BY p.status""",
        params,
    )
    by_status = {r["status"]: r["n"] for r in rows}
    # From the short picks (few) to their lists, not from every open list to the short
    # picks: 3.8 ms at 65,000 open lists the other way round, once a second on the loop.
    shorts = {
        r["status"]: r["n"]
        for r in store.all(
            f"""SELECT p.status, COUNT(*) AS n
                FROM (SELECT DISTINCT pick_list_id FROM short_picks) s
                CROSS JOIN pick_lists p  -- SQLite: this order, short picks outermost
                WHERE p.id = s.pick_list_id AND p.status IN ('open', 'assigned') AND {where}
                GROUP BY p.status""",
            params,
        )
    }
    out["queued"] = by_status.get("open", 0) - shorts.get("open", 0)
    out["picking"] = by_status.get("assigned", 0) - shorts.get("assigned", 0)
    out["short"] = sum(shorts.values())
    out["to_pack"] = by_status.get("picked", 0)
    out["packing"] = by_status.get("packing", 0)
    return out


def _recent_packed(where: str) -> str:
    return f"""p.status = 'packed' AND p.id IN (SELECT id FROM pick_lists WHERE status = 'packed'
               ORDER BY packed_at DESC LIMIT {RECENT_PACKED}) AND {where}"""


def page(store: Store, view: View) -> dict[str, Any]:
    """The lists in view (inside a read): with `state`, that column's page from `offset`;
    without it, the first `limit` lists of every column. With each column's total in the view
    (`columns`) and how many lists are on the floor (`active`, all of them, no filter)."""
    where, params = _where(view)
    ids: list[int] = []
    states = [view.state] if view.state else [s for s in STATES if s in OPEN_STATES]
    for state in states:
        if state not in OPEN_STATES:
            continue
        ids += [
            r["id"]
            for r in store.all(
                f"""SELECT p.id FROM pick_lists p WHERE {OPEN_STATES[state]} AND {where}
                    ORDER BY {ORDER_BY[view.sort]} LIMIT {view.limit} OFFSET {view.offset}""",
                params,
            )
        ]
    rows = list_rows(store, ids)
    order = {i: n for n, i in enumerate(ids)}
    rows.sort(key=lambda r: order[r["id"]])
    packed: list[dict[str, Any]] = []
    if not view.state or view.state in ("packed", "shipped"):
        recent = store.all(f"SELECT p.id FROM pick_lists p WHERE {_recent_packed(where)}", params)
        packed = [
            r
            for r in list_rows(store, [r["id"] for r in recent])
            if not view.state or r["state"] == view.state
        ]
    columns = totals(store, view)
    for state in ("packed", "shipped"):
        columns[state] = sum(1 for r in packed if r["state"] == state)
    unfiltered = columns if not (view.warehouse or view.zone or view.q) else totals(store)
    return {
        "pick_lists": rows + (packed[view.offset :] if view.state else packed),
        "columns": columns,
        "active": sum(unfiltered[s] for s in OPEN_STATES),
        "view": {
            "warehouse": view.warehouse,
            "zone": view.zone,
            "state": view.state,
            "q": view.q,
            "sort": view.sort,
            "offset": view.offset,
            "limit": view.limit,
        },
    }


def choices(store: Store) -> dict[str, list[str]]:
    """What the filters offer: the warehouses and the zones of their bins (inside a read)."""
    return {
        "warehouses": [r["code"] for r in store.all("SELECT code FROM warehouses ORDER BY code")],
        "zones": [
            r["zone"]
            for r in store.all("SELECT DISTINCT zone FROM locations WHERE zone != '' ORDER BY zone")
        ],
    }


LIST_COLUMNS = """p.id, p.warehouse, p.status, p.tote, p.priority, p.packed_at, d.name AS device,
    d.worker, p.zones, p.created_at, p.assigned_at, p.picked_at,
    (SELECT COALESCE(SUM(qty), 0) FROM pick_steps WHERE pick_list_id = p.id) AS units,
    (SELECT COALESCE(SUM(picked), 0) FROM pick_steps WHERE pick_list_id = p.id) AS picked,
    (SELECT COALESCE(SUM(verified), 0) FROM pick_steps WHERE pick_list_id = p.id) AS checked"""


def list_rows(store: Store, ids: list[int]) -> list[dict[str, Any]]:
    """These lists as the board shows them, by id (inside a read)."""
    if not ids:
        return []
    return lists(store, f"p.id IN ({_marks(ids)})", tuple(ids))


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def lists(store: Store, where: str, params: tuple | dict) -> list[dict[str, Any]]:
    rows = store.all(
        f"""SELECT {LIST_COLUMNS} FROM pick_lists p LEFT JOIN devices d ON d.id = p.device_id
            WHERE {where} ORDER BY p.id""",
        params,
    )
    ids = [row["id"] for row in rows]
    orders_of = _orders_by_list(store, ids)
    extra = _list_extras(store, ids)
    for row in rows:
        row["ref"] = pick_list_ref(row["id"])
        refs = orders_of.get(row["id"], [])
        row["orders"] = [r["id"] for r in refs]
        row["order_refs"] = refs
        more = extra.get(row["id"], {})
        row["skus"] = sorted(more.get("skus", ()))
        row["totes"] = sorted(more.get("totes", ()))
        row["tracking"] = sorted(more.get("tracking", ()))
        row["shorts"] = more.get("shorts", 0)
        promised = [r["promised_by"] for r in refs if r.get("promised_by")]
        row["promised_by"] = min(promised) if promised else None
        row["state"] = _state(row, refs)
    return rows


def _state(row: dict[str, Any], refs: list[dict[str, Any]]) -> str:
    """The board's column for a list: queued, picking, short, to_pack, packing, packed, shipped."""
    status = row["status"]
    if status in ("open", "assigned") and row["shorts"]:
        return "short"
    if status == "packed":
        return "shipped" if refs and all(r["status"] in LEFT for r in refs) else "packed"
    return {"open": "queued", "assigned": "picking", "picked": "to_pack"}.get(status, status)


def _list_extras(store: Store, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a list is searched by beyond its orders (SKUs, totes, tracking) and its short picks."""
    found: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(set))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = _marks(chunk)
        for r in store.all(
            f"SELECT DISTINCT pick_list_id AS id, sku FROM pick_steps WHERE pick_list_id IN ({marks})",
            tuple(chunk),
        ):
            found[r["id"]]["skus"].add(r["sku"])
        for r in store.all(
            f"""SELECT pick_list_id AS id, tote FROM pick_list_totes
                WHERE tote IS NOT NULL AND pick_list_id IN ({marks})""",
            tuple(chunk),
        ):
            found[r["id"]]["totes"].add(r["tote"])
        for r in store.all(
            f"SELECT pick_list_id AS id, tracking FROM packages WHERE pick_list_id IN ({marks})",
            tuple(chunk),
        ):
            found[r["id"]]["tracking"].add(r["tracking"])
        for r in store.all(
            f"""SELECT pick_list_id AS id, COUNT(*) AS n FROM short_picks
                WHERE pick_list_id IN ({marks}) GROUP BY pick_list_id""",
            tuple(chunk),
        ):
            found[r["id"]]["shorts"] = r["n"]
    return found


def _orders_by_list(store: Store, list_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """Each list's orders: our id, the shop's and the shop's number people see (inside a read)."""
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    if not list_ids:
        return found
    rows = store.all(
        f"""SELECT DISTINCT s.pick_list_id, o.id, o.external_id AS shop_id, o.shop_number, o.channel,
                  o.status, o.priority, o.promised_by
            FROM pick_steps s JOIN orders o ON o.id = s.order_id
            WHERE s.pick_list_id IN ({",".join("?" * len(list_ids))})
            ORDER BY s.pick_list_id, o.id""",
        tuple(list_ids),
    )
    for r in rows:
        found[r.pop("pick_list_id")].append(r)
    return found
