"""Task leases: a pick list belongs to a picker only while the picker is heard from.

A picker whose link has been down for longer than the lease gives its list
back: the list returns to the queue at the step reached (tote, bins visited and
units picked stay), goes to the next free picker, and the late picker is told
when it comes back. Its late scans are judged against what it holds now, so no
line is picked twice.
"""

from __future__ import annotations

from datetime import datetime

from server.capture.orders import record
from server.core.clock import lease_cutoff
from server.floor.domain.floor import pick_list_ref
from server.floor.screens import push_state
from server.store import Store


def release(store: Store, device_id: int, list_id: int, reason: str, message: str) -> None:
    """Put a picker's list back in the queue at the step reached and tell the picker (inside a write)."""
    # Totes already scanned are on this picker's cart: whoever takes the list fetches it first.
    # A started list (a tote scanned or a unit picked) goes to the head of the queue;
    # an untouched one stands in the queue again as it was (a planned cart stays one).
    store.execute(
        """UPDATE pick_lists SET status = 'open', device_id = NULL,
             cart_away = CASE WHEN EXISTS (SELECT 1 FROM pick_list_totes
                                           WHERE pick_list_id = :id AND tote IS NOT NULL)
                         THEN 1 ELSE 0 END,
             resume = CASE WHEN EXISTS (SELECT 1 FROM pick_list_totes
                                        WHERE pick_list_id = :id AND tote IS NOT NULL)
                             OR EXISTS (SELECT 1 FROM pick_steps WHERE pick_list_id = :id AND picked > 0)
                      THEN 1 ELSE 0 END
           WHERE id = :id""",
        {"id": list_id},
    )
    for o in store.all(
        "SELECT DISTINCT order_id FROM pick_steps WHERE pick_list_id = ?", (list_id,)
    ):
        record(
            store, o["order_id"], "allocated", "pick_released",
            pick_list=list_id, device=device_id, reason=reason,
        )  # fmt: skip
    push_state(store, device_id, message=message)


def expire(
    store: Store, lease_seconds: float, at: datetime | None = None
) -> list[tuple[int, int, str]]:
    """Give back the lists of pickers silent longer than the lease: (device, list, warehouse)."""
    cutoff = lease_cutoff(lease_seconds, at)
    released: list[tuple[int, int, str]] = []
    with store.write():
        rows = store.all(
            """SELECT p.id AS list_id, p.warehouse, d.id AS device_id, d.name
               FROM pick_lists p JOIN devices d ON d.id = p.device_id
               WHERE p.status = 'assigned' AND d.connected = 0 AND d.last_seen < ?""",
            (cutoff,),
        )
        for r in rows:
            text = (
                f"{pick_list_ref(r['list_id'])} went back to the queue: the link was down too long"
            )
            release(store, r["device_id"], r["list_id"], "lease expired", text)
            released.append((r["device_id"], r["list_id"], r["warehouse"]))
    return released
