"""What the API answers and the query strings it takes; request bodies live in server.core.schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.core.schemas import Code, OrderOut
from server.floor.domain.floor import Step
from shared.protocol import DeviceState

OrderStatus = OrderOut.model_fields["status"].annotation
PickListStatus = Literal["open", "assigned", "picked", "packing", "packed"]


class Query(BaseModel):
    """A query string: unknown parameters are refused, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class OrderQuery(Query):
    status: OrderStatus | None = None  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=1000)


class StockQuery(Query):
    sku: Code | None = None
    warehouse: Code | None = None


class PickListQuery(Query):
    status: PickListStatus | None = None
    warehouse: Code | None = None
    limit: int = Field(100, ge=1, le=1000)


class HealthOut(BaseModel):
    ok: bool


class OrderSummaryOut(BaseModel):
    id: str
    order_id: str
    shop_number: str | None = None
    channel: str
    status: str
    priority: int
    warehouse: str | None
    created_at: str
    updated_at: str


class OrderListOut(BaseModel):
    orders: list[OrderSummaryOut]


class CatalogueOut(BaseModel):
    """How many of each were written, and what allocating waiting orders did afterwards."""

    warehouses: int
    locations: int
    products: int
    stock: int
    allocation: dict[str, int] = Field(description="waiting orders by status after allocating")


class StockRowOut(BaseModel):
    warehouse: str
    location: str
    sku: str
    lot: str = Field("", description="empty for stock that is not lot-tracked")
    expires: str | None = None
    on_hand: int
    reserved: int
    free: int


class StockListOut(BaseModel):
    stock: list[StockRowOut]


class AccountingQuery(Query):
    sku: Code | None = None


class SkuAccountOut(BaseModel):
    sku: str
    received: int = Field(description="receipts + initial + found + returned")
    receipts: int = Field(description="units booked in by stock receipts")
    initial: int = Field(description="units set by the catalogue (PUT /api/stock, imports), net")
    found: int = Field(description="units counts found (corrections up)")
    returned: int = Field(description="units received on returns, every grade")
    shipped: int = Field(description="units picked for shipments that left the building")
    on_hand: int = Field(description="in_bins + in_totes + awaiting_putaway")
    in_bins: int = Field(description="what the bins hold (a picked unit until it ships)")
    in_totes: int = Field(description="picked, off its bin, its shipment not shipped yet")
    awaiting_putaway: int = Field(description="in open put-away tasks")
    in_transit: int = Field(description="sent between warehouses, not received yet")
    scrapped: int = Field(description="lost + returned_scrap + transit_lost")
    lost: int = Field(description="units counts did not find (corrections down)")
    returned_scrap: int = Field(description="returned units graded scrap")
    transit_lost: int = Field(
        description="units a transfer shipped and the other warehouse never received (short)"
    )
    missing: int = Field(description="received less (shipped + on hand + in transit + scrapped)")
    holds: bool = Field(description="received = shipped + on hand + in transit + scrapped")


class AccountingOut(BaseModel):
    skus: list[SkuAccountOut]
    holds: bool = Field(description="every SKU's account holds")
    unbalanced: list[str] = Field(description="the SKUs whose account does not hold")
    summary: str = Field(
        description="'every unit accounted for (N SKUs)', or the SKUs that are not"
    )


class StockPutOut(BaseModel):
    stock: StockRowOut
    allocation: dict[str, int] = Field(description="waiting orders by status after allocating")


class PickListSummaryOut(BaseModel):
    id: int
    ref: str = Field(description="the barcode printed on the pick list")
    warehouse: str
    status: PickListStatus
    tote: str | None
    priority: int
    device: str | None
    units: int
    picked: int
    orders: list[str]
    created_at: str


class PickListsOut(BaseModel):
    pick_lists: list[PickListSummaryOut]


class PickListOut(PickListSummaryOut):
    steps: list[Step] = Field(description="the steps in walking order")


class DeviceOut(BaseModel):
    id: int
    name: str
    role: Literal["picker", "packer"]
    warehouse: str
    connected: bool
    last_seen: str | None
    worker: str | None = Field(description="the user signed in by badge, null when nobody is")
    revoked: bool = Field(description="its token was revoked: it can no longer connect")
    state: DeviceState = Field(description="the screen the device should show now")


class DeviceListOut(BaseModel):
    devices: list[DeviceOut]


class EnrolledDevice(BaseModel):
    name: str
    role: Literal["picker", "packer"]
    token: str = Field(description="the device token, shown this once (stored hashed)")


class EnrolledOut(BaseModel):
    devices: list[EnrolledDevice]


class DeviceRevokedOut(BaseModel):
    name: str
    revoked: bool
    released_pick_lists: list[int] = Field(
        description="pick lists it held, back in the queue at the step reached"
    )


