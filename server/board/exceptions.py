"""One queue of what needs a person, built from the floor's own tables.

Short picks, help requests (with the worker's reason), wrong-scan streaks, failed
prints, expired leases, backordered orders, bins to count, packages held for their weight
and packages missing at a truck's hand-over each give items with a stable id (`short:12`, `help:7`,
`wrong:3:9120`, `print:4`, `lease:88`, `backorder:SO-000012`, `count:5`,
`held:41`, `missing:41:3`: package 41, missing from manifest 3), so an acknowledgement or a resolution made on the
board (table `exceptions_resolved`) sticks to its item. Resolved items leave the queue;
acknowledged ones stay, marked, until resolved.
"""

from __future__ import annotations

from typing import Any

from server.board.throughput import first_id_since, hours_ago
from server.floor.domain.floor import pick_list_ref
from server.shipping import boxes, manifests
from server.store import Store

PER_KIND = 100  # newest items of each kind in the queue
WRONG_STREAK = 3  # wrong scans in a row that call for a person
STREAK_READ = 200  # newest scans read per device for a streak (a longer one shows "200+")
LEASE_DAYS = 1  # expired leases older than this leave the queue by themselves


def queue(store: Store) -> list[dict[str, Any]]:
    """Every open item, newest first (inside a read)."""
    items = [
        *_shorts(store),
        *_helps(store),
        *_wrong_streaks(store),
        *_prints(store),
        *_leases(store),
        *_backorders(store),
        *_counts(store),
        *_held(store),
        *_missing(store),
    ]
    marks = _marks(store, [i["key"] for i in items])
    out = []
    for item in items:
        mark = marks.get(item["key"])
        if mark and mark["status"] == "resolved":
            continue
        item["acknowledged"] = mark is not None
        item["acknowledged_by"] = mark["actor"] if mark else None
        out.append(item)
    out.sort(key=lambda i: i["at"] or "", reverse=True)
    return out


def keys(store: Store) -> set[str]:
    """The ids of the items in the queue now, acknowledged or not (inside a read or write)."""
    return {i["key"] for i in queue(store)}


def _item(kind: str, key: str, at: str | None, title: str, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "key": key, "at": at, "title": title, "device": None,
            "worker": None, "order_id": None, "pick_list": None, **more}  # fmt: skip


def _shorts(store: Store) -> list[dict[str, Any]]:
    rows = store.all(
        """SELECT s.id, l.code AS location, s.sku, s.order_id, s.pick_list_id, d.name AS device,
                  d.worker, s.wanted, s.found, s.reason, s.outcome, s.at
           FROM short_picks s JOIN locations l ON l.id = s.location_id
           JOIN devices d ON d.id = s.device_id ORDER BY s.id DESC LIMIT ?""",
        (PER_KIND,),
    )
    return [
        _item(
            "short",
            f"short:{r['id']}",
            r["at"],
            f"Short pick: {r['sku']} at {r['location']}, {r['found']} of {r['wanted']} found",
            detail=f"{r['reason'].replace('_', ' ')}; rest {r['outcome'].replace('_', ' ')}",
            device=r["device"],
            worker=r["worker"],
            order_id=r["order_id"],
            pick_list=pick_list_ref(r["pick_list_id"]),
        )  # fmt: skip
        for r in rows
    ]


def _helps(store: Store) -> list[dict[str, Any]]:
    rows = store.all(
        """SELECT a.id, d.name AS device, d.warehouse, COALESCE(a.worker, d.worker) AS worker,
                  a.pick_list_id, a.reason, a.received_at AS at
           FROM device_actions a JOIN devices d ON d.id = a.device_id
           WHERE a.action = 'help' ORDER BY a.id DESC LIMIT ?""",
        (PER_KIND,),
    )
    return [
        _item(
            "help",
            f"help:{r['id']}",
            r["at"],
            f"Help: {(r['reason'] or 'no reason given').replace('_', ' ')}",
            detail=r["warehouse"],
            reason=r["reason"],
            device=r["device"],
            worker=r["worker"],
            pick_list=pick_list_ref(r["pick_list_id"]) if r["pick_list_id"] else None,
        )  # fmt: skip
        for r in rows
    ]


