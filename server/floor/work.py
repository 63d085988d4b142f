"""Handing work to free pickers: moves to pick faces, pick lists, bins to count.

The order: an urgent move (picks wait for it) first, then the next pick list, then a
move topping up a face below its min, then a count. A picker holding a move, or at a
bin it counts, finishes it before anything else.
"""

from __future__ import annotations

from server.capture.orders import record
from server.core.clock import now
from server.floor import planning
from server.floor.domain.floor import pick_list_ref
from server.floor.screens import push_state
from server.inventory import counting, replenishment
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
               AND NOT EXISTS (SELECT 1 FROM replen_tasks t WHERE t.device_id = d.id
                               AND t.status = 'open')
               ORDER BY d.last_seen""",
            (warehouse,),
        )
        for dev in idle:
            if offer_to(store, dev["id"], warehouse) is not None:
                given.append(dev["id"])
            elif (
                not dev["zones"]
                and not counting.waiting(store, warehouse)
                and not replenishment.waiting(store, warehouse)
            ):
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
    if replenishment.held(store, device["id"]) is not None:
        return None  # moving stock to a face: the move is finished first
    held = counting.held(store, device["id"])
    if held is not None and held["at_location"]:
        return None  # at the bin, counting: the count is finished first
    what, list_id = next_work(store, device, count=held is None)
    if what in ("list", "move") and held is not None:
        counting.give_back(store, device["id"])  # pick work first: the count goes back
    return list_id


def next_work(store: Store, device: dict, count: bool = True) -> tuple[str, int | None]:
    """Give a free picker its next work (inside a write): an urgent move, else the next list,
    else a move for a face below its min, else (with `count`) a bin to count.

    Returns what was given ("move", "list", "count" or "none") and the list's id."""
    if replenishment.held(store, device["id"]) is not None:
        return "move", None  # a move held (a list was handed over it): it is finished first
    if replenishment.take(store, device, urgent_only=True) is not None:
        return "move", None
    list_id = assign_next(store, device["id"], device["warehouse"])
    if list_id is not None:
        return "list", list_id
    if replenishment.take(store, device) is not None:
        return "move", None
    if count and counting.take(store, device) is not None:
        return "count", None
    return "none", None


def offer_to(store: Store, device_id: int, warehouse: str) -> int | None:
    """Give one idle picker its next work (`next_work`) and queue its new screen (inside a
    write); returns the list, or 0 for a move or a count."""
    if replenishment.held(store, device_id) is not None:
        return None  # moving stock to a face: the move is finished first
    held = counting.held(store, device_id)
    if held is not None and held["at_location"]:
        return None  # at the bin, counting: the count is finished first
    device = store.one("SELECT id, name, worker, warehouse FROM devices WHERE id = ?", (device_id,))
    what, list_id = next_work(store, {**device, "warehouse": warehouse}, count=held is None)
    if what in ("list", "move") and held is not None:
        counting.give_back(store, device_id)  # pick work first: the count goes back
    if what == "list":
        push_state(store, device_id, message=f"New pick list {pick_list_ref(list_id)}")
        return list_id
    if what == "move":
        push_state(store, device_id, message="New move to a pick face")
        return 0
    if what == "count":
        push_state(store, device_id, message="New count")
        return 0
    return None
