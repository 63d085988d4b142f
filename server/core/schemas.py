"""Bodies the REST API and the importer accept, defined once; OpenAPI comes from these."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.text import HIDDEN, NoHidden

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
# A code as one URL path segment (`PUT /api/channels/{code}`): a Code without "/".
CODE_IN_PATH = r"^[A-Za-z0-9._-]{1,64}$"
# A device's name travels in URL paths (`GET /api/devices/{name}`, `.../revoke`), so it holds
# only what a path segment carries plainly: letters, digits, . _ -, starting with a letter or
# a digit ("." and ".." are no names), at most 64. Every name that can be enrolled is reachable.
DEVICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DeviceName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=DEVICE_NAME_PATTERN)
]
# Names, addresses, reasons: no control or bidi override characters (shared.text).
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), NoHidden()
]
OptText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True), NoHidden()]
ShopNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True), NoHidden()
]
BarcodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
]
# An e-mail address as customers' mail goes to it: one @, no spaces or angle brackets, a dot
# in the domain. Deliverability is the mail server's to judge; this refuses what cannot be one.
_NOT_IN_EMAIL = '@\\s<>,;"' + HIDDEN.encode("unicode_escape").decode()
EMAIL_PATTERN = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}.]+$"
Email = Annotated[
    str, StringConstraints(max_length=254, strip_whitespace=True, pattern=EMAIL_PATTERN)
]
LOT_PATTERN = r"^[A-Za-z0-9._/-]*$"
Lot = Annotated[str, StringConstraints(max_length=64, pattern=LOT_PATTERN)]

# Every integer has a bound, so no input reaches SQLite's 64-bit limit or a float.
MAX_ID = 2**63 - 1  # SQLite's largest integer: row ids in paths
MAX_UNITS = 1_000_000_000  # the most units a bin holds, a count finds, a safety stock keeps
MAX_ORDER_QTY = 10_000  # units of one order line
MAX_RECEIPT_QTY = 1_000_000  # units of one receipt line
MAX_AISLE = 1_000  # routing walks every aisle between the first and the last pick
MAX_BAY = 10_000
MAX_LEVEL = 1_000
MAX_WEIGHT_G = 10_000_000  # 10 t
MAX_SIZE_MM = 100_000  # 100 m
MAX_DAILY_SHIPMENTS = 1_000_000


class Body(BaseModel):
    """A request body: unknown fields refused, JSON types taken strictly.

    Strict: `"3"` or `true` is not a quantity and `0` is not a boolean. Validated from
    JSON text (`model_validate_json`), so dates are ISO strings and a number field takes
    an integer. Importers of text formats (CSV) validate with `strict=False`.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class AddressIn(Body):
    name: Text
    line1: Text
    line2: OptText = ""
    city: Text
    postcode: Annotated[
        str, StringConstraints(min_length=1, max_length=20, strip_whitespace=True), NoHidden()
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2"
    )
    phone: OptText = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class OrderLineIn(Body):
    sku: Code
    qty: int = Field(gt=0, le=MAX_ORDER_QTY)


# A carrier's service an order names: `express`, or `local:express` with the carrier.
ServiceRef = Annotated[
    str,
    StringConstraints(
        max_length=41, pattern=r"^([A-Za-z][A-Za-z0-9_]{0,19}:)?[A-Za-z][A-Za-z0-9_]{0,19}$"
    ),
]


class OrderIn(Body):
    """An order from a shop. `order_id` is the shop's id and the idempotency key."""

    order_id: Code
    channel: Code = "web"
    shop_number: ShopNumber | None = Field(
        None, description="the order's number as people see it in the shop, e.g. #1043"
    )
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    ship_to: AddressIn
    priority: int = Field(0, ge=0, le=9, description="9 is most urgent")
    promised_by: datetime | None = None
    service: ServiceRef | None = Field(
        None,
        description="the shipping service the shop sold: `express`, or `local:express` to name "
        "the carrier too; null: the channel's default (config `shipping.channel_services`), else "
        "the cheapest service that arrives by `promised_by` (none in time: the fastest; no "
        "date: the cheapest). An unknown service refuses the order (422).",
    )
    allow_split: bool | None = Field(
        None, description="ship from several warehouses if no one has it all; null: the channel's"
    )
    allow_partial: bool | None = Field(
        None, description="ship what is in stock and backorder the rest; null: the channel's"
    )
    email: Email | None = Field(
        None,
        description="the customer's e-mail address: shipping news goes there (none: no mail)",
    )


