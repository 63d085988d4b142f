"""Moving stock to a pick face on the handheld: a picker holds one move task at a time.

The floor (`floor/work.py`) hands an idle picker an urgent move (picks wait for it)
before any pick list, and a move for a face below its min before a count. The picker
goes to the reserve bin and scans its label, scans each unit taken (a GS1 barcode's
count counts that many), then takes them to the face and scans its label: that scan
moves the stock, in the scan's own write: out of the reserve bin, into the face, two
`replenish` stock moves and an audit row, then the orders held for the move are
allocated again (at the face now stocked) and planned as any pick. The rules of the
three scans are the domain's table (`inventory/domain/replenishment.py`). Scans travel
as every scan does (journal, exactly once by message id, kept in `scans`); a move held
by a device whose link stays down longer than the lease goes back to the queue from its
start (`replenishment.release_silent`): nothing moved until the face was scanned.
"""

from __future__ import annotations

from typing import Any

from server.core.clock import now
from server.core.schemas import MAX_UNITS
from server.inventory import allocate, replenishment
from server.inventory.domain import replenishment as rules
from server.people import audit
from server.store import Store
from shared import replenishing as say
from shared.barcodes import ScanData
from shared.picking import Verdict, gtin_key
from shared.protocol import DeviceState, MoveView


def screen(store: Store, task: dict[str, Any]) -> DeviceState:
    """What a handheld moving stock shows at each stage (`shared/replenishing.py`), with the
    whole move (`move`) so the handheld can judge its scans offline; at the items, their
    barcodes (the product's, else its SKU), as a pick's item screen names them."""
    view = MoveView(
        task_id=task["id"], sku=task["sku"], name=task["name"], reserve=task["reserve"],
        reserve_barcode=task["reserve_barcode"], face=task["face"],
        face_barcode=task["face_barcode"], item_barcodes=_item_barcodes(store, task["sku"]),
        qty=task["qty"], carried=task["carried"], urgent=bool(task["urgent"]),
    )  # fmt: skip
    return say.screen(view, task["stage"])


def _item_barcodes(store: Store, sku: str) -> list[str]:
    rows = store.all("SELECT barcode FROM product_barcodes WHERE sku = ? ORDER BY barcode", (sku,))
    return [r["barcode"] for r in rows] or [sku]


def _kind(store: Store, task: dict[str, Any], text: str, data: ScanData) -> rules.ScanKind:
    if text in (task["reserve_barcode"], task["reserve"]):
        return "reserve"
    if text in (task["face_barcode"], task["face"]):
        return "face"
    if store.one("SELECT 1 FROM locations WHERE barcode = ?", (text,)) is not None:
        return "other_bin"
    forms = _retail_forms({text, *([data.gtin] if data.gtin else [])})
    row = store.one(
        f"""SELECT p.sku FROM products p LEFT JOIN product_barcodes b ON b.sku = p.sku
            WHERE p.sku = ? OR b.barcode IN ({",".join("?" * len(forms))}) LIMIT 1""",
        (text, *forms),
    )
    if row is None:
        return "unknown"
    return "item" if row["sku"] == task["sku"] else "other_item"


def _retail_forms(codes: set[str]) -> list[str]:
    """Every form a product barcode may be stored in for these codes: an EAN-8, UPC-A, EAN-13
    or GTIN-14 read as any of the others (leading zeros), written out for both databases."""
    forms = set(codes)
    for code in codes:
        key = gtin_key(code)
        if key.isdigit() and len(key) == 14:
            forms |= {key[14 - n :] for n in (8, 12, 13, 14) if not key[: 14 - n].strip("0")}
    return sorted(forms)


def scan(store: Store, task: dict[str, Any], text: str, data: ScanData) -> tuple[Verdict, bool]:
    """A scan while moving stock (inside a write); returns the verdict and whether stock moved."""
    units = data.quantity or 1
    step = rules.judge(
        rules.Move(task["stage"], task["qty"], task["carried"]),
        _kind(store, task, text, data),
        units,
    )
    facts = {**task, "text": text, "carried": step.carried}
    if step.moves_stock:
        refused = _move(store, task, step.carried)
        if refused:
            return Verdict(False, refused, say.message(refused, **facts)), False
        return Verdict(True, step.code, say.message(step.code, **facts)), True
    if step.ok:
        store.execute(
            "UPDATE replen_tasks SET stage = ?, carried = ? WHERE id = ?",
            (step.stage, step.carried, task["id"]),
        )
    return Verdict(step.ok, step.code, say.message(step.code, **facts)), False


