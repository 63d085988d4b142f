"""One order as the board opens it: timeline, packages with their labels, every scan, and
what may still be returned."""

from __future__ import annotations

from typing import Any

from server.board import service
from server.board.domain.words import sentence
from server.capture import orders
from server.floor.domain.floor import pick_list_ref
from server.notify import webhooks
from server.returns import rmas
from server.returns.domain import returns as returns_rules
from server.store import Store

SCANS_SHOWN = 500
WEBHOOKS_SHOWN = 200


def label_png(store: Store, package_id: int) -> bytes | None:
    """A package's label drawn as a PNG from its stored ZPL; None if no such package."""
    if not 0 < package_id < 2**63:  # past SQLite's integers: no such package
        return None
    with store.read():
        row = store.one("SELECT zpl FROM packages WHERE id = ?", (package_id,))
    if row is None:
        return None
    # Imported here: Pillow and python-barcode cost every server process about 3% of its
    # start-up imports, and only this page draws a label.
    from server.board.label_picture import render_png

    return render_png(row["zpl"])


def order_view(store: Store, ref: str) -> dict[str, Any] | None:
    """The order (by our id or the shop's: customer, ship-to, lines, shipments, packages, its
    customer mails), its timeline (each entry with `says`, a sentence), labels (ZPL), scans,
    the webhooks sent to shops about it (newest first) and the service actions that apply
    (`actions`: server/board/domain/service.py); None if unknown.

    Scans are those of the order's pick lists, each with the device, the worker signed in
    and the time it reached the server.
    """
    order = orders.get(store, ref)  # AmbiguousOrder propagates
    if order is None:
        return None
    with store.read():
        lists = [
            r["pick_list_id"]
            for r in store.all(
                "SELECT DISTINCT pick_list_id FROM pick_steps WHERE order_id = ? ORDER BY pick_list_id",
                (order["id"],),
            )
        ]
        # A parcel sent in place of a lost one names it (`replaces`, its shipment's
        # `reship_of`, unless that re-ship was cancelled with the rest of the order); a lost
        # one lists every parcel sent in its place (`replacements`: two when a short pick
        # split its re-ship across warehouses).
        labels = store.all(
            """SELECT p.id, p.tracking, p.sscc, p.status, p.carrier, p.service, p.zpl, p.lost_at,
                      p.replaced_by,
                      CASE WHEN s.status = 'cancelled' THEN NULL ELSE s.reship_of END AS replaces
               FROM packages p LEFT JOIN shipments s ON s.id = p.shipment_id
               WHERE p.order_id = ? ORDER BY p.id""",
            (order["id"],),
        )
        scans = (
            store.all(
                f"""SELECT s.id, s.received_at AS at, d.name AS device, COALESCE(s.worker, d.worker)
                          AS worker, s.barcode, s.ok, s.code, s.screen, s.offline, s.pick_list_id
                   FROM scans s JOIN devices d ON d.id = s.device_id
                   WHERE s.pick_list_id IN ({",".join("?" * len(lists))})
                   ORDER BY s.id LIMIT ?""",
                (*lists, SCANS_SHOWN),
            )
            if lists
            else []
        )
    for label in labels:
        if label["replaces"] is None:  # sent again before migration 0038: only replaced_by
            label["replaces"] = next(
                (x["id"] for x in labels if x["replaced_by"] == label["id"]), None
            )
    for label in labels:
        label["replacements"] = [x["id"] for x in labels if x["replaces"] == label["id"]]
    for s in scans:
        s["ok"], s["offline"] = bool(s["ok"]), bool(s["offline"])
        s["pick_list"] = pick_list_ref(s.pop("pick_list_id"))
    with store.read():
        # What a return may still take, per SKU (the drawer offers a return while any is left).
        left = returns_rules.returnable(
            rmas.shipped_units(store, order["id"]), rmas.authorised_units(store, order["id"])
        )
        offered = service.offered(store, order["id"])
        delivered = webhooks.list_deliveries(store, order_id=order["id"], limit=WEBHOOKS_SHOWN)
        made = [
            {"rma": r["rma"], "status": r["status"], "source": r["source"]}
            for r in store.all(
                "SELECT rma, status, source FROM rmas WHERE order_id = ? ORDER BY id",
                (order["id"],),
            )
        ]
    return {
        "actions": offered,
        "webhooks": [
            {
                k: d[k]
                for k in (
                    "id",
                    "url",
                    "event",
                    "status",
                    "attempts",
                    "last_error",
                    "created_at",
                    "delivered_at",
                )
            }
            for d in delivered
        ],  # fmt: skip
        "returnable": {sku: n for sku, n in sorted(left.items()) if n > 0},
        "returns": made,
        "order": {k: v for k, v in order.items() if k != "timeline"},
        "timeline": [
            {**e, "says": sentence(e["event"], e["status"], e["detail"])} for e in order["timeline"]
        ],
        "pick_lists": [pick_list_ref(i) for i in lists],
        "labels": labels,
        "scans": scans,
    }
