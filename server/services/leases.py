"""Task leases: a pick list belongs to a picker only while the picker is heard from.

A picker whose link has been down for longer than the lease gives its list
back: the list returns to the queue at the step reached (tote, bins visited and
units picked stay), goes to the next free picker, and the late picker is told
when it comes back. Its late scans are judged against what it holds now, so no
line is picked twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.floor import pick_list_ref
from server.services.orders import record
from server.services.screens import push_state
from server.store import Store


def expire(
    store: Store, lease_seconds: float, at: datetime | None = None
) -> list[tuple[int, int, str]]:
    """Give back the lists of pickers silent longer than the lease: (device, list, warehouse)."""
    cutoff = ((at or datetime.now(UTC)) - timedelta(seconds=lease_seconds)).isoformat(
        timespec="microseconds"
    )
    released: list[tuple[int, int, str]] = []
    with store.write():
        rows = store.all(
            """SELECT p.id AS list_id, p.warehouse, d.id AS device_id, d.name
               FROM pick_lists p JOIN devices d ON d.id = p.device_id
               WHERE p.status = 'assigned' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        )
        for r in rows:
            store.execute(
                "UPDATE pick_lists SET status = 'open', device_id = NULL WHERE id = ?",
                (r["list_id"],),
            )
            for o in store.all(
                "SELECT DISTINCT order_id FROM pick_steps WHERE pick_list_id = ?", (r["list_id"],)
            ):
                record(
                    store,
                    o["order_id"],
                    "allocated",
                    "pick_released",
                    pick_list=r["list_id"],
                    device=r["device_id"],
                    reason="lease expired",
                )
            push_state(
                store,
                r["device_id"],
                message=f"{pick_list_ref(r['list_id'])} went back to the queue: the link was down too long",
            )
            released.append((r["device_id"], r["list_id"], r["warehouse"]))
    return released
