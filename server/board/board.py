"""What the supervisors' board shows: pick lists, devices, counts, failed prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from server.board import exceptions
from server.board.counters import counts
from server.board.throughput import first_id_since, hours_ago
from server.core.clock import now
from server.floor.domain.floor import pick_list_ref
from server.shipping import manifests
from server.store import Store

RECENT_PACKED = 20  # packed lists kept on the board so a supervisor sees them leave
RECENT_FAILED_PRINTS = 20
SHIPPED = ("shipped", "in_transit", "out_for_delivery", "delivered", "returned", "exception")


LIST_COLUMNS = """p.id, p.warehouse, p.status, p.tote, p.priority, p.packed_at, d.name AS device,
    d.worker, p.zones, p.created_at, p.assigned_at, p.picked_at,
    (SELECT COALESCE(SUM(qty), 0) FROM pick_steps WHERE pick_list_id = p.id) AS units,
    (SELECT COALESCE(SUM(picked), 0) FROM pick_steps WHERE pick_list_id = p.id) AS picked,
    (SELECT COALESCE(SUM(verified), 0) FROM pick_steps WHERE pick_list_id = p.id) AS checked"""
DEVICE_COLUMNS = """d.id, d.name, d.role, d.warehouse, d.connected, d.last_seen, d.scans, d.wrong_scans,
    d.worker, d.logged_in, d.zones, d.pack_order_id,
    CASE WHEN d.journal_seq > d.scan_seq THEN d.journal_seq - d.scan_seq ELSE 0 END AS queued_scans,
    (SELECT received_at FROM scans WHERE id = (SELECT MAX(id) FROM scans WHERE device_id = d.id))
      AS last_scan_at,
    (SELECT j.status || ':' || COALESCE(j.error, '') FROM print_jobs j WHERE j.device_id = d.id
       ORDER BY j.id DESC LIMIT 1) AS printer,
    COALESCE(d.pack_list_id, (SELECT id FROM pick_lists p WHERE p.device_id = d.id
                              AND p.status = 'assigned' ORDER BY p.id LIMIT 1)) AS list_id"""


def snapshot(store: Store) -> dict[str, Any]:
    """The whole board: lists not yet packed (and the last packed ones), devices, counts, alerts.

    Sent to a board when it connects; after that it gets `delta`s.
    """
    with store.read():
        queue = exceptions.queue(store)
        lists = _lists(
            store,
            """p.status != 'packed' OR p.id IN
               (SELECT id FROM pick_lists WHERE status = 'packed' ORDER BY packed_at DESC LIMIT ?)""",
            (RECENT_PACKED,),
        )
        devices = _devices(store, "1 = 1", ())
        return {
            "pick_lists": lists,
            "devices": devices,
            **alerts(store),
            "exceptions": queue,
            "counts": counts(store),
            "at": now(),
        }


def delta(
    store: Store, list_ids: Iterable[int], device_ids: Iterable[int], with_counts: bool
) -> dict[str, Any]:
    """What changed for a board since the last snapshot or delta: only the rows a change touched.

    `removed_lists` are lists that no longer exist (merged into a cart, or emptied); the board
    keeps the rows it has for everything not named here.
    """
    list_ids, device_ids = sorted(set(list_ids)), sorted(set(device_ids))
    with store.read():
        lists = _lists(store, f"p.id IN ({_marks(list_ids)})", tuple(list_ids)) if list_ids else []
        devices = (
            _devices(store, f"d.id IN ({_marks(device_ids)})", tuple(device_ids))
            if device_ids
            else []
        )
        out: dict[str, Any] = {
            "pick_lists": lists,
            "removed_lists": sorted(set(list_ids) - {r["id"] for r in lists}),
            "devices": devices,
            **alerts(store),
            "at": now(),
        }
        if with_counts:  # the queue (several reads) goes at the counts' pace too
            out["counts"] = counts(store)
            out["exceptions"] = exceptions.queue(store)
    return out


def alerts(store: Store) -> dict[str, list[dict[str, Any]]]:
    """The newest failed prints, short picks, help requests and packages missing at a
    hand-over (inside a read)."""
    return {
        "missing_packages": manifests.missing_packages(store, RECENT_FAILED_PRINTS),
        "failed_print_jobs": store.all(
            """SELECT j.id, k.order_id, d.name AS device, j.attempts, j.error, j.updated_at
               FROM print_jobs j JOIN packages k ON k.id = j.package_id
               JOIN devices d ON d.id = j.device_id
               WHERE j.status = 'failed' ORDER BY j.updated_at DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        ),
        "short_picks": store.all(
            """SELECT s.id, l.code AS location, s.sku, s.order_id, d.name AS device, s.wanted,
                      s.found, s.reason, s.outcome, s.at
               FROM short_picks s JOIN locations l ON l.id = s.location_id
               JOIN devices d ON d.id = s.device_id ORDER BY s.id DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        ),
        "help_requests": store.all(
            """SELECT a.id, d.name AS device, d.warehouse, a.pick_list_id, a.reason,
                      a.received_at AS at
               FROM device_actions a JOIN devices d ON d.id = a.device_id
               WHERE a.action = 'help' ORDER BY a.id DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        ),
    }


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def _lists(store: Store, where: str, params: tuple) -> list[dict[str, Any]]:
    rows = store.all(
        f"""SELECT {LIST_COLUMNS} FROM pick_lists p LEFT JOIN devices d ON d.id = p.device_id
            WHERE {where} ORDER BY p.id""",
        params,
    )
    ids = [row["id"] for row in rows]
    orders_of = _orders_by_list(store, ids)
    extra = _list_extras(store, ids)
    for row in rows:
        row["ref"] = pick_list_ref(row["id"])
        refs = orders_of.get(row["id"], [])
        row["orders"] = [r["id"] for r in refs]
        row["order_refs"] = refs
        more = extra.get(row["id"], {})
        row["skus"] = sorted(more.get("skus", ()))
        row["totes"] = sorted(more.get("totes", ()))
        row["tracking"] = sorted(more.get("tracking", ()))
        row["shorts"] = more.get("shorts", 0)
        promised = [r["promised_by"] for r in refs if r.get("promised_by")]
        row["promised_by"] = min(promised) if promised else None
        row["state"] = _state(row, refs)
    return rows