class SafetyStockIn(Body):
    sku: Code
    qty: int = Field(
        ge=0, le=MAX_UNITS, description="units of the SKU this warehouse never promises"
    )


class WarehouseIn(Body):
    code: Code
    name: Text
    address: AddressIn
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    daily_capacity: int | None = Field(
        None,
        ge=0,
        le=MAX_DAILY_SHIPMENTS,
        description="shipments it takes a day (UTC); null: no limit",
    )
    safety_stock: list[SafetyStockIn] = Field(
        default_factory=list, description="per SKU; 0 removes it; SKUs not listed keep theirs"
    )


class LocationIn(Body):
    warehouse: Code
    code: Code = Field(description="e.g. A-03-02")
    barcode: BarcodeText | None = Field(None, description="defaults to the code")
    zone: OptText = ""
    aisle: int = Field(0, ge=0, le=MAX_AISLE)
    bay: int = Field(0, ge=0, le=MAX_BAY)
    level: int = Field(0, ge=0, le=MAX_LEVEL)
    role: Literal["face", "reserve"] = Field(
        "face", description="face: pickers are sent to it; reserve: it only feeds faces"
    )


class ProductIn(Body):
    sku: Code
    name: Text
    barcodes: list[BarcodeText] = Field(default_factory=list, description="GTINs and other codes")
    weight_g: int = Field(0, ge=0, le=MAX_WEIGHT_G)
    length_mm: int = Field(0, ge=0, le=MAX_SIZE_MM)
    width_mm: int = Field(0, ge=0, le=MAX_SIZE_MM)
    height_mm: int = Field(0, ge=0, le=MAX_SIZE_MM)


class StockIn(Body):
    """Set the quantity on hand of a SKU in a location."""

    warehouse: Code
    location: Code
    sku: Code
    on_hand: int = Field(ge=0, le=MAX_UNITS)
    lot: Lot = Field("", description="lot or batch; empty for stock that is not lot-tracked")
    expires: date | None = Field(
        None, description="lot-tracked stock: picked earliest expiry first"
    )
    safety_stock: int | None = Field(
        None, ge=0, le=MAX_UNITS, description="set the warehouse's safety stock of this SKU"
    )


class ChannelIn(Body):
    """How a sales channel's orders may ship when no single warehouse has everything."""

    code: Code
    allow_split: bool = Field(True, description="ship from several warehouses")
    allow_partial: bool = Field(False, description="ship what is in stock, backorder the rest")


class ChannelsIn(Body):
    channels: list[ChannelIn] = Field(min_length=1, max_length=1000)


class ReceiptLineIn(Body):
    location: Code
    sku: Code
    qty: int = Field(gt=0, le=MAX_RECEIPT_QTY)
    lot: Lot = ""
    expires: date | None = None


class ReceiptIn(Body):
    """Stock arriving in a warehouse; `receipt_id` (the sender's) makes a repeat harmless."""

    receipt_id: Code | None = None
    warehouse: Code
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class CorrectionIn(Body):
    """What a count found in a bin: on hand is set to it, reservations beyond it re-allocated."""

    warehouse: Code
    location: Code
    sku: Code
    lot: Lot = ""
    on_hand: int = Field(ge=0, le=MAX_UNITS, description="units counted")
    reason: OptText = ""


class CancelIn(Body):
    reason: OptText = ""


