"""Receiving a transfer at the other warehouse's dock on a handheld: package, units, bins.

Any handheld of the receiving warehouse can: the `CMD-TRANSFER` card starts it
(`transfer_open`). The receiver scans the package's label (tracking number or SSCC) or the
transfer number; the handheld then holds that transfer (no other handheld may take it).
Each unit scanned (`transfer_item`) is received: it leaves transit and gets a put-away task
to the bin holding most of the SKU (`transfer_bin`), which any bin of the warehouse scanned
finishes (on hand rises, waiting orders may take it). A SKU shipped in lots is received by
lot: its GS1 barcode's lot (and expiry, which must be the lot's) says which, and the unit is
stocked under the lot and expiry it left the sender with. A unit not on the transfer is
refused; one more than was shipped of its lot is refused and counted over (set aside for a
supervisor to accept into a bin or reject: server/inventory/transfer_actions.py).
`CMD-TRANSFER-DONE` closes the receipt (`close`): what was shipped and not scanned is short.
Scans and cards travel as every scan and action does (journal, exactly once by message id);
a handheld that logs out or stays silent past the lease gives its transfer back, and a unit
received but not yet shelved keeps its open put-away task, which REST can finish.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server.core.clock import lease_cutoff, now
from server.inventory import catalogue, stock, transfers
from server.inventory.domain import transfers as rules
from server.people import audit
from server.returns.receiving import bin_for
from server.returns.rmas import shipped_units
from server.store import Store
from server.store.db import dumps
from shared import transferring as say
from shared.barcodes import ScanData
from shared.picking import Verdict
from shared.protocol import DeviceState, Expect, Progress


def active(device: dict) -> dict[str, Any] | None:
    """The device's place in receiving a transfer, or None when it is not receiving one."""
    return json.loads(device["transfer_mode"]) if device.get("transfer_mode") else None


def _save(store: Store, device_id: int, t: dict[str, Any] | None) -> None:
    store.execute(
        "UPDATE devices SET transfer_mode = ? WHERE id = ?",
        (json.dumps(t) if t is not None else None, device_id),
    )


def start(store: Store, device: dict) -> None:
    """Put the device in transfer mode (inside a write); a second start keeps its place."""
    if active(device) is None:
        _save(store, device["id"], {"transfer_id": None, "unit": None, "task": None})


def _transfer(store: Store, transfer_id: int) -> dict[str, Any]:
    return store.one(
        "SELECT id, transfer, order_id, to_warehouse FROM transfers WHERE id = ?", (transfer_id,)
    )


