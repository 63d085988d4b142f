"""End of day: close out a carrier's packages into a manifest; hand the truck over.

Close-out takes every packed (label confirmed) package of one carrier and one
warehouse that is on no manifest yet, or was missing at an earlier hand-over,
and puts them on a new manifest (status `closed`): the list the driver signs,
as CSV and as a printable page. The dock then scans each package onto the
truck (`server/floor/dock.py`), which ships it. The hand-over (CMD-DOCK-DONE
at the dock, or REST) marks the manifest `departed` and flags every package of
it not scanned as `missing`; a missing package is on the next close-out again.
"""

from __future__ import annotations

import json
from typing import Any

from server.core.clock import now
from server.shipping import carriers
from server.shipping.domain.carriers import ManifestLine, manifest_csv
from server.store import Store
from server.store.db import dumps


class NothingToClose(ValueError):
    """No package of the carrier and warehouse waits for a manifest."""


class AlreadyDeparted(ValueError):
    """The manifest's truck has left already."""


def closeout(store: Store, carrier: str, warehouse: str) -> int:
    """A new manifest of every packed package of the carrier and warehouse not yet on one.

    KeyError for an unknown carrier or warehouse; NothingToClose when no package waits.
    """
    carriers.get(carrier)  # KeyError: not a carrier of this site
    with store.write():
        if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
            raise KeyError(warehouse)
        ids = [
            r["id"]
            for r in store.all(
                # From the shipments packed and not yet shipped: what waits, not all history.
                """SELECT k.id FROM shipments s JOIN packages k ON k.shipment_id = s.id
                   WHERE s.warehouse = ? AND s.status = 'packed'
                   AND k.carrier = ? AND k.status = 'confirmed'
                   AND NOT EXISTS (SELECT 1 FROM manifest_packages mp
                                   WHERE mp.package_id = k.id AND mp.missing = 0)
                   ORDER BY k.id""",
                (warehouse, carrier),
            )
        ]
        if not ids:
            raise NothingToClose(f"no packed {carrier} package of {warehouse} waits for a manifest")
        manifest_id = store.execute(
            "INSERT INTO manifests (carrier, warehouse, status, created_at) "
            "VALUES (?, ?, 'closed', ?)",
            (carrier, warehouse, now()),
        ).lastrowid
        for package_id in ids:
            store.execute(
                "INSERT INTO manifest_packages (manifest_id, package_id) VALUES (?, ?)",
                (manifest_id, package_id),
            )
    return manifest_id


_PACKAGES = """SELECT k.id, k.tracking, k.sscc, k.order_id, o.shop_number, k.service, k.weight_g,
                      k.rate_cents, o.ship_to, mp.loaded_at, mp.missing, d.name AS loaded_by
               FROM manifest_packages mp JOIN packages k ON k.id = mp.package_id
               JOIN orders o ON o.id = k.order_id LEFT JOIN devices d ON d.id = mp.loaded_by
               WHERE mp.manifest_id = ? ORDER BY k.id"""


def get(store: Store, manifest_id: int, carrier: str | None = None) -> dict[str, Any] | None:
    """A manifest with its packages and where each is (`waiting`, `loaded`, `missing`)."""
    with store.read():
        m = store.one("SELECT * FROM manifests WHERE id = ?", (manifest_id,))
        if m is None or (carrier is not None and m["carrier"] != carrier):
            return None
        rows = store.all(_PACKAGES, (manifest_id,))
    packages = []
    for r in rows:
        ship_to = json.loads(r["ship_to"])
        state = "loaded" if r["loaded_at"] else "missing" if r["missing"] else "waiting"
        packages.append(
            {
                "package_id": r["id"],
                "tracking": r["tracking"],
                "sscc": r["sscc"],
                "order_id": r["order_id"],
                "order": r["shop_number"] or r["order_id"],
                "service": r["service"],
                "weight_g": r["weight_g"],
                "rate_cents": r["rate_cents"],
                "postcode": ship_to.get("postcode", ""),
                "country": ship_to.get("country", ""),
                "state": state,
                "loaded_at": r["loaded_at"],
                "loaded_by": r["loaded_by"],
            }
        )
    carrier_obj = carriers.REGISTRY.get(m["carrier"])
    return {
        "id": m["id"],
        "carrier": m["carrier"],
        "carrier_title": carrier_obj.title if carrier_obj else m["carrier"],
        "warehouse": m["warehouse"],
        "status": m["status"],
        "created_at": m["created_at"],
        "departed_at": m["departed_at"],
        "packages": packages,
        "count": len(packages),
        "weight_g": sum(p["weight_g"] for p in packages),
        "loaded": sum(p["state"] == "loaded" for p in packages),
        "missing": sum(p["state"] == "missing" for p in packages),
    }


