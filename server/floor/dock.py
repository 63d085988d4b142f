"""The dock: a pack station loads a carrier's truck, one scanned package at a time.

`CMD-DOCK` puts a pack station with an empty bench in dock mode; the worker
scans the carrier's card (`CARRIER-LOCAL`), then the tracking barcode (or the
SSCC) of each package going on the truck. A package on a closed manifest of
that carrier and warehouse is loaded, and once every package of its shipment
is, the shipment ships (`shipments.ship`: the order moves to `shipped`, the
shop's webhooks are queued). Refused, changing nothing: another carrier's
package ("take it to the <carrier> dock"), one on no closed manifest (close
out again: the paper the driver signs must list it), one not packed yet, one
of another warehouse, a misread check digit, anything else. `CMD-DOCK-DONE`
hands the truck over (`manifests.handover`): what was not scanned is flagged
missing, and the station goes back to packing.
"""

from __future__ import annotations

import json
from typing import Any

from server.core.clock import now
from server.inventory import shipments
from server.shipping import carriers, manifests
from server.store import Store
from shared import messages as say
from shared.barcodes import parse_scan
from shared.commands import CARRIER_CARD_PREFIX as CARD_PREFIX
from shared.commands import carrier_card
from shared.picking import Verdict
from shared.protocol import DeviceState, Expect, Progress

__all__ = ["active", "carrier_card", "finish", "scan", "screen", "start"]


def active(device: dict) -> dict[str, Any] | None:
    """The device's dock mode ({"carrier": name or None}), or None when not docking."""
    return json.loads(device["dock"]) if device.get("dock") else None


def _save(store: Store, device_id: int, d: dict[str, Any] | None) -> None:
    store.execute(
        "UPDATE devices SET dock = ? WHERE id = ?",
        (json.dumps(d) if d is not None else None, device_id),
    )


def start(store: Store, device: dict) -> str | None:
    """Put a pack station in dock mode (inside a write); why not, or None when it is. (Another
    of the dock's modes open is refused before: server/floor/actions.py `_busy`.)"""
    if device["pack_list_id"] is not None:
        return say.dock_busy_bench()
    if active(device) is None:
        _save(store, device["id"], {"carrier": None})
    return None


def _counts(store: Store, carrier: str, warehouse: str) -> tuple[int, int]:
    row = store.one(
        """SELECT COUNT(*) AS total, COUNT(mp.loaded_at) AS loaded
           FROM manifests m JOIN manifest_packages mp ON mp.manifest_id = m.id
           WHERE m.carrier = ? AND m.warehouse = ? AND m.status = 'closed'""",
        (carrier, warehouse),
    )
    return row["loaded"], row["total"]


def screen(store: Store, device: dict) -> DeviceState:
    """What a pack station in dock mode shows."""
    d = active(device) or {"carrier": None}
    if d["carrier"] is None:
        cards = [carrier_card(name) for name in sorted(carriers.REGISTRY)]
        return DeviceState(
            screen="dock_carrier",
            instruction=say.dock_scan_carrier(),
            expect=Expect(kind="carrier", barcodes=cards),
        )
    title = _title(d["carrier"])
    loaded, total = _counts(store, d["carrier"], device["warehouse"])
    return DeviceState(
        screen="dock_load",
        instruction=say.dock_load(title, loaded, total),
        detail=f"carrier {d['carrier']}",
        expect=Expect(kind="package"),
        progress=Progress(done=loaded, total=total),
    )


def _title(name: str) -> str:
    c = carriers.REGISTRY.get(name)
    return c.title if c else name


