"""Return authorisations (RMAs): made, listed, closed, and what closing tells the shop and customer.

Workflow: a return is authorised for units an order shipped (`authorise`): over REST, from
the board's order drawer, from a shop's refund webhook (server/returns/shop.py) or from a
carrier's "returned" event for a parcel (`from_returned_parcel`). Each source's own id is
kept once (`external_id`): the same request again answers the RMA already made. Asking for
more than shipped less what earlier returns of the order took, a SKU the order did not ship,
or an order not shipped yet, is refused whole with every reason, and nothing is written.
The dock receives it on a handheld (server/returns/receiving.py), grading every unit; closing
it (`close`) writes the order's timeline, the shop's `return.received` webhook and the
customer's e-mail in the same transaction, and the audit log says who did each step.
"""

from __future__ import annotations

import json
from typing import Any

from server.capture.orders import next_number, record
from server.core.clock import now
from server.notify import mail, webhooks
from server.people import audit
from server.returns.domain import returns as rules
from server.store import Store


class ReturnError(ValueError):
    """A return that cannot be authorised; `problems` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class UnknownOrder(KeyError):
    """No such order."""


class ReturnConflict(ValueError):
    """The return is not in a state that allows it (already received, held by a handheld)."""


class RequestConflict(ValueError):
    """The source's id was already used to authorise a return with another body."""


def _merged(lines: list[tuple[str, int]]) -> dict[str, int]:
    """Units per SKU, a SKU named twice counted once."""
    merged: dict[str, int] = {}
    for sku, qty in lines:
        merged[sku] = merged.get(sku, 0) + qty
    return merged


def by_external(store: Store, source: str, external_id: str) -> str | None:
    """The RMA made from this source's id, if any."""
    row = store.one(
        "SELECT rma FROM rmas WHERE source = ? AND external_id = ?", (source, external_id)
    )
    return row["rma"] if row else None


def _asks_again(
    store: Store, rma: str, order_id: str, lines: list[tuple[str, int]], reason: str
) -> bool:
    """Whether a request asks for the return `rma` again: the same order, units per SKU and
    reason."""
    made = store.one("SELECT id, order_id, reason FROM rmas WHERE rma = ?", (rma,))
    held = store.all("SELECT sku, qty FROM rma_lines WHERE rma_id = ?", (made["id"],))
    return (made["order_id"], made["reason"]) == (order_id, reason) and {
        r["sku"]: r["qty"] for r in held
    } == _merged(lines)


def shipped_units(store: Store, order_id: str) -> dict[str, int]:
    """Units per SKU of the order that left in shipments."""
    rows = store.all(
        """SELECT r.sku, SUM(r.picked) AS n FROM reservations r
           JOIN shipments s ON s.id = r.shipment_id
           WHERE r.order_id = ? AND s.status = 'shipped' GROUP BY r.sku""",
        (order_id,),
    )
    return {r["sku"]: r["n"] for r in rows if r["n"]}


def authorised_units(store: Store, order_id: str) -> dict[str, int]:
    """Units per SKU already on the order's returns (a cancelled one holds none)."""
    rows = store.all(
        """SELECT l.sku, SUM(l.qty) AS n FROM rma_lines l JOIN rmas m ON m.id = l.rma_id
           WHERE m.order_id = ? AND m.status <> 'cancelled' GROUP BY l.sku""",
        (order_id,),
    )
    return {r["sku"]: r["n"] for r in rows}


def _warehouse(store: Store, order_id: str) -> str | None:
    row = store.one(
        "SELECT warehouse FROM shipments WHERE order_id = ? AND status = 'shipped' "
        "ORDER BY id LIMIT 1",
        (order_id,),
    )
    return row["warehouse"] if row else None