class PutawayDoneIn(Body):
    location: Code | None = Field(
        None, description="where it was put; default: the task's `location`"
    )


class CatalogueIn(Body):
    """Everything at once: what `scanfloor import` and `POST /api/catalogue` take."""

    warehouses: list[WarehouseIn] = Field(default_factory=list)
    locations: list[LocationIn] = Field(default_factory=list)
    products: list[ProductIn] = Field(default_factory=list)
    stock: list[StockIn] = Field(default_factory=list)
    channels: list[ChannelIn] = Field(default_factory=list)


class Problem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    message: str
    problems: list[Problem] = Field(default_factory=list)


class OrderEventOut(BaseModel):
    at: str
    status: str
    event: str
    detail: dict


class OrderLineOut(BaseModel):
    line_no: int
    sku: str
    qty: int
    cancelled: int = Field(
        0,
        description="units of the line cancelled with the rest of the order while another "
        "part of it was with a carrier (`POST /api/orders/{order_id}/cancel`): they no longer "
        "wait for stock",
    )


class ShipmentOut(BaseModel):
    id: int
    warehouse: str
    status: Literal["allocated", "packed", "shipped", "cancelled"]
    distance_km: float | None
    units: int
    picked: int
    created_at: str


class PackageOut(BaseModel):
    """A packed box: its label's numbers, its carrier, service and rate."""

    id: int
    sscc: str
    tracking: str
    weight_g: int
    status: Literal["labelled", "printed", "confirmed"] = Field(
        description="label made, label printed, label scanned on the box (packed)"
    )
    carrier: str = Field(description="the carrier's name in config (`local`)")
    service: str = Field(description="the carrier's service (`express`)")
    rate_cents: int | None = Field(description="what the carrier charges, in cents")
    zone: int | None = Field(description="the carrier's zone for the ship-to")
    created_at: str
    confirmed_at: str | None
    loaded_at: str | None = Field(description="scanned onto the carrier's truck at the dock")
    lost_at: str | None = Field(None, description="marked lost by the carrier (re-shipped)")
    replaced_by: int | None = Field(None, description="the package re-shipped in its place")


class CustomerMailOut(BaseModel):
    id: int = Field(description="the mail's outbox row: what a resend names")
    kind: Literal["shipped", "out_for_delivery", "delivered", "exception", "return_received"]
    status: Literal["pending", "sent", "refused", "no_address", "off"] = Field(
        description="`pending` (queued or retrying), `sent`, `refused` (the mail server refused "
        "it for good), `no_address` (the order has no e-mail address), `off` (e-mail is off)"
    )
    recipient: str | None
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None


class OrderOut(BaseModel):
    """An order. Status: `received` (not yet allocated), `backordered` (nothing reserved,
    waits for stock; or on hold: it ships complete only and a short pick left units in
    stock nowhere, so what it has picked waits in its tote until the rest comes),
    `partially_allocated` (some units reserved, the rest waits, and it may ship in part),
    `allocated` (every unit reserved, in one or more shipments), `picking`, `picked`,
    `packed` (every shipment packed), `shipped`, `cancelled` (the whole order; when only its
    rest was cancelled, with a parcel at a carrier, it follows its parcels and its lines
    say what was `cancelled`). After shipping the
    carriers' tracking events move it (`POST /api/carriers/{carrier}/events`):
    `in_transit`, `out_for_delivery`, `delivered` (every package delivered),
    `exception` (a package held up, none delivered; the timeline's detail has the
    `reason`), `returned` (every package back with us)."""

    id: str
    order_id: str
    shop_number: str | None = Field(None, description="the number people see in the shop: #1043")
    channel: str
    status: Literal[
        "received",
        "backordered",
        "partially_allocated",
        "allocated",
        "picking",
        "picked",
        "packed",
        "shipped",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "exception",
        "returned",
        "cancelled",
    ]
    priority: int
    promised_by: str | None
    service: str | None = Field(None, description="the shipping service the order named")
    warehouse: str | None = Field(description="of the first shipment")
    ship_to: dict
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut] = Field(default_factory=list)
    backordered: int = Field(0, description="units waiting for stock")
    packages: list[PackageOut]
    timeline: list[OrderEventOut]
    email: str | None = Field(
        None, description="the customer's e-mail address, if the shop gave one"
    )
    lat: float | None = Field(None, description="where the ship-to lies (given or geocoded)")
    lon: float | None = None
    geocoded: Literal["given", "postcode", "city", "none"] = Field(
        "given",
        description="how the ship-to was placed on the map: `given` (lat/lon came with the "
        "order), `postcode` or `city` (the centroid, from data shipped with the server), `none` "
        "(could not be placed: allocation falls back to the warehouse with the most capacity "
        "left today, and distances are null)",
    )
    tracking_url: str = Field(
        description="the customer's public tracking page (no login; the link is the key)"
    )
    customer_mails: list[CustomerMailOut] = Field(
        default_factory=list, description="e-mails to the customer about this order"
    )


