"""The screen each device should show now, and queuing it as a `state` event."""

from __future__ import annotations

from server.domain import packing, picking
from server.domain.floor import pick_list_ref
from server.services import outbox, views
from server.store import Store
from shared.protocol import DeviceState, StateEvent, dump


def current_state(store: Store, device_id: int) -> DeviceState:
    """The device's screen, from what the database says it is doing."""
    dev = store.one("SELECT role, warehouse FROM devices WHERE id = ?", (device_id,))
    if dev["role"] == "picker":
        list_id = views.assigned_list_id(store, device_id)
        return picking.screen(views.load(store, list_id) if list_id else None)
    bench = views.bench(store, device_id)
    return packing.screen(bench, () if bench else waiting_for_packing(store, dev["warehouse"]))


def waiting_for_packing(store: Store, warehouse: str) -> tuple[str, ...]:
    """Totes (or list refs) picked in a warehouse and on no bench yet, oldest first."""
    rows = store.all(
        """SELECT id, tote FROM pick_lists WHERE warehouse = ? AND status = 'picked'
           AND id NOT IN (SELECT pack_list_id FROM devices WHERE pack_list_id IS NOT NULL)
           ORDER BY picked_at, id""",
        (warehouse,),
    )
    return tuple(r["tote"] or pick_list_ref(r["id"]) for r in rows)


def refresh_idle_packers(store: Store, warehouse: str) -> list[int]:
    """Push a fresh screen to connected packers with an empty bench (inside a write)."""
    rows = store.all(
        "SELECT id FROM devices WHERE role = 'packer' AND warehouse = ? AND connected = 1 AND pack_list_id IS NULL",
        (warehouse,),
    )
    for r in rows:
        push_state(store, r["id"])
    return [r["id"] for r in rows]


def push_state(store: Store, device_id: int, message: str = "") -> int:
    """Queue the device's current screen as a `state` event (inside a write)."""
    state = current_state(store, device_id)
    return outbox.push(
        store, device_id, "state", dump(StateEvent(seq=0, state=state, message=message))
    )
