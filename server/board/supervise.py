"""What a supervisor does from the board: move, release and re-prioritise work, reprint, cancel,
acknowledge and resolve what needs a person.

Each action is one write that also writes its audit row (who, when, what, on what), and
returns `Effects` so the hub delivers the devices' new screens and tells the boards after
the commit. Bad input raises `Refused` (a 4xx with its sentence) before anything changes:
every check happens inside the write, before the first update.
"""

from __future__ import annotations

import json
from typing import Any

from server.capture import cancel as cancelling
from server.capture.orders import find, record
from server.core.clock import now
from server.floor import leases, work
from server.floor.domain.floor import pick_list_ref
from server.floor.scanning import Effects
from server.floor.screens import push_state, refresh_idle_packers
from server.inventory import reshipping
from server.people import audit
from server.shipping import boxes
from server.shipping import packages as packaging
from server.store import Store

PRIORITY_MAX = 9


class Refused(ValueError):
    """The action cannot be done as asked; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _list(store: Store, list_id: int) -> dict[str, Any]:
    row = store.one(
        "SELECT id, warehouse, status, device_id FROM pick_lists WHERE id = ?", (list_id,)
    )
    if row is None:
        raise Refused(404, f"no pick list {pick_list_ref(list_id)}")
    return row


def reassign(store: Store, actor: str, list_id: int, device_name: str) -> Effects:
    """Move a pick list to another picker of its warehouse that holds no list.

    The list keeps its progress; the picker that had it gets its new (idle) screen and the
    new one gets the list, both pushed at once. A started list's cart stays where it was
    left: the new picker is told to fetch it first.
    """
    effects = Effects(board=True)
    with store.write():
        pl = _list(store, list_id)
        if pl["status"] not in ("open", "assigned"):
            raise Refused(
                409,
                f"{pick_list_ref(list_id)} is {pl['status']}: only a list being picked or queued moves",
            )
        dev = store.one(
            "SELECT id, name, role, warehouse FROM devices WHERE name = ?", (device_name,)
        )
        if dev is None:
            raise Refused(404, f"no device {device_name}")
        if dev["role"] != "picker" or dev["warehouse"] != pl["warehouse"]:
            raise Refused(409, f"{device_name} is not a picker in {pl['warehouse']}")
        if dev["id"] == pl["device_id"]:
            raise Refused(409, f"{pick_list_ref(list_id)} is already on {device_name}")
        if store.one(
            "SELECT 1 FROM pick_lists WHERE device_id = ? AND status = 'assigned'", (dev["id"],)
        ):
            raise Refused(409, f"{device_name} already has a pick list")
        old = pl["device_id"] if pl["status"] == "assigned" else None
        started = bool(
            store.one(
                "SELECT 1 FROM pick_list_totes WHERE pick_list_id = ? AND tote IS NOT NULL",
                (list_id,),
            )
        )
        store.execute(
            """UPDATE pick_lists SET status = 'assigned', device_id = ?, assigned_at = ?,
                 cart_away = CASE WHEN ? = 1 THEN 1 ELSE cart_away END WHERE id = ?""",
            (dev["id"], now(), int(old is not None and started), list_id),
        )
        for o in store.all(
            "SELECT DISTINCT order_id FROM pick_steps WHERE pick_list_id = ?", (list_id,)
        ):
            record(
                store, o["order_id"], "picking", "pick_reassigned",
                pick_list=list_id, device=dev["id"], by=actor,
            )  # fmt: skip
        ref = pick_list_ref(list_id)
        if old is not None:
            push_state(store, old, message=f"{ref} was moved to {device_name} by a supervisor")
            effects.devices.add(old)
            effects.offer_work.add(pl["warehouse"])  # the freed picker may take the next list
        push_state(store, dev["id"], message=f"New pick list {ref} (from a supervisor)")
        effects.devices.add(dev["id"])
        effects.lists.add(list_id)
        audit.record(
            store, actor, "reassign", ref,
            {"to": device_name, "from": _name(store, old)},
        )  # fmt: skip
    return effects


def release(store: Store, actor: str, list_id: int) -> Effects:
    """Take a list from its picker and put it back in the queue at the step reached; an idle
    picker of the warehouse (not the one it was taken from) is offered the next list."""
    effects = Effects(board=True)
    with store.write():
        pl = _list(store, list_id)
        if pl["status"] != "assigned":
            raise Refused(409, f"{pick_list_ref(list_id)} is {pl['status']}, not on a picker")
        ref = pick_list_ref(list_id)
        leases.release(
            store, pl["device_id"], list_id, "released by a supervisor",
            f"{ref} went back to the queue (a supervisor released it)",
        )  # fmt: skip
        effects.devices.add(pl["device_id"])
        effects.lists.add(list_id)
        # Another idle picker may take it now; the one it was taken from is not offered it
        # again (it gets work when new work arrives, as any idle picker does).
        other = store.one(
            """SELECT d.id FROM devices d WHERE d.warehouse = ? AND d.role = 'picker'
               AND d.connected = 1 AND d.logged_in = 1 AND d.id != ?
               AND NOT EXISTS (SELECT 1 FROM pick_lists p WHERE p.device_id = d.id
                               AND p.status = 'assigned')
               ORDER BY d.last_seen LIMIT 1""",
            (pl["warehouse"], pl["device_id"]),
        )
        if other is not None and work.offer_to(store, other["id"], pl["warehouse"]) is not None:
            effects.devices.add(other["id"])
        audit.record(store, actor, "release", ref, {"from": _name(store, pl["device_id"])})
    return effects


def reprioritise(store: Store, actor: str, order_ref: str, priority: int) -> Effects:
    """Set an order's priority (0..9, higher first) and so its queued lists' place in the queue."""
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise Refused(400, "priority must be a whole number")
    if not 0 <= priority <= PRIORITY_MAX:
        raise Refused(422, f"priority must be 0 to {PRIORITY_MAX}")  # a value out of range
    effects = Effects(board=True)
    with store.write():
        oid = _order(store, order_ref)
        row = store.one("SELECT priority, status FROM orders WHERE id = ?", (oid,))
        if row["status"] in ("shipped", "cancelled"):
            raise Refused(409, f"order {oid} is {row['status']}")
        store.execute(
            "UPDATE orders SET priority = ?, updated_at = ? WHERE id = ?", (priority, now(), oid)
        )
        lists = [
            r["pick_list_id"]
            for r in store.all(
                """SELECT DISTINCT s.pick_list_id FROM pick_steps s JOIN pick_lists p
                   ON p.id = s.pick_list_id WHERE s.order_id = ? AND p.status != 'packed'""",
                (oid,),
            )
        ]
        for list_id in lists:  # a list goes as early as its most urgent order, or re-ship
            store.execute(
                """UPDATE pick_lists SET priority = (
                     SELECT MAX(CASE WHEN sh.reship_of IS NOT NULL THEN ? ELSE o.priority END)
                     FROM pick_steps s JOIN orders o ON o.id = s.order_id
                     JOIN reservations r ON r.id = s.reservation_id
                     JOIN shipments sh ON sh.id = r.shipment_id
                     WHERE s.pick_list_id = ?) WHERE id = ?""",
                (reshipping.URGENT, list_id, list_id),
            )
        effects.lists.update(lists)
        store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) "
            "SELECT id, ?, status, 'reprioritised', ? FROM orders WHERE id = ?",
            (now(), json.dumps({"priority": priority, "by": actor}), oid),
        )
        audit.record(store, actor, "reprioritise", oid, {"from": row["priority"], "to": priority})
    return effects


def accept_weight(store: Store, actor: str, package_id: int) -> Effects:
    """Accept a package held for its weight (a supervisor checked it): it is confirmed, its
    bench is free again and the idle pack stations may take the next tote."""
    effects = Effects(board=True)
    with store.write():  # the acceptance and its audit row commit together
        try:
            bench = boxes.accept(store, package_id, actor)
        except KeyError:
            raise Refused(404, f"no package {package_id}") from None
        except boxes.NotHeld as e:
            raise Refused(409, str(e)) from None
        if bench is not None:
            push_state(store, bench)
            effects.devices.add(bench)
            row = store.one("SELECT warehouse FROM devices WHERE id = ?", (bench,))
            effects.devices.update(refresh_idle_packers(store, row["warehouse"], but=bench))
        audit.record(store, actor, "accept weight", f"package:{package_id}", {})
    return effects


def reprint(
    store: Store, actor: str, package_id: int, device_name: str | None
) -> tuple[Effects, int, str]:
    """Queue a package's label again (on the named pack station or the last one); (effects, job, device)."""
    device_id = None
    if device_name:
        row = store.one("SELECT id FROM devices WHERE name = ?", (device_name,))
        if row is None:
            raise Refused(404, f"no device {device_name}")
        device_id = row["id"]
    with store.write():  # the reprint and its audit row commit together
        try:
            job_id, device_id = packaging.reprint(store, package_id, device_id)
        except KeyError:
            raise Refused(404, f"no package {package_id}") from None
        except packaging.ReprintError as e:
            raise Refused(409, str(e)) from None
        name = _name(store, device_id) or ""
        audit.record(
            store, actor, "reprint", f"package:{package_id}", {"job": job_id, "device": name}
        )
    return Effects(devices={device_id}, board=True), job_id, name