def scan(store: Store, device: dict, text: str) -> tuple[Verdict, set[str]]:
    """A scan at the dock (inside a write): a carrier card or a package. Returns the verdict
    and the orders it shipped."""
    d = active(device)
    code = text.strip().upper()
    if code.startswith(CARD_PREFIX):
        name = code[len(CARD_PREFIX) :].lower()
        if name not in carriers.REGISTRY:
            return Verdict(False, "dock_unknown_carrier", say.dock_unknown_carrier(text)), set()
        _save(store, device["id"], {"carrier": name})
        return Verdict(True, "dock_carrier_ok", say.dock_carrier_ok(_title(name))), set()
    if d is None or d["carrier"] is None:
        return Verdict(False, "dock_carrier_first", say.dock_carrier_first()), set()
    carrier = d["carrier"]
    sscc = parse_scan(text).sscc
    pkg = store.one(
        """SELECT k.id, k.tracking, k.carrier, k.status, k.shipment_id, k.order_id, p.warehouse
           FROM packages k JOIN pick_lists p ON p.id = k.pick_list_id
           WHERE k.tracking = ? OR k.sscc = ?""",
        (code, sscc or code),
    )
    if pkg is None:
        misread = any(
            c.looks_like_tracking(code) and not c.is_tracking(code)
            for c in carriers.REGISTRY.values()
        )
        if misread:
            return Verdict(False, "dock_misread", say.dock_misread(text)), set()
        return Verdict(False, "dock_unknown", say.dock_unknown(text)), set()
    tracking = pkg["tracking"]
    if pkg["warehouse"] != device["warehouse"]:
        verdict = say.dock_other_warehouse(tracking, pkg["warehouse"])
        return Verdict(False, "dock_other_warehouse", verdict), set()
    if pkg["carrier"] != carrier:
        verdict = say.dock_wrong_carrier(tracking, _title(pkg["carrier"]))
        return Verdict(False, "dock_wrong_carrier", verdict), set()
    if pkg["status"] != "confirmed":
        return Verdict(False, "dock_not_packed", say.dock_not_packed(tracking)), set()
    row = store.one(
        """SELECT mp.manifest_id, mp.loaded_at FROM manifest_packages mp
           JOIN manifests m ON m.id = mp.manifest_id
           WHERE mp.package_id = ? AND m.status = 'closed'""",
        (pkg["id"],),
    )
    if row is None:
        verdict = say.dock_not_manifested(tracking, _title(carrier))
        return Verdict(False, "dock_not_manifested", verdict), set()
    if row["loaded_at"]:
        return Verdict(True, "dock_already_loaded", say.dock_already_loaded(tracking)), set()
    # Ship first: a shipment that cannot ship (units still to pick) leaves the package unloaded.
    shipped: set[str] = set()
    others = store.one(
        """SELECT COUNT(*) AS n FROM packages k WHERE k.shipment_id = ? AND k.id != ?
           AND NOT EXISTS (SELECT 1 FROM manifest_packages l
                           WHERE l.package_id = k.id AND l.loaded_at IS NOT NULL)""",
        (pkg["shipment_id"], pkg["id"]),
    )["n"]
    if others == 0:  # the shipment's last box goes on the truck: the shipment leaves
        try:
            shipments.ship(store, pkg["shipment_id"])
        except shipments.ShipmentError as exc:
            return Verdict(
                False, "dock_cannot_ship", say.dock_cannot_ship(tracking, str(exc))
            ), set()
        shipped.add(pkg["order_id"])
    store.execute(
        "UPDATE manifest_packages SET loaded_at = ?, loaded_by = ? WHERE manifest_id = ? "
        "AND package_id = ?",
        (now(), device["id"], row["manifest_id"], pkg["id"]),
    )
    loaded, total = _counts(store, carrier, device["warehouse"])
    return Verdict(True, "dock_loaded", say.dock_loaded(tracking, loaded, total)), shipped


def finish(store: Store, device: dict) -> str:
    """Hand the truck over (inside a write): flag what was not scanned, leave dock mode."""
    d = active(device)
    _save(store, device["id"], None)
    if d is None or d["carrier"] is None:
        return say.not_docking() if d is None else say.dock_handed_over(0, [])
    ids = manifests.open_manifests(store, d["carrier"], device["warehouse"])
    result = manifests.handover(store, ids, device["id"])
    return say.dock_handed_over(result["loaded"], result["missing"])
