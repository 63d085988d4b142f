"""A device's scan, from barcode to stored result and next screen.

Each scan message is applied once: its reply is stored under the device's
message id, and a repeat gets the stored reply back. Judging is the domain's
(picking, packing); this module loads what the domain needs and stores what it
decided, all in one write transaction.

Order: a device sends its journal one message at a time, so scans arrive in
journal `seq` order and are applied in that order. A scan with a new id but a
seq at or below one already applied from the device (a journal restored or
reset on the device) is still judged, against the floor as it is now: the
server never rewinds. It is logged and kept in `scans` with its `device_seq`.
Offline scans (judged first on the device) are judged again here and the
server's verdict wins; a scan made for a pick list the device no longer holds
does not count (`list_changed`). Every one stays in `scans` with the device's
clock, its `offline` marker and the verdict the worker was shown, even one the
device judged while the answer to its first send was still on the way: it sends
the scan again with its verdict, and the repeat fills them in.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

from server.capture.orders import record
from server.core.clock import now
from server.floor import dock, outbox, views
from server.floor.domain import packing, picking
from server.floor.domain.floor import is_tote, parse_pick_list_ref, pick_list_ref
from server.floor.screens import current_state, refresh_idle_packers
from server.floor.work import next_work
from server.inventory import (
    counting,
    receiving,
    replenishing,
    replenishment,
    shipments,
    transfer_dock,
)
from server.returns import receiving as returning
from server.shipping import boxes, packages
from server.shipping.domain.boxes import find_box
from server.store import Store
from shared import messages as say
from shared.barcodes import parse_scan
from shared.commands import BADGE_PREFIX
from shared.picking import Verdict, read_scan
from shared.protocol import DeviceState, ProtocolError, ScanIn, ScanReply
from shared.replenishing import message as move_message

log = logging.getLogger("scanfloor.scanning")


@dataclass
class Effects:
    """What a scan set in motion beyond its reply: plumbing acts on these after commit."""

    devices: set[int] = field(default_factory=set)  # devices with new events to deliver
    offer_work: set[str] = field(default_factory=set)  # warehouses with new lists to hand out
    lists: set[int] = field(default_factory=set)  # pick lists whose board rows changed
    board: bool = False  # a change only the whole board shows (counts, alerts): a fresh snapshot


def handle_scan(store: Store, device: dict, msg: ScanIn) -> tuple[ScanReply, Effects, str | None]:
    """Apply one scan from a device (once), returning the reply, its effects and the reply's
    JSON as stored for a repeat (None for a repeat: its stored reply marked `duplicate`),
    so the plumbing sends the very text it stored instead of serialising the reply again."""
    effects = Effects()
    with store.write():
        if "seen_event" in device:  # read with the device row (views.device_at_work)
            seen = device["seen_event"] and {
                "event": device["seen_event"],
                "reply": device["seen_reply"],
            }
        else:
            seen = store.one(
                "SELECT event, reply FROM device_messages WHERE device_id = ? AND msg_id = ?",
                (device["id"], msg.id),
            )
        if seen and seen["event"] != "scan":
            raise ProtocolError("id_reused", say.id_reused(msg.id, seen["event"]))
        if seen:
            if msg.offline:
                _late_verdict(store, device["id"], msg)
            stored = ScanReply.model_validate_json(seen["reply"])
            return stored.model_copy(update={"duplicate": True}), effects, None
        scan_seq = _next_scan_seq(device, msg)
        text, keys, lot = read_scan(msg.barcode)
        state = None
        keep = None  # the list whose picker's screen is kept, as drawn after this scan
        badge = badge_name(text)
        if badge is not None:
            verdict, list_id = _sign_in(store, device, badge, effects), None
            screen_name = current_state(store, device["id"]).screen
            if verdict.ok:
                device = {**device, "worker": badge}  # the badge scan is the new worker's
        elif REQUIRE_BADGE["on"] and not device["worker"]:
            verdict, list_id = BadgeVerdict(False, "sign_in_first", say.sign_in_first()), None
            screen_name = current_state(store, device["id"]).screen
        elif returning.active(device) is not None:
            screen_name = current_state(store, device["id"]).screen
            verdict, list_id = returning.scan(store, device, text, parse_scan(msg.barcode)), None
            effects.board = effects.board or verdict.code == "return_put_away"
        elif transfer_dock.active(device) is not None:
            screen_name = current_state(store, device["id"]).screen
            verdict, list_id = (
                transfer_dock.scan(store, device, text, parse_scan(msg.barcode)),
                None,
            )
            effects.board = effects.board or verdict.code in ("transfer_open", "transfer_put_away")
        elif receiving.active(device) is not None:
            screen_name = current_state(store, device["id"]).screen
            verdict, list_id = receiving.scan(store, device, text, parse_scan(msg.barcode)), None
        elif dock.active(device) is not None:
            screen_name = current_state(store, device["id"]).screen
            verdict, shipped = dock.scan(store, device, msg.barcode)
            list_id = None
            effects.board = effects.board or bool(shipped)
        elif device["role"] == "picker" and _move_changed(store, device, msg.move_id):
            # Judged offline on a move this device no longer holds (given back after the
            # lease, done or cancelled meanwhile): it counts toward nothing it holds now.
            screen_name = current_state(store, device["id"]).screen
            said = move_message("replen_changed", task_id=msg.move_id)
            verdict, list_id = Verdict(False, "replen_changed", said), None
        elif device["role"] == "picker" and (move := _moving(store, device)) is not None:
            screen_name = replenishing.screen(store, move).screen
            verdict, moved = replenishing.scan(store, move, text, parse_scan(msg.barcode))
            list_id = None
            if moved:  # the face is stocked: the held picks are planned, this picker goes on
                next_work(store, device)
                effects.offer_work.add(device["warehouse"])
                effects.board = True  # stock and orders changed; a scan before it changed neither
        elif device["role"] == "picker" and (task := _counting(store, device)) is not None:
            screen_name = counting.screen(store, task).screen
            verdict, list_id = (
                counting.scan(store, device, task, text, parse_scan(msg.barcode)),
                None,
            )
            effects.board = True
        elif device["role"] == "picker":
            verdict, screen_name, list_id, keep = _pick(
                store, device, text, keys, effects, msg.pick_list_id, lot
            )
            if verdict.code != "list_done":
                # The picker's rules drew the screen after this scan from the list already
                # read; only a finished list (the next one was handed out) is read again.
                state = verdict.state
        else:
            verdict, screen_name, list_id, state = _pack(
                store, device, text, keys, effects, msg.weight_g
            )
        state = state or current_state(store, device["id"])
        at = now()
        # The device's counters, its journal seq and the events issued to it, in one statement,
        # and the version of the list a picker's kept screen was drawn from, as the scan left it
        # (after the list's triggers: NULL for no list).
        counted = store.one(
            "UPDATE devices SET last_seen = ?, scans = scans + 1, wrong_scans = wrong_scans + ?, "
            "scan_seq = ? WHERE id = ? "
            "RETURNING out_seq, (SELECT version FROM pick_lists WHERE id = ?) AS list_version",
            (at, int(not verdict.ok), scan_seq, device["id"], keep),
        )
        if keep is not None and counted["list_version"] is not None:
            views.remember_screen(store, device["id"], keep, state, counted["list_version"])
        reply = ScanReply(
            id=msg.id,
            ok=verdict.ok,
            code=verdict.code,
            message=verdict.message,
            state=state,
            event_seq=counted["out_seq"],
        )
        text = reply.model_dump_json()  # stored for a repeat, and sent as it is
        store.execute(
            "INSERT INTO device_messages (device_id, msg_id, event, received_at, reply) VALUES (?, ?, 'scan', ?, ?)",
            (device["id"], msg.id, at, text),
        )
        store.execute(
            """INSERT INTO scans (device_id, msg_id, barcode, ok, code, screen, pick_list_id,
                 scanned_at, received_at, device_seq, offline, local_ok, local_code, worker)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                device["id"],
                msg.id,
                msg.barcode,
                int(verdict.ok),
                verdict.code,
                screen_name,
                list_id,
                msg.at,
                at,
                msg.seq,
                int(msg.offline),
                None if msg.local is None else int(msg.local.ok),
                None if msg.local is None else msg.local.code,
                device.get("worker"),
            ),
        )
    if verdict.ok and list_id is not None:
        effects.lists.add(list_id)
    return reply, effects, text