def _state(row: dict[str, Any], refs: list[dict[str, Any]]) -> str:
    """The board's column for a list: queued, picking, short, to_pack, packing, packed, shipped."""
    status = row["status"]
    if status in ("open", "assigned") and row["shorts"]:
        return "short"
    if status == "packed":
        return "shipped" if refs and all(r["status"] in SHIPPED for r in refs) else "packed"
    return {"open": "queued", "assigned": "picking", "picked": "to_pack"}.get(status, status)


def _list_extras(store: Store, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a list is searched by beyond its orders (SKUs, totes, tracking) and its short picks."""
    found: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(set))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = _marks(chunk)
        for r in store.all(
            f"SELECT DISTINCT pick_list_id AS id, sku FROM pick_steps WHERE pick_list_id IN ({marks})",
            tuple(chunk),
        ):
            found[r["id"]]["skus"].add(r["sku"])
        for r in store.all(
            f"""SELECT pick_list_id AS id, tote FROM pick_list_totes
                WHERE tote IS NOT NULL AND pick_list_id IN ({marks})""",
            tuple(chunk),
        ):
            found[r["id"]]["totes"].add(r["tote"])
        for r in store.all(
            f"SELECT pick_list_id AS id, tracking FROM packages WHERE pick_list_id IN ({marks})",
            tuple(chunk),
        ):
            found[r["id"]]["tracking"].add(r["tracking"])
        for r in store.all(
            f"""SELECT pick_list_id AS id, COUNT(*) AS n FROM short_picks
                WHERE pick_list_id IN ({marks}) GROUP BY pick_list_id""",
            tuple(chunk),
        ):
            found[r["id"]]["shorts"] = r["n"]
    return found


def _devices(store: Store, where: str, params: tuple) -> list[dict[str, Any]]:
    rows = store.all(
        f"SELECT {DEVICE_COLUMNS} FROM devices d WHERE {where} ORDER BY d.name", params
    )
    stats = _scan_stats(store, [row["id"] for row in rows])
    for row in rows:
        row["connected"] = bool(row["connected"])
        row["logged_in"] = bool(row["logged_in"])
        list_id = row.pop("list_id")
        row["pick_list"] = pick_list_ref(list_id) if list_id is not None else None
        row["step"] = _current_step(store, row, list_id)
        row["scans_hour"], row["offline_scans_hour"] = stats.get(row["id"], (0, 0))
        printer = row.pop("printer")
        if row["role"] != "packer":
            row["printer"] = None
        elif printer is None:
            row["printer"] = {"state": "idle", "error": None}
        else:
            state, _, error = printer.partition(":")
            row["printer"] = {"state": state, "error": error or None}
    return rows


def _current_step(store: Store, device: dict[str, Any], list_id: int | None) -> str | None:
    """What the worker is at: the picker's next bin and SKU, the packer's order."""
    if list_id is None:
        return None
    if device["role"] == "packer":
        return f"packing {device['pack_order_id'] or pick_list_ref(list_id)}"
    step = store.one(
        """SELECT l.code, s.sku, s.picked, s.qty FROM pick_steps s
           JOIN locations l ON l.id = s.location_id
           WHERE s.pick_list_id = ? AND s.picked < s.qty ORDER BY s.seq LIMIT 1""",
        (list_id,),
    )
    if step is None:
        return "to pack"
    return f"{step['code']} · {step['sku']} {step['picked']}/{step['qty']}"


def _scan_stats(store: Store, device_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Scans in the last hour per device, and how many of them were made offline."""
    if not device_ids:
        return {}
    since = first_id_since(store, "scans", "received_at", hours_ago(1))
    if since is None:
        return {}
    rows = store.all(
        """SELECT device_id, COUNT(*) AS n, SUM(offline) AS off FROM scans
           WHERE id >= ? GROUP BY device_id""",
        (since,),
    )
    wanted = set(device_ids)
    return {r["device_id"]: (r["n"], r["off"] or 0) for r in rows if r["device_id"] in wanted}


def _orders_by_list(store: Store, list_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """Each list's orders: our id, the shop's and the shop's number people see (inside a read)."""
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    if not list_ids:
        return found
    rows = store.all(
        f"""SELECT DISTINCT s.pick_list_id, o.id, o.external_id AS shop_id, o.shop_number, o.channel,
                  o.status, o.priority, o.promised_by
            FROM pick_steps s JOIN orders o ON o.id = s.order_id
            WHERE s.pick_list_id IN ({",".join("?" * len(list_ids))})
            ORDER BY s.pick_list_id, o.id""",
        tuple(list_ids),
    )
    for r in rows:
        found[r.pop("pick_list_id")].append(r)
    return found