def _move(store: Store, task: dict[str, Any], qty: int) -> str | None:
    """Move the carried units from reserve to face, audited; a refusal code changes nothing."""
    src = store.one(
        "SELECT on_hand, reserved, expires FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
        (task["from_location_id"], task["sku"], task["lot"]),
    )
    if src is None or src["on_hand"] - src["reserved"] < qty:
        return "replen_stock_changed"
    dst = store.one(
        "SELECT on_hand FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
        (task["to_location_id"], task["sku"], task["lot"]),
    )
    if (dst["on_hand"] if dst else 0) + qty > MAX_UNITS:
        return "replen_face_full"
    at, ref = now(), f"replen:{task['id']}"
    store.execute(
        "UPDATE stock SET on_hand = on_hand - ? WHERE location_id = ? AND sku = ? AND lot = ?",
        (qty, task["from_location_id"], task["sku"], task["lot"]),
    )
    store.execute(
        """INSERT INTO stock (location_id, sku, lot, expires, on_hand) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (location_id, sku, lot) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand,
           expires = COALESCE(stock.expires, excluded.expires)""",
        (task["to_location_id"], task["sku"], task["lot"], src["expires"], qty),
    )
    for loc, n in ((task["from_location_id"], -qty), (task["to_location_id"], qty)):
        store.execute(
            "INSERT INTO stock_moves (at, kind, location_id, sku, lot, qty, ref) "
            "VALUES (?, 'replenish', ?, ?, ?, ?, ?)",
            (at, loc, task["sku"], task["lot"], n, ref),
        )
    store.execute(
        "UPDATE replen_tasks SET status = 'done', stage = 'done', carried = ?, moved = ?, "
        "device_id = NULL, done_at = ? WHERE id = ?",
        (qty, qty, at, task["id"]),
    )
    audit.record(
        store, task["worker"] or "system", "replen_done", ref,
        {"from": task["reserve"], "to": task["face"], "sku": task["sku"], "lot": task["lot"],
         "qty": qty, "planned": task["qty"]},
    )  # fmt: skip
    release_holds(store, task["id"], task["sku"])
    return None


def release_holds(store: Store, task_id: int, sku: str) -> dict[str, str]:
    """The orders held for a move are allocated again, most urgent first (inside a write)."""
    held = [
        r["order_id"]
        for r in store.all("SELECT order_id FROM replen_holds WHERE task_id = ?", (task_id,))
    ]
    store.execute("DELETE FROM replen_holds WHERE task_id = ?", (task_id,))
    out = allocate.allocate_orders(store, held) if held else {}
    allocate.allocate_pending(store, {sku})
    return out


def fit_to_reserve(store: Store, location_id: int, sku: str, lot: str) -> None:
    """A reserve lot counted lower (inside a write): its moves not yet started shrink to what it
    holds, urgent first, and one left with nothing is cancelled (its held orders allocated
    again). A move whose units are already in a picker's hand is left to its picker."""
    row = store.one(
        "SELECT on_hand - reserved AS free FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
        (location_id, sku, lot),
    )
    free = row["free"] if row else 0
    for t in store.all(
        "SELECT id, qty, carried FROM replen_tasks WHERE from_location_id = ? AND sku = ? "
        "AND lot = ? AND status = 'open' ORDER BY urgent DESC, id",
        (location_id, sku, lot),
    ):
        if t["carried"] or free >= t["qty"]:
            free -= t["qty"]
            continue
        if free > 0:
            store.execute("UPDATE replen_tasks SET qty = ? WHERE id = ?", (free, t["id"]))
            audit.record(store, "system", "replen_shrunk", f"replen:{t['id']}", {"qty": free})
            free = 0
            continue
        store.execute(
            "UPDATE replen_tasks SET status = 'cancelled', device_id = NULL, done_at = ? "
            "WHERE id = ?",
            (now(), t["id"]),
        )
        audit.record(store, "system", "replen_cancelled", f"replen:{t['id']}", {"empty": True})
        release_holds(store, t["id"], sku)


def cancel(store: Store, task_id: int, by: str) -> dict[str, Any]:
    """A supervisor drops an open move: nothing moves, its held orders are allocated again."""
    with store.write():
        task = replenishment.get(store, task_id)
        if task["status"] != "open":
            raise replenishment.ReplenConflict(f"move {task_id} is {task['status']}")
        if task["device"] is not None:
            raise replenishment.ReplenConflict(
                f"move {task_id} is held by {task['device']}: it can be cancelled once given back"
            )
        store.execute(
            "UPDATE replen_tasks SET status = 'cancelled', device_id = NULL, done_at = ? WHERE id = ?",
            (now(), task_id),
        )
        audit.record(store, by, "replen_cancelled", f"replen:{task_id}", {})
        release_holds(store, task_id, task["sku"])
    return replenishment.get(store, task_id)
