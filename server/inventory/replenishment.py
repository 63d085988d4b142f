"""Replenishment tasks: faces' min and max, and the moves that keep them stocked.

A bin is a pick face (pickers are sent to it) or reserve (it only feeds faces and is
never allocated to orders): `locations.role`, set with the catalogue. A face holds a
min and max per SKU (`set_limits`, REST and CLI). A move task (reserve bin -> item ->
face bin) is made when a face falls below its min (`check`, after a pick or a stock
correction) and, urgent, when a short pick finds reserve holding what the face lacks
(`for_short`; the orders' missing units are held for it, not sent elsewhere). Each
face and SKU has at most one open move; a reserve lot's units promised to an open move
are not promised twice. The handheld side is `replenishing.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.clock import lease_cutoff, now
from server.inventory.domain import replenishment as rules
from server.people import audit
from server.store import Store

ROLES = ("face", "reserve")


class ReplenError(ValueError):
    """A request naming what does not exist, or limits that cannot be; `problems`: (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class ReplenConflict(ValueError):
    """The move is not where the request needs it (done, cancelled, held by a device)."""


# ---------------------------------------------------------------- limits
def set_limits(
    store: Store, warehouse: str, location: str, sku: str, min_qty: int, max_qty: int, actor: str
) -> dict[str, Any]:
    """Set a face's min and max for a SKU (then check it at once); nothing changes on a problem."""
    try:
        limits = rules.Limits(min_qty, max_qty)
    except rules.LimitsError as e:
        raise ReplenError(e.problems) from None
    with store.write():
        if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
            raise ReplenError([("warehouse", f"unknown warehouse {warehouse}")])
        loc = store.one(
            "SELECT id, role FROM locations WHERE warehouse = ? AND code = ?", (warehouse, location)
        )
        problems = []
        if loc is None:
            problems.append(("location", f"unknown location {location} in {warehouse}"))
        elif loc["role"] != "face":
            problems.append(("location", f"{location} is a reserve bin: limits are for pick faces"))
        if store.one("SELECT 1 FROM products WHERE sku = ?", (sku,)) is None:
            problems.append(("sku", f"unknown SKU {sku}"))
        if problems:
            raise ReplenError(problems)
        store.execute(
            "INSERT INTO face_limits (location_id, sku, min_qty, max_qty) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (location_id, sku) DO UPDATE SET min_qty = excluded.min_qty, "
            "max_qty = excluded.max_qty",
            (loc["id"], sku, limits.min_qty, limits.max_qty),
        )
        audit.record(
            store, actor, "face_limits_set", f"location:{warehouse}/{location}",
            {"sku": sku, "min": min_qty, "max": max_qty},
        )  # fmt: skip
        task = check(store, loc["id"], sku)
    return {**limit(store, loc["id"], sku), "task": task}


def limit(store: Store, location_id: int, sku: str) -> dict[str, Any]:
    """One face's limits for a SKU, with what it holds."""
    return _limits(store, "f.location_id = ? AND f.sku = ?", (location_id, sku))[0]


def limits(store: Store, warehouse: str | None = None) -> list[dict[str, Any]]:
    """Every face's limits (of a warehouse), with what each holds."""
    if warehouse is None:
        return _limits(store, "1 = 1", ())
    return _limits(store, "l.warehouse = ?", (warehouse,))


def _limits(store: Store, where: str, params: tuple) -> list[dict[str, Any]]:
    return store.all(
        f"""SELECT l.warehouse, l.code AS location, f.sku, f.min_qty AS min, f.max_qty AS max,
                   COALESCE((SELECT SUM(s.on_hand) FROM stock s
                             WHERE s.location_id = f.location_id AND s.sku = f.sku), 0) AS on_hand
            FROM face_limits f JOIN locations l ON l.id = f.location_id
            WHERE {where} ORDER BY l.warehouse, l.code, f.sku""",
        params,
    )


# ---------------------------------------------------------------- making moves
def _on_hand(store: Store, location_id: int, sku: str) -> int:
    row = store.one(
        "SELECT COALESCE(SUM(on_hand), 0) AS n FROM stock WHERE location_id = ? AND sku = ?",
        (location_id, sku),
    )
    return row["n"]


def open_for_face(store: Store, location_id: int, sku: str) -> dict[str, Any] | None:
    """The face's open move for the SKU, if any."""
    return store.one(
        "SELECT * FROM replen_tasks WHERE to_location_id = ? AND sku = ? AND status = 'open'",
        (location_id, sku),
    )


def _sources(store: Store, warehouse: str, sku: str) -> list[rules.Source]:
    """Reserve lots holding the SKU, less what open moves already take from them."""
    rows = store.all(
        """SELECT s.location_id, s.lot, s.expires,
                  s.on_hand - s.reserved - COALESCE((SELECT SUM(t.qty) FROM replen_tasks t
                      WHERE t.from_location_id = s.location_id AND t.sku = s.sku
                      AND t.lot = s.lot AND t.status = 'open'), 0) AS free
           FROM stock s JOIN locations l ON l.id = s.location_id
           WHERE l.warehouse = ? AND l.role = 'reserve' AND s.sku = ? AND s.on_hand > s.reserved""",
        (warehouse, sku),
    )
    return [rules.Source(r["location_id"], r["lot"], r["expires"], r["free"]) for r in rows]


def _make(
    store: Store,
    face: dict[str, Any],
    sku: str,
    wanted: int,
    at_least: int,
    urgent: bool,
    reason: str,
) -> int | None:
    source = rules.choose_source(_sources(store, face["warehouse"], sku), wanted, at_least)
    if source is None:
        return None
    qty = min(wanted, source.free)
    task_id = store.execute(
        """INSERT INTO replen_tasks (warehouse, sku, lot, from_location_id, to_location_id, qty,
             urgent, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (face["warehouse"], sku, source.lot, source.location_id, face["id"], qty, int(urgent),
         reason, now()),
    ).lastrowid  # fmt: skip
    audit.record(
        store, "system", "replen_made", f"replen:{task_id}",
        {"face": face["code"], "sku": sku, "qty": qty, "urgent": urgent, "reason": reason},
    )  # fmt: skip
    return task_id


def check(store: Store, location_id: int, sku: str) -> int | None:
    """After the face's stock fell: a move when it is below its min (inside a write).

    Returns the face's open move (made now or before), or None. One indexed look-up when
    the face has no limits for the SKU, so it may run after every pick.
    """
    row = store.one(
        """SELECT f.min_qty, f.max_qty, l.id, l.code, l.warehouse FROM face_limits f
           JOIN locations l ON l.id = f.location_id
           WHERE f.location_id = ? AND f.sku = ? AND l.role = 'face'""",
        (location_id, sku),
    )
    if row is None:
        return None
    held = open_for_face(store, location_id, sku)
    if held is not None:
        return held["id"]
    wanted = rules.top_up(
        _on_hand(store, location_id, sku), rules.Limits(row["min_qty"], row["max_qty"])
    )
    if not wanted:
        return None
    return _make(store, row, sku, wanted, 1, False, f"below min {row['min_qty']}")


def check_sku(store: Store, warehouse: str, sku: str) -> list[int]:
    """Every face of the warehouse with limits for the SKU, checked (inside a write): after
    reserve received it, a face left below its min can now be fed. Returns the open moves."""
    faces = store.all(
        """SELECT f.location_id FROM face_limits f JOIN locations l ON l.id = f.location_id
           WHERE f.sku = ? AND l.warehouse = ? AND l.role = 'face' ORDER BY f.location_id""",
        (sku, warehouse),
    )
    return [t for f in faces if (t := check(store, f["location_id"], sku)) is not None]


def for_short(
    store: Store, location_id: int, sku: str, missing: int, found: int, order_id: str
) -> int | None:
    """A short pick at a face: an urgent move of the missing units when one reserve lot holds
    them all, and the order held for it (inside a write); None when reserve cannot."""
    face = store.one("SELECT id, code, warehouse FROM locations WHERE id = ?", (location_id,))
    held = open_for_face(store, location_id, sku)
    if held is not None and held["qty"] - held["carried"] >= missing and held["stage"] == "reserve":
        store.execute("UPDATE replen_tasks SET urgent = 1 WHERE id = ?", (held["id"],))
        task_id = held["id"]
    elif held is not None:
        return None  # a move already under way cannot grow: the picks look elsewhere
    else:
        lim = store.one(
            "SELECT min_qty, max_qty FROM face_limits WHERE location_id = ? AND sku = ?",
            (location_id, sku),
        )
        limits = rules.Limits(lim["min_qty"], lim["max_qty"]) if lim else None
        wanted = rules.for_short(missing, found, limits)
        task_id = _make(store, face, sku, wanted, missing, True, "short pick")
        if task_id is None:
            return None
    store.execute(
        "INSERT INTO replen_holds (task_id, order_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (task_id, order_id),
    )
    return task_id


# ---------------------------------------------------------------- the queue
def held(store: Store, device_id: int) -> dict[str, Any] | None:
    """The open move the device holds, with its bins and product."""
    return store.one(f"{_SELECT} WHERE t.device_id = ? AND t.status = 'open'", (device_id,))


def take(store: Store, device: dict, urgent_only: bool = False) -> int | None:
    """Give the device the first open move of its warehouse, urgent first (inside a write)."""
    if held(store, device["id"]) is not None:
        return None
    row = store.one(
        f"""SELECT id FROM replen_tasks WHERE warehouse = ? AND status = 'open'
            AND device_id IS NULL {"AND urgent = 1" if urgent_only else ""}
            ORDER BY urgent DESC, id LIMIT 1""",
        (device["warehouse"],),
    )
    if row is None:
        return None
    store.execute(
        "UPDATE replen_tasks SET device_id = ?, worker = ? WHERE id = ?",
        (device["id"], device.get("worker") or device["name"], row["id"]),
    )
    return row["id"]


def waiting(store: Store, warehouse: str) -> bool:
    """Whether any move of the warehouse waits for a picker."""
    return (
        store.one(
            "SELECT 1 FROM replen_tasks WHERE warehouse = ? AND status = 'open' "
            "AND device_id IS NULL LIMIT 1",
            (warehouse,),
        )
        is not None
    )


def give_back(store: Store, device_id: int) -> None:
    """The device's move goes back to the queue from its start (nothing moved yet)."""
    store.execute(
        "UPDATE replen_tasks SET device_id = NULL, worker = NULL, stage = 'reserve', carried = 0 "
        "WHERE device_id = ? AND status = 'open'",
        (device_id,),
    )


def release_silent(store: Store, lease_seconds: float, at: datetime | None = None) -> list[str]:
    """Give back the moves of devices silent longer than the lease; returns their warehouses."""
    cutoff = lease_cutoff(lease_seconds, at)
    whs = []
    with store.write():
        for r in store.all(
            """SELECT d.id, d.warehouse FROM replen_tasks t JOIN devices d ON d.id = t.device_id
               WHERE t.status = 'open' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        ):
            give_back(store, r["id"])
            audit.record(store, "system", "replen_given_back", f"device:{r['id']}", {})
            whs.append(r["warehouse"])
    return whs


# ---------------------------------------------------------------- reading
_SELECT = """SELECT t.id, t.warehouse, t.sku, p.name, t.lot, t.qty, t.carried, t.moved, t.urgent,
                    t.reason, t.status, t.stage, fr.code AS reserve, fr.barcode AS reserve_barcode,
                    fa.code AS face, fa.barcode AS face_barcode, t.from_location_id,
                    t.to_location_id, d.name AS device, t.worker, t.created_at, t.done_at
             FROM replen_tasks t JOIN products p ON p.sku = t.sku
             JOIN locations fr ON fr.id = t.from_location_id
             JOIN locations fa ON fa.id = t.to_location_id
             LEFT JOIN devices d ON d.id = t.device_id"""


def get(store: Store, task_id: int) -> dict[str, Any]:
    """One move with the orders held for it."""
    row = store.one(f"{_SELECT} WHERE t.id = ?", (task_id,))
    if row is None:
        raise KeyError(task_id)
    holds = store.all(
        "SELECT order_id FROM replen_holds WHERE task_id = ? ORDER BY order_id", (task_id,)
    )
    return {**row, "held_orders": [h["order_id"] for h in holds]}


def tasks(
    store: Store, status: str | None = None, warehouse: str | None = None
) -> list[dict[str, Any]]:
    """Moves, newest first, filtered."""
    where, params = [], []
    for col, value in (("t.status", status), ("t.warehouse", warehouse)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = (
        f"{_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY t.id DESC LIMIT 500"
    )
    return store.all(sql, tuple(params))
