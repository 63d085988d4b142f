"""Stock that arrives, is counted, or is put back: receipts, corrections, put-away; and
the unit accounting, per SKU (at the end).

Every change of on hand is written to `stock_moves` with its reason, and is
followed by re-allocating the orders that wait for the SKUs it touched, most
urgent first (priority, promised-by, arrival).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from server.core.clock import now
from server.core.schemas import MAX_UNITS, CorrectionIn, ReceiptIn
from server.inventory import allocate, replenishing, replenishment, shipments
from server.inventory.domain.accounting import Account, sentence, unbalanced
from server.inventory.transfers import CHANNEL as TRANSFER
from server.inventory.transfers import in_transit_units
from server.store import Store


class StockError(ValueError):
    """A stock change naming things that do not exist; `problems` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class ReceiptConflict(ValueError):
    """The receipt id was already used with other lines."""


def _location(store: Store, warehouse: str, code: str) -> int | None:
    row = store.one("SELECT id FROM locations WHERE warehouse = ? AND code = ?", (warehouse, code))
    return row["id"] if row else None


def _known_sku(store: Store, sku: str) -> bool:
    return store.one("SELECT 1 FROM products WHERE sku = ?", (sku,)) is not None


def _room(store: Store, location_id: int, sku: str, lot: str) -> int:
    """Units a bin's lot can still take before it holds MAX_UNITS."""
    row = store.one(
        "SELECT on_hand FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
        (location_id, sku, lot),
    )
    return MAX_UNITS - (row["on_hand"] if row else 0)


def _too_full(location: str, sku: str) -> str:
    return f"{location} would hold more than {MAX_UNITS} units of {sku}"


def add_on_hand(
    store: Store,
    location_id: int,
    sku: str,
    lot: str,
    expires: str | None,
    qty: int,
    kind: str,
    ref: str | None,
    reason: str | None = None,
) -> None:
    """Add qty on hand to a bin's lot and write the move (inside a write)."""
    store.execute(
        """INSERT INTO stock (location_id, sku, lot, expires, on_hand) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (location_id, sku, lot) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand,
           expires = COALESCE(excluded.expires, stock.expires)""",
        (location_id, sku, lot, expires, qty),
    )
    store.execute(
        "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty, ref, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now(), kind, location_id, sku, lot, qty, ref, reason),
    )


def receive(store: Store, receipt: ReceiptIn) -> dict[str, Any]:
    """Book stock in (once per receipt id), then allocate what waits for it."""
    digest = hashlib.sha256(receipt.model_dump_json().encode()).hexdigest()
    with store.write():
        if receipt.receipt_id:
            seen = store.one("SELECT body_hash FROM receipts WHERE id = ?", (receipt.receipt_id,))
            if seen and seen["body_hash"] != digest:
                raise ReceiptConflict(f"receipt {receipt.receipt_id} was booked with other lines")
            if seen:
                return {"receipt_id": receipt.receipt_id, "repeated": True, "allocation": {}}
        problems: list[tuple[str, str]] = []
        if store.one("SELECT 1 FROM warehouses WHERE code = ?", (receipt.warehouse,)) is None:
            raise StockError([("warehouse", f"unknown warehouse {receipt.warehouse}")])
        places = []
        for i, line in enumerate(receipt.lines):
            loc = _location(store, receipt.warehouse, line.location)
            if loc is None:
                problems.append((f"lines[{i}].location", f"unknown location {line.location}"))
            if not _known_sku(store, line.sku):
                problems.append((f"lines[{i}].sku", f"unknown SKU {line.sku}"))
            places.append(loc)
        if problems:
            raise StockError(problems)
        room: dict[tuple[int, str, str], int] = {}
        for i, (loc, line) in enumerate(zip(places, receipt.lines, strict=True)):
            key = (loc, line.sku, line.lot)
            room[key] = room.get(key, _room(store, *key)) - line.qty
            if room[key] < 0:
                problems.append((f"lines[{i}].qty", _too_full(line.location, line.sku)))
        if problems:
            raise StockError(problems)
        for loc, line in zip(places, receipt.lines, strict=True):
            expires = line.expires.isoformat() if line.expires else None
            add_on_hand(
                store, loc, line.sku, line.lot, expires, line.qty, "receipt", receipt.receipt_id
            )
        for sku in sorted({line.sku for line in receipt.lines}):  # reserve may feed faces now
            replenishment.check_sku(store, receipt.warehouse, sku)
        if receipt.receipt_id:
            store.execute(
                "INSERT INTO receipts (id, warehouse, body_hash, created_at) VALUES (?, ?, ?, ?)",
                (receipt.receipt_id, receipt.warehouse, digest, now()),
            )
    counts = allocate.allocate_pending(store, {line.sku for line in receipt.lines})
    return {"receipt_id": receipt.receipt_id, "repeated": False, "allocation": counts}