# ---------------------------------------------------------------- badges
# `[device] require_badge`, set from the settings at start (server/app.py).
REQUIRE_BADGE = {"on": False}


@dataclass
class BadgeVerdict:
    ok: bool
    code: str
    message: str


def badge_name(text: str) -> str | None:
    """The user a `BADGE-<name>` scan names, or None for any other barcode."""
    if text.startswith(BADGE_PREFIX) and len(text) > len(BADGE_PREFIX):
        return text[len(BADGE_PREFIX) :]
    return None


def _sign_in(store: Store, device: dict, name: str, effects: Effects) -> BadgeVerdict:
    """A worker's badge: that worker works this device from now on (replacing whoever did).

    Pickers sign in on pickers' devices, packers on pack stations; supervisors and admins on
    either. A badge also logs the device in (as CMD-LOGIN does). Judged in journal order like
    every scan, so scans made offline after a badge are the new worker's when replayed.
    """
    user = store.one("SELECT name, role FROM users WHERE name = ?", (name,))
    if user is None:
        return BadgeVerdict(False, "unknown_badge", say.unknown_badge(name))
    if user["role"] not in (device["role"], "supervisor", "admin"):
        message = say.badge_wrong_role(user["name"], user["role"], device["role"])
        return BadgeVerdict(False, "badge_wrong_role", message)
    store.execute(
        "UPDATE devices SET worker = ?, logged_in = 1 WHERE id = ?", (user["name"], device["id"])
    )
    if not device["logged_in"]:
        effects.offer_work.add(device["warehouse"])
    effects.board = True
    return BadgeVerdict(True, "signed_in", say.signed_in(user["name"]))


