"""The screen each device should show now, and queuing it as a `state` event."""

from __future__ import annotations

import hashlib
import json

from server.floor import dock, outbox, views
from server.floor.domain import packing, picking
from server.floor.domain.floor import pick_list_ref
from server.inventory import counting, receiving, replenishing, replenishment, transfer_dock
from server.inventory.shipments import COMPLETE_ONLY
from server.returns import receiving as returning
from server.store import Store
from shared import messages as say
from shared.protocol import DeviceState, StateEvent, dump

WAITING_SHOWN = 30  # totes listed on an idle pack station's screen, oldest first


def current_state(store: Store, device_id: int) -> DeviceState:
    """The device's screen, from what the database says it is doing."""
    dev = store.one(
        "SELECT role, warehouse, receiving, logged_in, dock, return_mode, transfer_mode FROM devices "
        "WHERE id = ?",
        (device_id,),
    )
    back = returning.active(dev)
    if back is not None:
        return returning.screen(store, back)
    moving = transfer_dock.active(dev)
    if moving is not None:
        return transfer_dock.screen(store, moving)
    r = receiving.active(dev)
    if r is not None:
        return receiving.screen(r)
    if dock.active(dev) is not None:
        return dock.screen(store, dev)
    if dev["role"] == "picker":
        head = views.assigned_head(store, device_id)
        if head is None and not dev["logged_in"]:
            return DeviceState(screen="idle", instruction=say.logged_out_idle())
        move = replenishment.held(store, device_id) if head is None else None
        if move is not None:
            return replenishing.screen(store, move)
        task = counting.held(store, device_id) if head is None else None
        if task is not None:
            return counting.screen(store, task)
        if head is None:
            return picking.screen(None)
        # As last drawn if the list is as it was then (a reconnect); else drawn and kept, so
        # the picker's first scan after a connect finds it (scanning._pick).
        shown = views.cached_screen(store, device_id, head)
        if shown is None:
            shown = picking.screen(views.load(store, head["id"], head))
            views.remember_screen(store, device_id, head["id"], shown, head["version"])
        return shown
    bench = views.bench(store, device_id)
    return packing.screen(bench, () if bench else waiting_for_packing(store, dev["warehouse"]))


def idle_packer_state(store: Store, warehouse: str) -> DeviceState:
    """The screen of every packer of a warehouse with an empty bench: the same for all."""
    return packing.screen(None, waiting_for_packing(store, warehouse))


def waiting_for_packing(store: Store, warehouse: str) -> tuple[str, ...]:
    """Totes picked in a warehouse, not yet packed nor on a bench nor held, oldest first."""
    rows = store.all(
        f"""SELECT t.tote, t.pick_list_id FROM pick_list_totes t JOIN pick_lists p ON p.id = t.pick_list_id
           JOIN orders o ON o.id = t.order_id
           WHERE p.warehouse = ? AND p.status IN ('picked', 'packing')
           AND NOT (o.waiting > 0 AND {COMPLETE_ONLY})
           AND t.order_id NOT IN (SELECT order_id FROM packages
                                  WHERE pick_list_id = p.id AND status = 'confirmed')
           AND NOT EXISTS (SELECT 1 FROM devices d
                           WHERE d.pack_list_id = p.id AND d.pack_order_id = t.order_id)
           ORDER BY p.picked_at, p.id, t.position LIMIT ?""",
        (warehouse, WAITING_SHOWN),
    )
    return tuple(r["tote"] or pick_list_ref(r["pick_list_id"]) for r in rows)


def refresh_idle_packers(store: Store, warehouse: str, but: int | None = None) -> list[int]:
    """Push a fresh screen to connected packers with an empty bench, but one (inside a write).

    Their screen is the same (the totes waiting), so it is drawn once for all of them, and
    sent only when it is not the one they were last sent.
    """
    state = idle_packer_state(store, warehouse)
    if not _idle_screen_changed(store, warehouse, state):
        return []
    rows = store.all(
        "SELECT id, receiving, dock FROM devices WHERE role = 'packer' AND warehouse = ? "
        "AND connected = 1 AND pack_list_id IS NULL AND id != ?",
        (warehouse, -1 if but is None else but),  # ids are positive: -1 leaves none out
    )
    idle = [r["id"] for r in rows if not r["receiving"] and not r["dock"]]
    payload = dump(StateEvent(seq=0, state=state, message=""))  # drawn once for all of them
    for device_id in idle:
        outbox.push(store, device_id, "state", payload)
    return idle


def _idle_screen_changed(store: Store, warehouse: str, state: DeviceState) -> bool:
    """Whether the idle packers' screen differs from the one last sent to them (and note it).

    Every finished list, packed order and pack start asks for a refresh; on a big floor most
    leave the screen as it was (the queue is longer than the totes it lists), and pushing it
    again to each idle station anyway cost a state event and its `seen` per station: with 150
    stations and lists finishing every second that was most of the server's work. A packer
    that turns idle is sent its screen by what made it idle, so the ones idle here have all
    been sent the last screen noted.
    """
    digest = hashlib.blake2b(state.model_dump_json().encode(), digest_size=16).hexdigest()
    row = store.one("SELECT digest FROM idle_screens WHERE warehouse = ?", (warehouse,))
    if row is not None and row["digest"] == digest:
        return False
    store.execute(
        "INSERT INTO idle_screens (warehouse, digest) VALUES (?, ?) "
        "ON CONFLICT (warehouse) DO UPDATE SET digest = excluded.digest",
        (warehouse, digest),
    )
    return True


def push_state(
    store: Store, device_id: int, message: str = "", state: DeviceState | None = None
) -> int:
    """Queue the device's current screen (or `state`, already drawn) as a `state` event (inside a write)."""
    state = state or current_state(store, device_id)
    return outbox.push(
        store, device_id, "state", dump(StateEvent(seq=0, state=state, message=message))
    )


def refresh_docks(store: Store, carrier: str, warehouse: str) -> list[int]:
    """Push a fresh screen to the connected pack stations loading the carrier's truck in a
    warehouse (a close-out or a hand-over changed what they load); inside a write."""
    ids = [
        r["id"]
        for r in store.all(
            "SELECT id, dock FROM devices WHERE role = 'packer' AND warehouse = ? "
            "AND connected = 1 AND dock IS NOT NULL",
            (warehouse,),
        )
        if json.loads(r["dock"]).get("carrier") == carrier
    ]
    for device_id in ids:
        push_state(store, device_id)
    return ids