def correct(store: Store, body: CorrectionIn, reallocate: bool = True) -> dict[str, Any]:
    """Set a bin's lot to what was counted; reservations it can no longer hold are re-allocated."""
    released = 0
    with store.write():
        loc = _location(store, body.warehouse, body.location)
        problems = [] if loc else [("location", f"unknown location {body.location}")]
        if not _known_sku(store, body.sku):
            problems.append(("sku", f"unknown SKU {body.sku}"))
        if problems:
            raise StockError(problems)
        key = (loc, body.sku, body.lot)
        holders = store.all(
            """SELECT r.id, r.order_id FROM reservations r JOIN orders o ON o.id = r.order_id
               WHERE r.location_id = ? AND r.sku = ? AND r.lot = ? AND r.qty > r.picked + r.released
               ORDER BY o.priority, o.promised_by IS NOT NULL, o.promised_by DESC,
                        o.created_at DESC, r.id DESC""",
            key,
        )
        # Units the floor already took into totes are not in the bin the counter saw.
        holders = [shipments.settle(store, h["id"]) for h in holders]
        row = store.one(
            "SELECT on_hand, reserved FROM stock WHERE location_id = ? AND sku = ? AND lot = ?", key
        )
        on_hand, reserved = (row["on_hand"], row["reserved"]) if row else (0, 0)
        over = reserved - body.on_hand
        touched: dict[str, int] = {}
        for r in holders:  # least urgent first give their units back
            if over <= 0:
                break
            n = min(over, r["qty"] - r["picked"] - r["released"])
            if n > 0:
                shipments.release(store, r["id"], n)
                touched[r["order_id"]] = touched.get(r["order_id"], 0) + n
                over -= n
                released += n
        if row is None and body.on_hand:  # found where the system knew of none
            store.execute(
                "INSERT INTO stock (location_id, sku, lot, on_hand) VALUES (?, ?, ?, 0)", key
            )
        delta = body.on_hand - on_hand
        store.execute(
            "UPDATE stock SET on_hand = ? WHERE location_id = ? AND sku = ? AND lot = ?",
            (body.on_hand, *key),
        )
        if delta:
            store.execute(
                "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty, reason) "
                "VALUES (?, 'correction', ?, ?, ?, ?, ?)",
                (now(), *key, delta, body.reason or None),
            )
        if delta < 0:
            replenishment.check(store, loc, body.sku)  # a face counted below its min
            replenishing.fit_to_reserve(store, loc, body.sku, body.lot)  # or reserve short
        for order_id, n in touched.items():
            shipments.refresh(
                store, order_id, "stock_released", location=body.location, sku=body.sku, units=n
            )
    # A caller that places the released units itself first (a short pick) allocates after.
    counts = allocate.allocate_pending(store, {body.sku}) if reallocate else {}
    return {"released": released, "allocation": counts}