class DeviceRotatedOut(BaseModel):
    name: str
    token: str = Field(description="the new device token, shown this once (stored hashed)")
    released_pick_lists: list[int]


class StatsOut(BaseModel):
    orders: dict[str, int] = Field(description="orders by status")
    scans: int
    wrong_scans: int
    labels_printed: int
    print_failures: int
    packages_confirmed: int


# ---------------------------------------------------------------- receipts, cancels, channels
class ReceiptOut(BaseModel):
    receipt_id: str | None
    repeated: bool = Field(
        description="true when this receipt id was booked before: nothing changed"
    )
    stock: list[StockRowOut] = Field(description="the received bins as they are now")
    allocation: dict[str, int] = Field(description="waiting orders by status after allocating")


class CorrectionOut(BaseModel):
    stock: StockRowOut | None
    released: int = Field(description="reserved units the count could no longer cover")
    allocation: dict[str, int] = Field(description="waiting orders by status after allocating")


class ChannelOut(BaseModel):
    code: str
    allow_split: bool
    allow_partial: bool
    shopify: bool = Field(False, description="a Shopify webhook secret is set (never returned)")


class ChannelListOut(BaseModel):
    channels: list[ChannelOut]
    default: ChannelOut = Field(description="the policy of a channel not listed")


class PutawayQuery(Query):
    status: Literal["open", "done"] | None = None
    warehouse: Code | None = None


class PutawayTaskOut(BaseModel):
    id: int
    warehouse: str
    order_id: str | None
    location: str = Field(
        description="the bin the units go to unless another is named: where a cancelled pick's "
        "units came from, or the bin suggested for a returned or transferred unit (the one "
        "holding most of the SKU)"
    )
    sku: str
    lot: str
    expires: str | None
    qty: int
    tote: str | None
    reason: str
    status: Literal["open", "done"]
    put_location: str | None
    created_at: str
    done_at: str | None


class PutawayListOut(BaseModel):
    tasks: list[PutawayTaskOut]


class ShortPickQuery(Query):
    warehouse: str | None = None
    limit: int = Field(100, ge=1, le=1000)


class ShortPickOut(BaseModel):
    id: int
    warehouse: str
    location: str = Field(description="the bin found short (now sent for a count)")
    sku: str
    order_id: str
    device: str
    pick_list_id: int
    wanted: int = Field(description="units the step still needed from the bin")
    found: int
    reason: str
    outcome: Literal["same_warehouse", "other_warehouse", "backordered", "replenishing"]
    at: str


class ShortPickListOut(BaseModel):
    short_picks: list[ShortPickOut]


class ReprintOut(BaseModel):
    package_id: int
    job_id: int
    device: str


class HeldPackageOut(BaseModel):
    """A package weighed outside its tolerance, waiting on its bench for a check."""

    package_id: int
    order_id: str
    tracking: str
    box: str | None = Field(description="the box's code, as chosen at the bench")
    measured_g: int = Field(description="what the bench's scale said (the last time)")
    expected_g: int = Field(description="items + the box's tare")
    tolerance_g: int
    held_at: str
    device: str | None = Field(description="the pack station it waits at")


class HeldPackagesOut(BaseModel):
    packages: list[HeldPackageOut]


class ReleaseOut(BaseModel):
    """The held package was accepted as weighed: confirmed, its order packed if complete."""

    package_id: int
    status: str = Field(description="the package's status now: confirmed")
    order_status: str
    device: str | None = Field(description="the pack station whose bench it left")


# ---------------------------------------------------------------- shops: webhooks in and out
class ShopifyAnswerOut(BaseModel):
    """What a Shopify webhook did. A resend (same X-Shopify-Webhook-Id) answers as the first."""

    status: Literal["accepted", "ignored"]
    result: str = Field(description="in words: created, repeated, cancelled, ship_to_changed, ...")
    order: str | None = Field(description="our order id, when the webhook was about one we have")
    duplicate: bool = Field(description="this webhook id was taken before: nothing changed")


class InboundQuery(Query):
    status: Literal["accepted", "rejected", "ignored"] | None = None
    channel: Code | None = None
    limit: int = Field(100, ge=1, le=1000)


class ProblemOut(BaseModel):
    field: str
    message: str


class InboundWebhookOut(BaseModel):
    id: int
    source: Literal["shopify"]
    channel: str
    topic: str
    webhook_id: str | None
    shop_order_id: str | None
    order_id: str | None = Field(description="our order id")
    status: Literal["accepted", "rejected", "ignored"]
    result: str
    problems: list[ProblemOut] = Field(description="why it was rejected, every problem")
    body: str | None = Field(description="the body as received, kept while rejected")
    times: int = Field(description="how often the shop sent it")
    received_at: str
    updated_at: str


