"""Handing open pick lists to free pickers."""

from __future__ import annotations

from server.domain.floor import pick_list_ref
from server.services import planning
from server.services.clock import now
from server.services.orders import record
from server.services.screens import push_state
from server.store import Store


def assign_next(store: Store, device_id: int, warehouse: str) -> int | None:
    """Give a picker its next list: a started one, else a fresh cart of the most urgent work (inside a write)."""
    list_id = planning.cart_for(store, device_id, warehouse)
    if list_id is None:
        return None
    store.execute(
        "UPDATE pick_lists SET status = 'assigned', device_id = ?, assigned_at = ? WHERE id = ?",
        (device_id, now(), list_id),
    )
    for o in store.all(
        "SELECT DISTINCT order_id FROM pick_steps WHERE pick_list_id = ?", (list_id,)
    ):
        record(store, o["order_id"], "picking", "pick_started", pick_list=list_id, device=device_id)
    return list_id


def offer_work(store: Store, warehouse: str | None = None) -> list[int]:
    """Give open lists to connected pickers that have none; returns the devices given work."""
    given: list[int] = []
    with store.write():
        where = "AND d.warehouse = ?" if warehouse else ""
        idle = store.all(
            f"""SELECT d.id, d.warehouse FROM devices d
                WHERE d.role = 'picker' AND d.connected = 1 AND d.logged_in = 1 {where}
                AND NOT EXISTS (SELECT 1 FROM pick_lists p WHERE p.device_id = d.id AND p.status = 'assigned')
                ORDER BY d.last_seen""",
            (warehouse,) if warehouse else (),
        )
        for dev in idle:
            list_id = assign_next(store, dev["id"], dev["warehouse"])
            if list_id is None:
                continue
            push_state(store, dev["id"], message=f"New pick list {pick_list_ref(list_id)}")
            given.append(dev["id"])
    return given