def putaway_tasks(
    store: Store,
    status: str | None = None,
    warehouse: str | None = None,
    task_id: int | None = None,
) -> list[dict[str, Any]]:
    """Put-away tasks, newest first, with the bin each came from."""
    where, params = [], []
    for col, value in (("t.status", status), ("t.warehouse", warehouse), ("t.id", task_id)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = f"""SELECT t.id, t.warehouse, t.order_id, l.code AS location, t.sku, t.lot, t.expires,
                     t.qty, t.tote, t.reason, t.status, p.code AS put_location, t.created_at, t.done_at
              FROM putaway_tasks t JOIN locations l ON l.id = t.location_id
              LEFT JOIN locations p ON p.id = t.put_location_id
              {"WHERE " + " AND ".join(where) if where else ""} ORDER BY t.id DESC"""
    return store.all(sql, tuple(params))


def putaway_done(store: Store, task_id: int, location: str | None = None) -> dict[str, Any]:
    """The units of a put-away task are back on a shelf: on hand rises, waiting orders may take them."""
    with store.write():
        task = store.one("SELECT * FROM putaway_tasks WHERE id = ?", (task_id,))
        if task is None:
            raise KeyError(task_id)
        if task["status"] == "done":
            return _task(store, task_id)
        loc = (
            task["location_id"]
            if location is None
            else _location(store, task["warehouse"], location)
        )
        if loc is None:
            raise StockError([("location", f"unknown location {location}")])
        if _room(store, loc, task["sku"], task["lot"]) < task["qty"]:
            code = store.one("SELECT code FROM locations WHERE id = ?", (loc,))["code"]
            raise StockError([("location", _too_full(code, task["sku"]))])
        add_on_hand(
            store,
            loc,
            task["sku"],
            task["lot"],
            task["expires"],
            task["qty"],
            "putaway",
            f"putaway:{task_id}",
        )
        store.execute(
            "UPDATE putaway_tasks SET status = 'done', put_location_id = ?, done_at = ? WHERE id = ?",
            (loc, now(), task_id),
        )
    allocate.allocate_pending(store, {task["sku"]})
    return _task(store, task_id)


def _task(store: Store, task_id: int) -> dict[str, Any]:
    return putaway_tasks(store, task_id=task_id)[0]


# ---------------------------------------------------------------- the unit accounting
# The unit accounting: per SKU, every unit received and where it is now (read only).
#
# Each term is read from where it lives, not from one ledger, so a change written in one
# place and not the other shows as a SKU that does not balance: receipts, initial stock
# and count corrections from `stock_moves`; units in bins from `stock`; shipped and in
# totes from the reservations of shipments (lost by carrier: those of a lost package, which
# a re-ship marks, `inventory/reshipping.py`); waiting for put-away from `putaway_tasks`;
# returned and scrapped at the dock from `rma_units`; lost on the way between warehouses from
# the transfers closed short (`transfer_lines.short`). The rules and the equation are the
# domain's (`inventory/domain/accounting.py`).
#
# In transit is a hook: `in_transit` maps SKU to units between warehouses; by default the
# transfers say it (`transfers.in_transit_units`: shipped by transfer, not yet received). A
# transfer's own shipment is not `shipped` (its units are in transit, then waiting for
# put-away at the other dock, then in bins).
_TERMS = {
    "receipts": """SELECT sku, SUM(qty) AS n FROM stock_moves
                   WHERE kind = 'receipt' AND COALESCE(ref, '') <> 'catalogue' GROUP BY sku""",
    "initial": """SELECT sku, SUM(qty) AS n FROM stock_moves
                  WHERE kind = 'receipt' AND ref = 'catalogue' GROUP BY sku""",
    "found": """SELECT sku, SUM(qty) AS n FROM stock_moves
                WHERE kind = 'correction' AND qty > 0 GROUP BY sku""",
    "lost": """SELECT sku, -SUM(qty) AS n FROM stock_moves
               WHERE kind = 'correction' AND qty < 0 GROUP BY sku""",
    "in_bins": "SELECT sku, SUM(on_hand) AS n FROM stock GROUP BY sku",
    "shipped": f"""SELECT r.sku, SUM(r.picked) AS n FROM reservations r
                   JOIN shipments s ON s.id = r.shipment_id JOIN orders o ON o.id = r.order_id
                   LEFT JOIN packages p ON p.id = r.package_id
                   WHERE s.status = 'shipped' AND o.channel <> '{TRANSFER}'
                   AND p.lost_at IS NULL GROUP BY r.sku""",
    "carrier_lost": """SELECT r.sku, SUM(r.picked) AS n FROM reservations r
                       JOIN packages p ON p.id = r.package_id
                       WHERE p.lost_at IS NOT NULL GROUP BY r.sku""",
    "in_totes": """SELECT r.sku, SUM(r.picked) AS n FROM reservations r
                   JOIN shipments s ON s.id = r.shipment_id
                   WHERE s.status IN ('allocated', 'packed') GROUP BY r.sku""",
    "awaiting_putaway": """SELECT sku, SUM(qty) AS n FROM putaway_tasks
                           WHERE status = 'open' GROUP BY sku""",
    "returned": "SELECT sku, COUNT(*) AS n FROM rma_units GROUP BY sku",
    "returned_scrap": "SELECT sku, COUNT(*) AS n FROM rma_units WHERE grade = 'scrap' GROUP BY sku",
    "transit_lost": """SELECT l.sku, SUM(l.short) AS n FROM transfer_lines l
                       JOIN transfers t ON t.id = l.transfer_id
                       WHERE t.status = 'received' AND l.short > 0 GROUP BY l.sku""",
}


def accounts(
    store: Store, sku: str | None = None, in_transit: Mapping[str, int] | None = None
) -> list[Account]:
    """Every SKU's account (or one SKU's), by SKU; `in_transit` defaults to
    `in_transit_units(store)`."""
    transit = in_transit_units(store) if in_transit is None else in_transit
    terms: dict[str, dict[str, Any]] = {}
    with store.read():  # every term read in one snapshot
        for term, sql in _TERMS.items():
            for row in store.all(sql):
                terms.setdefault(row["sku"], {})[term] = int(row["n"] or 0)
    for s, n in transit.items():
        if n:
            terms.setdefault(s, {})["in_transit"] = n
    skus = sorted(terms) if sku is None else [sku]
    return [Account(s, **terms.get(s, {})) for s in skus]


def accounting(
    store: Store, sku: str | None = None, in_transit: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """The accounts as REST, the CLI and the demo say them: each SKU, and the verdict."""
    found = accounts(store, sku, in_transit)
    wrong = unbalanced(found)
    return {
        "skus": [a.out() for a in found],
        "holds": not wrong,
        "unbalanced": wrong,
        "summary": sentence(found),
    }