class InboundListOut(BaseModel):
    webhooks: list[InboundWebhookOut]


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    channel: str | None = Field(description="only this channel's orders; null: all")
    created_at: str
    pending: int = Field(description="deliveries not yet taken by the receiver")
    dead: int = Field(description="deliveries that gave up: retry them by hand")


class SubscriptionMadeOut(SubscriptionOut):
    secret: str | None = Field(
        None, description="the signing secret, when the server made it: shown this once"
    )


class SubscriptionListOut(BaseModel):
    subscriptions: list[SubscriptionOut]


class UnsubscribedOut(BaseModel):
    id: int
    dropped: int = Field(description="deliveries it had not made, now dropped")


class DeliveryQuery(Query):
    status: Literal["pending", "delivered", "dead", "dropped"] | None = None
    subscription: int | None = Field(None, ge=1, le=2**63 - 1)
    order: Code | None = Field(None, description="our order id")
    limit: int = Field(100, ge=1, le=1000)


class DeliveryOut(BaseModel):
    id: int
    subscription: int
    url: str
    order_id: str
    event: str
    msg_id: str = Field(description="the webhook-id header, the same on every attempt")
    status: Literal["pending", "delivered", "dead", "dropped"]
    attempts: int
    next_at: str | None = Field(description="when it is tried next (pending)")
    first_attempt_at: str | None
    last_attempt_at: str | None
    last_error: str | None = Field(
        description="why the last attempt failed, in our words: the status "
        "(`HTTP 503 Service Unavailable`) or a short reason (`timed out`, `connection refused`, "
        "`refused: ...` for an address webhooks may not go to); never what the receiver wrote"
    )
    created_at: str
    delivered_at: str | None
    payload: dict = Field(description="the JSON posted: type, timestamp, data")


class DeliveryListOut(BaseModel):
    deliveries: list[DeliveryOut]


class OrderRefQuery(Query):
    channel: Code | None = Field(
        None, description="the channel whose order id this is (needed when several use it)"
    )


# ---------------------------------------------------------------- carriers: tracking events in
class TrackingResultOut(BaseModel):
    """What became of one tracking event."""

    id: str = Field(description="the carrier's event id, as sent")
    tracking: str
    result: Literal["accepted", "duplicate", "unknown_tracking", "wrong_carrier"] = Field(
        description="accepted: kept and applied; duplicate: this event id was taken before, "
        "nothing changed; unknown_tracking: no package has this tracking number; "
        "wrong_carrier: another carrier carries that package. The last two are not kept."
    )
    order: str | None = Field(description="our order id, when the package is known")
    status: str | None = Field(description="the order's status after the event")


class TrackingAnswerOut(BaseModel):
    """One result per event sent, in the order sent."""

    results: list[TrackingResultOut]
    accepted: int = Field(description="events kept and applied by this request")


class ServiceOut(BaseModel):
    name: str
    transit_days: int


class CarrierOut(BaseModel):
    name: str = Field(description="its name in config and URLs: `local`")
    title: str = Field(description="printed on labels and manifests")
    services: list[ServiceOut]
    default: bool = Field(description="packages go with it unless the order names another")
    dock_card: str = Field(description="the card a pack station in dock mode scans for it")


class CarrierListOut(BaseModel):
    carriers: list[CarrierOut]


class ManifestPackageOut(BaseModel):
    package_id: int
    tracking: str
    sscc: str
    order_id: str
    order: str = Field(description="the shop's order number (#1043), else our order id")
    service: str
    weight_g: int
    rate_cents: int | None
    postcode: str
    country: str
    state: Literal["waiting", "loaded", "missing"] = Field(
        description="waiting: not yet scanned at the dock; loaded: on the truck (shipped); "
        "missing: not scanned when the truck left"
    )
    loaded_at: str | None
    loaded_by: str | None = Field(description="the pack station that scanned it at the dock")


class ManifestOut(BaseModel):
    """A carrier's manifest: `closed` until its truck leaves (`departed`)."""

    id: int
    carrier: str
    carrier_title: str
    warehouse: str
    status: Literal["closed", "departed"]
    created_at: str
    departed_at: str | None
    count: int
    weight_g: int
    loaded: int
    missing: int
    packages: list[ManifestPackageOut]
    csv_url: str
    page_url: str


class ManifestQuery(Query):
    warehouse: Code | None = None
    status: Literal["closed", "departed"] | None = None
    limit: int = Field(100, ge=1, le=1000)


class ManifestSummaryOut(BaseModel):
    id: int
    carrier: str
    warehouse: str
    status: Literal["closed", "departed"]
    created_at: str
    departed_at: str | None
    count: int
    loaded: int
    missing: int
    csv_url: str
    page_url: str


class ManifestListOut(BaseModel):
    """Newest first."""

    manifests: list[ManifestSummaryOut]
