"""Receiving a return at the dock on a handheld: parcel, units, grades, bins.

Any handheld can receive returns: the `CMD-RETURN` card starts it (`return_open`). The
receiver scans the parcel's label (the tracking number of the package we sent, or the
carrier's returned parcel) or the RMA number on the customer's return slip; the handheld
then holds that return (no other handheld may take it). Each unit in the parcel is scanned
(`return_item`) and graded (`return_grade`) with a card: `CMD-GRADE-OK` makes it
resellable, and a put-away task takes it to a bin (`return_bin`: the bin that holds the SKU
is suggested, any bin of the warehouse is taken); a `CMD-SCRAP-<REASON>` card scraps it
with that reason. A unit not on the return, or one more than it authorised, is refused.
`CMD-RETURN-DONE` closes the return (server/returns/rmas.py `close`): the shop and the
customer are told. Scans and cards travel as every scan and action does (journal, exactly
once by message id, kept in `scans` and `device_actions`); a handheld that logs out or stays
silent past the lease gives its return back (`give_back`), and a resellable unit graded but
not yet shelved keeps its open put-away task, which REST can finish.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server.core.clock import lease_cutoff, now
from server.inventory import catalogue, stock
from server.returns import rmas
from server.returns.domain import returns as rules
from server.store import Store
from shared import returning as say
from shared.barcodes import ScanData
from shared.picking import Verdict
from shared.protocol import DeviceState, Expect, Progress


def active(device: dict) -> dict[str, Any] | None:
    """The device's place in receiving a return, or None when it is not receiving one."""
    return json.loads(device["return_mode"]) if device.get("return_mode") else None


def _save(store: Store, device_id: int, r: dict[str, Any] | None) -> None:
    store.execute(
        "UPDATE devices SET return_mode = ? WHERE id = ?",
        (json.dumps(r) if r is not None else None, device_id),
    )


def start(store: Store, device: dict) -> None:
    """Put the device in return mode (inside a write); a second start keeps its place."""
    if active(device) is None:
        _save(store, device["id"], {"rma_id": None, "unit": None, "task": None})


def _rma(store: Store, rma_id: int) -> dict[str, Any]:
    return store.one("SELECT id, rma, order_id, warehouse FROM rmas WHERE id = ?", (rma_id,))


def bin_for(store: Store, warehouse: str, sku: str) -> dict[str, Any]:
    """The bin a resellable unit should go to: the one holding most of the SKU, else the first."""
    row = store.one(
        """SELECT l.id, l.code, l.barcode FROM stock s JOIN locations l ON l.id = s.location_id
           WHERE l.warehouse = ? AND s.sku = ? ORDER BY s.on_hand DESC, l.code LIMIT 1""",
        (warehouse, sku),
    )
    return row or store.one(
        "SELECT id, code, barcode FROM locations WHERE warehouse = ? ORDER BY code LIMIT 1",
        (warehouse,),
    )


def screen(store: Store, r: dict[str, Any]) -> DeviceState:
    """What a handheld receiving a return shows."""
    if r["rma_id"] is None:
        return DeviceState(
            screen="return_open", instruction=say.scan_parcel(), expect=Expect(kind="label")
        )
    rma = _rma(store, r["rma_id"])
    lines = rmas.result(store, r["rma_id"])
    done = sum(x.received for x in lines)
    total = sum(x.authorised for x in lines)
    progress = Progress(done=done, total=total)
    unit = r["unit"]
    if unit is None:
        return DeviceState(
            screen="return_item",
            instruction=say.scan_items(rma["rma"], done, total),
            expect=Expect(kind="item"),
            progress=progress,
        )
    if r["task"] is None:
        return DeviceState(
            screen="return_grade",
            instruction=say.grade(unit["name"]),
            expect=Expect(kind="none"),
            progress=progress,
        )
    task = store.one(
        "SELECT l.code, l.barcode FROM putaway_tasks t JOIN locations l ON l.id = t.location_id "
        "WHERE t.id = ?",
        (r["task"],),
    )
    return DeviceState(
        screen="return_bin",
        instruction=say.to_bin(unit["name"], task["code"]),
        expect=Expect(kind="location", barcodes=[task["barcode"]]),
        progress=progress,
    )


def scan(store: Store, device: dict, text: str, data: ScanData) -> Verdict:
    """A scan while receiving a return: the parcel, then each unit, then a bin (inside a write)."""
    r = active(device)
    if r["rma_id"] is None:
        found = rmas.find_open(store, device["warehouse"], text)
        if found is None:
            return Verdict(False, "return_unknown", say.unknown_parcel(text))
        # Compare and set: two handhelds scanning one parcel at once, only one holds it.
        taken = store.execute(
            "UPDATE rmas SET device_id = ? WHERE id = ? AND status = 'authorised' "
            "AND (device_id IS NULL OR device_id = ?)",
            (device["id"], found["id"], device["id"]),
        ).rowcount
        if not taken:
            return Verdict(False, "return_held", say.held_elsewhere(found["rma"]))
        r["rma_id"] = found["id"]
        _save(store, device["id"], r)
        left = sum(x.left for x in rmas.result(store, found["id"]))
        return Verdict(True, "return_open", say.parcel_ok(found["rma"], left))
    unit = r["unit"]
    if unit is not None and r["task"] is not None:
        return _to_bin(store, device, r, text)
    if unit is not None:
        return Verdict(False, "return_grade_first", say.grade_first(unit["name"]))
    product = catalogue.scanned_product(store, text, data)
    if product is None:
        return Verdict(False, "return_not_on_return", say.not_on_return(text))
    verdict = rules.may_receive(rmas.result(store, r["rma_id"]), product["sku"])
    if verdict == "not_on_return":
        return Verdict(False, "return_not_on_return", say.not_on_return(product["name"]))
    if verdict == "all_received":
        return Verdict(False, "return_all_received", say.all_received(product["name"]))
    r["unit"] = {"sku": product["sku"], "name": product["name"]}
    _save(store, device["id"], r)
    return Verdict(True, "return_item_ok", say.item_scanned(product["name"]))


