"""Read models: pick lists and packing benches as the domain sees them."""

from __future__ import annotations

from collections import defaultdict

from server.domain.floor import PickList, Step
from server.domain.packing import Bench, Package
from server.store import Store


def load(store: Store, list_id: int) -> PickList | None:
    """A pick list with its steps, location and item barcodes."""
    head = store.one("SELECT id, status, tote FROM pick_lists WHERE id = ?", (list_id,))
    if head is None:
        return None
    rows = store.all(
        """SELECT ps.id, ps.seq, ps.order_id, ps.sku, ps.qty, ps.picked, ps.at_location, ps.verified,
                  l.code AS location, l.barcode AS location_barcode, p.name AS product_name
           FROM pick_steps ps JOIN locations l ON l.id = ps.location_id
           JOIN products p ON p.sku = ps.sku
           WHERE ps.pick_list_id = ? ORDER BY ps.seq""",
        (list_id,),
    )
    codes: dict[str, list[str]] = defaultdict(list)
    skus = sorted({r["sku"] for r in rows})
    if skus:
        for r in store.all(
            f"SELECT sku, barcode FROM product_barcodes WHERE sku IN ({','.join('?' * len(skus))}) "
            "ORDER BY barcode",
            tuple(skus),
        ):
            codes[r["sku"]].append(r["barcode"])
    steps = tuple(
        Step(
            step_id=r["id"],
            seq=r["seq"],
            order_id=r["order_id"],
            location=r["location"],
            location_barcode=r["location_barcode"],
            sku=r["sku"],
            product_name=r["product_name"],
            item_barcodes=tuple(codes[r["sku"]] or [r["sku"]]),
            qty=r["qty"],
            picked=r["picked"],
            at_location=bool(r["at_location"]),
            verified=r["verified"],
        )
        for r in rows
    )
    return PickList(head["id"], head["status"], head["tote"], steps)


def assigned_list_id(store: Store, device_id: int) -> int | None:
    """The list a picker is working on."""
    row = store.one(
        "SELECT id FROM pick_lists WHERE device_id = ? AND status = 'assigned' ORDER BY assigned_at LIMIT 1",
        (device_id,),
    )
    return row["id"] if row else None


def bench(store: Store, device_id: int) -> Bench | None:
    """What is on a packer's bench."""
    dev = store.one("SELECT pack_list_id FROM devices WHERE id = ?", (device_id,))
    if dev is None or dev["pack_list_id"] is None:
        return None
    pl = load(store, dev["pack_list_id"])
    if pl is None:
        return None
    pkg = store.one(
        "SELECT id, tracking, status FROM packages WHERE pick_list_id = ? AND status != 'confirmed' "
        "ORDER BY id DESC LIMIT 1",
        (pl.list_id,),
    )
    package = Package(pkg["id"], pkg["tracking"], pkg["status"]) if pkg else None
    return Bench(pl, package)
