"""The REST views under /api and the table that registers and documents them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from flask import Blueprint, current_app, g

from server.api import carriers as carrier_routes
from server.api import counts as count_routes
from server.api import models as m
from server.api import reads, shop, tracking
from server.api import replenishment as replen_routes
from server.api import returns as return_routes
from server.api import service as service_routes
from server.api import transfers as transfer_routes
from server.api.errors import ApiError, init_errors
from server.api.openapi import build
from server.api.table import Route, register
from server.capture import cancel as cancelling
from server.capture import orders
from server.core.schemas import (
    CancelIn,
    CatalogueIn,
    ChannelsIn,
    CorrectionIn,
    DevicesIn,
    LocationIn,
    OrderIn,
    OrderOut,
    ProductIn,
    PutawayDoneIn,
    ReceiptIn,
    ReprintIn,
    StockIn,
    WarehouseIn,
)
from server.floor.screens import push_state, refresh_idle_packers
from server.inventory import allocate, catalogue
from server.inventory import stock as stock_service
from server.inventory.shipments import DEFAULT_POLICY
from server.people import auth
from server.shipping import boxes, packages
from server.store import Store

log = logging.getLogger("scanfloor.api")
bp = Blueprint("api", __name__, url_prefix="/api")


def _store() -> Store:
    return current_app.extensions["store"]


def _offer_work(warehouse: str | None = None) -> None:
    """Tell the floor: idle pickers get new lists, the board refreshes."""
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.offer_work(warehouse)


def _allocate_pending() -> dict[str, int]:
    """Allocate every waiting order (stock may have arrived) and hand out the new lists."""
    try:
        counts = allocate.allocate_pending(_store())
    except allocate.StockRace:
        # Another writer took the stock first; the orders wait for the next pass.
        log.warning("allocation raced with another writer; orders stay waiting", exc_info=True)
        counts = {}
    _offer_work()
    return counts


@contextmanager
def _refusals(
    *,
    missing: str | None = None,
    conflict: type[Exception] | tuple[type[Exception], ...] = (),
    invalid: tuple[type[Exception], str] | None = None,
) -> Iterator[None]:
    """Answer a service's refusal: KeyError 404 `missing`, `conflict` 409, `invalid` 422 with problems."""
    invalid_type, invalid_code = invalid or ((), "")
    try:
        yield
    except KeyError:
        if missing is None:
            raise
        raise ApiError(404, missing) from None
    except conflict as exc:
        raise ApiError(409, str(exc)) from None
    except invalid_type as exc:
        raise ApiError(422, str(exc), invalid_code, exc.problems) from None


def _load(cat: CatalogueIn, strip_prefix: bool = False) -> dict[str, int]:
    """Load catalogue data; 422 with every problem if any, nothing written."""
    try:
        return catalogue.load(_store(), cat)
    except catalogue.CatalogueError as exc:
        problems = exc.problems
        if strip_prefix:  # one item: `stock[0].sku` reads better as `sku`
            problems = [(f.split(".", 1)[-1], msg) for f, msg in problems]
        raise ApiError(422, str(exc), "invalid_catalogue", problems) from None


# ---------------------------------------------------------------- service
def health() -> dict[str, Any]:
    """Liveness: the process answers and the database can be read."""
    _store().one("SELECT 1")
    return {"ok": True}


def openapi_json() -> dict[str, Any]:
    """This document."""
    doc = current_app.extensions.get("scanfloor.openapi")
    if doc is None:
        try:
            version = metadata.version("scanfloor")
        except metadata.PackageNotFoundError:
            version = "0.0.0"
        doc = build(
            ROUTES,
            title="scanfloor",
            version=version,
            prefix=bp.url_prefix or "",
            more=[(shop.hooks.url_prefix or "", shop.HOOK_ROUTES)],
        )
        current_app.extensions["scanfloor.openapi"] = doc
    return doc