def listed(
    store: Store, carrier: str, warehouse: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """A carrier's manifests, newest first, with their counts (no packages)."""
    return store.all(
        """SELECT m.id, m.carrier, m.warehouse, m.status, m.created_at, m.departed_at,
                  COUNT(mp.package_id) AS count, COUNT(mp.loaded_at) AS loaded,
                  COALESCE(SUM(mp.missing), 0) AS missing
           FROM manifests m LEFT JOIN manifest_packages mp ON mp.manifest_id = m.id
           WHERE m.carrier = ? AND (CAST(? AS TEXT) IS NULL OR m.warehouse = ?)
             AND (CAST(? AS TEXT) IS NULL OR m.status = ?)
           GROUP BY m.id ORDER BY m.id DESC LIMIT ?""",
        (carrier, warehouse, warehouse, status, status, limit),
    )


def lines(manifest: dict[str, Any]) -> list[ManifestLine]:
    """The manifest's packages as the carrier's manifest lists them."""
    return [
        ManifestLine(
            tracking=p["tracking"],
            sscc=p["sscc"],
            order=p["order"],
            service=p["service"],
            weight_g=p["weight_g"],
            postcode=p["postcode"],
            country=p["country"],
            rate_cents=p["rate_cents"],
        )
        for p in manifest["packages"]
    ]


def rows(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """The manifest's rows in the carrier's own form."""
    return carriers.get(manifest["carrier"]).manifest(lines(manifest))


def csv_text(manifest: dict[str, Any]) -> str:
    """The manifest as CSV: one header line, one line per package."""
    return manifest_csv(rows(manifest))


def handover(store: Store, manifest_ids: list[int], device_id: int | None = None) -> dict:
    """The truck leaves (inside or outside a write): manifests `departed`, packages not
    scanned flagged missing. Returns {loaded, missing: [tracking], manifests}."""
    loaded, missing = 0, []
    with store.write():
        at = now()
        for manifest_id in manifest_ids:
            m = store.one("SELECT status FROM manifests WHERE id = ?", (manifest_id,))
            if m is None:
                raise KeyError(manifest_id)
            if m["status"] != "closed":
                raise AlreadyDeparted(f"manifest {manifest_id} left already")
            for r in store.all(
                """SELECT mp.package_id, mp.loaded_at, k.tracking, k.order_id
                   FROM manifest_packages mp JOIN packages k ON k.id = mp.package_id
                   WHERE mp.manifest_id = ?""",
                (manifest_id,),
            ):
                if r["loaded_at"]:
                    loaded += 1
                    continue
                missing.append(r["tracking"])
                store.execute(
                    "UPDATE manifest_packages SET missing = 1 WHERE manifest_id = ? "
                    "AND package_id = ?",
                    (manifest_id, r["package_id"]),
                )
                # On the order's timeline, without changing its status: it is still packed.
                store.execute(
                    "INSERT INTO order_events (order_id, at, status, event, detail) "
                    "SELECT id, ?, status, 'missing_at_handover', ? FROM orders WHERE id = ?",
                    (
                        at,
                        dumps(
                            {
                                "package": r["package_id"],
                                "tracking": r["tracking"],
                                "manifest": manifest_id,
                                "device": device_id,
                            }
                        ),
                        r["order_id"],
                    ),
                )
            store.execute(
                "UPDATE manifests SET status = 'departed', departed_at = ? WHERE id = ?",
                (at, manifest_id),
            )
    return {"loaded": loaded, "missing": missing, "manifests": list(manifest_ids)}


def open_manifests(store: Store, carrier: str, warehouse: str) -> list[int]:
    """Ids of the carrier's closed manifests of a warehouse whose truck has not left."""
    return [
        r["id"]
        for r in store.all(
            "SELECT id FROM manifests WHERE carrier = ? AND warehouse = ? AND status = 'closed' "
            "ORDER BY id",
            (carrier, warehouse),
        )
    ]


def missing_packages(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """Packages missing at a hand-over and not loaded since, newest first (inside a read)."""
    return store.all(
        f"""SELECT k.id, k.id AS package_id, k.tracking, k.order_id, k.carrier, m.warehouse,
                   m.id AS manifest_id, m.departed_at AS at
            FROM manifest_packages mp JOIN packages k ON k.id = mp.package_id
            JOIN manifests m ON m.id = mp.manifest_id
            WHERE mp.missing = 1 AND {_NOT_LOADED_SINCE}
            AND mp.manifest_id = (SELECT MAX(x.manifest_id) FROM manifest_packages x
                                  WHERE x.package_id = mp.package_id AND x.missing = 1)
            ORDER BY m.departed_at DESC, k.id LIMIT ?""",
        (limit,),
    )


_NOT_LOADED_SINCE = """NOT EXISTS (SELECT 1 FROM manifest_packages l
                                     WHERE l.package_id = mp.package_id
                                     AND l.loaded_at IS NOT NULL)"""


def missing_count(store: Store) -> int:
    """How many packages are missing (at a hand-over, not loaded since)."""
    return store.one(
        "SELECT COUNT(DISTINCT mp.package_id) AS n FROM manifest_packages mp "
        f"WHERE mp.missing = 1 AND {_NOT_LOADED_SINCE}"
    )["n"]