def authorise(
    store: Store,
    order_id: str,
    lines: list[tuple[str, int]],
    source: str,
    actor: str,
    reason: str = "",
    external_id: str | None = None,
    package_id: int | None = None,
    refuse_another_body: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Authorise a return of `lines` (SKU, units) of a shipped order (inside or outside a
    write); returns the RMA and whether it was made now (False: the same external id again).
    With `refuse_another_body` (a client's request id), the same external id asking for
    another order, other units or another reason raises RequestConflict instead.

    Raises UnknownOrder, or ReturnError with every problem; nothing is written then.
    """
    with store.write():
        if external_id is not None:
            seen = by_external(store, source, external_id)
            if seen is not None:
                if refuse_another_body and not _asks_again(store, seen, order_id, lines, reason):
                    raise RequestConflict(seen)
                return get(store, seen), False
        order = store.one("SELECT id, status FROM orders WHERE id = ?", (order_id,))
        if order is None:
            raise UnknownOrder(order_id)
        shipped = shipped_units(store, order_id)
        warehouse = _warehouse(store, order_id)
        if not shipped or warehouse is None:
            raise ReturnError([("order_id", f"order {order_id} has shipped nothing to return")])
        if not lines:
            raise ReturnError([("lines", "name at least one SKU and its units")])
        left = rules.returnable(shipped, authorised_units(store, order_id))
        problems = rules.line_problems(lines, left)
        if problems:
            raise ReturnError(problems)
        ref = rules.rma_ref(next_number(store, "rma"))
        rma_id = store.execute(
            """INSERT INTO rmas (rma, order_id, warehouse, source, external_id, package_id,
                                 status, reason, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, 'authorised', ?, ?, ?)""",
            (ref, order_id, warehouse, source, external_id, package_id, reason, actor, now()),
        ).lastrowid
        merged = _merged(lines)
        for sku, qty in merged.items():
            store.execute(
                "INSERT INTO rma_lines (rma_id, sku, qty) VALUES (?, ?, ?)", (rma_id, sku, qty)
            )
        detail = {"rma": ref, "source": source, "lines": merged}
        if reason:
            detail["reason"] = reason
        record(store, order_id, order["status"], "return_authorised", **detail)
        audit.record(store, actor, "return_authorise", ref, {"order": order_id, **detail})
        return get(store, ref), True


def from_returned_parcel(store: Store, package_id: int, carrier: str) -> dict[str, Any] | None:
    """A parcel the carrier brought back becomes a return (inside the tracking write): its
    shipment's units not yet on another return. None if nothing is left to return."""
    pkg = store.one(
        "SELECT order_id, shipment_id, tracking FROM packages WHERE id = ?", (package_id,)
    )
    seen = store.one(
        "SELECT rma FROM rmas WHERE source = 'carrier' AND external_id = ?", (pkg["tracking"],)
    )
    if seen is not None:
        return get(store, seen["rma"])
    rows = store.all(
        "SELECT sku, SUM(picked) AS n FROM reservations WHERE shipment_id = ? GROUP BY sku",
        (pkg["shipment_id"],),
    )
    left = rules.returnable(
        {r["sku"]: r["n"] for r in rows if r["n"]}, authorised_units(store, pkg["order_id"])
    )
    lines = [(sku, n) for sku, n in sorted(left.items()) if n > 0]
    if not lines:
        return None
    try:
        rma, _ = authorise(
            store, pkg["order_id"], lines, "carrier", f"carrier:{carrier}",
            reason="returned to sender", external_id=pkg["tracking"], package_id=package_id,
        )  # fmt: skip
    except ReturnError:  # its shipment has not left (an event before the hand-over)
        return None
    return rma


def find_open(store: Store, warehouse: str, text: str) -> dict[str, Any] | None:
    """The open return of the warehouse a dock scan names: its RMA number, or the tracking
    number on the parcel's label (the outbound package's, or any of its order's)."""
    code = text.strip().upper()
    row = store.one(
        "SELECT id, rma, device_id FROM rmas WHERE rma = ? AND warehouse = ? AND status = 'authorised'",
        (code, warehouse),
    )
    if row is None:
        row = store.one(
            """SELECT m.id, m.rma, m.device_id FROM packages p
               JOIN rmas m ON m.order_id = p.order_id AND (m.package_id IS NULL OR m.package_id = p.id)
               WHERE p.tracking = ? AND m.warehouse = ? AND m.status = 'authorised'
               ORDER BY m.id LIMIT 1""",
            (text.strip(), warehouse),
        )
    return row


def result(store: Store, rma_id: int) -> list[rules.Line]:
    """Each SKU of the return with its units graded so far."""
    authorised = {
        r["sku"]: r["qty"]
        for r in store.all("SELECT sku, qty FROM rma_lines WHERE rma_id = ?", (rma_id,))
    }
    graded = [
        (r["sku"], r["grade"])
        for r in store.all("SELECT sku, grade FROM rma_units WHERE rma_id = ?", (rma_id,))
    ]
    return rules.lines(authorised, graded)


def close(store: Store, rma_id: int, actor: str) -> dict[str, Any]:
    """The return is received (inside a write): its timeline entry, the shop's webhook and
    the customer's mail, with each SKU received and its grade. Raises ReturnConflict."""
    m = store.one("SELECT id, rma, order_id, status FROM rmas WHERE id = ?", (rma_id,))
    if m["status"] != "authorised":
        raise ReturnConflict(f"{m['rma']} is already {m['status']}")
    at = now()
    store.execute(
        "UPDATE rmas SET status = 'received', received_at = ?, received_by = ?, device_id = NULL "
        "WHERE id = ?",
        (at, actor, rma_id),
    )
    lines = summary(store, rma_id)
    status = store.one("SELECT status FROM orders WHERE id = ?", (m["order_id"],))["status"]
    record(store, m["order_id"], status, "return_received", rma=m["rma"], lines=lines)
    event = store.one(
        "SELECT MAX(id) AS id FROM order_events WHERE order_id = ? AND event = 'return_received'",
        (m["order_id"],),
    )
    mail.enqueue(store, m["order_id"], mail.RETURN_KIND, event["id"], at)
    webhooks.enqueue_event(
        store, m["order_id"], "return.received", {"rma": m["rma"], "lines": lines}
    )
    audit.record(store, actor, "return_receive", m["rma"], {"order": m["order_id"], "lines": lines})
    return get(store, m["rma"])


def cancel(store: Store, rma_id: int, actor: str, reason: str) -> dict[str, Any]:
    """Cancel a return nothing of which reached the dock (inside a write): its units may be
    authorised again. Raises ReturnConflict, in words, once a unit is graded, while a handheld
    holds it, or when it is received or cancelled already."""
    m = store.one("SELECT id, rma, order_id, status, device_id FROM rmas WHERE id = ?", (rma_id,))
    if m["status"] != "authorised":
        raise ReturnConflict(f"{m['rma']} is already {m['status']}")
    graded = store.one("SELECT COUNT(*) AS n FROM rma_units WHERE rma_id = ?", (rma_id,))["n"]
    if graded:
        raise ReturnConflict(
            f"{m['rma']} has {graded} unit{'s' if graded != 1 else ''} received at the dock"
        )
    if m["device_id"] is not None:
        raise ReturnConflict(f"{m['rma']} is being received at the dock on a handheld")
    store.execute(
        "UPDATE rmas SET status = 'cancelled', cancelled_at = ?, cancel_reason = ? WHERE id = ?",
        (now(), reason, rma_id),
    )
    status = store.one("SELECT status FROM orders WHERE id = ?", (m["order_id"],))["status"]
    record(store, m["order_id"], status, "return_cancelled", rma=m["rma"], reason=reason)
    audit.record(
        store, actor, "return_cancel", m["rma"], {"order": m["order_id"], "reason": reason}
    )
    return get(store, m["rma"])


def unit_in_hand(store: Store, rma_id: int) -> str | None:
    """The SKU of a unit scanned on the handheld holding the return and not graded yet."""
    row = store.one(
        "SELECT d.return_mode FROM rmas m JOIN devices d ON d.id = m.device_id WHERE m.id = ?",
        (rma_id,),
    )
    mode = json.loads(row["return_mode"]) if row and row["return_mode"] else None
    if mode and mode.get("rma_id") == rma_id and mode.get("unit") and mode.get("task") is None:
        return mode["unit"]["sku"]
    return None


def set_lines(
    store: Store, rma_id: int, units: dict[str, int], actor: str, held: list[str]
) -> None:
    """The return's units per SKU become `units` (inside a write; a SKU at 0 leaves it): the
    shop changed its lines. The timeline (`return_changed`) and the audit log say so, with
    each SKU `held` at what the dock already received."""
    m = store.one("SELECT rma, order_id FROM rmas WHERE id = ?", (rma_id,))
    lines = {sku: n for sku, n in sorted(units.items()) if n > 0}
    for r in store.all("SELECT sku FROM rma_lines WHERE rma_id = ?", (rma_id,)):
        if r["sku"] not in lines:
            store.execute("DELETE FROM rma_lines WHERE rma_id = ? AND sku = ?", (rma_id, r["sku"]))
    for sku, n in lines.items():
        store.execute(
            "INSERT INTO rma_lines (rma_id, sku, qty) VALUES (?, ?, ?) "
            "ON CONFLICT (rma_id, sku) DO UPDATE SET qty = ?",
            (rma_id, sku, n, n),
        )
    detail: dict[str, Any] = {"rma": m["rma"], "lines": lines}
    if held:
        detail["held"] = held
    status = store.one("SELECT status FROM orders WHERE id = ?", (m["order_id"],))["status"]
    record(store, m["order_id"], status, "return_changed", **detail)
    audit.record(store, actor, "return_change", m["rma"], {"order": m["order_id"], **detail})


def summary(store: Store, rma_id: int) -> list[dict[str, Any]]:
    """Per SKU: authorised, received, resellable, scrapped and the scrap reasons (for people)."""
    names = {
        r["sku"]: r["name"]
        for r in store.all(
            "SELECT p.sku, p.name FROM products p JOIN rma_lines l ON l.sku = p.sku "
            "WHERE l.rma_id = ?",
            (rma_id,),
        )
    }
    reasons: dict[str, list[str]] = {}
    for r in store.all(
        "SELECT sku, reason FROM rma_units WHERE rma_id = ? AND grade = 'scrap' ORDER BY id",
        (rma_id,),
    ):
        reasons.setdefault(r["sku"], []).append(r["reason"])
    return [
        {
            "sku": x.sku,
            "name": names.get(x.sku, x.sku),
            "authorised": x.authorised,
            "received": x.received,
            "resellable": x.resellable,
            "scrapped": x.scrapped,
            "reasons": reasons.get(x.sku, []),
        }
        for x in result(store, rma_id)
    ]


_SELECT = """SELECT m.id, m.rma, m.order_id, o.external_id AS shop_order_id, m.warehouse, m.source,
                    m.external_id, p.tracking, m.status, m.reason, m.created_by, m.created_at,
                    m.received_at, m.received_by, m.cancelled_at, m.cancel_reason,
                    d.name AS device
             FROM rmas m JOIN orders o ON o.id = m.order_id
             LEFT JOIN packages p ON p.id = m.package_id
             LEFT JOIN devices d ON d.id = m.device_id"""


def _with_lines(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    units = store.all(
        """SELECT u.sku, u.grade, u.reason, l.code AS location, u.worker, u.at
           FROM rma_units u LEFT JOIN putaway_tasks t ON t.id = u.putaway_id
           LEFT JOIN locations l ON l.id = t.put_location_id
           WHERE u.rma_id = ? ORDER BY u.id""",
        (row["id"],),
    )
    return {**row, "lines": summary(store, row["id"]), "units": units}


def get(store: Store, rma: str) -> dict[str, Any]:
    """One return by its RMA number, with its lines and every graded unit; KeyError if none."""
    row = store.one(f"{_SELECT} WHERE m.rma = ?", (rma.strip().upper(),))
    if row is None:
        raise KeyError(rma)
    return _with_lines(store, row)


def listing(
    store: Store, status: str | None = None, order_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Returns, newest first, by status or order."""
    filters = {"m.status": status, "m.order_id": order_id}
    used = {k: v for k, v in filters.items() if v is not None}
    where = (" WHERE " + " AND ".join(f"{k} = ?" for k in used)) if used else ""
    rows = store.all(f"{_SELECT}{where} ORDER BY m.id DESC LIMIT ?", (*used.values(), limit))
    return [_with_lines(store, r) for r in rows]
