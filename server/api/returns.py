"""Returns under /api: authorise a return (RMA), list them, read one with each unit's grade."""

from __future__ import annotations

from typing import Any, Literal

from flask import current_app, g
from pydantic import BaseModel, Field

from server.api.errors import ApiError
from server.api.models import Query
from server.api.table import Route
from server.capture import orders
from server.core.schemas import MAX_UNITS, Body, Code, OptText, Text
from server.returns import rmas
from server.store import Store


# ---------------------------------------------------------------- models
class ReturnLineIn(Body):
    sku: Code
    qty: int = Field(ge=1, le=MAX_UNITS, description="units the customer sends back")


class ReturnIn(Body):
    """A return to authorise: units of a shipped order coming back. At most what shipped less
    what earlier returns of the order took, per SKU."""

    order_id: Text = Field(description="our id (SO-000001) or the shop's order id")
    channel: Code | None = Field(None, description="the shop's channel, for a shop's order id")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    reason: OptText = Field("", description="why the customer sends it back, in words")
    request_id: Code | None = Field(
        None,
        description="your id for this request (kept per API key): the same body again answers "
        "the same RMA (200); another body with it is refused (409)",
    )


class ReturnQuery(Query):
    status: Literal["authorised", "received", "cancelled"] | None = None
    order_id: Text | None = Field(
        None, description="our order id (SO-000001), not the shop's: that order's returns"
    )
    limit: int = Field(100, ge=1, le=1000)


class ReturnLineOut(BaseModel):
    sku: str
    name: str
    authorised: int
    received: int = Field(description="units graded at the dock")
    resellable: int = Field(description="units back in stock (or on their way to a bin)")
    scrapped: int
    reasons: list[str] = Field(description="why each scrapped unit was scrapped")


class ReturnUnitOut(BaseModel):
    sku: str
    grade: Literal["resellable", "scrap"]
    reason: str | None = Field(description="scrap: damaged, defective, missing, wrong_item, other")
    location: str | None = Field(description="resellable: the bin it was put in (once shelved)")
    worker: str | None
    at: str


class ReturnOut(BaseModel):
    rma: str = Field(description="the RMA number, scanned at the dock: RMA-000001")
    order_id: str
    shop_order_id: str
    warehouse: str
    source: Literal["api", "board", "shopify", "carrier"]
    external_id: str | None = Field(
        description="the source's own id (a request, a refund, a shop's return, a parcel)"
    )
    tracking: str | None = Field(description="the parcel the carrier brought back")
    status: Literal["authorised", "received", "cancelled"] = Field(
        description="cancelled: the shop declined or cancelled it before anything was received"
    )
    reason: str
    created_by: str
    created_at: str
    received_at: str | None
    received_by: str | None
    cancelled_at: str | None
    cancel_reason: str | None = Field(description="why it was cancelled, in words")
    device: str | None = Field(description="the handheld receiving it now")
    lines: list[ReturnLineOut]
    units: list[ReturnUnitOut]


class ReturnListOut(BaseModel):
    returns: list[ReturnOut]


# ---------------------------------------------------------------- views
def _store() -> Store:
    return current_app.extensions["store"]


def create_return(body: ReturnIn) -> tuple[dict[str, Any], int]:
    """Authorise a return: the dock receives it by its RMA number or the parcel's label.
    A `request_id` sent again answers its RMA (200) when the body asks for the same return
    (the same order, units per SKU and reason), and is refused with 409 when it asks for
    another."""
    store = _store()
    external = f"{g.get('api_client', '?')}:{body.request_id}" if body.request_id else None

    def another_body(rma: str) -> ApiError:
        return ApiError(
            409, f"request_id {body.request_id} was already used for {rma} with another body"
        )

    try:
        order_id = orders.find(store, body.order_id, body.channel)
    except (orders.AmbiguousOrder, KeyError) as exc:
        if external is not None and (seen := rmas.by_external(store, "api", external)):
            raise another_body(seen) from None  # its order is not this one
        if isinstance(exc, orders.AmbiguousOrder):
            raise ApiError(
                409,
                f"order id {body.order_id} is used by channels {', '.join(exc.channels)}: "
                "name the channel (`channel`)",
            ) from None
        raise ApiError(404, f"no order {body.order_id}") from None
    try:
        rma, made = rmas.authorise(
            store, order_id, [(x.sku, x.qty) for x in body.lines], "api",
            f"key:{g.get('api_client', '?')}", body.reason, external, refuse_another_body=True,
        )  # fmt: skip
    except rmas.ReturnError as exc:
        raise ApiError(422, str(exc), "invalid_return", exc.problems) from None
    except rmas.RequestConflict as exc:
        raise another_body(str(exc)) from None
    return rma, 201 if made else 200


def list_returns(query: ReturnQuery) -> dict[str, Any]:
    """Returns, newest first, by status or order."""
    return {"returns": rmas.listing(_store(), query.status, query.order_id, query.limit)}


def get_return(rma: str) -> dict[str, Any]:
    """One return with what was received of each SKU and every graded unit."""
    try:
        return rmas.get(_store(), rma)
    except KeyError:
        raise ApiError(404, f"no return {rma}") from None


API_ROUTES = [
    Route(
        "POST",
        "/returns",
        create_return,
        "Authorise a return",
        scope="orders:write",
        body=ReturnIn,
        response=ReturnOut,
        status=201,
        also=(200, 404, 409),
        invalid="invalid_return",
    ),
    Route(
        "GET", "/returns", list_returns, "List returns", query=ReturnQuery, response=ReturnListOut
    ),
    Route(
        "GET",
        "/returns/<code:rma>",
        get_return,
        "Get a return",
        response=ReturnOut,
        also=(404,),
    ),
]
