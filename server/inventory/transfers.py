"""Transfers between warehouses: planned, suggested, shipped as orders, counted in transit.

Workflow: a transfer (`TR-000001`) is planned by hand or from a suggestion (`plan`). It is
an order of channel `transfer`, shipped to the receiving warehouse's address and pinned to
the sending one (`orders.pin_warehouse`), so it is allocated, picked, packed, labelled and
handed over at the dock as every order is: no second path. Its units leave on hand when
picked, as any order's do; once its shipment is handed over they are *in transit* (shipped
less received, per SKU) until the receiving warehouse scans them in at its dock
(server/inventory/transfer_dock.py). In-transit units are in no bin, so no allocation at
either end can promise them. Closing the receipt records what was shipped and never
arrived as short, on the order's timeline and in the audit log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from server.capture import orders
from server.core.clock import now
from server.core.geo import great_circle_km
from server.core.schemas import AddressIn, OrderIn
from server.inventory import allocate
from server.inventory.domain import transfers as rules
from server.people import audit
from server.returns.rmas import shipped_units
from server.store import Store

CHANNEL = "transfer"


class TransferError(ValueError):
    """A transfer that cannot be planned; `problems` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class TransferConflict(ValueError):
    """The request id was already used to plan a transfer with another body."""


def _same_request(
    store: Store, made: dict[str, Any], from_warehouse: str, to_warehouse: str,
    source: str, lines: list[tuple[str, int]],
) -> bool:  # fmt: skip
    """Whether a request asks for the transfer `made` (planned under its request id) again:
    the same warehouses, source and lines (in any order)."""
    planned = store.all(
        "SELECT l.sku, l.qty FROM transfer_lines l JOIN transfers t ON t.id = l.transfer_id "
        "WHERE t.transfer = ?",
        (made["transfer"],),
    )
    return (made["from_warehouse"], made["to_warehouse"], made["source"]) == (
        from_warehouse,
        to_warehouse,
        source,
    ) and sorted((r["sku"], r["qty"]) for r in planned) == sorted(lines)


def _address(wh: dict[str, Any]) -> AddressIn:
    """The receiving warehouse as a ship-to, placed where the warehouse is."""
    a = json.loads(wh["address"]) if wh["address"] else {}
    return AddressIn(
        name=wh["name"],
        line1=a.get("line1") or wh["name"],
        line2=a.get("line2") or "",
        city=a.get("city") or wh["code"],
        postcode=a.get("postcode") or "-",
        country=a.get("country") or "US",
        lat=wh["lat"],
        lon=wh["lon"],
    )


def free_units(store: Store, skus: list[str] | None = None) -> dict[tuple[str, str], int]:
    """Free units (on hand less reserved, pick faces) per (warehouse, SKU)."""
    where = f"AND s.sku IN ({','.join('?' * len(skus))})" if skus else ""
    rows = store.all(
        f"""SELECT l.warehouse, s.sku, SUM(s.on_hand - s.reserved) AS n
            FROM stock s JOIN locations l ON l.id = s.location_id
            WHERE l.role = 'face' {where} GROUP BY l.warehouse, s.sku""",
        tuple(skus or ()),
    )
    return {(r["warehouse"], r["sku"]): r["n"] for r in rows if r["n"]}


def _safety(store: Store) -> dict[tuple[str, str], int]:
    rows = store.all("SELECT warehouse, sku, qty FROM safety_stock WHERE qty > 0")
    return {(r["warehouse"], r["sku"]): r["qty"] for r in rows}


def _sendable(free: dict, safety: dict, warehouse: str, sku: str) -> int:
    """Free units above the safety stock: what the sender's allocation lets a transfer take."""
    return max(0, free.get((warehouse, sku), 0) - safety.get((warehouse, sku), 0))