def _wrong_streaks(store: Store) -> list[dict[str, Any]]:
    """Devices whose last scans were all refused: a worker stuck on something.

    Read from each such device's newest scans (its index, newest first), so the cost does
    not grow with the device's history; the item's id names the streak's first scan.
    """
    out = []
    for d in store.all(
        "SELECT id, name, worker FROM devices WHERE wrong_scans >= ? ORDER BY name",
        (WRONG_STREAK,),
    ):
        rows = store.all(
            "SELECT id, ok, barcode, code, received_at FROM scans WHERE device_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (d["id"], STREAK_READ),
        )
        streak = []
        for r in rows:
            if r["ok"]:
                break
            streak.append(r)
        if len(streak) < WRONG_STREAK:
            continue
        last, n = streak[0], f"{len(streak)}{'+' if len(streak) == STREAK_READ else ''}"
        out.append(
            _item(
                "wrong_scans",
                f"wrong:{d['id']}:{streak[-1]['id']}",
                last["received_at"],
                f"{n} wrong scans in a row",
                detail=f"last: {last['barcode']} ({last['code']})",
                device=d["name"],
                worker=d["worker"],
            )  # fmt: skip
        )
    return out


def _prints(store: Store) -> list[dict[str, Any]]:
    rows = store.all(
        """SELECT j.id, j.package_id, k.order_id, d.name AS device, j.attempts, j.error, j.updated_at
           FROM print_jobs j JOIN packages k ON k.id = j.package_id
           JOIN devices d ON d.id = j.device_id
           WHERE j.status = 'failed' ORDER BY j.id DESC LIMIT ?""",
        (PER_KIND,),
    )
    return [
        _item(
            "print",
            f"print:{r['id']}",
            r["updated_at"],
            f"Label failed to print ({r['attempts']} tries)",
            detail=r["error"],
            device=r["device"],
            order_id=r["order_id"],
            package_id=r["package_id"],
        )  # fmt: skip
        for r in rows
    ]


_LEASES_SQL = {
    "sqlite": """SELECT MIN(e.id) AS id, e.at, json_extract(e.detail, '$.pick_list') AS list_id,
                  d.name AS device, d.worker
           FROM order_events e LEFT JOIN devices d ON d.id = json_extract(e.detail, '$.device')
           WHERE e.id >= ? AND e.event = 'pick_released'
             AND json_extract(e.detail, '$.reason') = 'lease expired'
           GROUP BY e.at, list_id ORDER BY MIN(e.id) DESC LIMIT ?""",
    # The detail is JSON text: read with ->> (text), cast where it is a number; every
    # column outside GROUP BY aggregated (one device per released list).
    "postgresql": """SELECT MIN(e.id) AS id, e.at,
                  CAST(CAST(e.detail AS JSONB) ->> 'pick_list' AS BIGINT) AS list_id,
                  MIN(d.name) AS device, MIN(d.worker) AS worker
           FROM order_events e
           LEFT JOIN devices d ON d.id = CAST(CAST(e.detail AS JSONB) ->> 'device' AS BIGINT)
           WHERE e.id >= ? AND e.event = 'pick_released'
             AND CAST(e.detail AS JSONB) ->> 'reason' = 'lease expired'
           GROUP BY e.at, 3 ORDER BY MIN(e.id) DESC LIMIT ?""",
}


def _leases(store: Store) -> list[dict[str, Any]]:
    since = first_id_since(store, "order_events", "at", hours_ago(24 * LEASE_DAYS))
    if since is None:
        return []
    rows = store.all(_LEASES_SQL[store.dialect], (since, PER_KIND))
    return [
        _item(
            "lease",
            f"lease:{r['id']}",
            r["at"],
            "Lease expired: the list went back to the queue",
            detail="the picker's link was down too long",
            device=r["device"],
            worker=r["worker"],
            pick_list=pick_list_ref(r["list_id"]),
        )  # fmt: skip
        for r in rows
    ]


def _backorders(store: Store) -> list[dict[str, Any]]:
    rows = store.all(
        """SELECT id, shop_number, external_id, updated_at FROM orders
           WHERE status = 'backordered' ORDER BY updated_at DESC LIMIT ?""",
        (PER_KIND,),
    )
    short = _short_skus(store, [r["id"] for r in rows])
    return [
        _item(
            "backorder",
            f"backorder:{r['id']}",
            r["updated_at"],
            f"Backordered: {short.get(r['id']) or 'waiting for stock'}",
            detail=r["shop_number"] or r["external_id"],
            order_id=r["id"],
        )  # fmt: skip
        for r in rows
    ]


