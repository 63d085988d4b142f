"""Transfers under /api: suggest moves between warehouses, plan one, list them, read one,
cancel one before it ships, settle the units its receiver set aside."""

from __future__ import annotations

from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, Field

from server.api.auth import actor
from server.api.errors import ApiError, refusals
from server.api.models import Query
from server.api.table import Route
from server.core.schemas import MAX_UNITS, Body, Code, Lot, OptText
from server.inventory import transfer_actions, transfers
from server.store import Store

Status = Literal["planned", "in_transit", "received", "cancelled"]


# ---------------------------------------------------------------- models
class TransferLineIn(Body):
    sku: Code
    qty: int = Field(ge=1, le=MAX_UNITS, description="units to send")


class TransferIn(Body):
    """A transfer to plan: units of SKUs the sending warehouse has free, to another warehouse.
    To accept a suggestion, send its warehouses, SKU and quantity with `source: suggestion`."""

    from_warehouse: Code = Field(description="the sending warehouse")
    to_warehouse: Code = Field(description="the receiving warehouse")
    lines: list[TransferLineIn] = Field(min_length=1, max_length=500)
    source: Literal["manual", "suggestion"] = "manual"
    request_id: Code | None = Field(
        None,
        description="your id for this request: the same body again answers the same transfer "
        "(200); another body with it is refused (409)",
    )


class TransferQuery(Query):
    status: Status | None = None
    limit: int = Field(200, ge=1, le=1000)


class TransferLotOut(BaseModel):
    lot: str = Field(description="the lot; empty for stock that is not lot-tracked")
    expires: str | None = Field(description="the lot's expiry as the sender held it (ISO date)")
    shipped: int
    received: int
    in_transit: int
    over: int = Field(description="units of this lot scanned beyond what was shipped")
    accepted: int = Field(description="set-aside units a supervisor put into a bin")
    rejected: int = Field(description="set-aside units a supervisor kept out of stock")
    set_aside: int = Field(
        description="set-aside units not settled yet: over - accepted - rejected"
    )


class TransferLineOut(BaseModel):
    sku: str
    qty: int = Field(description="units planned")
    shipped: int = Field(description="units handed over at the sending dock")
    received: int = Field(description="units scanned in at the receiving dock")
    in_transit: int = Field(description="shipped, not yet received (0 once received)")
    over: int = Field(description="units scanned beyond what was shipped: set aside, not stocked")
    short: int | None = Field(description="at close: shipped and never received")
    lots: list[TransferLotOut] = Field(description="the same per lot, as shipped and scanned")


class TransferOut(BaseModel):
    transfer: str = Field(description="the transfer number, scanned at the dock: TR-000001")
    order_id: str = Field(description="the order that picks, packs and ships it (channel transfer)")
    from_warehouse: str
    to_warehouse: str
    source: Literal["manual", "suggestion"]
    status: Status
    order_status: str
    created_by: str
    created_at: str
    received_at: str | None
    received_by: str | None
    lines: list[TransferLineOut]
    in_transit: int = Field(description="units of this transfer in transit")


class TransferCancelIn(Body):
    reason: OptText = ""


class TransferCancelOut(TransferOut):
    already: bool = Field(description="it was cancelled before: nothing changed")
    released: int = Field(description="reserved units given back to the sender's bins")
    putaway_tasks: list[int] = Field(description="put-away tasks for units already picked")


class OverSettleIn(Body):
    """Settle the units of one SKU and lot set aside at the receiving dock: all of them, or
    `units` of them (the rest stay set aside, or are rejected with `rest: reject`)."""

    sku: Code
    lot: Lot = Field("", description="the lot; empty for stock that is not lot-tracked")
    decision: Literal["accept", "reject"] = Field(
        description="accept: into `bin` of the receiving warehouse; reject: kept out of stock"
    )
    bin: Code | None = Field(None, description="the bin accepted units go into (accept only)")
    units: int | None = Field(
        None, ge=1, le=MAX_UNITS, description="how many to settle; none: every set-aside unit"
    )
    rest: Literal["keep", "reject"] = Field(
        "keep",
        description="after an accept of `units`: the others stay set aside (keep) or are rejected",
    )
    note: OptText = ""


class SettledOut(BaseModel):
    accepted: int = Field(description="units put into the bin by this settlement")
    rejected: int = Field(description="units kept out of stock by this settlement")
    set_aside: int = Field(description="units of the SKU and lot still set aside after it")


class OverSettleOut(TransferOut):
    settled: SettledOut = Field(description="what this settlement did")


class TransferListOut(BaseModel):
    transfers: list[TransferOut]


