"""A worker's requests from the handheld: short pick, help, log out and in, receiving, returns,
reprint.

Each request is journalled and sent like a scan, applied once per message id
(a repeat gets the first answer; an id already used for a scan raises
ProtocolError `id_reused`) and kept in `device_actions`; the device gets its new
screen as a `state` event.
"""

from __future__ import annotations

import hashlib

from server.core.clock import now
from server.floor import dock, leases, outbox, scanning, screens, shorts, views
from server.floor.domain.floor import pick_list_ref
from server.floor.scanning import Effects
from server.floor.screens import current_state, push_state, refresh_idle_packers
from server.floor.work import assign_next
from server.inventory import counting, receiving, replenishment, transfer_dock
from server.returns import receiving as returning
from server.shipping import boxes, packages
from server.store import Store
from shared import counting as counting_words
from shared import messages as say
from shared import picking as picking_rules
from shared import returning as returning_words
from shared import transferring as transfer_words
from shared.protocol import Ack, ActionIn, ErrorBody, ProtocolError, StateEvent, dump


def handle_action(store: Store, device: dict, msg: ActionIn) -> tuple[Ack, Effects]:
    """Record a worker's request (short pick, help, log out) once, and answer it."""
    effects = Effects(board=True)
    with store.write():
        seen = store.one(
            "SELECT event, reply FROM device_messages WHERE device_id = ? AND msg_id = ?",
            (device["id"], msg.id),
        )
        if seen and seen["event"] != "action":
            raise ProtocolError("id_reused", say.id_reused(msg.id, seen["event"]))
        if seen:
            return Ack.model_validate_json(seen["reply"]), Effects()
        scanning.note_seq(store, device["id"], msg.id, msg.seq)
        task = counting.held(store, device["id"]) if device["role"] == "picker" else None
        if task is not None and views.assigned_list_id(store, device["id"]) is not None:
            task = None  # a pick list comes first; the count waits
        if msg.action == "count_done" or (msg.action == "short" and task and msg.found is not None):
            ack = _count(store, device, task, msg, effects)
        elif msg.action == "short":
            ack = _short(store, device, msg, effects)
        elif msg.action in ("receive", "receive_done"):
            ack = _receive(store, device, msg, effects)
        elif msg.action in ("return", "return_grade", "return_done"):
            ack = _return(store, device, msg, effects)
        elif msg.action in ("transfer", "transfer_done"):
            ack = _transfer(store, device, msg, effects)
        elif msg.action in ("dock", "dock_done"):
            ack = _dock(store, device, msg, effects)
        elif msg.action == "reprint":
            ack = _reprint(store, device, msg, effects)
        elif msg.action == "weight_ok":
            ack = _weight_ok(store, device, msg, effects)
        elif msg.action == "logout":
            ack = _logout(store, device, msg, effects)
        elif msg.action == "login":
            store.execute("UPDATE devices SET logged_in = 1 WHERE id = ?", (device["id"],))
            effects.offer_work.add(device["warehouse"])
            push_state(store, device["id"], message=say.logged_in())
            effects.devices.add(device["id"])
            ack = Ack(id=msg.id, ok=True)
        else:
            ack = Ack(id=msg.id, ok=True)
        at = now()
        store.execute(
            "INSERT INTO device_messages (device_id, msg_id, event, received_at, reply) VALUES (?, ?, 'action', ?, ?)",
            (device["id"], msg.id, at, ack.model_dump_json()),
        )
        store.execute(
            """INSERT INTO device_actions (device_id, msg_id, action, pick_list_id, step_id,
                 device_seq, offline, ok, code, at, received_at, reason, worker)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                device["id"],
                msg.id,
                msg.action,
                msg.pick_list_id,
                msg.step_id,
                msg.seq,
                int(msg.offline),
                int(ack.ok),
                ack.error.code if ack.error else "ok",
                msg.at,
                at,
                msg.reason,
                device.get("worker"),  # who was signed in when it was asked (a logout's too)
            ),
        )
        store.execute("UPDATE devices SET last_seen = ? WHERE id = ?", (at, device["id"]))
    return ack, effects


# The modes a handheld works in at the dock, each with the card that starts it. One at a time:
# a card that starts another while one is open is refused and changes nothing (its screen and
# its work would hide behind the open one's).
_MODES = {
    "receive": ("CMD-RECEIVE", receiving.active),
    "return": ("CMD-RETURN", returning.active),
    "transfer": ("CMD-TRANSFER", transfer_dock.active),
    "dock": ("CMD-DOCK", dock.active),
}


def _busy(device: dict, starting: str, msg: ActionIn) -> Ack | None:
    """The refusal (`bench_busy`) of a card starting mode `starting` while the handheld is in
    another of the dock's modes, or None."""
    for mode, (_, active) in _MODES.items():
        if mode != starting and active(device) is not None:
            text = say.busy_in_mode(mode, _MODES[starting][0])
            return Ack(id=msg.id, ok=False, error=ErrorBody(code="bench_busy", message=text))
    return None


def _receive(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """Start receiving, or book what was received; either way the device gets its new screen."""
    if msg.action == "receive":
        if (busy := _busy(device, "receive", msg)) is not None:
            return busy
        receiving.start(store, device)
        message = say.receive_scan_bin()
    else:
        # The device's message id makes the receipt id: a repeated CMD-DONE books nothing twice.
        digest = hashlib.sha256(msg.id.encode()).hexdigest()[:20]
        receipt_id = f"dev{device['id']}-{digest}"
        try:
            message, skus = receiving.done(store, device, receipt_id)
        except receiving.ReceiptRefused as exc:
            error = ErrorBody(code="receipt_refused", message=str(exc))
            return Ack(id=msg.id, ok=False, error=error)
        if skus:
            effects.offer_work.add(device["warehouse"])
    push_state(store, device["id"], message=message)
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _return(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """Start receiving a return, grade a unit, or close the return (server/returns/receiving.py)."""
    if msg.action == "return":
        if (busy := _busy(device, "return", msg)) is not None:
            return busy
        returning.start(store, device)
        verdict = picking_rules.Verdict(True, "return_started", returning_words.scan_parcel())
    elif msg.action == "return_grade":
        verdict = returning.grade(store, device, msg.reason)
    else:
        verdict = returning.done(store, device)
        if verdict.ok:
            effects.offer_work.add(device["warehouse"])  # back to stock: waiting orders may take it
    push_state(store, device["id"], message=verdict.message)
    effects.devices.add(device["id"])
    if not verdict.ok:
        return Ack(id=msg.id, ok=False, error=ErrorBody(code=verdict.code, message=verdict.message))
    return Ack(id=msg.id, ok=True)


def _transfer(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """Start receiving a transfer, or close its receipt (server/inventory/transfer_dock.py)."""
    if msg.action == "transfer":
        if (busy := _busy(device, "transfer", msg)) is not None:
            return busy
        transfer_dock.start(store, device)
        verdict = picking_rules.Verdict(True, "transfer_started", transfer_words.scan_package())
    else:
        verdict = transfer_dock.done(store, device)
    push_state(store, device["id"], message=verdict.message)
    effects.devices.add(device["id"])
    if not verdict.ok:
        return Ack(id=msg.id, ok=False, error=ErrorBody(code=verdict.code, message=verdict.message))
    return Ack(id=msg.id, ok=True)


def _dock(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """Start loading a truck at a pack station, or hand the truck over."""
    if device["role"] != "packer":
        error = ErrorBody(code="not_a_pack_station", message=say.dock_pack_stations_only())
        return Ack(id=msg.id, ok=False, error=error)
    if msg.action == "dock":
        if (busy := _busy(device, "dock", msg)) is not None:
            return busy
        refused = dock.start(store, device)
        if refused is not None:
            return Ack(id=msg.id, ok=False, error=ErrorBody(code="bench_busy", message=refused))
        message = say.dock_scan_carrier()
    else:
        if dock.active(device) is None:
            error = ErrorBody(code="not_docking", message=say.not_docking())
            return Ack(id=msg.id, ok=False, error=error)
        message = dock.finish(store, device)
        # Back to packing: it shows the totes waiting again.
        effects.devices.update(
            screens.refresh_idle_packers(store, device["warehouse"], but=device["id"])
        )
    push_state(store, device["id"], message=message)
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _count(store: Store, device: dict, task: dict | None, msg: ActionIn, effects: Effects) -> Ack:
    """Counting a bin: a count card sets the last item's quantity; `count_done` hands the
    count in, and the picker gets its next work (a pick list first, else another count)."""
    if task is None:
        error = ErrorBody(code="not_counting", message=counting_words.not_counting())
        return Ack(id=msg.id, ok=False, error=error)
    if msg.action == "short":
        verdict = counting.set_quantity(store, task, msg.found)
    else:
        verdict = counting.done(store, device, task)
        if verdict.ok or verdict.code == "count_same_worker":
            if assign_next(store, device["id"], device["warehouse"]) is None:
                counting.take(store, device)
            effects.offer_work.add(device["warehouse"])  # a recount may be for another picker
    if not verdict.ok:
        push_state(store, device["id"], message=verdict.message)
        effects.devices.add(device["id"])
        return Ack(id=msg.id, ok=False, error=ErrorBody(code=verdict.code, message=verdict.message))
    push_state(store, device["id"], message=verdict.message)
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _logout(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """A picker logging out gives its list back at the step reached, for the next picker."""
    # The worker signed in by badge is signed out too.
    store.execute("UPDATE devices SET logged_in = 0, worker = NULL WHERE id = ?", (device["id"],))
    if counting.held(store, device["id"]) is not None:
        counting.give_back(store, device["id"])  # the count goes to the next picker
        effects.offer_work.add(device["warehouse"])
    if returning.active(device) is not None:
        returning.give_back(store, device["id"])  # the return waits for the next receiver
    if transfer_dock.active(device) is not None:
        transfer_dock.give_back(store, device["id"])  # so does the transfer
    if replenishment.held(store, device["id"]) is not None:
        replenishment.give_back(store, device["id"])  # the move too, from its start
        effects.offer_work.add(device["warehouse"])
    list_id = views.assigned_list_id(store, device["id"]) if device["role"] == "picker" else None
    if list_id is None:
        push_state(store, device["id"], message=say.logged_out())
        effects.devices.add(device["id"])
    else:
        text = say.logged_out_list(pick_list_ref(list_id))
        leases.release(store, device["id"], list_id, "picker logged out", text)
        effects.offer_work.add(device["warehouse"])
        effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _reprint(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """Print the label of the package on this bench again (a jam, a smudge, a torn label)."""
    bench = views.bench(store, device["id"]) if device["role"] == "packer" else None
    if bench is None or bench.package is None:
        error = ErrorBody(code="nothing_to_reprint", message=say.nothing_to_reprint())
        return Ack(id=msg.id, ok=False, error=error)
    packages.reprint(store, bench.package.package_id, device["id"])
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _weight_ok(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """A supervisor's CMD-WEIGHT-OK card at the bench: the held package ships as weighed."""
    bench = views.bench(store, device["id"]) if device["role"] == "packer" else None
    package = bench.package if bench else None
    if package is None or package.held is None:
        return Ack(
            id=msg.id, ok=False, error=ErrorBody(code="not_held", message=say.nothing_held())
        )
    boxes.accept(store, package.package_id, device["name"])
    order = bench.pick_list.order_ids[0] if bench.pick_list.order_ids else "?"
    push_state(store, device["id"], message=say.weight_accepted(order))
    effects.devices.add(device["id"])
    effects.devices.update(refresh_idle_packers(store, device["warehouse"], but=device["id"]))
    return Ack(id=msg.id, ok=True)


def _ask_short(
    store: Store, device: dict, list_id: int | None, msg: ActionIn, effects: Effects
) -> Ack:
    """`CMD-SHORT` with no count yet: ask how many are in the bin, say where the rest would
    come from, change nothing. The answer is another `short`, with `found`."""
    try:
        plan = shorts.preview(store, device, list_id).plan
    except shorts.NotShort as exc:
        return Ack(id=msg.id, ok=False, error=ErrorBody(code="not_short", message=str(exc)))
    asked = picking_rules.ask_short(current_state(store, device["id"]), plan)
    if asked is None:  # e.g. receiving: not at a bin of a pick list
        error = ErrorBody(code="not_short", message=say.short_nothing_to_do())
        return Ack(id=msg.id, ok=False, error=error)
    # Not kept on the server: a reconnect shows the bin again, and CMD-SHORT asks again.
    outbox.push(store, device["id"], "state", dump(StateEvent(seq=0, state=asked)))
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)


def _short(store: Store, device: dict, msg: ActionIn, effects: Effects) -> Ack:
    """A short pick at the picker's current step: correct, count, re-allocate, show the new step."""
    if device["role"] != "picker":
        return Ack(
            id=msg.id,
            ok=False,
            error=ErrorBody(code="not_short", message="Only pickers short-pick"),
        )
    list_id = views.assigned_list_id(store, device["id"])
    if msg.pick_list_id is not None and msg.pick_list_id != list_id:
        text = say.list_changed(pick_list_ref(msg.pick_list_id))
        return Ack(id=msg.id, ok=False, error=ErrorBody(code="list_changed", message=text))
    if msg.found is None:
        return _ask_short(store, device, list_id, msg, effects)
    try:
        outcome = shorts.report(store, device, list_id, msg.found, msg.reason or "empty")
    except shorts.NotShort as exc:
        return Ack(id=msg.id, ok=False, error=ErrorBody(code="not_short", message=str(exc)))
    after = views.load(store, list_id)
    if after is not None and not after.steps:
        # Nothing of the list is left to pick or pack: it goes, and the picker gets new work.
        store.execute("DELETE FROM pick_list_totes WHERE pick_list_id = ?", (list_id,))
        store.execute("DELETE FROM pick_lists WHERE id = ?", (list_id,))
        assign_next(store, device["id"], device["warehouse"])
    elif after is not None and after.current() is None:
        # The short took the last open units off the list: it goes to packing as it is.
        scanning.finish_list(store, list_id, device, effects)
    push_state(store, device["id"], message=outcome.message)
    effects.devices.add(device["id"])
    return Ack(id=msg.id, ok=True)