class ReprintIn(Body):
    """Print a package's label again; on another pack station if `device` names one."""

    device: Code | None = Field(
        None, description="the pack station's device name (default: the last one used)"
    )


# "Either a name, or a count and a prefix", as JSON Schema can say it (a null is as absent).
_ONE_OR_MANY = {
    "oneOf": [
        {
            "required": ["name"],
            "properties": {"name": {"not": {"type": "null"}}, "count": {"type": "null"},
                           "prefix": {"type": "null"}},
        },
        {
            "required": ["count", "prefix"],
            "properties": {"name": {"type": "null"}, "count": {"not": {"type": "null"}},
                           "prefix": {"not": {"type": "null"}}},
        },
    ]
}  # fmt: skip


class DevicesIn(Body):
    """Enrol devices of one kind: one by `name`, or `count` of them named `prefix` + a number.

    A name (and a prefix with its number) is 1-64 of A-Z a-z 0-9 . _ -, starting with a letter
    or a digit: it travels in URL paths (docs/security.md)."""

    model_config = ConfigDict(json_schema_extra=_ONE_OR_MANY)

    name: DeviceName | None = Field(None, description="one device's name (or use count and prefix)")
    count: int | None = Field(None, ge=1, le=10_000, description="how many devices to enrol")
    prefix: DeviceName | None = Field(
        None, description="with count: names are prefix001, prefix002, ..."
    )
    start: int = Field(1, ge=0, le=1_000_000, description="with count: the first number")
    role: Literal["picker", "packer"]
    warehouse: Code
    zones: list[Code] = Field(default_factory=list, description="pickers: only work in these zones")
    cart_totes: int = Field(6, ge=1, le=40, description="pickers: orders one cart carries")

    @model_validator(mode="after")
    def _one_or_many(self) -> DevicesIn:
        if (self.name is None) == (self.count is None):
            raise ValueError("give either name, or count and prefix")
        if self.count is not None and self.prefix is None:
            raise ValueError("count needs a prefix")
        if self.prefix is not None and self.count is None:
            raise ValueError("a prefix goes with a count")
        return self


class ChannelSetIn(Body):
    """One channel: its shipping policy and its Shopify webhook secret; what is left out stays."""

    allow_split: bool | None = Field(None, description="ship from several warehouses")
    allow_partial: bool | None = Field(
        None, description="ship what is in stock, backorder the rest"
    )
    shopify_secret: (
        Annotated[str, StringConstraints(max_length=200, pattern=r"^[\x21-\x7e]*$")] | None
    ) = Field(
        None,
        description="the secret Shopify signs this channel's webhooks with (write-only: never "
        "returned); empty removes it",
    )


# The events a shop can subscribe to: `order.<status>` for every status an order can take.
WEBHOOK_EVENTS: tuple[str, ...] = (
    *(f"order.{s}" for s in get_args(OrderOut.model_fields["status"].annotation)),
    "return.received",  # a return was received at the dock: each unit and its grade
    "parcel.reshipped",  # a parcel the carrier lost was sent again with a new label
)
WebhookEvent = Literal[WEBHOOK_EVENTS]  # type: ignore[valid-type]


