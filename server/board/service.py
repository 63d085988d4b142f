"""Customer service on one order: change its address, cancel it, re-ship a lost parcel, send a
customer mail again; from the board's order page and over REST alike.

Each action reads the order's facts and asks the rules (server/board/domain/service.py)
inside its write, so what the page does not offer is refused here with the same sentence
(`supervise.Refused`: 404 unknown, 409 no longer applies, 400 bad input), before anything
changes. Each writes its audit row in the same transaction and returns `Effects` for the hub.
The work itself is the stages' own: `capture.address.change` (the Shopify path, with
re-allocation), `capture.cancel`, `inventory.reshipping` (a lost parcel's units reserved
again and sent to the floor as an urgent pick list; its label is made at packing, where
`shipping.reships` links the two parcels), `notify.mail.resend`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.board.domain import service as rules
from server.board.supervise import Refused
from server.board.supervise import cancel as cancel_order
from server.capture import address as addressing
from server.capture import cancel as cancelling
from server.capture.orders import find
from server.core.schemas import AddressIn
from server.floor.domain.floor import pick_list_ref
from server.floor.scanning import Effects
from server.inventory import reshipping, shipments
from server.notify import mail
from server.people import audit
from server.shipping.domain.tracking import FINAL, package_state
from server.store import Store


def _order_id(store: Store, ref: str, channel: str | None = None) -> str:
    try:
        return find(store, ref, channel)
    except KeyError:
        raise Refused(404, f"no order {ref}") from None
    except ValueError as e:  # AmbiguousOrder
        raise Refused(409, str(e)) from None


def facts(store: Store, order_id: str) -> rules.OrderFacts:
    """What the rules need of an order (inside a read or write)."""
    o = store.one("SELECT id, status, email FROM orders WHERE id = ?", (order_id,))
    parcels = []
    rows = store.all(
        """SELECT p.id, p.tracking, p.lost_at, p.replaced_by, s.status AS shipment,
                  s.reship_of, e.at, e.type
           FROM packages p LEFT JOIN shipments s ON s.id = p.shipment_id
           LEFT JOIN tracking_events e ON e.package_id = p.id
           WHERE p.order_id = ? ORDER BY p.id, e.id""",
        (order_id,),
    )
    events: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        events.setdefault(r["id"], [])
        if r["type"] is not None:
            events[r["id"]].append((r["at"], r["type"]))
    packages_ = {r["id"]: r for r in rows}
    # A parcel re-shipped before migration 0038 joined a shipment that left already: it has
    # left itself once the carrier reports it. One re-shipped over the floor has a shipment of
    # its own (`reship_of`), shipped at its hand-over as any other.
    replacements = {
        r["replaced_by"] for r in packages_.values() if r["replaced_by"] is not None
    } - {r["id"] for r in packages_.values() if r["reship_of"] is not None}
    cancel = cancelling.facts(store, order_id)
    unsent = {r["id"] for r in store.all(reshipping.UNSENT, (order_id,))}
    waiting = "; ".join(  # the units the order waits for, in words
        ", ".join(f"{n} x {sku}" for sku, n in r.units) for r in cancel.rest if not r.warehouse
    )
    for r in packages_.values():
        lost = r["lost_at"] is not None
        reship = None
        if lost and r["replaced_by"] is None:
            # Its re-ship on the floor; else its units wait for stock; else it was cancelled.
            reship = "floor" if r["id"] not in unsent else "waiting" if waiting else "cancelled"
        parcels.append(
            rules.Parcel(
                r["id"],
                r["tracking"],
                shipped=r["shipment"] == "shipped"
                and (r["id"] not in replacements or bool(events[r["id"]])),
                delivered=package_state(events[r["id"]]) in FINAL,
                lost=lost,
                replaced=r["replaced_by"] is not None,
                reship=reship,
                waiting=waiting,
            )
        )
    mails = tuple(
        rules.Mail(m["id"], m["kind"], m["status"])
        for m in store.all(
            "SELECT id, kind, status FROM customer_mails WHERE order_id = ? ORDER BY id",
            (order_id,),
        )
    )
    return rules.OrderFacts(
        id=o["id"],
        status=o["status"],
        picking_started=addressing.picking_started(store, o["id"], o["status"]),
        parcels=tuple(parcels),
        mails=mails,
        email=o["email"],
        cancel=cancel,
    )


def _lists_of(store: Store, order_id: str) -> set[int]:
    return {
        r["pick_list_id"]
        for r in store.all(
            "SELECT DISTINCT pick_list_id FROM pick_steps WHERE order_id = ?", (order_id,)
        )
    }


def offered(store: Store, order_id: str) -> dict[str, object]:
    """What the order page offers (inside a read)."""
    return rules.offered(facts(store, order_id))


def _refuse_unless(why: str | None) -> None:
    if why is not None:
        raise Refused(409, why)


def change_address(
    store: Store, actor: str, ref: str, body: Any, channel: str | None = None
) -> tuple[Effects, dict[str, Any]]:
    """A new ship-to for an order not yet picked; re-allocated when the nearest warehouse
    changes. `channel`: the channel whose order id `ref` is (needed when several use it)."""
    try:
        address = AddressIn.model_validate(body)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'address'}: {err['msg']}"
            for err in e.errors()
        )
        raise Refused(400, f"the address is not complete: {problems}") from None
    with store.write():
        oid = _order_id(store, ref, channel)
        _refuse_unless(rules.why_not_change_address(facts(store, oid)))
        lists = _lists_of(store, oid)
        result = addressing.change(store, oid, address, by=actor)
        lists |= _lists_of(store, oid)  # a re-allocated order's old list goes, a new one comes
        audit.record(store, actor, "change address", oid, {
            "city": address.city, "postcode": address.postcode, "country": address.country,
            "reallocated": result["reallocated"],
        })  # fmt: skip
        warehouses = {r["code"] for r in store.all("SELECT code FROM warehouses")}
    effects = Effects(board=True, lists=lists)
    if result["reallocated"]:
        effects.offer_work.update(warehouses)
    return effects, {"order": oid, **result}


def cancel(store: Store, actor: str, ref: str, reason: str) -> tuple[Effects, dict[str, Any]]:
    """Cancel an order that has not shipped (the board's cancel, asked of the rules first)."""
    with store.read():
        oid = _order_id(store, ref)
        _refuse_unless(rules.why_not_cancel(facts(store, oid)))
    return cancel_order(store, actor, oid, reason)


def reship(store: Store, actor: str, package_id: int) -> tuple[Effects, dict[str, Any]]:
    """Mark a parcel lost and send its units again as floor work: reserved in the bins of the
    warehouse that shipped it, or else of the nearest other warehouse that holds them all
    (refused, changing nothing, when none does), and released as an urgent pick list; the
    answer says in words which warehouse ships it (`said`). The label is made when the parcel
    is packed, and the shop hears `parcel.reshipped` then, with both tracking numbers."""
    with store.write():
        row = store.one("SELECT order_id, tracking FROM packages WHERE id = ?", (package_id,))
        if row is None:
            raise Refused(404, f"no package {package_id}")
        oid = row["order_id"]
        _refuse_unless(rules.why_not_reship(facts(store, oid), package_id))
        units = reshipping.units_of(store, package_id)
        if not units.lines:
            raise Refused(409, f"parcel {row['tracking']} has no units left to send again: "
                               "they went with another parcel of its shipment re-shipped "
                               "before")  # fmt: skip
        try:
            where = reshipping.plan(store, units)
        except reshipping.NotInStock as e:
            raise Refused(409, str(e)) from None
        shipment_id = reshipping.shipment_for(store, units, where)
        sent, list_id = reshipping.reserve(store, units, where.takes, shipment_id)
        said = (
            f"{where.said}; its units go to the floor as an urgent pick list "
            f"({pick_list_ref(list_id)}), and its label is printed when it is packed at a pack "
            f"station of {where.warehouse}"
        )
        status = shipments.refresh(
            store, oid, "package_lost",
            package=package_id, tracking=row["tracking"], pick_list=list_id,
            warehouse=where.warehouse, by=actor,
        )  # fmt: skip
        audit.record(store, actor, "reship", f"package:{package_id}", {
            "order": oid, "shipment": shipment_id, "pick_list": list_id, "units": sent,
            "warehouse": where.warehouse,
        })  # fmt: skip
    effects = Effects(board=True, lists={list_id}, offer_work={where.warehouse})
    return effects, {
        "order": oid, "status": status, "lost": {"id": package_id, "tracking": row["tracking"]},
        "shipment": shipment_id, "pick_list": list_id, "units": sent,
        "warehouse": where.warehouse, "said": said,
    }  # fmt: skip


def resend_mail(store: Store, actor: str, mail_id: int) -> dict[str, Any]:
    """Queue a customer mail again (a new outbox row of the same kind)."""
    with store.write():
        row = store.one("SELECT order_id, kind FROM customer_mails WHERE id = ?", (mail_id,))
        if row is None:
            raise Refused(404, f"no customer mail {mail_id}")
        _refuse_unless(rules.why_not_resend(facts(store, row["order_id"]), mail_id))
        new_id = mail.resend(store, mail_id, actor)
        status = store.one("SELECT status FROM customer_mails WHERE id = ?", (new_id,))["status"]
        audit.record(store, actor, "resend mail", row["order_id"], {
            "kind": row["kind"], "mail": mail_id, "new_mail": new_id,
        })  # fmt: skip
    return {"order": row["order_id"], "kind": row["kind"], "mail": new_id, "status": status}