# ---------------------------------------------------------------- orders
def unknown_skus(raw: Any, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Unknown SKUs in a body that failed validation, so one answer names every problem."""
    lines = raw.get("lines") if isinstance(raw, dict) else None
    if not isinstance(lines, list):
        return []
    flagged = {f for f, _ in problems}
    wanted = {
        i: line["sku"]
        for i, line in enumerate(lines)
        if isinstance(line, dict)
        and isinstance(line.get("sku"), str)
        and f"lines[{i}].sku" not in flagged
    }
    if not wanted:
        return []
    skus = sorted(set(wanted.values()))
    known = {
        r["sku"]
        for r in _store().all(
            f"SELECT sku FROM products WHERE sku IN ({','.join('?' * len(skus))})", tuple(skus)
        )
    }
    return [
        (f"lines[{i}].sku", f"unknown SKU {sku}") for i, sku in wanted.items() if sku not in known
    ]


def create_order(body: OrderIn) -> tuple[dict[str, Any], int]:
    """Take an order (idempotent on channel + order_id), allocate it, and offer its pick list."""
    store = _store()
    with _refusals(conflict=orders.OrderConflict, invalid=(orders.OrderRejected, "invalid_order")):
        order_id, created = orders.capture(store, body)
    if created:
        try:
            allocate.allocate_order(store, order_id)
        except allocate.StockRace:
            log.warning("allocation of %s raced; it waits for the next pass", order_id)
        order = orders.get(store, order_id)
        warehouses = {s["warehouse"] for s in order["shipments"]}
        _offer_work(warehouses.pop() if len(warehouses) == 1 else None)
        return order, 201
    return orders.get(store, order_id), 200


def get_order(order_id: str, query: m.OrderRefQuery) -> dict[str, Any]:
    """An order by our id (SO-000001) or the shop's id, with its timeline; a shop id that
    several channels use needs `?channel=` (409 without)."""
    with _refusals(conflict=orders.AmbiguousOrder):
        order = orders.get(_store(), order_id, query.channel)
    if order is None:
        raise ApiError(404, f"no order {order_id}")
    return order


def list_orders(query: m.OrderQuery) -> dict[str, Any]:
    """Orders, newest first, optionally of one status."""
    return {"orders": reads.list_orders(_store(), query.status, query.limit)}


# ---------------------------------------------------------------- catalogue and stock
def load_catalogue(body: CatalogueIn) -> dict[str, Any]:
    """Warehouses, locations, products and stock in one transaction."""
    counts = _load(body)
    allocation = _allocate_pending() if body.stock else {}
    return {**counts, "allocation": allocation}


def put_warehouse(body: WarehouseIn) -> WarehouseIn:
    """Create or update a warehouse."""
    _load(CatalogueIn(warehouses=[body]), strip_prefix=True)
    return body


def put_location(body: LocationIn) -> LocationIn:
    """Create or update a bin location."""
    _load(CatalogueIn(locations=[body]), strip_prefix=True)
    return body


def put_product(body: ProductIn) -> ProductIn:
    """Create or update a product and its barcodes."""
    _load(CatalogueIn(products=[body]), strip_prefix=True)
    return body


def put_stock(body: StockIn) -> dict[str, Any]:
    """Set the quantity on hand of a SKU in a bin, then allocate waiting orders."""
    _load(CatalogueIn(stock=[body]), strip_prefix=True)
    allocation = _allocate_pending()
    row = reads.stock_row(_store(), body.warehouse, body.location, body.sku, body.lot)
    return {"stock": row, "allocation": allocation}


def list_stock(query: m.StockQuery) -> dict[str, Any]:
    """Stock by bin: on hand, reserved, free."""
    return {"stock": reads.list_stock(_store(), query.sku, query.warehouse)}


def stock_accounting(query: m.AccountingQuery) -> dict[str, Any]:
    """Per SKU, every unit received and where it is now; whether each account holds."""
    if query.sku and _store().one("SELECT 1 FROM products WHERE sku = ?", (query.sku,)) is None:
        raise ApiError(404, f"no SKU {query.sku}")
    return stock_service.accounting(_store(), query.sku)


# ---------------------------------------------------------------- receipts, cancels, channels
def receive_stock(body: ReceiptIn) -> tuple[dict[str, Any], int]:
    """Book stock in (once per receipt_id); orders waiting for it are allocated, most urgent first."""
    with _refusals(
        conflict=stock_service.ReceiptConflict,
        invalid=(stock_service.StockError, "invalid_receipt"),
    ):
        result = stock_service.receive(_store(), body)
    _offer_work()
    rows = [
        reads.stock_row(_store(), body.warehouse, line.location, line.sku, line.lot)
        for line in body.lines
    ]
    result["stock"] = [r for i, r in enumerate(rows) if r and r not in rows[:i]]
    return result, 200 if result["repeated"] else 201


def correct_stock(body: CorrectionIn) -> dict[str, Any]:
    """Set a bin to what was counted; orders it can no longer serve are allocated elsewhere."""
    with _refusals(invalid=(stock_service.StockError, "invalid_correction")):
        result = stock_service.correct(_store(), body)
    _offer_work()
    row = reads.stock_row(_store(), body.warehouse, body.location, body.sku, body.lot)
    return {**result, "stock": row}


def cancel_order(order_id: str, body: CancelIn, query: m.OrderRefQuery) -> dict[str, Any]:
    """Cancel an order, or the rest of it: reserved units go back to their bins, picked ones
    become put-away tasks. A parcel with a carrier is never cancelled. With none, the whole
    order is cancelled (status `cancelled`). With one, the rest is: the shipments still on the
    floor (a lost parcel's re-ship too) and the units waiting for stock, counted cancelled on
    their lines; the order goes on with its parcels and its status follows them. 409 with the
    reason in words when nothing is left to cancel ("order SO-000012 has shipped: it can no
    longer be cancelled"): the sentence the board's order page shows. Cancelling a cancelled
    order again changes nothing. A shop id that several channels use needs `?channel=` (409
    without)."""
    with _refusals(
        missing=f"no order {order_id}",
        conflict=(cancelling.CannotCancel, orders.AmbiguousOrder),
    ):
        result = cancelling.cancel_order(_store(), order_id, body.reason, query.channel)
    _offer_work()
    return orders.get(_store(), result["order"])


def reprint_label(package_id: int, body: ReprintIn) -> dict[str, Any]:
    """Send a package's label to a pack station's printer again."""
    device_id = None
    if body.device:
        row = _store().one("SELECT id FROM devices WHERE name = ?", (body.device,))
        if row is None:
            raise ApiError(404, f"no device {body.device}")
        device_id = row["id"]
    with _refusals(missing=f"no package {package_id}", conflict=packages.ReprintError):
        job_id, device_id = packages.reprint(_store(), package_id, device_id)
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.deliver(device_id)
        hub.board_changed()
    name = _store().one("SELECT name FROM devices WHERE id = ?", (device_id,))["name"]
    return {"package_id": package_id, "job_id": job_id, "device": name}


def list_held_packages() -> dict[str, Any]:
    """Packages a pack station's scale weighed outside the tolerance, oldest first."""
    return {"packages": boxes.held(_store())}


def release_package(package_id: int) -> dict[str, Any]:
    """Accept a held package as weighed (a supervisor checked it): it is confirmed and leaves
    its bench; 409 when it is not held."""
    store = _store()
    with _refusals(missing=f"no package {package_id}", conflict=boxes.NotHeld), store.write():
        device_id = boxes.accept(store, package_id, f"api:{g.get('api_client', '?')}")
        if device_id is not None:
            push_state(store, device_id)
            row = store.one("SELECT warehouse FROM devices WHERE id = ?", (device_id,))
            idle = refresh_idle_packers(store, row["warehouse"], but=device_id)
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        for d in ([device_id] if device_id is not None else []) + idle:
            hub.deliver(d)
        hub.board_changed()
    pkg = store.one(
        "SELECT p.status, o.status AS order_status FROM packages p "
        "JOIN orders o ON o.id = p.order_id WHERE p.id = ?",
        (package_id,),
    )
    name = store.one("SELECT name FROM devices WHERE id = ?", (device_id,)) if device_id else None
    return {"package_id": package_id, **pkg, "device": name["name"] if name else None}


def _channels() -> dict[str, Any]:
    rows = _store().all(
        "SELECT code, allow_split, allow_partial, shopify_secret IS NOT NULL AS shopify "
        "FROM channels ORDER BY code"
    )
    default = {
        "code": "*",
        **{k: getattr(DEFAULT_POLICY, k) for k in ("allow_split", "allow_partial")},
    }
    channels = [
        {**r, **{k: bool(r[k]) for k in ("allow_split", "allow_partial", "shopify")}} for r in rows
    ]
    return {"channels": channels, "default": default}


def list_channels() -> dict[str, Any]:
    """Sales channels: may their orders ship split (several warehouses) or partial (backorder the rest)?"""
    return _channels()


def put_channels(body: ChannelsIn) -> dict[str, Any]:
    """Create or update channels' policies; orders may still override them one by one."""
    _load(CatalogueIn(channels=body.channels))
    return _channels()


def list_short_picks(query: m.ShortPickQuery) -> dict[str, Any]:
    """Every short pick, newest first: what supervisors follow up."""
    where = "WHERE l.warehouse = ?" if query.warehouse else ""
    params = (query.warehouse,) if query.warehouse else ()
    rows = _store().all(
        f"""SELECT s.id, l.warehouse, l.code AS location, s.sku, s.order_id, d.name AS device,
                   s.pick_list_id, s.wanted, s.found, s.reason, s.outcome, s.at
            FROM short_picks s JOIN locations l ON l.id = s.location_id
            JOIN devices d ON d.id = s.device_id {where} ORDER BY s.id DESC LIMIT ?""",
        (*params, query.limit),
    )
    return {"short_picks": rows}


def list_putaway(query: m.PutawayQuery) -> dict[str, Any]:
    """Put-away tasks: picked units of cancelled orders going back to a shelf."""
    return {"tasks": stock_service.putaway_tasks(_store(), query.status, query.warehouse)}


def finish_putaway(task_id: int, body: PutawayDoneIn) -> dict[str, Any]:
    """The units are back on a shelf: stock rises and waiting orders may take them."""
    with _refusals(
        missing=f"no put-away task {task_id}", invalid=(stock_service.StockError, "invalid_body")
    ):
        task = stock_service.putaway_done(_store(), task_id, body.location)
    _offer_work()
    return task


# ---------------------------------------------------------------- floor
def list_pick_lists(query: m.PickListQuery) -> dict[str, Any]:
    """Pick lists, most recent first."""
    return {
        "pick_lists": reads.list_pick_lists(_store(), query.status, query.warehouse, query.limit)
    }


def get_pick_list(list_id: int) -> dict[str, Any]:
    """A pick list with its steps in walking order."""
    found = reads.pick_list(_store(), list_id)
    if found is None:
        raise ApiError(404, f"no pick list {list_id}")
    return found


def list_devices() -> dict[str, Any]:
    """Devices, whether they are connected, and the screen each should show."""
    return {"devices": reads.list_devices(_store())}


def add_devices(body: DevicesIn) -> dict[str, Any]:
    """Enrol one device or a numbered fleet in one transaction; the tokens are shown once."""
    names = [body.name] if body.name else auth.fleet_names(body.prefix, body.count, body.start)
    try:
        made = auth.create_devices(
            _store(), names, body.role, body.warehouse, ",".join(body.zones), body.cart_totes
        )
    except auth.DeviceNameTaken as exc:
        raise ApiError(409, str(exc)) from None
    except auth.DeviceRefused as exc:
        # A fleet's names are its prefix and a number: a name that does not fit is the prefix's.
        field = "prefix" if exc.field == "name" and body.name is None else exc.field
        raise ApiError(422, str(exc), problems=[(field, str(exc))]) from None
    return {"devices": [{"name": n, "role": body.role, "token": t} for n, t in made]}


def _cut(device_id: int) -> None:
    """Cut the device's link now: here, and on the other processes through the bus."""
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is None:
        return
    hub.cut_now([device_id])
    if hub.bus is not None:
        hub.bus.cut([device_id])


def _key_actor() -> str:
    """Who acts, for the audit log: the API key's name (the route needs one)."""
    return f"key:{g.api_client}"


def revoke_device(name: str) -> dict[str, Any]:
    """Revoke a device's token for good: its link is cut at once and refused from then on,
    its pick list goes back to the queue at the step reached, its worker is signed out. The
    board's audit log gets a row (`device revoke`, actor `key:<the API key's name>`)."""
    try:
        did, released = auth.revoke_device(_store(), name, actor=_key_actor())
    except KeyError:
        raise ApiError(404, f"no device {name}") from None
    _cut(did)
    return {"name": name, "revoked": True, "released_pick_lists": released}


def rotate_device(name: str) -> dict[str, Any]:
    """A new token for a device (shown once); the old one stops working at once and its link
    is cut. The device keeps its name and history; a revoked device cannot be rotated (409).
    The board's audit log gets a row (`device rotate`, actor `key:<the API key's name>`)."""
    try:
        did, token, released = auth.rotate_device(_store(), name, actor=_key_actor())
    except KeyError:
        raise ApiError(404, f"no device {name}") from None
    except auth.AuthError as exc:
        raise ApiError(409, str(exc)) from None
    _cut(did)
    return {"name": name, "token": token, "released_pick_lists": released}


def get_device(name: str) -> dict[str, Any]:
    """One device and the screen it should show."""
    found = reads.list_devices(_store(), name)
    if not found:
        raise ApiError(404, f"no device {name}")
    return found[0]


def get_stats() -> dict[str, Any]:
    """Counters: orders by status, scans, wrong scans, labels printed, packages confirmed."""
    return reads.stats(_store())


ROUTES: list[Route] = [
    Route("GET", "/health", health, "Health check", response=m.HealthOut, public=True),
    Route("GET", "/openapi.json", openapi_json, "This OpenAPI document", public=True),
    Route(
        "POST",
        "/orders",
        create_order,
        "Take an order",
        scope="orders:write",
        body=OrderIn,
        response=OrderOut,
        status=201,
        also=(200, 409),
        invalid="invalid_order",
        more_problems=unknown_skus,
    ),
    Route(
        "GET", "/orders", list_orders, "List orders", query=m.OrderQuery, response=m.OrderListOut
    ),
    Route(
        "GET",
        "/orders/<order_id>",
        get_order,
        "Get an order",
        query=m.OrderRefQuery,
        response=OrderOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/catalogue",
        load_catalogue,
        "Load catalogue data",
        scope="catalogue:write",
        body=CatalogueIn,
        response=m.CatalogueOut,
        invalid="invalid_catalogue",
    ),
    Route(
        "POST",
        "/warehouses",
        put_warehouse,
        "Upsert a warehouse",
        scope="catalogue:write",
        body=WarehouseIn,
        response=WarehouseIn,
    ),
    Route(
        "POST",
        "/locations",
        put_location,
        "Upsert a location",
        scope="catalogue:write",
        body=LocationIn,
        response=LocationIn,
    ),
    Route(
        "POST",
        "/products",
        put_product,
        "Upsert a product",
        body=ProductIn,
        response=ProductIn,
        scope="catalogue:write",
    ),
    Route(
        "PUT",
        "/stock",
        put_stock,
        "Set stock on hand",
        body=StockIn,
        response=m.StockPutOut,
        scope="stock:write",
    ),
    Route("GET", "/stock", list_stock, "List stock", query=m.StockQuery, response=m.StockListOut),
    Route(
        "GET",
        "/stock/accounting",
        stock_accounting,
        "Account for every unit, per SKU",
        query=m.AccountingQuery,
        response=m.AccountingOut,
        also=(404,),
    ),
    Route(
        "POST",
        "/stock/receipts",
        receive_stock,
        "Receive stock",
        scope="stock:write",
        body=ReceiptIn,
        response=m.ReceiptOut,
        status=201,
        also=(200, 409),
        invalid="invalid_receipt",
    ),
    Route(
        "POST",
        "/stock/corrections",
        correct_stock,
        "Correct stock after a count",
        scope="stock:write",
        body=CorrectionIn,
        response=m.CorrectionOut,
        invalid="invalid_correction",
    ),
    Route(
        "POST",
        "/orders/<order_id>/cancel",
        cancel_order,
        "Cancel an order",
        scope="orders:write",
        body=CancelIn,
        query=m.OrderRefQuery,
        response=OrderOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/packages/<id:package_id>/reprint",
        reprint_label,
        "Reprint a package's label",
        scope="floor:write",
        body=ReprintIn,
        response=m.ReprintOut,
        also=(404, 409),
    ),
    Route(
        "GET",
        "/packages/held",
        list_held_packages,
        "List packages held for their weight",
        response=m.HeldPackagesOut,
    ),
    Route(
        "POST",
        "/packages/<id:package_id>/release",
        release_package,
        "Accept a held package's weight",
        scope="floor:write",
        response=m.ReleaseOut,
        also=(404, 409),
    ),
    Route("GET", "/channels", list_channels, "List channels", response=m.ChannelListOut),
    Route(
        "PUT",
        "/channels",
        put_channels,
        "Set channels",
        body=ChannelsIn,
        response=m.ChannelListOut,
        scope="channels:write",
    ),
    Route(
        "GET",
        "/short-picks",
        list_short_picks,
        "List short picks",
        query=m.ShortPickQuery,
        response=m.ShortPickListOut,
    ),
    Route(
        "GET",
        "/putaway-tasks",
        list_putaway,
        "List put-away tasks",
        query=m.PutawayQuery,
        response=m.PutawayListOut,
    ),
    Route(
        "POST",
        "/putaway-tasks/<id:task_id>/done",
        finish_putaway,
        "Finish a put-away task",
        scope="stock:write",
        body=PutawayDoneIn,
        response=m.PutawayTaskOut,
        also=(404,),
    ),
    Route(
        "GET",
        "/pick-lists",
        list_pick_lists,
        "List pick lists",
        query=m.PickListQuery,
        response=m.PickListsOut,
    ),
    Route(
        "GET",
        "/pick-lists/<id:list_id>",
        get_pick_list,
        "Get a pick list",
        response=m.PickListOut,
        also=(404,),
    ),
    Route("GET", "/devices", list_devices, "List devices", response=m.DeviceListOut),
    Route(
        "POST",
        "/devices",
        add_devices,
        "Enrol devices (one, or a numbered fleet)",
        scope="devices:write",
        body=DevicesIn,
        response=m.EnrolledOut,
        status=201,
        also=(409,),
    ),
    Route(
        "GET",
        "/devices/<device:name>",
        get_device,
        "Get a device",
        response=m.DeviceOut,
        also=(404,),
    ),
    Route(
        "POST",
        "/devices/<device:name>/revoke",
        revoke_device,
        "Revoke a device",
        scope="devices:write",
        response=m.DeviceRevokedOut,
        also=(404,),
    ),
    Route(
        "POST",
        "/devices/<device:name>/rotate",
        rotate_device,
        "Give a device a new token",
        scope="devices:write",
        response=m.DeviceRotatedOut,
        also=(404, 409),
    ),
    Route("GET", "/stats", get_stats, "Floor counters", response=m.StatsOut),
]
ROUTES += shop.API_ROUTES  # shops: channel secrets, webhooks in and out
ROUTES += tracking.ROUTES  # carriers: tracking events in, signed
ROUTES += carrier_routes.API_ROUTES  # carriers: close-outs, manifests, hand-overs
ROUTES += count_routes.API_ROUTES  # cycle counts: asked, handed in, approved, accuracy
ROUTES += return_routes.API_ROUTES  # returns: authorised, listed, read with their grades
ROUTES += replen_routes.API_ROUTES  # replenishment: faces' min and max, moves to faces
ROUTES += transfer_routes.API_ROUTES  # transfers: suggested, planned, in transit, received
ROUTES += service_routes.API_ROUTES  # customer service: search, address, re-ship, resend

register(bp, ROUTES)
init_errors(bp)