def _late_verdict(store: Store, device_id: int, msg: ScanIn) -> None:
    """The device judged (or queued) on its own a scan the server had already applied (a
    slow link: the answer came after the device stopped waiting); keep that in the audit, once."""
    local = msg.local
    # Newest first: the row is one of the device's last (its answer was just late). A row
    # already marked offline keeps what it has: what the worker saw is written once.
    store.execute(
        "UPDATE scans SET offline = 1, local_ok = ?, local_code = ? WHERE id = "
        "(SELECT id FROM scans WHERE device_id = ? AND msg_id = ? ORDER BY id DESC LIMIT 1) "
        "AND offline = 0",
        (
            None if local is None else int(local.ok),
            None if local is None else local.code,
            device_id,
            msg.id,
        ),
    )


def note_seq(store: Store, device_id: int, msg_id: str, seq: int | None) -> None:
    """Keep the highest journal seq applied from a device; say so when one comes late."""
    if seq is None:
        return
    row = store.one("SELECT scan_seq FROM devices WHERE id = ?", (device_id,))
    if seq <= row["scan_seq"]:
        log.warning(
            "device %s: message %s has journal seq %s, at or below %s already applied; "
            "judging it against the floor as it is now",
            device_id,
            msg_id,
            seq,
            row["scan_seq"],
        )
        return
    store.execute("UPDATE devices SET scan_seq = ? WHERE id = ?", (seq, device_id))


def _next_scan_seq(device: dict, msg: ScanIn) -> int:
    """The device's highest journal seq applied once this scan is (`note_seq`, from the
    device row already read: the scan writes it with its counters)."""
    applied = device["scan_seq"]
    if msg.seq is None:
        return applied
    if msg.seq <= applied:
        log.warning(
            "device %s: message %s has journal seq %s, at or below %s already applied; "
            "judging it against the floor as it is now",
            device["id"],
            msg.id,
            msg.seq,
            applied,
        )
        return applied
    return msg.seq


def _pick(
    store: Store,
    device: dict,
    text: str,
    keys: set[str],
    effects: Effects,
    sent_for: int | None = None,
    lot: str | None = None,
):
    if "head_id" in device:  # read with the device row (views.device_at_work)
        head = views.head_of(device)
    else:
        head = views.assigned_head(store, device["id"])
    list_id = head["id"] if head else None
    # The screen the picker holds: as last drawn if the list is as it was then, else read.
    shown = views.cached_screen(store, device["id"], head) if head else None
    if shown is None:
        shown = picking.screen(views.load(store, list_id, head) if head else None)
    screen_name = shown.screen
    if sent_for is not None and sent_for != list_id:
        # Scanned for a list this device no longer holds (reassigned, or finished while it
        # was offline): counting it toward whatever list it holds now would be wrong.
        verdict = picking.Verdict(False, "list_changed", say.list_changed(pick_list_ref(sent_for)))
        return verdict, screen_name, sent_for, None
    tote_free = not (is_tote(text) and _tote_busy(store, text))
    identify = functools.partial(views.identify, store, device["warehouse"])
    verdict = picking.judge_screen(shown if head else None, text, keys, tote_free, lot, identify)
    change = verdict.change
    if isinstance(change, picking.SetTote):
        store.execute(
            "UPDATE pick_list_totes SET tote = ? WHERE pick_list_id = ? AND order_id = ?",
            (change.tote, list_id, change.order_id),
        )
        store.execute(
            "UPDATE pick_lists SET tote = COALESCE(tote, ?) WHERE id = ?", (change.tote, list_id)
        )
    elif isinstance(change, picking.AtLocation):
        store.execute("UPDATE pick_steps SET at_location = 1 WHERE id = ?", (change.step_id,))
    elif isinstance(change, picking.Picked):
        store.execute(
            "UPDATE pick_steps SET picked = picked + 1, put = put + ? WHERE id = ?",
            (int(change.put), change.step_id),
        )
        _take_from_bin(store, change.step_id)
    elif isinstance(change, picking.Put):
        store.execute("UPDATE pick_steps SET put = put + 1 WHERE id = ?", (change.step_id,))
    elif isinstance(change, picking.CartFetched):
        store.execute("UPDATE pick_lists SET cart_away = 0 WHERE id = ?", (list_id,))
        store.execute("UPDATE pick_steps SET at_location = 0 WHERE pick_list_id = ?", (list_id,))
    keep = None
    if verdict.code == "list_done":
        finish_list(store, list_id, device, effects)
    elif head is not None and verdict.state is not None:
        keep = list_id  # the screen is kept once the scan's last write read the list's version
    return verdict, screen_name, list_id, keep


