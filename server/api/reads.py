"""Read-only queries behind the API's lists: orders, stock, pick lists, devices, stats."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from server.capture.orders import counts_by_status
from server.floor import screens, views
from server.floor.domain.floor import pick_list_ref
from server.store import Store
from shared.protocol import dump

_PICK_LIST_SQL = """
SELECT p.id, p.warehouse, p.status, p.tote, p.priority, p.created_at, d.name AS device,
       (SELECT COALESCE(SUM(qty), 0) FROM pick_steps WHERE pick_list_id = p.id) AS units,
       (SELECT COALESCE(SUM(picked), 0) FROM pick_steps WHERE pick_list_id = p.id) AS picked,
       (SELECT {orders} FROM pick_steps WHERE pick_list_id = p.id) AS orders
FROM pick_lists p LEFT JOIN devices d ON d.id = p.device_id
"""
_ORDERS_OF_LIST = {
    "sqlite": "GROUP_CONCAT(DISTINCT order_id)",
    "postgresql": "string_agg(DISTINCT order_id, ',' ORDER BY order_id)",
}


def _pick_list_sql(store: Store) -> str:
    return _PICK_LIST_SQL.replace("{orders}", _ORDERS_OF_LIST[store.dialect])


_STOCK_SQL = """
SELECT l.warehouse, l.code AS location, s.sku, s.lot, s.expires, s.on_hand, s.reserved,
       s.on_hand - s.reserved AS free
FROM stock s JOIN locations l ON l.id = s.location_id
"""


def _where(filters: dict[str, Any]) -> tuple[str, tuple]:
    """A WHERE clause ANDing `column = ?` for each filter that is set."""
    used = {k: v for k, v in filters.items() if v is not None}
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k in used), tuple(used.values())


def list_orders(store: Store, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Orders, newest first."""
    where, params = _where({"status": status})
    return store.all(
        "SELECT id, external_id AS order_id, shop_number, channel, status, priority, warehouse, "
        "created_at, "
        f"updated_at FROM orders{where} ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, limit),
    )


def list_stock(store: Store, sku: str | None, warehouse: str | None) -> list[dict[str, Any]]:
    """Stock by bin, in warehouse and location order."""
    where, params = _where({"s.sku": sku, "l.warehouse": warehouse})
    return store.all(f"{_STOCK_SQL}{where} ORDER BY l.warehouse, l.code, s.sku, s.lot", params)


def stock_row(
    store: Store, warehouse: str, location: str, sku: str, lot: str = ""
) -> dict[str, Any] | None:
    """One SKU (one lot) in one bin."""
    where, params = _where(
        {"l.warehouse": warehouse, "l.code": location, "s.sku": sku, "s.lot": lot}
    )
    return store.one(f"{_STOCK_SQL}{where}", params)


def _pick_list_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "ref": pick_list_ref(row["id"]),
        "orders": sorted((row["orders"] or "").split(",")) if row["orders"] else [],
    }


def list_pick_lists(
    store: Store, status: str | None, warehouse: str | None, limit: int
) -> list[dict[str, Any]]:
    """Pick lists, most recent first."""
    where, params = _where({"p.status": status, "p.warehouse": warehouse})
    rows = store.all(f"{_pick_list_sql(store)}{where} ORDER BY p.id DESC LIMIT ?", (*params, limit))
    return [_pick_list_row(r) for r in rows]


def pick_list(store: Store, list_id: int) -> dict[str, Any] | None:
    """One pick list with its steps in walking order, or None."""
    with store.read():
        row = store.one(f"{_pick_list_sql(store)} WHERE p.id = ?", (list_id,))
        loaded = views.load(store, list_id)
    if row is None or loaded is None:
        return None
    return {**_pick_list_row(row), "steps": [asdict(step) for step in loaded.steps]}


def list_devices(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Devices with the screen each should show now."""
    where, params = _where({"name": name})
    out = []
    with store.read():
        for row in store.all(
            "SELECT id, name, role, warehouse, connected, last_seen, worker, revoked "
            f"FROM devices{where} ORDER BY name",
            params,
        ):
            state = dump(screens.current_state(store, row["id"]))
            flags = {"connected": bool(row["connected"]), "revoked": bool(row["revoked"])}
            out.append({**row, **flags, "state": state})
    return out


def stats(store: Store) -> dict[str, Any]:
    """Counters for the floor: orders by status, scans, labels, packages."""

    def count(sql: str) -> int:
        return store.one(f"SELECT COUNT(*) AS n FROM {sql}")["n"]

    with store.read():
        return {
            "orders": counts_by_status(store),
            "scans": count("scans"),
            "wrong_scans": count("scans WHERE ok = 0"),
            "labels_printed": count("print_jobs WHERE status = 'printed'"),
            "print_failures": count("print_jobs WHERE status = 'failed'"),
            "packages_confirmed": count("packages WHERE status = 'confirmed'"),
        }
