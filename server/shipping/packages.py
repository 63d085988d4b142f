"""Packages: the shipping label made when packing is checked, its print jobs, its confirmation."""

from __future__ import annotations

import json
from datetime import date

from server.capture.orders import next_number, record
from server.core.addresses import Address
from server.core.clock import now
from server.floor import outbox
from server.floor.domain.floor import PickList
from server.inventory.shipments import derive_status
from server.shipping import carriers, reships
from server.shipping.domain.boxes import Box
from server.shipping.domain.carriers import Carrier, LatLon, Rate, RateError
from server.shipping.domain.labels import ShippingLabel
from server.store import Store
from server.store.db import dumps
from shared.barcodes import make_sscc
from shared.protocol import PrintEvent, dump

# Set by the app from config; plain module state keeps the use cases' signatures small.
LABEL_SETTINGS = {
    "gs1_company_prefix": "0614141",
    "sscc_extension": 0,
    "dpi": 203,
}


def _address(data: dict) -> Address:
    return Address(
        name=data["name"],
        line1=data["line1"],
        line2=data.get("line2", ""),
        city=data["city"],
        postcode=data["postcode"],
        country=data["country"],
        phone=data.get("phone", ""),
    )


def create(store: Store, pl: PickList, device_id: int, box: Box | None = None) -> int:
    """Make the package and its label for a checked list and queue the print (inside a write).

    The label's weight is the expected gross weight: the items plus the box's tare; the
    carrier, service and rate are quoted for that weight."""
    order_id = pl.order_ids[0]
    order = store.one(
        "SELECT id, channel, service, promised_by, lat, lon FROM orders WHERE id = ?",
        (order_id,),
    )
    # A split order has a list per shipment: the label is this list's shipment, from its warehouse.
    shipment = store.one(
        "SELECT r.shipment_id AS id, p.warehouse FROM pick_steps ps "
        "JOIN reservations r ON r.id = ps.reservation_id JOIN pick_lists p ON p.id = ps.pick_list_id "
        "WHERE ps.pick_list_id = ? AND ps.order_id = ? LIMIT 1",
        (pl.list_id, order_id),
    )
    tare = box.tare_g if box else 0
    weight = _items_weight(store, pl.list_id, order_id) + tare
    at = now()
    carrier, rate, why, sscc, tracking, zpl = _label(store, order, shipment["warehouse"], weight)
    package_id = store.execute(
        """INSERT INTO packages (order_id, pick_list_id, sscc, tracking, weight_g, status, zpl,
           created_at, shipment_id, carrier, service, rate_cents, zone, box, tare_g)
           VALUES (?, ?, ?, ?, ?, 'labelled', ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            order_id, pl.list_id, sscc, tracking, weight, zpl, at, shipment["id"],
            carrier.name, rate.service, rate.cents, rate.zone, box.code if box else None, tare,
        ),
    ).lastrowid  # fmt: skip
    record(
        store,
        order_id,
        "picked",
        "labelled",
        package=package_id,
        tracking=tracking,
        sscc=sscc,
        carrier=carrier.name,
        service=rate.service,
        service_from=why,
    )
    reships.link(store, package_id)  # a lost parcel's re-ship: the two parcels are linked
    queue_print(store, package_id, device_id)
    return package_id


def _label(
    store: Store, order: dict, warehouse: str, weight: int
) -> tuple[Carrier, Rate, str, str, str, str]:
    """A new label for a parcel of `order` from `warehouse`: the carrier and service quoted for
    its weight, a new SSCC and tracking number, and the ZPL (inside a write)."""
    cfg = LABEL_SETTINGS
    origin, destination = _ends(store, order, warehouse)
    carrier, rate, why = carriers.quote(
        order, weight, origin, destination, date.fromisoformat(now()[:10])
    )
    serial = next_number(store, "sscc")
    sscc = make_sscc(cfg["sscc_extension"], cfg["gs1_company_prefix"], serial)
    # The built-in carrier keeps the counter tracking numbers always had; others count their own.
    counter = "tracking" if carrier.name == "local" else f"tracking.{carrier.name}"
    tracking = carrier.tracking_number(next_number(store, counter))
    zpl = _zpl(store, order["id"], warehouse, tracking, sscc, weight, carrier, rate)
    return carrier, rate, why, sscc, tracking, zpl


def _items_weight(store: Store, list_id: int, order_id: str) -> int:
    return store.one(
        "SELECT COALESCE(SUM(ps.picked * p.weight_g), 0) AS g FROM pick_steps ps "
        "JOIN products p ON p.sku = ps.sku WHERE ps.pick_list_id = ? AND ps.order_id = ?",
        (list_id, order_id),
    )["g"]


def _ends(store: Store, order: dict, warehouse: str) -> tuple[LatLon | None, LatLon | None]:
    """Where a package of `order` leaves from and goes to, as the carriers' zones need them."""
    wh = store.one("SELECT lat, lon FROM warehouses WHERE code = ?", (warehouse,))
    origin = (wh["lat"], wh["lon"]) if wh["lat"] is not None else None
    destination = (order["lat"], order["lon"]) if order["lat"] is not None else None
    return origin, destination


def _zpl(
    store: Store,
    order_id: str,
    warehouse: str,
    tracking: str,
    sscc: str,
    weight: int,
    carrier: Carrier,
    rate: Rate,
) -> str:
    """The package's label, in its carrier's layout."""
    order = store.one("SELECT ship_to FROM orders WHERE id = ?", (order_id,))
    wh = store.one("SELECT name, address FROM warehouses WHERE code = ?", (warehouse,))
    label = ShippingLabel(
        ship_from=_address({**json.loads(wh["address"]), "name": wh["name"]}),
        ship_to=_address(json.loads(order["ship_to"])),
        order_id=order_id,
        tracking=tracking,
        sscc=sscc,
        carrier=carrier.title,
        service=rate.service.upper(),
        weight_g=weight,
    )
    return carrier.label(label, rate, LABEL_SETTINGS["dpi"])


def rebox(store: Store, package_id: int, box: Box, device_id: int) -> None:
    """The packer took another box after the label: its tare goes into the weight, the same
    carrier and service are rated again for it, and the label (same tracking and SSCC) is made
    and printed again (inside a write)."""
    pkg = store.one(
        "SELECT p.order_id, p.pick_list_id, p.tracking, p.sscc, p.carrier, p.service, "
        "p.rate_cents, p.zone, l.warehouse FROM packages p "
        "JOIN pick_lists l ON l.id = p.pick_list_id WHERE p.id = ?",
        (package_id,),
    )
    order = store.one("SELECT lat, lon FROM orders WHERE id = ?", (pkg["order_id"],))
    weight = _items_weight(store, pkg["pick_list_id"], pkg["order_id"]) + box.tare_g
    carrier = carriers.REGISTRY.get(pkg["carrier"])
    if carrier is None:  # the config lost the package's carrier since its label: relabel as ours
        carrier = carriers.get(carriers.SHIPPING["carrier"])
    try:
        rate = carrier.rate(weight, *_ends(store, order, pkg["warehouse"]), pkg["service"])
    except RateError:  # the service is gone from the config: keep what the label said
        rate = Rate(carrier.name, pkg["service"], pkg["zone"] or 1, pkg["rate_cents"] or 0, 0)
    zpl = _zpl(
        store,
        pkg["order_id"],
        pkg["warehouse"],
        pkg["tracking"],
        pkg["sscc"],
        weight,
        carrier,
        rate,
    )
    store.execute(
        "UPDATE packages SET box = ?, tare_g = ?, weight_g = ?, zpl = ?, carrier = ?, rate_cents = ?, "
        "zone = ? WHERE id = ?",
        (box.code, box.tare_g, weight, zpl, carrier.name, rate.cents, rate.zone, package_id),
    )
    queue_print(store, package_id, device_id)


def queue_print(store: Store, package_id: int, device_id: int) -> int:
    """A print job for a package's label on a device's printer (inside a write)."""
    pkg = store.one("SELECT order_id, zpl FROM packages WHERE id = ?", (package_id,))
    at = now()
    job_id = store.execute(
        "INSERT INTO print_jobs (package_id, device_id, status, created_at, updated_at) "
        "VALUES (?, ?, 'queued', ?, ?)",
        (package_id, device_id, at, at),
    ).lastrowid
    event = PrintEvent(
        seq=0, job_id=job_id, package_id=package_id, order_id=pkg["order_id"], zpl=pkg["zpl"]
    )
    outbox.push(store, device_id, "print", dump(event))
    return job_id


def print_result(store: Store, device_id: int, job_id: int, ok: bool, error: str | None) -> bool:
    """Record how a print went; False if the job is not this device's."""
    with store.write():
        job = store.one(
            "SELECT id, package_id, status FROM print_jobs WHERE id = ? AND device_id = ?",
            (job_id, device_id),
        )
        if job is None:
            return False
        status = "printed" if ok else "failed"
        store.execute(
            "UPDATE print_jobs SET status = ?, attempts = attempts + 1, error = ?, updated_at = ? WHERE id = ?",
            (status, None if ok else error, now(), job_id),
        )
        if ok:
            store.execute(
                "UPDATE packages SET status = 'printed' WHERE id = ? AND status = 'labelled'",
                (job["package_id"],),
            )
    return True


def confirm(store: Store, package_id: int) -> None:
    """The packer scanned the label on the box: the package and its order are packed (inside a write)."""
    pkg = store.one(
        "SELECT order_id, pick_list_id, tracking, shipment_id FROM packages WHERE id = ?",
        (package_id,),
    )
    at = now()
    store.execute(
        "UPDATE packages SET status = 'confirmed', confirmed_at = ? WHERE id = ?", (at, package_id)
    )
    # A cluster list is packed when every order on it has its confirmed box.
    unpacked = store.one(
        """SELECT COUNT(DISTINCT ps.order_id) AS n FROM pick_steps ps WHERE ps.pick_list_id = ?
           AND ps.order_id NOT IN (SELECT order_id FROM packages
                                   WHERE pick_list_id = ? AND status = 'confirmed')""",
        (pkg["pick_list_id"], pkg["pick_list_id"]),
    )["n"]
    if unpacked == 0:
        store.execute(
            "UPDATE pick_lists SET status = 'packed', packed_at = ? WHERE id = ?",
            (at, pkg["pick_list_id"]),
        )
    store.execute(
        "UPDATE shipments SET status = 'packed', updated_at = ? WHERE id = ? AND status = 'allocated'",
        (at, pkg["shipment_id"]),
    )
    # Packed only once every shipment of the order is: a split order's first box is not the order.
    status = derive_status(store, pkg["order_id"])
    record(store, pkg["order_id"], status, "packed", package=package_id, tracking=pkg["tracking"])


class ReprintError(ValueError):
    """The package cannot be reprinted (unknown, or no pack station to print on)."""


def reprint(store: Store, package_id: int, device_id: int | None = None) -> tuple[int, int]:
    """Queue the label again, on the given packer or the one that printed it; (job, device)."""
    with store.write():
        pkg = store.one("SELECT id FROM packages WHERE id = ?", (package_id,))
        if pkg is None:
            raise KeyError(package_id)
        if device_id is None:
            last = store.one(
                "SELECT device_id FROM print_jobs WHERE package_id = ? ORDER BY id DESC LIMIT 1",
                (package_id,),
            )
            device_id = last["device_id"] if last else None
        dev = store.one("SELECT id FROM devices WHERE id = ? AND role = 'packer'", (device_id,))
        if dev is None:
            raise ReprintError(f"no pack station to print package {package_id} on")
        job_id = queue_print(store, package_id, device_id)
        order_id = store.one("SELECT order_id FROM packages WHERE id = ?", (package_id,))[
            "order_id"
        ]
        store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) "
            "SELECT id, ?, status, 'label_reprinted', ? FROM orders WHERE id = ?",
            (now(), dumps({"package": package_id, "job": job_id}), order_id),
        )
    return job_id, device_id