def _moving(store: Store, device: dict) -> dict | None:
    """The move to a pick face the picker holds, when it holds no pick list."""
    if device.get("replen_task_id", True) is None:  # read with the device row: none held
        return None
    move = replenishment.held(store, device["id"])
    if move is None or views.assigned_list_id(store, device["id"]) is not None:
        return None
    return move


def _move_changed(store: Store, device: dict, sent_for: int | None) -> bool:
    """A scan judged offline on move `sent_for`, which is not the move the device holds now."""
    if sent_for is None:
        return False
    move = _moving(store, device)
    return move is None or move["id"] != sent_for


def _counting(store: Store, device: dict) -> dict | None:
    """The count the picker holds, when it holds no pick list (a list comes first)."""
    if device.get("count_task_id", True) is None:  # read with the device row: none held
        return None
    task = counting.held(store, device["id"])
    if task is None or views.assigned_list_id(store, device["id"]) is not None:
        return None
    return task


def _tote_busy(store: Store, tote: str) -> bool:
    """A tote still holds another list's goods (until that order is packed)."""
    return (
        store.one(
            """SELECT 1 FROM pick_list_totes t JOIN pick_lists p ON p.id = t.pick_list_id
               WHERE t.tote = ? AND p.status != 'packed'
               AND t.order_id NOT IN (SELECT order_id FROM packages
                                      WHERE pick_list_id = p.id AND status = 'confirmed')""",
            (tote,),
        )
        is not None
    )


def _take_from_bin(store: Store, step_id: int) -> None:
    """The unit left its bin: stock on hand and reserved drop with it."""
    shipments.take_for_step(store, step_id, 1)


def finish_list(store: Store, list_id: int, device: dict, effects: Effects) -> None:
    store.execute(
        "UPDATE pick_lists SET status = 'picked', picked_at = ? WHERE id = ?", (now(), list_id)
    )
    for o in store.all(
        "SELECT DISTINCT order_id FROM pick_steps WHERE pick_list_id = ?", (list_id,)
    ):
        # A held order (it ships complete only and waits for units) stays backordered.
        status = "backordered" if shipments.held_units(store, o["order_id"]) else "picked"
        record(store, o["order_id"], status, "picked", pick_list=list_id, device=device["id"])
    # The next list goes into this reply's state, so no pushed event can race the reply.
    # Between lists: an urgent move first, else the next list, a move, a bin to count.
    what, following = next_work(store, device)
    if following is not None:
        effects.lists.add(following)
    elif what != "none":
        effects.board = True
    effects.devices.update(refresh_idle_packers(store, device["warehouse"]))


def _container(store: Store, text: str, warehouse: str) -> tuple[int | None, str | None]:
    """The (list, order) a packer's scan names: an order's tote, or a pick-list barcode."""
    list_id = parse_pick_list_ref(text)
    if list_id is not None:
        row = store.one(
            """SELECT t.order_id FROM pick_list_totes t WHERE t.pick_list_id = ?
               AND t.order_id NOT IN (SELECT order_id FROM packages
                                      WHERE pick_list_id = ? AND status = 'confirmed')
               ORDER BY t.position LIMIT 1""",
            (list_id, list_id),
        )
        return list_id, row["order_id"] if row else None
    row = store.one(
        """SELECT t.pick_list_id, t.order_id FROM pick_list_totes t
           JOIN pick_lists p ON p.id = t.pick_list_id
           WHERE t.tote = ? AND p.status IN ('picked', 'packing') AND p.warehouse = ?
           AND t.order_id NOT IN (SELECT order_id FROM packages
                                  WHERE pick_list_id = p.id AND status = 'confirmed')""",
        (text, warehouse),
    )
    return (row["pick_list_id"], row["order_id"]) if row else (None, None)


