"""The board's JSON routes under /board/api: what a supervisor does, the audit log, the charts
and the order view. Every route is for supervisors (`roles_required(*SUPERVISORS)`); every
POST is an action that writes an audit row with `current_actor()`; the page sends its CSRF
token as header X-CSRFToken. Bad input gets a 4xx with `{"error": sentence}` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from server.board import (
    columns,
    count_decisions,
    count_panel,
    counters,
    exceptions,
    order_view,
    service,
    supervise,
    throughput,
)
from server.capture.orders import AmbiguousOrder
from server.capture.orders import find as find_order
from server.capture.search import BadSearch, search
from server.floor.scanning import Effects
from server.inventory import replenishment, transfer_actions, transfers
from server.people import audit
from server.returns import rmas
from server.store import Store
from server.web.access import SUPERVISORS, current_actor, roles_required

bp = Blueprint("board_api", __name__, url_prefix="/board/api")
MAX_TEXT = 200  # longest reason or device name accepted


def _store() -> Store:
    return current_app.extensions["store"]


def _apply(effects: Effects) -> None:
    """Deliver the devices' new screens and tell the boards, after the action's commit."""
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.apply(effects)


def _body(*fields: str) -> dict[str, Any]:
    """The JSON object sent, holding only these fields (unknown ones are refused, as REST does)."""
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise supervise.Refused(400, "the body must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        takes = ", ".join(fields) if fields else "no fields"
        raise supervise.Refused(400, f"unknown field(s) {', '.join(unknown)}: this takes {takes}")
    return body


def _panel_warehouse(store: Store) -> str | None:
    """A panel's `?warehouse=CODE` (none: every warehouse); another parameter is refused with
    400 and a warehouse the site does not have with 404, as the forecast page's routes do."""
    unknown = sorted(set(request.args) - {"warehouse"})
    if unknown:
        raise supervise.Refused(
            400, f"unknown parameter(s) {', '.join(unknown)}: this takes warehouse"
        )
    warehouse = request.args.get("warehouse") or None
    if warehouse is not None:
        warehouse = warehouse[:MAX_TEXT]
        with store.read():
            if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
                raise supervise.Refused(404, f"unknown warehouse {warehouse}")
    return warehouse


