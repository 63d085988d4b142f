"""What the supervisors' board shows: pick lists, devices, counts, failed prints."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from server.domain.floor import pick_list_ref
from server.services.clock import now
from server.services.orders import counts_by_status
from server.store import Store

RECENT_PACKED = 20  # packed lists kept on the board so a supervisor sees them leave
RECENT_FAILED_PRINTS = 20


def snapshot(store: Store) -> dict[str, Any]:
    """Pick lists not yet packed (and the last packed ones), devices, order counts."""
    with store.read():
        lists = store.all(
            """SELECT p.id, p.warehouse, p.status, p.tote, p.priority, d.name AS device,
                      (SELECT COALESCE(SUM(qty), 0) FROM pick_steps WHERE pick_list_id = p.id) AS units,
                      (SELECT COALESCE(SUM(picked), 0) FROM pick_steps WHERE pick_list_id = p.id) AS picked,
                      (SELECT COALESCE(SUM(verified), 0) FROM pick_steps WHERE pick_list_id = p.id) AS checked
               FROM pick_lists p LEFT JOIN devices d ON d.id = p.device_id
               WHERE p.status != 'packed' OR p.id IN
                     (SELECT id FROM pick_lists WHERE status = 'packed' ORDER BY packed_at DESC LIMIT ?)
               ORDER BY p.id""",
            (RECENT_PACKED,),
        )
        orders_of = _orders_by_list(store, [row["id"] for row in lists])
        devices = store.all(
            """SELECT d.id, d.name, d.role, d.warehouse, d.connected, d.last_seen,
                      COALESCE(d.pack_list_id,
                               (SELECT id FROM pick_lists p WHERE p.device_id = d.id
                                AND p.status = 'assigned' ORDER BY p.id LIMIT 1)) AS list_id,
                      (SELECT COUNT(*) FROM scans s WHERE s.device_id = d.id) AS scans,
                      (SELECT COUNT(*) FROM scans s WHERE s.device_id = d.id AND s.ok = 0) AS wrong_scans
               FROM devices d ORDER BY d.name"""
        )
        failed_prints = store.one("SELECT COUNT(*) AS n FROM print_jobs WHERE status = 'failed'")[
            "n"
        ]
        failed_jobs = store.all(
            """SELECT j.id, k.order_id, d.name AS device, j.attempts, j.error, j.updated_at
               FROM print_jobs j JOIN packages k ON k.id = j.package_id
               JOIN devices d ON d.id = j.device_id
               WHERE j.status = 'failed' ORDER BY j.updated_at DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        )
        shorts = store.all(
            """SELECT s.id, l.code AS location, s.sku, s.order_id, d.name AS device, s.wanted, s.found,
                      s.reason, s.outcome, s.at
               FROM short_picks s JOIN locations l ON l.id = s.location_id
               JOIN devices d ON d.id = s.device_id ORDER BY s.id DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        )
        helps = store.all(
            """SELECT a.id, d.name AS device, d.warehouse, a.pick_list_id, a.received_at AS at
               FROM device_actions a JOIN devices d ON d.id = a.device_id
               WHERE a.action = 'help' ORDER BY a.id DESC LIMIT ?""",
            (RECENT_FAILED_PRINTS,),
        )
        counts = counts_by_status(store)
        open_counts = store.one("SELECT COUNT(*) AS n FROM count_tasks WHERE status = 'open'")["n"]
    for row in lists:
        row["ref"] = pick_list_ref(row["id"])
        refs = orders_of.get(row["id"], [])
        row["orders"] = [r["id"] for r in refs]
        row["order_refs"] = refs
    for row in devices:
        row["connected"] = bool(row["connected"])
        list_id = row.pop("list_id")
        row["pick_list"] = pick_list_ref(list_id) if list_id is not None else None
    return {
        "pick_lists": lists,
        "devices": devices,
        "counts": {**counts, "failed_prints": failed_prints, "bins_to_count": open_counts},
        "failed_print_jobs": failed_jobs,
        "short_picks": shorts,
        "help_requests": helps,
        "at": now(),
    }


def _orders_by_list(store: Store, list_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """Each list's orders: our id and the shop's (inside a read)."""
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    if not list_ids:
        return found
    rows = store.all(
        f"""SELECT DISTINCT s.pick_list_id, o.id, o.external_id AS shop_id, o.channel
            FROM pick_steps s JOIN orders o ON o.id = s.order_id
            WHERE s.pick_list_id IN ({",".join("?" * len(list_ids))})
            ORDER BY s.pick_list_id, o.id""",
        tuple(list_ids),
    )
    for r in rows:
        found[r.pop("pick_list_id")].append(r)
    return found