def _short_skus(store: Store, order_ids: list[str]) -> dict[str, str]:
    """Per order, which SKUs are short: "SKU-A short (needs 3, 1 free)"; the stock free now
    is on hand less reserved, over every bin."""
    if not order_ids:
        return {}
    rows = store.all(
        f"""SELECT l.order_id, l.sku, SUM(l.qty - l.cancelled) AS qty,
                   COALESCE((SELECT SUM(on_hand - reserved) FROM stock s WHERE s.sku = l.sku), 0)
                     AS free
            FROM order_lines l WHERE l.order_id IN ({",".join("?" * len(order_ids))})
            GROUP BY l.order_id, l.sku ORDER BY l.order_id, l.sku""",
        tuple(order_ids),
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        if r["qty"] > r["free"]:
            out.setdefault(r["order_id"], []).append(
                f"{r['sku']} short (needs {r['qty']}, {max(0, r['free'])} free)"
            )
    return {k: ", ".join(v) for k, v in out.items()}


def _counts(store: Store) -> list[dict[str, Any]]:
    """Bins to count; a recount that still differs waits for approval, its figures shown."""
    rows = store.all(
        """SELECT c.id, l.code AS location, c.sku, c.reason, c.stage, c.created_at,
                  c.second_worker
           FROM count_tasks c JOIN locations l ON l.id = c.location_id
           WHERE c.status = 'open' ORDER BY c.id DESC LIMIT ?""",
        (PER_KIND,),
    )
    return [_count_item(store, r) for r in rows]


def _count_item(store: Store, r: dict[str, Any]) -> dict[str, Any]:
    what = f" ({r['sku']})" if r["sku"] else ""
    detail = f"{r['reason'].replace('_', ' ')}; counted on a handheld by a picker between lists"
    title = f"Bin to count: {r['location']}{what}"
    if r["stage"] == "recount":
        title += ": recount asked"
    elif r["stage"] == "approval":
        title += ": waits for approval"
        lines = store.all(
            "SELECT sku, lot, expected, counted FROM count_lines WHERE task_id = ? AND pass = 2 "
            "AND expected != counted ORDER BY sku, lot",
            (r["id"],),
        )
        detail = "; ".join(
            f"{x['sku']}{' lot ' + x['lot'] if x['lot'] else ''}: "
            f"{x['counted']} counted, {x['expected']} held"
            for x in lines
        )
    return _item(
        "count",
        f"count:{r['id']}",
        r["created_at"],
        title,
        detail=detail,
        worker=r["second_worker"],
        count_id=r["id"],
        count_stage=r["stage"],
    )  # fmt: skip


def _held(store: Store) -> list[dict[str, Any]]:
    """Packages a scale weighed outside the tolerance, waiting for a check."""
    return [
        _item(
            "held",
            f"held:{r['package_id']}",
            r["held_at"],
            f"Held for its weight: {r['tracking']}",
            detail=f"weighed {r['measured_g'] / 1000:.2f} kg, expected "
            f"{r['expected_g'] / 1000:.2f} kg ± {r['tolerance_g'] / 1000:.2f}",
            device=r["device"],
            order_id=r["order_id"],
            package_id=r["package_id"],
        )  # fmt: skip
        for r in boxes.held(store)[-PER_KIND:]
    ]


def _missing(store: Store) -> list[dict[str, Any]]:
    """Packages not scanned onto the truck at a hand-over and not loaded since."""
    return [
        _item(
            "missing",
            f"missing:{r['package_id']}:{r['manifest_id']}",
            r["at"],
            f"Missing at the {r['carrier']} truck: {r['tracking']}",
            detail=f"manifest {r['manifest_id']}, {r['warehouse']}",
            order_id=r["order_id"],
            package_id=r["package_id"],
            manifest_id=r["manifest_id"],
            manifest_url=f"/board/manifests/{r['manifest_id']}",
        )  # fmt: skip
        for r in manifests.missing_packages(store, PER_KIND)
    ]


def _marks(store: Store, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for r in store.all(
            f"SELECT key, status, actor FROM exceptions_resolved WHERE key IN ({','.join('?' * len(chunk))})",
            tuple(chunk),
        ):
            found[r["key"]] = r
    return found