def _to_bin(store: Store, device: dict, r: dict[str, Any], text: str) -> Verdict:
    loc = store.one(
        "SELECT code FROM locations WHERE warehouse = ? AND (barcode = ? OR code = ?)",
        (device["warehouse"], text, text),
    )
    if loc is None:
        return Verdict(False, "return_unknown_bin", say.unknown_bin(text))
    try:
        stock.putaway_done(store, r["task"], loc["code"])
    except stock.StockError as exc:
        problems = "; ".join(message for _, message in exc.problems)
        return Verdict(False, "return_bin_refused", say.bin_refused(problems))
    name = r["unit"]["name"]
    r["unit"], r["task"] = None, None
    _save(store, device["id"], r)
    return Verdict(True, "return_put_away", say.put_away(name, loc["code"]))


def grade(store: Store, device: dict, reason: str | None) -> Verdict:
    """A grade card for the unit just scanned (inside a write): resellable (a put-away task
    to a bin) or scrap with its reason."""
    r = active(device)
    if r is None:
        return Verdict(False, "not_returning", say.not_returning())
    if r["rma_id"] is None:  # in return mode, no parcel scanned yet: no unit either
        return Verdict(False, "return_item_first", say.scan_parcel())
    unit = r["unit"]
    if unit is None:
        return Verdict(False, "return_item_first", say.scan_item_first())
    if r["task"] is not None:
        return Verdict(False, "return_bin_first", say.bin_first(unit["name"]))
    grade_ = "resellable" if reason == "resellable" else "scrap"
    why = None if grade_ == "resellable" else reason
    problem = rules.grade_problem(grade_, why)
    if problem is not None:
        return Verdict(False, "return_bad_grade", problem)
    rma = _rma(store, r["rma_id"])
    worker = device.get("worker") or device["name"]
    task_id = None
    if grade_ == "resellable":
        to = bin_for(store, rma["warehouse"], unit["sku"])
        task_id = store.execute(
            """INSERT INTO putaway_tasks (warehouse, order_id, location_id, sku, qty, reason,
                                          status, created_at)
               VALUES (?, ?, ?, ?, 1, ?, 'open', ?)""",
            (
                rma["warehouse"],
                rma["order_id"],
                to["id"],
                unit["sku"],
                f"return {rma['rma']}",
                now(),
            ),
        ).lastrowid
    store.execute(
        """INSERT INTO rma_units (rma_id, sku, grade, reason, putaway_id, device_id, worker, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (rma["id"], unit["sku"], grade_, why, task_id, device["id"], worker, now()),
    )
    if task_id is not None:
        r["task"] = task_id
        _save(store, device["id"], r)
        return Verdict(True, "return_resellable", say.to_bin(unit["name"], to["code"]))
    r["unit"] = None
    _save(store, device["id"], r)
    return Verdict(True, "return_scrapped", say.graded_scrap(unit["name"], why))


def done(store: Store, device: dict) -> Verdict:
    """`CMD-RETURN-DONE`: close the return (inside a write); the device leaves return mode."""
    r = active(device)
    if r is None or r["rma_id"] is None:
        if r is not None:
            _save(store, device["id"], None)  # nothing scanned yet: just leave return mode
            return Verdict(True, "return_left", say.return_left())
        return Verdict(False, "not_returning", say.not_returning())
    if r["unit"] is not None:
        first = say.bin_first if r["task"] is not None else say.grade_first
        return Verdict(False, "return_unit_open", first(r["unit"]["name"]))
    lines = rmas.result(store, r["rma_id"])
    if not any(x.received for x in lines):
        return Verdict(False, "return_nothing", say.nothing_received())
    closed = rmas.close(store, r["rma_id"], device.get("worker") or device["name"])
    _save(store, device["id"], None)
    good = sum(x["resellable"] for x in closed["lines"])
    bad = sum(x["scrapped"] for x in closed["lines"])
    return Verdict(True, "return_closed", say.return_closed(closed["rma"], good, bad))


def give_back(store: Store, device_id: int) -> None:
    """The device leaves return mode; its return goes back for another handheld (inside a
    write). A unit scanned but not graded was never written; one graded resellable and not yet
    shelved keeps its open put-away task."""
    store.execute("UPDATE rmas SET device_id = NULL WHERE device_id = ?", (device_id,))
    store.execute("UPDATE devices SET return_mode = NULL WHERE id = ?", (device_id,))


def release_silent(store: Store, lease_seconds: float, at: datetime | None = None) -> int:
    """Give back the returns of handhelds silent longer than the lease; returns how many."""
    cutoff = lease_cutoff(lease_seconds, at)
    with store.write():
        rows = store.all(
            """SELECT d.id FROM rmas m JOIN devices d ON d.id = m.device_id
               WHERE m.status = 'authorised' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        )
        for row in rows:
            give_back(store, row["id"])
    return len(rows)
