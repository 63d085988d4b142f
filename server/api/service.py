"""Customer service under /api: find an order as a customer names it, change its address,
re-ship a lost parcel, send a customer mail again (cancel is `POST /orders/<id>/cancel`).

The same use cases and rules as the board's order page (server/board/service.py): a refused
action answers 409 with the sentence the page shows.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, Field

from server.api.auth import actor
from server.api.errors import ApiError, refusals
from server.api.models import OrderRefQuery, Query
from server.api.table import Route
from server.board import service
from server.board.supervise import Refused
from server.capture.search import MAX_QUERY, BadSearch, search
from server.core.schemas import AddressIn, Body
from server.floor.scanning import Effects
from server.store import Store


# ---------------------------------------------------------------- models
class SearchQuery(Query):
    q: str = Field(
        max_length=MAX_QUERY,
        description="a customer's name (from its beginning), any word of the name or e-mail or "
        "part of one (three letters or more inside a word; several words: all of them), an "
        "e-mail, the shop's order number (`#1043` or `1043`), our or the shop's order id, a "
        "tracking number or a SKU; any case",
    )


class FoundOrderOut(BaseModel):
    id: str
    order_id: str = Field(description="the shop's order id")
    shop_number: str | None
    channel: str
    status: str
    customer: str | None = Field(description="the ship-to's name")
    email: str | None
    city: str | None
    created_at: str
    matched: Literal["order", "shop number", "tracking number", "e-mail", "customer", "SKU"]


class SearchOut(BaseModel):
    q: str
    orders: list[FoundOrderOut] = Field(description="newest first, at most 50")
    more: bool = Field(description="more orders matched than are listed: say more")


class AddressChangeIn(Body):
    """The order's new ship-to; taken only before picking starts."""

    ship_to: AddressIn


class AddressChangeOut(BaseModel):
    order: str
    changed: bool = Field(description="false: the address was the same")
    reallocated: bool = Field(description="the nearest warehouse changed: allocated again")
    was_nearest: str | None = Field(None, description="re-allocated: the warehouse nearest before")
    nearest: str | None = Field(None, description="re-allocated: the warehouse nearest now")
    warehouse: str | None = Field(
        None, description="re-allocated: the warehouse holding the order now (none: it waits)"
    )


class ReshipIn(Body):
    """No fields: the re-ship's label is printed where it is packed, not where it is asked."""


class ReshipOut(BaseModel):
    order: str
    status: str = Field(
        description="the order's status now: the lost parcel no longer counts, and the re-ship "
        "is floor work (`allocated`, then picking, packed, shipped as any order)"
    )
    lost: dict[str, Any] = Field(description="the lost parcel: id and tracking")
    shipment: int = Field(description="the re-ship's own shipment, in `warehouse`")
    pick_list: int = Field(
        description="its pick list, handed to a picker of `warehouse` before ordinary lists"
    )
    units: dict[str, int] = Field(
        description="the units reserved again in the bins of the warehouse that ships the new "
        "parcel, by SKU (they leave their bins when the picker picks them)"
    )
    warehouse: str = Field(
        description="the warehouse that ships the new parcel: the lost parcel's, or, when its "
        "shelves lack the units, the nearest other to the customer that has them all"
    )
    said: str = Field(
        description="which warehouse ships the new parcel and why, and that it goes to the "
        "floor, in words"
    )


class ResendOut(BaseModel):
    order: str
    kind: str
    mail: int = Field(description="the new mail's id")
    status: Literal["pending", "off", "no_address"]


# ---------------------------------------------------------------- views
def _store() -> Store:
    return current_app.extensions["store"]


def _apply(effects: Effects) -> None:
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.apply(effects)


def search_orders(query: SearchQuery) -> dict[str, Any]:
    """Orders by customer name, e-mail, shop number, tracking number or SKU, newest first."""
    store = _store()
    try:
        with store.read():
            return search(store, query.q)
    except BadSearch as e:
        raise ApiError(422, str(e), "invalid_query", [("q", str(e))]) from None


def change_address(order_id: str, body: AddressChangeIn, query: OrderRefQuery) -> dict[str, Any]:
    """Give an order a new ship-to before picking starts (409 after, in words); when the
    nearest warehouse changes, what it holds is released and it is allocated again. A shop id
    that several channels use needs `?channel=` (409 without)."""
    with refusals(Refused):
        effects, result = service.change_address(
            _store(), actor(), order_id, body.ship_to.model_dump(), query.channel
        )
    _apply(effects)
    return result


def reship(package_id: int, body: ReshipIn) -> dict[str, Any]:
    """Mark a parcel the carrier lost and send its units again as work on the floor: reserved
    in the bins of the warehouse that shipped it, else of the nearest other warehouse that has
    them all (409, nothing changed, when none has), and handed out as an urgent pick list;
    picked, packed and labelled like any order's parcel. The answer says which warehouse in
    words. When the new parcel is packed, the lost one points at it (`replaced_by`) and the
    shop gets `parcel.reshipped` with both tracking numbers. A parcel already marked lost
    (its re-ship on the floor or packed) is refused with 409."""
    with refusals(Refused):
        effects, result = service.reship(_store(), actor(), package_id)
    _apply(effects)
    return result


def resend_mail(mail_id: int) -> dict[str, Any]:
    """Queue a customer mail again: a new mail of the same kind to the order's address."""
    with refusals(Refused):
        return service.resend_mail(_store(), actor(), mail_id)


API_ROUTES = [
    Route("GET", "/search", search_orders, "Find orders", query=SearchQuery, response=SearchOut),
    Route(
        "POST",
        "/orders/<order_id>/address",
        change_address,
        "Change an order's ship-to address",
        scope="orders:write",
        body=AddressChangeIn,
        query=OrderRefQuery,
        response=AddressChangeOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/packages/<id:package_id>/reship",
        reship,
        "Re-ship a lost parcel",
        scope="orders:write",
        body=ReshipIn,
        response=ReshipOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/mails/<id:mail_id>/resend",
        resend_mail,
        "Send a customer mail again",
        scope="orders:write",
        response=ResendOut,
        also=(404, 409),
    ),
]
