"""Counting a bin on the handheld: a picker with no pick list holds one count task.

The floor (`floor/work.py`) hands a count to a logged-in picker with no list, the
oldest open task of its warehouse first, never a recount to the worker of the first
count. The picker goes to the bin and scans its label (`count_location`), then scans
each item in it (`count_item`): a GS1 barcode's lot, expiry and count are read from
it, and a `CMD-COUNT-<n>` card sets the last item's quantity to n (0 takes the last
scan back). `CMD-BIN-DONE` hands the count in (`counts.hand_in`). The screen never
shows what the system expects: the count is blind. Scans and "bin done" travel as
every scan and action does (journal, exactly once by message id, audit in `scans` and
`device_actions`); a task held by a device whose link stays down is given back
(`release_silent`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from server.core.clock import lease_cutoff, now
from server.core.schemas import LOT_PATTERN, MAX_UNITS
from server.inventory import catalogue, counts
from server.store import Store
from shared import counting as say
from shared.barcodes import ScanData
from shared.picking import Verdict
from shared.protocol import DeviceState, Expect, Progress

_LOT = re.compile(LOT_PATTERN)


def worker(device: dict) -> str:
    """Who counts: the worker signed in by badge, else the device."""
    return device.get("worker") or device["name"]


def held(store: Store, device_id: int) -> dict[str, Any] | None:
    """The open count task the device holds, with its bin."""
    return store.one(
        """SELECT c.id, c.stage, c.at_location, c.location_id, l.code AS location, l.barcode
           FROM count_tasks c JOIN locations l ON l.id = c.location_id
           WHERE c.device_id = ? AND c.status = 'open'""",
        (device_id,),
    )


def take(store: Store, device: dict) -> int | None:
    """Give the device the oldest open count of its warehouse it may do (inside a write)."""
    if held(store, device["id"]) is not None:
        return None
    row = store.one(
        """SELECT c.id FROM count_tasks c JOIN locations l ON l.id = c.location_id
           WHERE c.status = 'open' AND c.stage IN ('count', 'recount') AND c.device_id IS NULL
           AND l.warehouse = ? AND (c.stage = 'count' OR c.first_worker IS DISTINCT FROM ?)
           ORDER BY c.id LIMIT 1""",
        (device["warehouse"], worker(device)),
    )
    if row is None:
        return None
    store.execute("UPDATE count_tasks SET device_id = ? WHERE id = ?", (device["id"], row["id"]))
    return row["id"]


def waiting(store: Store, warehouse: str) -> bool:
    """Whether any count of the warehouse waits for a counter."""
    return (
        store.one(
            """SELECT 1 FROM count_tasks c JOIN locations l ON l.id = c.location_id
               WHERE c.status = 'open' AND c.stage IN ('count', 'recount')
               AND c.device_id IS NULL AND l.warehouse = ? LIMIT 1""",
            (warehouse,),
        )
        is not None
    )


def give_back(store: Store, device_id: int) -> None:
    """The device's count goes back to the queue; what it scanned of this pass is dropped."""
    task = held(store, device_id)
    if task is None:
        return
    store.execute(
        "DELETE FROM count_scans WHERE task_id = ? AND pass = ?", (task["id"], _pass(task))
    )
    store.execute(
        "UPDATE count_tasks SET device_id = NULL, at_location = 0 WHERE id = ?", (task["id"],)
    )


