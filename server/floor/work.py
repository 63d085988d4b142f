"""Handing open pick lists to free pickers."""

from __future__ import annotations

from server.capture.orders import record
from server.core.clock import now
from server.floor import planning
from server.floor.domain.floor import pick_list_ref
from server.floor.screens import push_state
from server.inventory import counting
from server.store import Store


def assign_next(store: Store, device_id: int, warehouse: str) -> int | None:
    """Give a picker its next list: a started one, else a fresh cart of the most urgent work (inside a write)."""
    list_id = planning.next_list(store, device_id, warehouse)
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


def offer_work(store: Store, warehouse: str) -> list[int]:
    """Give open lists to a warehouse's connected pickers that have none; returns those given work.

    Runs when work arrives (allocation, receipts, lists given back), not per scan.
    """
    given: list[int] = []
    with store.write():
        idle = store.all(
            """SELECT d.id, d.zones FROM devices d
               WHERE d.warehouse = ? AND d.role = 'picker' AND d.connected = 1 AND d.logged_in = 1
               AND NOT EXISTS (SELECT 1 FROM pick_lists p WHERE p.device_id = d.id AND p.status = 'assigned')
               AND NOT EXISTS (SELECT 1 FROM count_tasks c WHERE c.device_id = d.id
                               AND c.status = 'open' AND c.at_location = 1)
               ORDER BY d.last_seen""",
            (warehouse,),
        )
        for dev in idle:
            if offer_to(store, dev["id"], warehouse) is not None:
                given.append(dev["id"])
            elif not dev["zones"] and not counting.waiting(store, warehouse):
                break  # nothing left that any picker may take
    return given


def work_on_connect(store: Store, device: dict) -> int | None:
    """A picker that connects idle and logged in gets its next list (inside a write; no event)."""
    if device["role"] != "picker" or not device["logged_in"]:
        return None
    if store.one(
        "SELECT 1 FROM pick_lists WHERE device_id = ? AND status = 'assigned'", (device["id"],)
    ):
        return None
    held = counting.held(store, device["id"])
    if held is not None and held["at_location"]:
        return None  # at the bin, counting: the count is finished first
    list_id = assign_next(store, device["id"], device["warehouse"])
    if list_id is not None and held is not None:
        counting.give_back(store, device["id"])  # pick work first: the count goes back
    elif list_id is None and held is None:
        counting.take(store, device)  # no pick work: a bin to count, drawn on the first screen
    return list_id


def offer_to(store: Store, device_id: int, warehouse: str) -> int | None:
    """Give one idle picker its next list, else a bin to count, and queue its new screen
    (inside a write); returns the list, or 0 for a count."""
    held = counting.held(store, device_id)
    if held is not None and held["at_location"]:
        return None  # at the bin, counting: the count is finished first
    list_id = assign_next(store, device_id, warehouse)
    if list_id is not None:
        if held is not None:
            counting.give_back(store, device_id)  # pick work first: the count goes back
        push_state(store, device_id, message=f"New pick list {pick_list_ref(list_id)}")
        return list_id
    device = store.one("SELECT id, name, worker, warehouse FROM devices WHERE id = ?", (device_id,))
    if held is None and counting.take(store, device) is not None:
        push_state(store, device_id, message="New count")
        return 0
    return None
