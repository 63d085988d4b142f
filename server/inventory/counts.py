"""Cycle count tasks: made, handed in, recounted, approved; and how accurate the bins are.

A task counts one bin. It is made by a supervisor (REST, CLI), by a short pick, or by
the ABC schedule (`schedule`); a bin has at most one open task. A count is handed in
(`hand_in`, from the handheld's "bin done" or REST) with what was found per SKU and
lot; the domain (`inventory/domain/counts.py`) says what follows: within tolerance the
bin is set to the count at once (stock moves, re-allocation, audit); over it, the
first count asks for a recount by another worker, and a recount still over waits for
a supervisor (`approve` sets the bin to the recount, `reject` leaves it). Each step is
one write with its audit row; every check comes before the first change.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.core.clock import now
from server.core.schemas import MAX_UNITS, CorrectionIn
from server.inventory import stock
from server.inventory.domain import counts as rules
from server.people import audit
from server.store import Store

SOURCES = ("supervisor", "short_pick", "schedule")
# `[counts]` settings, set once at start (server/app.py) from server/config.py.
SETTINGS: dict[str, Any] = {
    "tolerance": rules.Tolerance(),
    "classes": rules.DEFAULT_CLASSES,
    "pick_days": 90,
}


def configure(
    tolerance: rules.Tolerance, classes: tuple[rules.CountClass, ...], pick_days: int
) -> None:
    """Take the `[counts]` settings."""
    SETTINGS.update(tolerance=tolerance, classes=classes, pick_days=pick_days)


class CountError(ValueError):
    """A count naming what does not exist, or numbers that cannot be; `problems`: (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class CountConflict(ValueError):
    """The task is not where the request needs it (done, not waiting, the same worker)."""


def _bin(store: Store, warehouse: str, location: str) -> dict[str, Any]:
    if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
        raise CountError([("warehouse", f"unknown warehouse {warehouse}")])
    row = store.one(
        "SELECT id, code FROM locations WHERE warehouse = ? AND code = ?", (warehouse, location)
    )
    if row is None:
        raise CountError([("location", f"unknown location {location} in {warehouse}")])
    return row


def open_for_bin(store: Store, location_id: int) -> int | None:
    """The bin's open task, if any."""
    row = store.one(
        "SELECT id FROM count_tasks WHERE location_id = ? AND status = 'open' ORDER BY id LIMIT 1",
        (location_id,),
    )
    return row["id"] if row else None


def add(store: Store, location_id: int, sku: str, source: str, reason: str) -> tuple[int, bool]:
    """A task for the bin (inside a write): the open one if there is one, else a new one."""
    held = open_for_bin(store, location_id)
    if held is not None:
        return held, False
    task_id = store.execute(
        "INSERT INTO count_tasks (location_id, sku, reason, source, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (location_id, sku, reason, source, now()),
    ).lastrowid
    return task_id, True


def create(
    store: Store, warehouse: str, location: str, reason: str = "", actor: str = "supervisor"
) -> tuple[dict[str, Any], bool]:
    """A supervisor asks for a bin to be counted; an open task for the bin is returned as is."""
    with store.write():
        loc = _bin(store, warehouse, location)
        task_id, made = add(store, loc["id"], "", "supervisor", reason or "asked by a supervisor")
        if made:
            audit.record(store, actor, "count_asked", f"count:{task_id}", {"location": location})
    return get(store, task_id), made


# ---------------------------------------------------------------- reading
_SELECT = """SELECT c.id, l.warehouse, l.code AS location, c.sku, c.reason, c.source, c.stage,
                    c.status, c.outcome, c.first_worker, c.second_worker, c.decided_by,
                    d.name AS device, c.created_at, c.done_at
             FROM count_tasks c JOIN locations l ON l.id = c.location_id
             LEFT JOIN devices d ON d.id = c.device_id"""


def get(store: Store, task_id: int) -> dict[str, Any]:
    """One task with the lines of each pass handed in (for supervisors: expected shown)."""
    row = store.one(f"{_SELECT} WHERE c.id = ?", (task_id,))
    if row is None:
        raise KeyError(task_id)
    lines = store.all(
        "SELECT pass AS round, sku, lot, expected, counted, worker FROM count_lines "
        "WHERE task_id = ? "
        "ORDER BY pass, sku, lot",
        (task_id,),
    )
    return {**row, "lines": lines}


def tasks(
    store: Store, status: str | None = None, stage: str | None = None, warehouse: str | None = None
) -> list[dict[str, Any]]:
    """Tasks, newest first, filtered."""
    where, params = [], []
    for col, value in (("c.status", status), ("c.stage", stage), ("l.warehouse", warehouse)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = (
        f"{_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY c.id DESC LIMIT 500"
    )
    return store.all(sql, tuple(params))


def expected(store: Store, location_id: int) -> dict[rules.Key, int]:
    """What the system holds in the bin, per (sku, lot)."""
    rows = store.all(
        "SELECT sku, lot, on_hand FROM stock WHERE location_id = ? AND on_hand > 0", (location_id,)
    )
    return {(r["sku"], r["lot"]): r["on_hand"] for r in rows}


# ---------------------------------------------------------------- handing in
def hand_in(
    store: Store,
    task_id: int,
    counted: dict[rules.Key, int],
    worker: str,
    expires: dict[rules.Key, str] | None = None,
) -> dict[str, Any]:
    """A finished count of the task's bin (inside a write): judged, kept, and acted on.

    Raises KeyError (no task), CountConflict (done, waiting for approval, or a recount by
    the worker of the first count) and CountError (unknown SKU, or more units of a SKU and
    lot than a bin holds, lines of it added up), changing nothing.
    """
    task = store.one(
        "SELECT c.*, l.warehouse, l.code AS location FROM count_tasks c "
        "JOIN locations l ON l.id = c.location_id WHERE c.id = ?",
        (task_id,),
    )
    if task is None:
        raise KeyError(task_id)
    if task["status"] != "open" or task["stage"] == "approval":
        raise CountConflict(f"count {task_id} takes no count now: {_where(task)}")
    if task["stage"] == "recount" and worker == task["first_worker"]:
        raise CountConflict(
            f"count {task_id} must be recounted by another worker than {worker}, "
            "who made the first count"
        )
    unknown = sorted({sku for sku, _ in counted} - _known(store, {sku for sku, _ in counted}))
    too_many = [
        ("lines", f"{sku}{f' lot {lot}' if lot else ''}: {n} units counted, more than a bin "
                  f"holds ({MAX_UNITS})")
        for (sku, lot), n in sorted(counted.items())
        if n > MAX_UNITS
    ]  # fmt: skip
    if unknown or too_many:
        raise CountError([("lines", f"unknown SKU {sku}") for sku in unknown] + too_many)
    pass_no = 1 if task["stage"] == "count" else 2
    result = rules.lines(expected(store, task["location_id"]), counted)
    at = now()
    for x in result:
        store.execute(
            "INSERT INTO count_lines (task_id, pass, sku, lot, expected, counted, worker, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, pass_no, x.sku, x.lot, x.expected, x.counted, worker, at),
        )
    step = rules.next_step(task["stage"], result, SETTINGS["tolerance"])
    worker_col = "first_worker" if pass_no == 1 else "second_worker"
    store.execute(
        f"UPDATE count_tasks SET {worker_col} = ?, device_id = NULL, at_location = 0 WHERE id = ?",
        (worker, task_id),
    )
    detail = {"location": task["location"], "pass": pass_no, "variance": _variance(result)}
    if step == "adjust":
        outcome = "matched" if rules.matched(result) else "adjusted"
        _apply(store, task, result, expires or {})
        _close(store, task_id, outcome, None)
    else:
        store.execute("UPDATE count_tasks SET stage = ? WHERE id = ?", (step, task_id))
        outcome = step
    audit.record(store, worker, f"count_{outcome}", f"count:{task_id}", detail)
    return {"task": task_id, "outcome": outcome, "location": task["location"]}


def _variance(result: list[rules.Line]) -> list[dict[str, Any]]:
    return [{"sku": x.sku, "lot": x.lot, "diff": x.diff} for x in result if x.diff]


def _known(store: Store, skus: set[str]) -> set[str]:
    if not skus:
        return set()
    marks = ",".join("?" * len(skus))
    rows = store.all(f"SELECT sku FROM products WHERE sku IN ({marks})", tuple(skus))
    return {r["sku"] for r in rows}


def _where(task: dict[str, Any]) -> str:
    if task["status"] == "done":
        return f"it is done ({task['outcome']})"
    return "it waits for a supervisor's approval"


def _apply(
    store: Store, task: dict[str, Any], result: list[rules.Line], expires: dict[rules.Key, str]
) -> None:
    """Set each differing (sku, lot) of the bin to what was counted: moves written,
    reservations it can no longer hold re-allocated (stock.correct)."""
    for x in result:
        if x.diff:
            stock.correct(
                store,
                CorrectionIn(
                    warehouse=task["warehouse"],
                    location=task["location"],
                    sku=x.sku,
                    lot=x.lot,
                    on_hand=x.counted,
                    reason=f"cycle count {task['id']}",
                ),
            )
        when = expires.get((x.sku, x.lot))
        if when and x.counted:  # an expiry read from a GS1 barcode fills one the bin lacked
            store.execute(
                "UPDATE stock SET expires = COALESCE(expires, ?) "
                "WHERE location_id = ? AND sku = ? AND lot = ?",
                (when, task["location_id"], x.sku, x.lot),
            )


def _close(store: Store, task_id: int, outcome: str, by: str | None) -> None:
    store.execute(
        "UPDATE count_tasks SET status = 'done', stage = 'done', outcome = ?, decided_by = ?, "
        "done_at = ?, device_id = NULL WHERE id = ?",
        (outcome, by, now(), task_id),
    )


def decide(store: Store, task_id: int, approve: bool, by: str) -> dict[str, Any]:
    """A supervisor approves (the bin is set to the recount) or rejects (left as it is) a count
    waiting for approval; anything else is a CountConflict and changes nothing."""
    with store.write():
        task = store.one(
            "SELECT c.*, l.warehouse, l.code AS location FROM count_tasks c "
            "JOIN locations l ON l.id = c.location_id WHERE c.id = ?",
            (task_id,),
        )
        if task is None:
            raise KeyError(task_id)
        if task["status"] != "open" or task["stage"] != "approval":
            where = _where(task) if task["status"] == "done" else f"it is at {task['stage']}"
            raise CountConflict(f"count {task_id} is not waiting for approval: {where}")
        rows = store.all(
            "SELECT sku, lot, counted FROM count_lines WHERE task_id = ? AND pass = 2", (task_id,)
        )
        outcome = "approved" if approve else "rejected"
        if approve:
            counted = {(r["sku"], r["lot"]): r["counted"] for r in rows}
            result = rules.lines(expected(store, task["location_id"]), counted)
            _apply(store, task, result, {})
        _close(store, task_id, outcome, by)
        audit.record(
            store, by, f"count_{outcome}", f"count:{task_id}", {"location": task["location"]}
        )
    return get(store, task_id)


# ---------------------------------------------------------------- schedule and accuracy
def schedule(
    store: Store, warehouse: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Make a task for every bin its ABC class says is due (no bin gets a second open task).

    One write: a run cut short (an error, a SIGKILL) leaves no task of it behind. Returns
    how many were made, per class, and the warehouses that got new ones (`warehouses`).
    """
    today = today or datetime.now(UTC).date()
    since = (datetime.now(UTC) - timedelta(days=SETTINGS["pick_days"])).isoformat()
    made: dict[str, int] = defaultdict(int)
    touched: set[str] = set()
    with store.write():
        whs = (
            [warehouse]
            if warehouse
            else [r["code"] for r in store.all("SELECT code FROM warehouses")]
        )
        for wh in whs:
            if store.one("SELECT 1 FROM warehouses WHERE code = ?", (wh,)) is None:
                raise CountError([("warehouse", f"unknown warehouse {wh}")])
            bins = store.all(
                """SELECT l.id, (SELECT COUNT(*) FROM stock_moves m WHERE m.location_id = l.id
                                  AND m.kind = 'pick' AND m.at >= ?) AS picks,
                          (SELECT MAX(done_at) FROM count_tasks c WHERE c.location_id = l.id
                                  AND c.status = 'done') AS last
                   FROM locations l WHERE l.warehouse = ?""",
                (since, wh),
            )
            classes = rules.classify({b["id"]: b["picks"] for b in bins}, SETTINGS["classes"])
            last = {
                b["id"]: date.fromisoformat(b["last"][:10]) if b["last"] else None for b in bins
            }
            for b in rules.due(classes, last, today):
                cls = classes[b].name
                _, new = add(store, b, "", "schedule", f"schedule: class {cls}")
                made[cls] += int(new)
                if new:
                    touched.add(wh)
    return {
        "created": sum(made.values()),
        "by_class": dict(sorted(made.items())),
        "warehouses": sorted(touched),
    }


def accuracy(store: Store, warehouse: str | None = None) -> dict[str, Any]:
    """How often a first count found what the system held: per bin and per SKU."""
    where = "x.pass = 1" + (" AND l.warehouse = ?" if warehouse else "")
    rows = store.all(
        f"""SELECT c.id, l.warehouse, l.code AS location, x.sku, x.expected, x.counted
            FROM count_lines x JOIN count_tasks c ON c.id = x.task_id
            JOIN locations l ON l.id = c.location_id WHERE {where}""",
        (warehouse,) if warehouse else (),
    )
    by_bin: dict[tuple[str, str], dict[int, bool]] = defaultdict(dict)
    by_sku: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        hit = r["expected"] == r["counted"]
        key = (r["warehouse"], r["location"])
        by_bin[key][r["id"]] = by_bin[key].get(r["id"], True) and hit
        s = by_sku[r["sku"]]
        s[0] += int(hit)
        s[1] += 1
        s[2] += abs(r["counted"] - r["expected"])
    bins = [
        {
            "warehouse": wh,
            "location": loc,
            "counts": len(c),
            "accurate": sum(c.values()),
            "accuracy": rules.accuracy(sum(c.values()), len(c)),
        }  # fmt: skip
        for (wh, loc), c in sorted(by_bin.items())
    ]
    skus = [
        {
            "sku": sku,
            "lines": n,
            "accurate": hits,
            "units_off": off,
            "accuracy": rules.accuracy(hits, n),
        }  # fmt: skip
        for sku, (hits, n, off) in sorted(by_sku.items())
    ]
    return {"bins": bins, "skus": skus}