def release_silent(store: Store, lease_seconds: float, at: datetime | None = None) -> list[str]:
    """Give back the counts of devices silent longer than the lease; returns their warehouses."""
    cutoff = lease_cutoff(lease_seconds, at)
    whs = []
    with store.write():
        for r in store.all(
            """SELECT d.id, d.warehouse FROM count_tasks c JOIN devices d ON d.id = c.device_id
               WHERE c.status = 'open' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        ):
            give_back(store, r["id"])
            whs.append(r["warehouse"])
    return whs


def _pass(task: dict[str, Any]) -> int:
    return 1 if task["stage"] == "count" else 2


def _units(store: Store, task: dict[str, Any]) -> int:
    row = store.one(
        "SELECT COALESCE(SUM(qty), 0) AS n FROM count_scans WHERE task_id = ? AND pass = ?",
        (task["id"], _pass(task)),
    )
    return row["n"]


def screen(store: Store, task: dict[str, Any]) -> DeviceState:
    """What a counting handheld shows: never the quantity the system expects."""
    if not task["at_location"]:
        return DeviceState(
            screen="count_location",
            instruction=say.go_to_bin(task["location"], task["stage"] == "recount"),
            expect=Expect(kind="location", barcodes=[task["barcode"]]),
        )
    units = _units(store, task)
    return DeviceState(
        screen="count_item",
        instruction=say.scan_items(task["location"], units),
        expect=Expect(kind="item"),
        progress=Progress(done=units, total=units),
    )


def scan(store: Store, device: dict, task: dict[str, Any], text: str, data: ScanData) -> Verdict:
    """A scan while counting: the bin's label, then the items in it (inside a write)."""
    if text in (task["barcode"], task["location"]):
        if not task["at_location"]:
            store.execute("UPDATE count_tasks SET at_location = 1 WHERE id = ?", (task["id"],))
        return Verdict(True, "count_bin_ok", say.bin_ok(task["location"]))
    if not task["at_location"]:
        return Verdict(False, "count_wrong_bin", say.wrong_bin(task["location"]))
    product = catalogue.scanned_product(store, text, data)
    if product is None:
        return Verdict(False, "count_unknown", say.unknown_item(text))
    if data.lot and not _LOT.fullmatch(data.lot):
        return Verdict(False, "count_bad_lot", say.bad_lot(data.lot))
    qty = data.quantity or 1
    lot = data.lot or ""
    if _of(store, task, product["sku"], lot) + qty > MAX_UNITS:
        return Verdict(False, "count_too_many", say.too_many(MAX_UNITS))
    store.execute(
        """INSERT INTO count_scans (task_id, pass, sku, lot, expires, qty, device_id, worker, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            task["id"],
            _pass(task),
            product["sku"],
            lot,
            data.expiry.isoformat() if data.expiry else None,
            qty,
            device["id"],
            worker(device),
            now(),
        ),
    )
    return Verdict(True, "counted_item", say.counted(_units(store, task), product["name"]))


def _of(store: Store, task: dict[str, Any], sku: str, lot: str) -> int:
    row = store.one(
        "SELECT COALESCE(SUM(qty), 0) AS n FROM count_scans "
        "WHERE task_id = ? AND pass = ? AND sku = ? AND lot = ?",
        (task["id"], _pass(task), sku, lot),
    )
    return row["n"]


def set_quantity(store: Store, task: dict[str, Any], qty: int) -> Verdict:
    """A count card after an item: the last scan counts `qty` units (0: the scan is taken back)."""
    last = store.one(
        """SELECT s.id, p.name FROM count_scans s JOIN products p ON p.sku = s.sku
           WHERE s.task_id = ? AND s.pass = ? ORDER BY s.id DESC LIMIT 1""",
        (task["id"], _pass(task)),
    )
    if last is None or not task["at_location"]:
        return Verdict(False, "count_nothing_to_set", say.nothing_to_set())
    if qty == 0:
        store.execute("DELETE FROM count_scans WHERE id = ?", (last["id"],))
        return Verdict(True, "count_removed", say.last_removed(last["name"]))
    store.execute("UPDATE count_scans SET qty = ? WHERE id = ?", (qty, last["id"]))
    return Verdict(True, "count_set", say.quantity_set(qty, last["name"]))


def done(store: Store, device: dict, task: dict[str, Any]) -> Verdict:
    """`CMD-BIN-DONE`: hand the count in (inside a write). Refused before the bin is scanned,
    or for a recount by the first count's worker (the task is given back for another)."""
    if not task["at_location"]:
        return Verdict(False, "count_bin_first", say.at_bin_first(task["location"]))
    rows = store.all(
        "SELECT sku, lot, MAX(expires) AS expires, SUM(qty) AS qty FROM count_scans "
        "WHERE task_id = ? AND pass = ? GROUP BY sku, lot",
        (task["id"], _pass(task)),
    )
    found = {(r["sku"], r["lot"]): r["qty"] for r in rows}
    expires = {(r["sku"], r["lot"]): r["expires"] for r in rows if r["expires"]}
    try:
        counts.hand_in(store, task["id"], found, worker(device), expires)
    except counts.CountConflict:
        give_back(store, device["id"])
        return Verdict(False, "count_same_worker", say.same_worker())
    return Verdict(True, "count_done", say.bin_done(task["location"]))
