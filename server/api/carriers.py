"""Carriers under /api: what they offer, end-of-day close-outs, manifests, hand-overs."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template

from server.api import models as m
from server.api.errors import ApiError
from server.api.table import Route
from server.core.schemas import CloseoutIn, HandoverIn
from server.floor import dock, screens
from server.shipping import carriers, manifests
from server.store import Store


def _store() -> Store:
    return current_app.extensions["store"]


def _carrier(name: str) -> None:
    if name not in carriers.REGISTRY:
        raise ApiError(404, f"no carrier {name} (carriers: {', '.join(sorted(carriers.REGISTRY))})")


def _manifest(carrier: str, manifest_id: int) -> dict[str, Any]:
    _carrier(carrier)
    found = manifests.get(_store(), manifest_id, carrier)
    if found is None:
        raise ApiError(404, f"no {carrier} manifest {manifest_id}")
    base = f"/api/carriers/{carrier}/manifests/{manifest_id}"
    return {**found, "csv_url": base + ".csv", "page_url": base}


def _tell_the_dock(carrier: str, warehouse: str) -> None:
    """The dock's screens show what is left to load: draw them again; the board too."""
    with _store().write():
        ids = screens.refresh_docks(_store(), carrier, warehouse)
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        for device_id in ids:
            hub.deliver(device_id)
        hub.board_changed()


def list_carriers() -> dict[str, Any]:
    """The carriers this site ships with (config `[carriers.<name>]`) and their services."""
    return {
        "carriers": [
            {
                "name": name,
                "title": c.title,
                "services": [
                    {"name": s.name, "transit_days": s.transit_days} for s in c.services()
                ],
                "default": name == carriers.SHIPPING["carrier"],
                "dock_card": dock.carrier_card(name),
            }
            for name, c in sorted(carriers.REGISTRY.items())
        ]
    }


def close_out(carrier: str, body: CloseoutIn) -> tuple[dict[str, Any], int]:
    """End of day: every packed package of the carrier and warehouse on no manifest yet (or
    missing at an earlier hand-over) goes on a new manifest. 409 when none waits."""
    _carrier(carrier)
    try:
        manifest_id = manifests.closeout(_store(), carrier, body.warehouse)
    except KeyError:
        raise ApiError(404, f"no warehouse {body.warehouse}") from None
    except manifests.NothingToClose as exc:
        raise ApiError(409, str(exc)) from None
    _tell_the_dock(carrier, body.warehouse)
    return _manifest(carrier, manifest_id), 201


def list_manifests(carrier: str, query: m.ManifestQuery) -> dict[str, Any]:
    """A carrier's manifests, newest first: `?warehouse=`, `?status=closed` (truck not gone)."""
    _carrier(carrier)
    rows = manifests.listed(_store(), carrier, query.warehouse, query.status, query.limit)
    for row in rows:
        base = f"/api/carriers/{carrier}/manifests/{row['id']}"
        row.update(csv_url=base + ".csv", page_url=base)
    return {"manifests": rows}


def get_manifest(carrier: str, manifest_id: int) -> dict[str, Any]:
    """A manifest and where each of its packages is (waiting, loaded, missing)."""
    return _manifest(carrier, manifest_id)


def manifest_csv(carrier: str, manifest_id: int) -> Response:
    """The manifest as CSV: tracking, sscc, order, service, weight_kg, postcode, country, rate."""
    found = _manifest(carrier, manifest_id)
    name = f"manifest-{carrier}-{found['warehouse']}-{manifest_id}.csv"
    return Response(
        manifests.csv_text(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def manifest_page(carrier: str, manifest_id: int) -> Response:
    """The manifest as a printable page (A4/Letter): the list the driver signs."""
    found = _manifest(carrier, manifest_id)
    html = render_template("manifest.html", m=found, rows=manifests.rows(found))
    return Response(html, mimetype="text/html")


def hand_over(carrier: str, manifest_id: int, body: HandoverIn) -> dict[str, Any]:
    """The truck left: the manifest is `departed` and every package of it not scanned at the
    dock is flagged missing (on the board, and on the next close-out again). 409 if it left
    already."""
    found = _manifest(carrier, manifest_id)
    try:
        manifests.handover(_store(), [manifest_id])
    except manifests.AlreadyDeparted as exc:
        raise ApiError(409, str(exc)) from None
    _tell_the_dock(carrier, found["warehouse"])
    return _manifest(carrier, manifest_id)


MANIFEST = "/carriers/<carrier>/manifests/<id:manifest_id>"
API_ROUTES: list[Route] = [
    Route("GET", "/carriers", list_carriers, "List carriers", response=m.CarrierListOut),
    Route(
        "POST",
        "/carriers/<carrier>/closeouts",
        close_out,
        "Close out a carrier's packages into a manifest",
        body=CloseoutIn,
        response=m.ManifestOut,
        status=201,
        also=(404, 409),
        scope="floor:write",
    ),
    Route(
        "GET",
        "/carriers/<carrier>/manifests",
        list_manifests,
        "List a carrier's manifests",
        query=m.ManifestQuery,
        response=m.ManifestListOut,
        also=(404,),
    ),
    Route(
        "GET",
        MANIFEST,
        manifest_page,
        "A manifest as a printable page",
        media="text/html",
        also=(404,),
    ),  # fmt: skip
    Route(
        "GET", MANIFEST + ".csv", manifest_csv, "A manifest as CSV", media="text/csv", also=(404,)
    ),
    Route(
        "GET",
        MANIFEST + ".json",
        get_manifest,
        "Get a manifest",
        response=m.ManifestOut,
        also=(404,),
    ),
    Route(
        "POST",
        MANIFEST + "/handover",
        hand_over,
        "Hand a manifest's truck over",
        body=HandoverIn,
        response=m.ManifestOut,
        also=(404, 409),
        scope="floor:write",
    ),
]