def cancel(store: Store, actor: str, order_ref: str, reason: str) -> tuple[Effects, dict[str, Any]]:
    """Cancel an order through the cancel use case, then write the audit row."""
    with store.write():  # the cancel and its audit row commit together
        oid = _order(store, order_ref)
        if store.one("SELECT 1 FROM orders WHERE id = ? AND status = 'cancelled'", (oid,)):
            raise Refused(409, f"order {oid} is already cancelled")
        try:
            result = cancelling.cancel_order(
                store, order_ref, reason or "cancelled by a supervisor"
            )
        except KeyError:
            raise Refused(404, f"no order {order_ref}") from None
        except cancelling.CannotCancel as e:
            raise Refused(409, str(e)) from None
        except ValueError as e:  # AmbiguousOrder
            raise Refused(409, str(e)) from None
        audit.record(
            store, actor, "cancel", result["order"],
            {"reason": reason, "released": result["released"], "already": bool(result.get("already")),
             "rest_only": bool(result.get("rest_only")), "said": result.get("said")},
        )  # fmt: skip
        warehouses = {r["warehouse"] for r in store.all("SELECT code AS warehouse FROM warehouses")}
    return Effects(offer_work=warehouses, board=True), result


def mark(store: Store, actor: str, key: str, status: str, known: set[str]) -> Effects:
    """Acknowledge or resolve one item of the exceptions queue by its stable id (`known`: the ids
    in the queue now). Resolving an acknowledged item is fine; the reverse is refused."""
    if status not in ("acknowledged", "resolved"):
        raise Refused(400, "status must be acknowledged or resolved")
    with store.write():
        if key not in known:
            raise Refused(
                404, f"nothing to {'acknowledge' if status == 'acknowledged' else 'resolve'}: {key}"
            )
        had = store.one("SELECT status FROM exceptions_resolved WHERE key = ?", (key,))
        if had and (had["status"] == status or had["status"] == "resolved"):
            raise Refused(409, f"{key} is already {had['status']}")
        store.execute(
            """INSERT INTO exceptions_resolved (key, status, actor, at) VALUES (?, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET status = excluded.status, actor = excluded.actor,
               at = excluded.at""",
            (key, status, actor, now()),
        )
        audit.record(
            store, actor, "acknowledge" if status == "acknowledged" else "resolve", key, {}
        )
    return Effects(board=True)


def _order(store: Store, ref: str) -> str:
    try:
        return find(store, ref)
    except KeyError:
        raise Refused(404, f"no order {ref}") from None
    except ValueError as e:
        raise Refused(409, str(e)) from None


def _name(store: Store, device_id: int | None) -> str | None:
    if device_id is None:
        return None
    row = store.one("SELECT name FROM devices WHERE id = ?", (device_id,))
    return row["name"] if row else None