def plan(
    store: Store,
    from_warehouse: str,
    to_warehouse: str,
    lines: list[tuple[str, int]],
    created_by: str,
    source: str = "manual",
    request_id: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Plan a transfer and allocate it in the sending warehouse; returns (transfer, created).

    A `request_id` already used answers its transfer (created False) when the request asks
    for the same one again, and is refused (TransferConflict) when it asks for another.
    Refused whole (TransferError, nothing written) for an unknown warehouse, the same
    warehouse twice, an unknown SKU, a SKU twice, or more than the sender has free above its
    safety stock (what allocation would let the transfer's order take).
    """
    with store.write():
        if request_id is not None:
            row = store.one("SELECT transfer FROM transfers WHERE request_id = ?", (request_id,))
            if row is not None:
                made = get(store, row["transfer"])
                assert made is not None
                if not _same_request(store, made, from_warehouse, to_warehouse, source, lines):
                    raise TransferConflict(
                        f"request_id {request_id} was already used for {made['transfer']} "
                        "with another body"
                    )
                return made, False
        whs = {
            r["code"]: r for r in store.all("SELECT code, name, address, lat, lon FROM warehouses")
        }
        problems = []
        for field, code in (("from_warehouse", from_warehouse), ("to_warehouse", to_warehouse)):
            if code not in whs:
                problems.append((field, f"no warehouse {code}"))
        if from_warehouse == to_warehouse:
            problems.append(("to_warehouse", f"{to_warehouse} cannot send to itself"))
        skus = [sku for sku, _ in lines]
        known = {
            r["sku"]
            for r in store.all(
                f"SELECT sku FROM products WHERE sku IN ({','.join('?' * len(skus))})", tuple(skus)
            )
        }
        free = free_units(store, skus)
        safety = _safety(store)
        seen: set[str] = set()
        for i, (sku, qty) in enumerate(lines):
            if sku not in known:
                problems.append((f"lines[{i}].sku", f"unknown SKU {sku}"))
            elif sku in seen:
                problems.append((f"lines[{i}].sku", f"{sku} is on the transfer twice"))
            elif qty > (has := _sendable(free, safety, from_warehouse, sku)):
                problems.append(
                    (
                        f"lines[{i}].qty",
                        f"{qty} of {sku} asked, {from_warehouse} has {has} free to send",
                    )
                )
            seen.add(sku)
        if problems:
            raise TransferError(problems)
        number = f"TR-{orders.next_number(store, 'transfer'):06d}"
        body = OrderIn(
            order_id=number,
            channel=CHANNEL,
            lines=[{"sku": sku, "qty": qty} for sku, qty in lines],
            ship_to=_address(whs[to_warehouse]),
            allow_split=False,
            allow_partial=False,
        )
        order_id, _ = orders.capture(store, body)
        store.execute(
            "UPDATE orders SET pin_warehouse = ? WHERE id = ?", (from_warehouse, order_id)
        )
        tid = store.execute(
            """INSERT INTO transfers (transfer, order_id, from_warehouse, to_warehouse, source,
                                      request_id, status, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)""",
            (number, order_id, from_warehouse, to_warehouse, source, request_id, created_by, now()),
        ).lastrowid
        store.conn.executemany(
            "INSERT INTO transfer_lines (transfer_id, sku, qty) VALUES (?, ?, ?)",
            [(tid, sku, qty) for sku, qty in lines],
        )
        audit.record(
            store,
            created_by,
            "transfer_plan",
            number,
            {"from": from_warehouse, "to": to_warehouse, "lines": dict(lines), "source": source},
        )
        allocate.allocate_order(store, order_id)
        return get(store, number), True


def _received(store: Store, transfer_id: int) -> dict[str, int]:
    rows = store.all(
        "SELECT sku, received FROM transfer_lines WHERE transfer_id = ?", (transfer_id,)
    )
    return {r["sku"]: r["received"] for r in rows}


def get(store: Store, ref: str) -> dict[str, Any] | None:
    """One transfer by its number (TR-000001) or its order id, line by line."""
    t = store.one(
        """SELECT t.*, o.status AS order_status FROM transfers t JOIN orders o ON o.id = t.order_id
           WHERE t.transfer = ? OR t.order_id = ?""",
        (ref.strip().upper(), ref.strip().upper()),
    )
    if t is None:
        return None
    shipped = shipped_units(store, t["order_id"])
    lines = store.all(
        "SELECT sku, qty, received, over, short FROM transfer_lines WHERE transfer_id = ? "
        "ORDER BY sku",
        (t["id"],),
    )
    closed = t["status"] == "received"
    by_lot = _lots(store, t, closed)
    for line in lines:
        line["shipped"] = shipped.get(line["sku"], 0)
        line["in_transit"] = 0 if closed else max(0, line["shipped"] - line["received"])
        line["lots"] = by_lot.get(line["sku"], [])
    return {
        "transfer": t["transfer"],
        "order_id": t["order_id"],
        "from_warehouse": t["from_warehouse"],
        "to_warehouse": t["to_warehouse"],
        "source": t["source"],
        "status": _status(t["status"], t["order_status"], shipped),
        "order_status": t["order_status"],
        "created_by": t["created_by"],
        "created_at": t["created_at"],
        "received_at": t["received_at"],
        "received_by": t["received_by"],
        "lines": lines,
        "in_transit": sum(line["in_transit"] for line in lines),
    }


def shipped_lots(store: Store, order_id: str) -> dict[tuple[str, str], tuple[int, str | None]]:
    """Units per (SKU, lot) a transfer's order shipped, with the lot's expiry in the bin it
    was picked from (the lot leaves with it)."""
    rows = store.all(
        """SELECT r.sku, r.lot, SUM(r.picked) AS n, MAX(st.expires) AS expires
           FROM reservations r JOIN shipments s ON s.id = r.shipment_id
           LEFT JOIN stock st ON st.location_id = r.location_id AND st.sku = r.sku
                AND st.lot = r.lot
           WHERE r.order_id = ? AND s.status = 'shipped' GROUP BY r.sku, r.lot""",
        (order_id,),
    )
    return {(r["sku"], r["lot"]): (r["n"], r["expires"]) for r in rows if r["n"]}


def _lots(store: Store, t: dict[str, Any], closed: bool) -> dict[str, list[dict[str, Any]]]:
    """Per SKU, its lots: shipped, received, in transit, over (set aside) and how the
    set-aside units were settled, with the lot's expiry."""
    got = {
        (r["sku"], r["lot"]): r
        for r in store.all("SELECT * FROM transfer_lots WHERE transfer_id = ?", (t["id"],))
    }
    sent = shipped_lots(store, t["order_id"])
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sku, lot in sorted(set(got) | set(sent)):
        g = got.get((sku, lot), {})
        shipped, expires = sent.get((sku, lot), (0, None))
        received = g.get("received", 0)
        out[sku].append(
            {
                "lot": lot,
                "expires": expires or g.get("expires"),
                "shipped": shipped,
                "received": received,
                "in_transit": 0 if closed else max(0, shipped - received),
                "over": g.get("over", 0),
                "accepted": g.get("accepted", 0),
                "rejected": g.get("rejected", 0),
                "set_aside": g.get("over", 0) - g.get("accepted", 0) - g.get("rejected", 0),
            }
        )
    return dict(out)


def _status(stored: str, order_status: str, shipped: dict[str, int]) -> str:
    """planned (at the sender, not yet shipped), in_transit (shipped), received, cancelled."""
    if stored == "received":
        return "received"
    if order_status == "cancelled":
        return "cancelled"
    return "in_transit" if shipped else "planned"


def listed(store: Store, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Transfers, newest first, at most `limit`; `status` one of planned, in_transit,
    received, cancelled (the first, second and fourth are all stored `open`)."""
    where = "" if status is None else "WHERE status = ?"
    stored = () if status is None else ("received" if status == "received" else "open",)
    out = []
    for r in store.all(f"SELECT transfer FROM transfers {where} ORDER BY id DESC", stored):
        t = get(store, r["transfer"])
        if status is None or t["status"] == status:
            out.append(t)
            if len(out) == limit:
                break
    return out


def in_transit(store: Store) -> dict[tuple[str, str, str], int]:
    """Units in transit per (SKU, from warehouse, to warehouse): shipped, not yet received."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for t in store.all(
        "SELECT id, order_id, from_warehouse, to_warehouse FROM transfers WHERE status = 'open'"
    ):
        moving = rules.in_transit(shipped_units(store, t["order_id"]), _received(store, t["id"]))
        for sku, n in moving.items():
            out[(sku, t["from_warehouse"], t["to_warehouse"])] += n
    return dict(out)


def set_aside(store: Store) -> list[dict[str, Any]]:
    """Units over-received at a dock and not settled yet, per transfer, SKU and lot (oldest
    transfer first): each waits for a supervisor to accept it into a bin or reject it."""
    return store.all(
        """SELECT t.transfer, t.to_warehouse, l.sku, l.lot, l.expires,
                  l.over - l.accepted - l.rejected AS units
           FROM transfer_lots l JOIN transfers t ON t.id = l.transfer_id
           WHERE l.over > l.accepted + l.rejected ORDER BY t.id, l.sku, l.lot"""
    )


def in_transit_units(store: Store) -> dict[str, int]:
    """Units per SKU shipped by transfer and not yet received (for the per-SKU accounting)."""
    out: dict[str, int] = defaultdict(int)
    for (sku, _, _), n in in_transit(store).items():
        out[sku] += n
    return dict(out)


def _waiting(store: Store) -> dict[tuple[str, str], int]:
    """Units open orders (not transfers) wait for, per (warehouse, SKU): an order not yet in a
    warehouse counts at the one nearest its ship-to."""
    sites = store.all("SELECT code, lat, lon FROM warehouses ORDER BY code")
    rows = store.all(
        """SELECT o.warehouse, o.lat, o.lon, l.sku,
                  l.qty - l.cancelled - COALESCE((SELECT SUM(r.qty - r.released) FROM reservations r
                                    WHERE r.order_id = l.order_id AND r.line_no = l.line_no), 0) AS n
           FROM orders o JOIN order_lines l ON l.order_id = o.id
           WHERE o.waiting > 0 AND o.channel != ? AND o.status != 'cancelled'""",
        (CHANNEL,),
    )
    out: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["n"] <= 0 or not sites:
            continue
        wh = r["warehouse"]
        if wh is None:
            if r["lat"] is None:
                continue  # not placed on the map: no warehouse is nearer than another
            wh = min(sites, key=lambda s: great_circle_km(r["lat"], r["lon"], s["lat"], s["lon"]))[
                "code"
            ]
        out[(wh, r["sku"])] += r["n"]
    return dict(out)


def _coming(store: Store) -> dict[tuple[str, str], int]:
    """Units on open transfers to each warehouse not yet received (planned or in transit)."""
    rows = store.all(
        """SELECT t.to_warehouse, l.sku, SUM(l.qty - l.received) AS n
           FROM transfers t JOIN transfer_lines l ON l.transfer_id = t.id
           JOIN orders o ON o.id = t.order_id
           WHERE t.status = 'open' AND o.status != 'cancelled' GROUP BY t.to_warehouse, l.sku"""
    )
    return {(r["to_warehouse"], r["sku"]): r["n"] for r in rows if r["n"] > 0}


def suggestions(store: Store) -> list[rules.Suggestion]:
    """Moves that would serve waiting orders and safety stock from other warehouses' spare."""
    with store.read():
        waiting = _waiting(store)
        free = free_units(store)
        safety = _safety(store)
        coming = _coming(store)
    need = rules.shortfall(waiting, free, safety)
    return rules.suggest(need, rules.spare(free, safety, need), coming)