def _counts(store: Store, t: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """(shipped, received) per SKU of the transfer."""
    received = {
        r["sku"]: r["received"]
        for r in store.all(
            "SELECT sku, received FROM transfer_lines WHERE transfer_id = ?", (t["id"],)
        )
    }
    return shipped_units(store, t["order_id"]), received


def lots(store: Store, t: dict[str, Any]) -> tuple[dict, dict, dict]:
    """(shipped, received, expires) per (SKU, lot) of the transfer: the lots its shipment took
    from the sender's bins (with their expiry there), and those scanned in."""
    sent = transfers.shipped_lots(store, t["order_id"])
    shipped = {key: n for key, (n, _) in sent.items()}
    expires = {key: at for key, (_, at) in sent.items() if at}
    received = {
        (r["sku"], r["lot"]): r["received"]
        for r in store.all(
            "SELECT sku, lot, received FROM transfer_lots WHERE transfer_id = ?", (t["id"],)
        )
    }
    return shipped, received, expires


def _count(
    store: Store, transfer_id: int, sku: str, lot: str, expires: str | None, column: str
) -> None:
    """One more unit `received` or `over` of a SKU and lot (inside a write)."""
    assert column in ("received", "over")
    store.execute(
        f"UPDATE transfer_lines SET {column} = {column} + 1 WHERE transfer_id = ? AND sku = ?",
        (transfer_id, sku),
    )
    store.execute(
        f"""INSERT INTO transfer_lots (transfer_id, sku, lot, expires, {column})
            VALUES (?, ?, ?, ?, 1) ON CONFLICT (transfer_id, sku, lot)
            DO UPDATE SET {column} = transfer_lots.{column} + 1,
                          expires = COALESCE(transfer_lots.expires, excluded.expires)""",
        (transfer_id, sku, lot, expires),
    )


def find_open(store: Store, warehouse: str, text: str) -> dict[str, Any] | None:
    """The open transfer to this warehouse a dock scan names: its number, or the tracking
    number or SSCC of one of its packages (a cancelled one too: `_open` says so)."""
    row = store.one(
        """SELECT t.id, t.transfer, t.order_id, o.status AS order_status
           FROM transfers t JOIN orders o ON o.id = t.order_id
           WHERE t.transfer = ? AND t.to_warehouse = ? AND t.status = 'open'""",
        (text.strip().upper(), warehouse),
    )
    return row or store.one(
        """SELECT t.id, t.transfer, t.order_id, o.status AS order_status
           FROM packages p JOIN transfers t ON t.order_id = p.order_id
           JOIN orders o ON o.id = t.order_id
           WHERE (p.tracking = ? OR p.sscc = ?) AND t.to_warehouse = ? AND t.status = 'open'""",
        (text.strip(), text.strip(), warehouse),
    )


def screen(store: Store, t: dict[str, Any]) -> DeviceState:
    """What a handheld receiving a transfer shows."""
    if t["transfer_id"] is None:
        return DeviceState(
            screen="transfer_open", instruction=say.scan_package(), expect=Expect(kind="label")
        )
    tr = _transfer(store, t["transfer_id"])
    shipped, received = _counts(store, tr)
    progress = Progress(done=sum(received.values()), total=sum(shipped.values()))
    if t["unit"] is None:
        return DeviceState(
            screen="transfer_item",
            instruction=say.scan_items(tr["transfer"], progress.done, progress.total),
            expect=Expect(kind="item"),
            progress=progress,
        )
    task = store.one(
        "SELECT l.code, l.barcode FROM putaway_tasks t JOIN locations l ON l.id = t.location_id "
        "WHERE t.id = ?",
        (t["task"],),
    )
    return DeviceState(
        screen="transfer_bin",
        instruction=say.to_bin(t["unit"]["name"], task["code"]),
        expect=Expect(kind="location", barcodes=[task["barcode"]]),
        progress=progress,
    )


def scan(store: Store, device: dict, text: str, data: ScanData) -> Verdict:
    """A scan while receiving a transfer: the package, then each unit, then its bin (inside a write)."""
    t = active(device)
    if t["transfer_id"] is None:
        return _open(store, device, t, text)
    if t["unit"] is not None:
        return _to_bin(store, device, t, text)
    tr = _transfer(store, t["transfer_id"])
    product = catalogue.scanned_product(store, text, data)
    if product is None:
        return Verdict(False, "transfer_not_on_transfer", say.not_on_transfer(text))
    shipped, received, expires = lots(store, tr)
    planned = {
        r["sku"]
        for r in store.all("SELECT sku FROM transfer_lines WHERE transfer_id = ?", (tr["id"],))
    }
    verdict, lot = rules.may_receive(shipped, received, planned, product["sku"], data.lot)
    if verdict == "not_on_transfer":
        return Verdict(False, "transfer_not_on_transfer", say.not_on_transfer(product["name"]))
    if verdict == "lot_required":
        return Verdict(False, "transfer_lot_required", say.lot_required(product["name"]))
    label = data.expiry.isoformat() if data.expiry else None
    kept = expires.get((product["sku"], lot))
    if verdict == "ok" and label and kept and label != kept:
        return Verdict(
            False, "transfer_wrong_expiry", say.wrong_expiry(product["name"], lot, label, kept)
        )
    if verdict == "over":
        _count(store, tr["id"], product["sku"], lot, kept or label, "over")
        return Verdict(False, "transfer_over", say.over(product["name"]))
    _count(store, tr["id"], product["sku"], lot, kept or label, "received")
    to = bin_for(store, tr["to_warehouse"], product["sku"])
    t["task"] = store.execute(
        """INSERT INTO putaway_tasks (warehouse, order_id, location_id, sku, lot, expires, qty,
                                      reason, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'open', ?)""",
        (
            tr["to_warehouse"],
            tr["order_id"],
            to["id"],
            product["sku"],
            lot,
            kept or label,
            f"transfer {tr['transfer']}",
            now(),
        ),
    ).lastrowid
    t["unit"] = {"sku": product["sku"], "name": product["name"]}
    _save(store, device["id"], t)
    return Verdict(True, "transfer_item_ok", say.to_bin(product["name"], to["code"]))


def _open(store: Store, device: dict, t: dict[str, Any], text: str) -> Verdict:
    found = find_open(store, device["warehouse"], text)
    if found is None:
        return Verdict(False, "transfer_unknown", say.unknown_package(text))
    if found["order_status"] == "cancelled":
        return Verdict(False, "transfer_cancelled", say.cancelled(found["transfer"]))
    shipped = shipped_units(store, found["order_id"])
    if not shipped:
        return Verdict(False, "transfer_not_shipped", say.not_shipped(found["transfer"]))
    # Compare and set: two handhelds scanning one package at once, only one holds it.
    taken = store.execute(
        "UPDATE transfers SET device_id = ? WHERE id = ? AND status = 'open' "
        "AND (device_id IS NULL OR device_id = ?)",
        (device["id"], found["id"], device["id"]),
    ).rowcount
    if not taken:
        return Verdict(False, "transfer_held", say.held_elsewhere(found["transfer"]))
    t["transfer_id"] = found["id"]
    _save(store, device["id"], t)
    _, received = _counts(store, found)
    left = sum(rules.in_transit(shipped, received).values())
    return Verdict(True, "transfer_open", say.package_ok(found["transfer"], left))


def _to_bin(store: Store, device: dict, t: dict[str, Any], text: str) -> Verdict:
    loc = store.one(
        "SELECT code FROM locations WHERE warehouse = ? AND (barcode = ? OR code = ?)",
        (device["warehouse"], text, text),
    )
    if loc is None:
        return Verdict(False, "transfer_unknown_bin", say.unknown_bin(text))
    try:
        stock.putaway_done(store, t["task"], loc["code"])
    except stock.StockError as exc:
        problems = "; ".join(message for _, message in exc.problems)
        return Verdict(False, "transfer_bin_refused", say.bin_refused(problems))
    name = t["unit"]["name"]
    t["unit"], t["task"] = None, None
    _save(store, device["id"], t)
    return Verdict(True, "transfer_put_away", say.put_away(name, loc["code"]))


def close(store: Store, transfer_id: int, by: str) -> dict[str, Any]:
    """Close a transfer's receipt (inside a write): short per SKU, timeline, audit."""
    tr = _transfer(store, transfer_id)
    shipped, received = _counts(store, tr)
    short = rules.short(shipped, received)
    for sku, n in short.items():
        store.execute(
            "UPDATE transfer_lines SET short = ? WHERE transfer_id = ? AND sku = ?",
            (n, transfer_id, sku),
        )
    at = now()
    store.execute(
        "UPDATE transfers SET status = 'received', device_id = NULL, received_at = ?, "
        "received_by = ? WHERE id = ?",
        (at, by, transfer_id),
    )
    detail = {"transfer": tr["transfer"], "received": received, "short": short}
    # On the order's timeline, without changing its status: it shipped, and it arrived.
    store.execute(
        "INSERT INTO order_events (order_id, at, status, event, detail) "
        "SELECT id, ?, status, 'transfer_received', ? FROM orders WHERE id = ?",
        (at, dumps(detail), tr["order_id"]),
    )
    audit.record(store, by, "transfer_receive", tr["transfer"], detail)
    return {
        "transfer": tr["transfer"],
        "received": sum(received.values()),
        "short": sum(short.values()),
    }


def done(store: Store, device: dict) -> Verdict:
    """`CMD-TRANSFER-DONE`: close the receipt (inside a write); the device leaves transfer mode."""
    t = active(device)
    if t is None:
        return Verdict(False, "not_transferring", say.not_transferring())
    if t["transfer_id"] is None:
        _save(store, device["id"], None)  # nothing scanned yet: just leave transfer mode
        return Verdict(True, "transfer_left", say.transfer_left())
    if t["unit"] is not None:
        return Verdict(False, "transfer_unit_open", say.bin_first(t["unit"]["name"]))
    _, received = _counts(store, _transfer(store, t["transfer_id"]))
    if not any(received.values()):
        return Verdict(False, "transfer_nothing", say.nothing_received())
    closed = close(store, t["transfer_id"], device.get("worker") or device["name"])
    _save(store, device["id"], None)
    return Verdict(
        True, "transfer_closed", say.closed(closed["transfer"], closed["received"], closed["short"])
    )


def give_back(store: Store, device_id: int) -> None:
    """The device leaves transfer mode; its transfer goes back for another handheld (inside a
    write). A unit received and not yet shelved keeps its open put-away task."""
    store.execute("UPDATE transfers SET device_id = NULL WHERE device_id = ?", (device_id,))
    store.execute("UPDATE devices SET transfer_mode = NULL WHERE id = ?", (device_id,))


def release_silent(store: Store, lease_seconds: float, at: datetime | None = None) -> int:
    """Give back the transfers of handhelds silent longer than the lease; returns how many."""
    cutoff = lease_cutoff(lease_seconds, at)
    with store.write():
        rows = store.all(
            """SELECT d.id FROM transfers t JOIN devices d ON d.id = t.device_id
               WHERE t.status = 'open' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        )
        for row in rows:
            give_back(store, row["id"])
    return len(rows)