def _packed_in(store: Store, text: str, warehouse: str) -> str | None:
    """The other warehouse whose picked tote or pick list a packer's scan names (None: none);
    read only when the scan names nothing this pack station may pack."""
    list_id = parse_pick_list_ref(text)
    if list_id is not None:
        row = store.one(
            "SELECT warehouse FROM pick_lists WHERE id = ? AND warehouse != ?", (list_id, warehouse)
        )
    else:
        row = store.one(
            """SELECT p.warehouse FROM pick_list_totes t JOIN pick_lists p ON p.id = t.pick_list_id
               WHERE t.tote = ? AND p.status IN ('picked', 'packing') AND p.warehouse != ?
               LIMIT 1""",
            (text, warehouse),
        )
    return row["warehouse"] if row else None


def _pack(
    store: Store,
    device: dict,
    text: str,
    keys: set[str],
    effects: Effects,
    weight_g: int | None = None,
):
    bench = views.bench(store, device["id"])
    screen_name = packing.screen(bench).screen
    if bench is None:
        list_id, order_id = _container(store, text, device["warehouse"])
        candidate = None
        if list_id is not None and order_id is not None:
            whole = views.load(store, list_id)
            if whole is not None and store.one(
                "SELECT 1 FROM pick_lists WHERE id = ? AND warehouse = ?",
                (list_id, device["warehouse"]),
            ):
                candidate = whole.for_order(order_id)
        elsewhere = bool(
            candidate
            and store.one(
                "SELECT 1 FROM devices WHERE pack_list_id = ? AND pack_order_id = ? AND id != ?",
                (list_id, order_id, device["id"]),
            )
        )
        held = shipments.held_units(store, order_id) if candidate else 0
        other = None if candidate else _packed_in(store, text, device["warehouse"])
        verdict = packing.judge_start(candidate, text, elsewhere, held, other)
        if isinstance(verdict.change, packing.StartPacking):
            store.execute(
                "UPDATE devices SET pack_list_id = ?, pack_order_id = ?, pack_box = NULL "
                "WHERE id = ?",
                (list_id, order_id, device["id"]),
            )
            store.execute("UPDATE pick_lists SET status = 'packing' WHERE id = ?", (list_id,))
            effects.devices.update(
                refresh_idle_packers(store, device["warehouse"], but=device["id"])
            )
            return verdict, screen_name, list_id, _label_if_verified(store, device, effects)
        return verdict, screen_name, list_id, None
    box = find_box(boxes.boxes(), text)
    verdict = packing.judge(bench, text, keys, box, weight_g)
    change = verdict.change
    state = None  # the screen after the scan, when already drawn from a read after its writes
    if isinstance(change, packing.Verified):
        store.execute(
            "UPDATE pick_steps SET verified = verified + 1 WHERE id = ?", (change.step_id,)
        )
        state = _label_if_verified(store, device, effects)
    elif isinstance(change, packing.ChooseBox):
        store.execute(
            "UPDATE devices SET pack_box = ? WHERE id = ?", (change.box.code, device["id"])
        )
        if bench.package is not None:
            packages.rebox(store, bench.package.package_id, change.box, device["id"])
            boxes.expect_again(store, bench.package.package_id)
            effects.devices.add(device["id"])
    elif isinstance(change, packing.HoldForWeight):
        boxes.hold(store, device["id"], change.package_id, change.check)
        effects.board = True
    elif isinstance(change, packing.ConfirmLabel):
        if change.measured_g is not None and boxes.weighed_ok(
            store, change.package_id, change.measured_g, device["name"]
        ):
            effects.board = True  # a hold ended
        packages.confirm(store, change.package_id)
        boxes.clear_bench(store, device["id"])
        effects.devices.update(refresh_idle_packers(store, device["warehouse"], but=device["id"]))
    return verdict, screen_name, bench.pick_list.list_id, state


def _label_if_verified(store: Store, device: dict, effects: Effects) -> DeviceState | None:
    """Make the package (and its label) once every unit on the bench is verified. Returns the
    station's screen when that read of the bench is the last word (no package made after
    it): the scan's reply shows it instead of reading the bench a third time."""
    bench = views.bench(store, device["id"])
    if bench and packing.all_verified(bench.pick_list) and bench.package is None:
        packages.create(store, bench.pick_list, device["id"], bench.box)
        effects.devices.add(device["id"])
        return None
    return packing.screen(bench) if bench is not None else None


def handle_seen(store: Store, device: dict, seq: int) -> None:
    """The device has seen events up to seq."""
    outbox.mark_seen(store, device["id"], seq)