class WebhookSubscriptionIn(Body):
    """Post these order events to a URL, signed per Standard Webhooks."""

    url: Annotated[
        str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[hH][tT][tT][pP][sS]?://")
    ] = Field(
        description="http:// or https://, with no user:pass@; a public address, or a host in "
        "[webhooks] allowed_hosts (docs/security.md)",
        json_schema_extra={"format": "uri"},
    )
    events: list[WebhookEvent] = Field(
        min_length=1, max_length=50, description="e.g. order.picked, order.packed"
    )
    secret: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None,
        description="whsec_ + base64 of 24-64 random bytes; left out, one is made and returned "
        "this once",
    )
    channel: Code | None = Field(
        None,
        description="only this channel's orders: one the server knows (set with PUT "
        "/api/channels, or named by an order already), else 422; null: all",
    )


# ---------------------------------------------------------------- carriers' tracking events
TRACKING_TYPES = ("in_transit", "out_for_delivery", "delivered", "exception", "returned")
TrackingType = Literal["in_transit", "out_for_delivery", "delivered", "exception", "returned"]
MAX_CLOCK_AHEAD = timedelta(minutes=15)  # a carrier's clock may run this far ahead of ours
MAX_TRACKING_BATCH = 500


class PlaceIn(Body):
    """Where it happened: any of city, postcode, country, lat and lon (together), free text."""

    city: Text | None = None
    postcode: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=20, strip_whitespace=True), NoHidden()
        ]
        | None
    ) = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        None, description="ISO 3166-1 alpha-2"
    )
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    text: Text | None = Field(None, description="free text: 'parcel locker 12, Main St'")

    @model_validator(mode="after")
    def _something(self) -> PlaceIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together")
        if all(v is None for v in (self.city, self.postcode, self.country, self.lat, self.text)):
            raise ValueError("give at least one of city, postcode, country, lat and lon, text")
        return self


class TrackingEventIn(Body):
    """One thing a carrier saw happen to a package."""

    id: Annotated[
        str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = Field(description="the carrier's id of this event: sent again, it changes nothing")
    tracking: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    ] = Field(description="the package's tracking number, as on its label")
    type: TrackingType
    at: AwareDatetime = Field(
        description="when it happened, with its UTC offset; at most 15 minutes ahead of the "
        "server's clock"
    )
    place: PlaceIn | None = Field(None, description="where; required for delivered")
    reason: (
        Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z_]*$")]
        | None
    ) = Field(
        None,
        description="exception or returned only: why, e.g. delayed, address_problem, damaged, "
        "refused",
    )

    @field_validator("at")
    @classmethod
    def _not_ahead(cls, at: datetime) -> datetime:
        if at - datetime.now(UTC) > MAX_CLOCK_AHEAD:
            raise ValueError("is in the future (more than 15 minutes ahead of the server's clock)")
        return at

    @model_validator(mode="after")
    def _fits_the_type(self) -> TrackingEventIn:
        if self.type == "delivered" and self.place is None:
            raise ValueError("a delivered event needs its place")
        if self.reason is not None and self.type not in ("exception", "returned"):
            raise ValueError("only an exception or a return has a reason")
        return self


class TrackingBatchIn(Body):
    """Several tracking events at once, applied in one transaction."""

    events: list[TrackingEventIn] = Field(min_length=1, max_length=MAX_TRACKING_BATCH)


class CarrierEventsIn(RootModel[TrackingEventIn | TrackingBatchIn]):
    """One tracking event, or `{"events": [...]}` for a batch of up to 500."""


class CloseoutIn(Body):
    """Close out a carrier's packed packages of one warehouse into a manifest."""

    warehouse: Code


class HandoverIn(Body):
    """The truck leaves: every package of the manifest not scanned at the dock is missing."""