def _text(body: dict[str, Any], key: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise supervise.Refused(400, f"{key} is required")
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise supervise.Refused(400, f"{key} must be text of at most {MAX_TEXT} characters")
    return value


@bp.errorhandler(supervise.Refused)
def _refused(e: supervise.Refused) -> tuple[Response, int]:
    return jsonify(error=str(e)), e.status


@bp.post("/lists/<id:list_id>/reassign")
@roles_required(*SUPERVISORS)
def reassign(list_id: int) -> Response:
    """Move a list to another picker (body: {"device": name}); both screens follow at once."""
    device = _text(_body("device"), "device", required=True)
    _apply(supervise.reassign(_store(), current_actor(), list_id, device))
    return jsonify(ok=True, pick_list=list_id, device=device)


@bp.post("/lists/<id:list_id>/release")
@roles_required(*SUPERVISORS)
def release(list_id: int) -> Response:
    """Give a list back to the queue at the step reached."""
    _body()
    _apply(supervise.release(_store(), current_actor(), list_id))
    return jsonify(ok=True, pick_list=list_id)


@bp.post("/orders/<ref>/priority")
@roles_required(*SUPERVISORS)
def reprioritise(ref: str) -> Response:
    """Set an order's priority (body: {"priority": 0..9}, higher goes first)."""
    priority = _body("priority").get("priority")
    _apply(supervise.reprioritise(_store(), current_actor(), ref, priority))
    return jsonify(ok=True, order=ref, priority=priority)


@bp.post("/orders/<ref>/cancel")
@roles_required(*SUPERVISORS)
def cancel(ref: str) -> Response:
    """Cancel an order, or its rest when a parcel of it is with a carrier (body: {"reason":
    text}); picked units become put-away tasks; `said`: what it cancelled, in words."""
    reason = _text(_body("reason"), "reason", required=False) or ""
    effects, result = service.cancel(_store(), current_actor(), ref, reason)
    _apply(effects)
    return jsonify(
        ok=True, order=result["order"], released=result["released"], said=result["said"],
        rest_only=result["rest_only"],
    )  # fmt: skip


@bp.get("/search")
@roles_required(*SUPERVISORS)
def search_orders() -> Response:
    """Orders by customer name, e-mail, shop number, tracking number or SKU (?q=)."""
    unknown = sorted(set(request.args) - {"q"})
    if unknown:
        raise supervise.Refused(400, f"unknown parameter(s) {', '.join(unknown)}: this takes q")
    store = _store()
    try:
        with store.read():
            return jsonify(search(store, request.args.get("q", "")))
    except BadSearch as e:
        raise supervise.Refused(400, str(e)) from None


@bp.post("/orders/<ref>/address")
@roles_required(*SUPERVISORS)
def change_address(ref: str) -> Response:
    """A new ship-to before picking (body: {"ship_to": address}); re-allocated when the
    nearest warehouse changes."""
    body = _body("ship_to")
    if not isinstance(body.get("ship_to"), dict):
        raise supervise.Refused(400, "ship_to must be the new address (name, line1, city, ...)")
    effects, result = service.change_address(_store(), current_actor(), ref, body["ship_to"])
    _apply(effects)
    return jsonify(ok=True, **result)


@bp.post("/packages/<id:package_id>/reship")
@roles_required(*SUPERVISORS)
def reship(package_id: int) -> Response:
    """Mark a parcel lost and send its units again as floor work: reserved in the lost
    parcel's warehouse, else the nearest other that has them, and handed out as an urgent
    pick list; the label prints when it is packed. `said` tells which warehouse, in words."""
    _body()
    effects, result = service.reship(_store(), current_actor(), package_id)
    _apply(effects)
    return jsonify(ok=True, order=result["order"], status=result["status"],
                   lost=result["lost"]["tracking"], shipment=result["shipment"],
                   pick_list=result["pick_list"], units=result["units"],
                   warehouse=result["warehouse"], said=result["said"])  # fmt: skip


@bp.post("/mails/<id:mail_id>/resend")
@roles_required(*SUPERVISORS)
def resend_mail(mail_id: int) -> Response:
    """Send a customer mail again: a new mail of the same kind."""
    _body()
    return jsonify(ok=True, **service.resend_mail(_store(), current_actor(), mail_id))


@bp.post("/orders/<ref>/return")
@roles_required(*SUPERVISORS)
def authorise_return(ref: str) -> Response:
    """Authorise a return of a shipped order (body: {"lines": [{"sku", "qty"}], "reason"}):
    the dock receives it by its RMA number or the parcel's label."""
    body = _body("lines", "reason")
    reason = _text(body, "reason", required=False) or ""
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines or len(lines) > 500:
        raise supervise.Refused(400, "lines must name at least one SKU and its units")
    asked = []
    for line in lines:
        ok = isinstance(line, dict) and set(line) == {"sku", "qty"}
        sku, qty = (line.get("sku"), line.get("qty")) if ok else (None, None)
        if not (isinstance(sku, str) and 0 < len(sku) <= 64 and isinstance(qty, int)):
            raise supervise.Refused(400, 'each line is {"sku": text, "qty": units}')
        if qty < 1 or isinstance(qty, bool):
            raise supervise.Refused(400, f"{sku}: return at least one unit")
        asked.append((sku, qty))
    store = _store()
    try:
        order_id = find_order(store, ref)
        rma, _ = rmas.authorise(store, order_id, asked, "board", current_actor(), reason)
    except AmbiguousOrder as exc:
        raise supervise.Refused(409, str(exc)) from None
    except KeyError:
        raise supervise.Refused(404, f"no order {ref}") from None
    except rmas.ReturnError as exc:
        raise supervise.Refused(422, "; ".join(m for _, m in exc.problems)) from None
    return jsonify(ok=True, order=order_id, rma=rma["rma"])


@bp.post("/packages/<id:package_id>/reprint")
@roles_required(*SUPERVISORS)
def reprint(package_id: int) -> Response:
    """Print a package's label again (body: {"device": pack station}, else the last one)."""
    device = _text(_body("device"), "device", required=False)
    effects, job, name = supervise.reprint(_store(), current_actor(), package_id, device)
    _apply(effects)
    return jsonify(ok=True, package_id=package_id, job_id=job, device=name)


@bp.post("/packages/<id:package_id>/accept-weight")
@roles_required(*SUPERVISORS)
def accept_weight(package_id: int) -> Response:
    """Accept a package held for its weight: it is confirmed and its bench goes on."""
    _body()
    _apply(supervise.accept_weight(_store(), current_actor(), package_id))
    return jsonify(ok=True, package_id=package_id)


@bp.post("/counts/<id:task_id>/<any(approve, reject):verb>")
@roles_required(*SUPERVISORS)
def decide_count(task_id: int, verb: str) -> Response:
    """Approve or reject a count that still differs after its recount (409 if it waits for none)."""
    _body()
    _apply(count_decisions.decide(_store(), current_actor(), task_id, verb == "approve"))
    return jsonify(ok=True, count=task_id, outcome=f"{verb}d" if verb == "approve" else "rejected")


@bp.get("/cycle-counts")
@roles_required(*SUPERVISORS)
def cycle_counts() -> Response:
    """The "Cycle counts" panel: first-count accuracy overall, the least accurate bins and SKUs,
    open count tasks by stage and the recounts waiting for approval (`?warehouse=` narrows it)."""
    store = _store()
    warehouse = _panel_warehouse(store)
    with store.read():
        return jsonify(count_panel.panel(store, warehouse))


@bp.get("/transfers")
@roles_required(*SUPERVISORS)
def open_transfers() -> Response:
    """The "Transfers" panel: transfers not yet received (planned or in transit), newest first,
    with their units in transit, and the units in transit per SKU and pair of warehouses."""
    store = _store()
    with store.read():
        rows = transfers.listed(store, "in_transit") + transfers.listed(store, "planned")
        moving = transfers.in_transit(store)
        aside = transfers.set_aside(store)
    for t in rows:  # the server's rules: a cancel not offered says why
        t["no_cancel"] = transfer_actions.why_not_cancel(t)
    return jsonify(
        transfers=rows,
        set_aside=aside,
        in_transit=[
            {"sku": sku, "from_warehouse": a, "to_warehouse": b, "units": n}
            for (sku, a, b), n in sorted(moving.items())
        ],
    )


def _transfer_refused(exc: transfer_actions.Refused) -> supervise.Refused:
    return supervise.Refused(exc.status, str(exc))


@bp.post("/transfers/<code:ref>/cancel")
@roles_required(*SUPERVISORS)
def cancel_transfer(ref: str) -> Response:
    """Cancel a transfer before it ships (body: {"reason": text}): reservations released,
    picked units put away at the sender; refused in words once it has left."""
    reason = _text(_body("reason"), "reason", required=False) or ""
    try:
        done = transfer_actions.cancel(_store(), ref, current_actor(), reason)
    except transfer_actions.Refused as exc:
        raise _transfer_refused(exc) from None
    _apply(Effects(offer_work={done["from_warehouse"]}, board=True))
    return jsonify(ok=True, transfer=done["transfer"], done="cancelled", released=done["released"])


@bp.post("/transfers/<code:ref>/over")
@roles_required(*SUPERVISORS)
def settle_transfer_over(ref: str) -> Response:
    """Settle the units of one SKU and lot set aside at the receiving dock (body: {"sku",
    "lot", "decision": "accept" or "reject", "bin" (accept only), "units" (none: all),
    "rest": "keep" or "reject" (after an accept of some), "note"})."""
    body = _body("sku", "lot", "decision", "bin", "units", "rest", "note")
    sku = _text(body, "sku", required=True)
    lot = _text(body, "lot", required=False) or ""
    decision = _text(body, "decision", required=True)
    bin_ = _text(body, "bin", required=False)
    units = body.get("units")
    if units is not None and (isinstance(units, bool) or not isinstance(units, int)):
        raise supervise.Refused(400, "units must be a whole number of units")
    rest = _text(body, "rest", required=False) or "keep"
    note = _text(body, "note", required=False) or ""
    try:
        t = transfer_actions.settle(
            _store(), ref, sku, lot, decision, bin_, current_actor(), note, units, rest
        )
    except transfer_actions.Refused as exc:
        raise _transfer_refused(exc) from None
    done = t["settled"]
    # Accepted units may serve orders waiting at the receiving warehouse.
    _apply(Effects(offer_work={t["to_warehouse"]} if done["accepted"] else set(), board=True))
    what = f"{sku}{f' lot {lot}' if lot else ''}"
    told = []
    if done["accepted"]:
        told.append(f"{done['accepted']} accepted into {bin_}")
    if done["rejected"]:
        told.append(f"{done['rejected']} rejected")
    said = f"{what}: {', '.join(told)}"
    if done["set_aside"]:
        said += f"; {done['set_aside']} still set aside"
    return jsonify(ok=True, transfer=t["transfer"], done=said, settled=done)


@bp.get("/replenishment-moves")
@roles_required(*SUPERVISORS)
def replenishment_moves() -> Response:
    """The "Moves to pick faces" panel: the open moves, urgent first, with the handheld and
    worker that hold each (`?warehouse=` narrows it)."""
    warehouse = _panel_warehouse(_store())
    moves = replenishment.tasks(_store(), "open", warehouse)
    moves.sort(key=lambda m: (not m["urgent"], m["id"]))
    return jsonify(moves=moves)


@bp.post("/exceptions/<key>/<any(acknowledge, resolve):verb>")
@roles_required(*SUPERVISORS)
def mark(key: str, verb: str) -> Response:
    """Acknowledge (a help request: someone is on the way) or resolve an exception."""
    _body()
    store = _store()
    with store.read():
        known = exceptions.keys(store)
    status = "acknowledged" if verb == "acknowledge" else "resolved"
    _apply(supervise.mark(store, current_actor(), key, status, known))
    return jsonify(ok=True, key=key, status=status)


LIST_QUERY = ("warehouse", "zone", "state", "q", "sort", "offset", "limit")


@bp.get("/lists")
@roles_required(*SUPERVISORS)
def pick_lists() -> Response:
    """The pick lists in a view, paged, filtered, searched and sorted on the server:
    ?warehouse=&zone=&state=&q=&sort=priority|oldest|newest|due&offset=&limit= (1-200).
    Without `state`, the first `limit` lists of every column; with it, that column's page."""
    unknown = sorted(set(request.args) - set(LIST_QUERY))
    if unknown:
        raise supervise.Refused(
            400, f"unknown parameter(s) {', '.join(unknown)}: this takes {', '.join(LIST_QUERY)}"
        )
    args = {k: request.args.get(k, "").strip() for k in LIST_QUERY if k in request.args}
    try:
        numbers = {k: int(args.pop(k)) for k in ("offset", "limit") if args.get(k)}
    except ValueError:
        raise supervise.Refused(400, "offset and limit must be whole numbers") from None
    args.pop("offset", None)
    args.pop("limit", None)
    try:
        view = columns.View(**{k: v for k, v in args.items() if v}, **numbers)
    except columns.BadView as e:
        raise supervise.Refused(400, str(e)) from None
    store = _store()
    with store.read():
        return jsonify(columns.page(store, view))


@bp.get("/exceptions")
@roles_required(*SUPERVISORS)
def exception_queue() -> Response:
    with _store().read():
        return jsonify(exceptions.queue(_store()))


@bp.get("/audit")
@roles_required(*SUPERVISORS)
def audit_log() -> Response:
    """The newest audit rows first."""
    return jsonify(audit.recent(_store()))


@bp.get("/audit.csv")
@roles_required(*SUPERVISORS)
def audit_csv() -> Response:
    """Every audit row as CSV, oldest first."""
    return Response(
        audit.to_csv(_store()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="scanfloor-audit.csv"'},
    )


@bp.get("/throughput")
@roles_required(*SUPERVISORS)
def throughput_chart() -> Response:
    """Picks per hour per worker and orders packed per hour, the last 12 hours."""
    return jsonify(throughput.throughput(_store()))


@bp.get("/packages/<id:package_id>/label.png")
@roles_required(*SUPERVISORS)
def label_picture(package_id: int) -> Response:
    """The package's label drawn from its ZPL, as the printer would (PNG)."""
    png = order_view.label_png(_store(), package_id)
    if png is None:
        raise supervise.Refused(404, f"no package {package_id}")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})


@bp.get("/counts")
@roles_required(*SUPERVISORS)
def counts() -> Response:
    """The counters as in the snapshot; the board asks every minute, since an order turns late
    with time alone, with no change on the floor to bring a delta."""
    store = _store()
    with store.read():
        return jsonify(counters.counts(store))


@bp.get("/cutoffs")
@roles_required(*SUPERVISORS)
def cutoffs() -> Response:
    """Each carrier's next cut-off and the packages packed and waiting for its truck."""
    settings = current_app.config.get("SETTINGS")
    store = _store()
    with store.read():
        return jsonify(counters.cutoffs(store, settings.carriers if settings is not None else {}))


@bp.get("/orders/<ref>")
@roles_required(*SUPERVISORS)
def order(ref: str) -> tuple[Response, int] | Response:
    """An order's timeline, labels (ZPL) and scans with device, worker and time."""
    try:
        view = order_view.order_view(_store(), ref)
    except AmbiguousOrder as e:
        return jsonify(error=str(e)), 409
    if view is None:
        return jsonify(error=f"no order {ref}"), 404
    return jsonify(view)