class SuggestionOut(BaseModel):
    sku: str
    from_warehouse: str
    to_warehouse: str
    qty: int = Field(description="units to move")
    need: int = Field(description="what the receiving warehouse lacks, after what is coming")


class SuggestionListOut(BaseModel):
    suggestions: list[SuggestionOut]


class InTransitOut(BaseModel):
    sku: str
    from_warehouse: str
    to_warehouse: str
    units: int


class InTransitListOut(BaseModel):
    in_transit: list[InTransitOut]


# ---------------------------------------------------------------- views
def _store() -> Store:
    return current_app.extensions["store"]


def create_transfer(body: TransferIn) -> tuple[dict[str, Any], int]:
    """Plan a transfer: an order of channel `transfer`, allocated in the sending warehouse.
    A `request_id` sent again answers its transfer (200) when the body asks for the same one
    (warehouses, source, lines in any order), and is refused with 409 when it asks for another."""
    try:
        made, created = transfers.plan(
            _store(), body.from_warehouse, body.to_warehouse,
            [(x.sku, x.qty) for x in body.lines], actor(),
            body.source, body.request_id,
        )  # fmt: skip
    except transfers.TransferError as exc:
        raise ApiError(422, str(exc), "invalid_transfer", exc.problems) from None
    except transfers.TransferConflict as exc:
        raise ApiError(409, str(exc)) from None
    hub = current_app.extensions.get("scanfloor.hub")
    if created and hub is not None:
        hub.offer_work(made["from_warehouse"])  # its pick list goes to the sender's pickers
    return made, 201 if created else 200


def list_transfers(query: TransferQuery) -> dict[str, Any]:
    """Transfers, newest first, by status."""
    return {"transfers": transfers.listed(_store(), query.status, query.limit)}


def get_transfer(ref: str) -> dict[str, Any]:
    """One transfer, SKU by SKU: planned, shipped, received, in transit, over, short."""
    found = transfers.get(_store(), ref)
    if found is None:
        raise ApiError(404, f"no transfer {ref}")
    return found


def cancel_transfer(ref: str, body: TransferCancelIn) -> dict[str, Any]:
    """Cancel a transfer before it ships: reservations released, picked units put away at the
    sender. Refused (409) once it has left."""
    with refusals(transfer_actions.Refused):
        done = transfer_actions.cancel(_store(), ref, actor(), body.reason)
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None and not done["already"]:
        hub.offer_work(None)  # its pick list is gone; what it gave back may serve orders
    return done


def settle_over(ref: str, body: OverSettleIn) -> dict[str, Any]:
    """Settle the units of one SKU and lot set aside at the receiving dock, all or some:
    accept them into a bin, or reject them."""
    with refusals(transfer_actions.Refused):
        return transfer_actions.settle(
            _store(), ref, body.sku, body.lot, body.decision, body.bin, actor(), body.note,
            body.units, body.rest,
        )  # fmt: skip


def suggest_transfers() -> dict[str, Any]:
    """Moves that would serve waiting orders and safety stock from other warehouses' spare."""
    return {"suggestions": [s.__dict__ for s in transfers.suggestions(_store())]}


def transit() -> dict[str, Any]:
    """Units in transit per SKU and pair of warehouses."""
    moving = transfers.in_transit(_store())
    return {
        "in_transit": [
            {"sku": sku, "from_warehouse": a, "to_warehouse": b, "units": n}
            for (sku, a, b), n in sorted(moving.items())
        ]
    }


API_ROUTES = [
    Route(
        "POST",
        "/transfers",
        create_transfer,
        "Plan a transfer",
        scope="stock:write",
        body=TransferIn,
        response=TransferOut,
        status=201,
        also=(200, 409),
        invalid="invalid_transfer",
    ),
    Route(
        "GET",
        "/transfers",
        list_transfers,
        "List transfers",
        query=TransferQuery,
        response=TransferListOut,
    ),
    Route(
        "GET",
        "/transfers/suggestions",
        suggest_transfers,
        "Suggest transfers",
        response=SuggestionListOut,
    ),
    Route(
        "GET",
        "/transfers/in-transit",
        transit,
        "Stock in transit",
        response=InTransitListOut,
    ),
    Route(
        "GET",
        "/transfers/<code:ref>",
        get_transfer,
        "Get a transfer",
        response=TransferOut,
        also=(404,),
    ),
    Route(
        "POST",
        "/transfers/<code:ref>/cancel",
        cancel_transfer,
        "Cancel a transfer",
        scope="stock:write",
        body=TransferCancelIn,
        response=TransferCancelOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/transfers/<code:ref>/over",
        settle_over,
        "Settle set-aside units",
        scope="stock:write",
        body=OverSettleIn,
        response=OverSettleOut,
        also=(404, 409),
    ),
]
