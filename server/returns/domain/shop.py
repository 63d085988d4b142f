"""A shop's refund or return: Shopify's `refunds/create` and `returns/*` webhooks, read.

Shopify sends `refunds/create` when a merchant refunds an order; each refund line item says
how its goods are restocked (`restock_type`). Only `return` lines are goods coming back to
us (`cancel` is for goods never sent, `no_restock` keeps nothing): those become the lines of
the return, found by their line item's `sku`. A refund with no `return` line is no return.
A refund made from one of Shopify's own returns names it (`return`): its goods are that
return's, so both find the same RMA by the return's id.

Shopify's own returns (`returns/*`) are read here too: see RETURN_TOPICS below.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.core.schemas import MAX_ID

TOPIC = "refunds/create"


class _Shopify(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Shopify sends far more than we read


class RefundedItem(_Shopify):
    id: int | None = Field(None, ge=0, le=MAX_ID)
    sku: str | None = None


class RefundLine(_Shopify):
    quantity: int = Field(ge=0, le=1_000_000)
    restock_type: str | None = None
    line_item: RefundedItem


class _ReturnRef(_Shopify):
    id: int = Field(ge=1, le=MAX_ID)


class Refund(_Shopify):
    id: int = Field(ge=1, le=MAX_ID)
    order_id: int = Field(ge=1, le=MAX_ID)
    note: str | None = None
    # The Shopify return this refund settles (null for a refund made on its own): its goods
    # are that return's, authorised once under the return's id.
    return_: _ReturnRef | None = Field(None, alias="return")
    refund_line_items: list[RefundLine] = Field(default_factory=list, max_length=500)


def parse(payload: Any) -> tuple[Refund | None, list[tuple[str, str]]]:
    """The refund from a decoded webhook body, or every problem with it (in Shopify's names)."""
    try:
        return Refund.model_validate(payload), []
    except ValidationError as exc:
        return None, [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]


def returned_lines(refund: Refund) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """(SKU, units) of the refund's `return` lines, and the problems (a returned line with no SKU)."""
    lines: list[tuple[str, int]] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(refund.refund_line_items):
        if item.restock_type != "return" or item.quantity == 0:
            continue
        if not item.line_item.sku:
            problems.append(
                (f"refund_line_items[{i}].line_item.sku", "missing: we find goods by SKU")
            )
            continue
        lines.append((item.line_item.sku, item.quantity))
    return lines, problems


# Shopify's own returns (the `returns/*` topics). A return is requested by the customer (or
# made by the merchant, already open), approved (`open`), then closed once the shop has done
# with it; a requested one may be declined, an open one cancelled or closed and reopened.
# Only an approved return sends goods back to us. Its lines name the order's line items by
# Shopify's id (through the fulfillment line item), never by SKU.
RETURN_TOPICS = (
    "returns/request",
    "returns/approve",
    "returns/decline",
    "returns/cancel",
    "returns/close",
    "returns/reopen",
    "returns/process",
    "returns/update",
)


class _LineItemRef(_Shopify):
    id: int = Field(ge=1, le=MAX_ID)


class _FulfillmentLineItem(_Shopify):
    line_item: _LineItemRef


class ReturnLine(_Shopify):
    id: int | None = Field(None, ge=1, le=MAX_ID)  # the ReturnLineItem: returns/update names it
    quantity: int = Field(ge=0, le=1_000_000)
    fulfillment_line_item: _FulfillmentLineItem | None = None
    line_item: _LineItemRef | None = None  # an unverified return line names it directly
    return_reason: str | None = None


class _OrderRef(_Shopify):
    id: int = Field(ge=1, le=MAX_ID)


class ShopReturn(_Shopify):
    """A return as `returns/request` and `returns/approve` send it."""

    id: int = Field(ge=1, le=MAX_ID)
    status: str
    name: str | None = None
    order: _OrderRef
    return_line_items: list[ReturnLine] = Field(default_factory=list, max_length=500)


class _Decline(_Shopify):
    reason: str | None = None
    note: str | None = None


class ReturnChange(_Shopify):
    """A return's new state as `returns/decline`, `/cancel`, `/close`, `/reopen` and
    `/process` send it: its id, and the order's id where Shopify gives it."""

    id: int = Field(ge=1, le=MAX_ID)
    status: str | None = None
    order_id: int | None = Field(None, ge=1, le=MAX_ID)
    decline: _Decline | None = None


def parse_as(model: type[BaseModel], payload: Any) -> tuple[Any, list[tuple[str, str]]]:
    """`payload` read as `model`, or every problem with it (in Shopify's names)."""
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]


def return_key(channel: str, return_id: int) -> str:
    """The RMA's external id for a Shopify return: a refund of the same return finds it."""
    return f"{channel}:return:{return_id}"


def return_lines(
    found: ShopReturn, skus: dict[str, str]
) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """(SKU, units) of the return's lines through the order's line items (`skus`: Shopify's
    line item id to our SKU), and the problems (a line item the order did not have)."""
    lines: list[tuple[str, int]] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(found.return_line_items):
        if item.quantity == 0:
            continue
        ref = item.fulfillment_line_item.line_item if item.fulfillment_line_item else item.line_item
        where = f"return_line_items[{i}]"
        if ref is None:
            problems.append((f"{where}.fulfillment_line_item", "missing: it names the goods"))
        elif str(ref.id) not in skus:
            problems.append(
                (
                    f"{where}.fulfillment_line_item.line_item.id",
                    f"line item {ref.id} is not one of the order's goods we shipped",
                )
            )
        else:
            lines.append((skus[str(ref.id)], item.quantity))
    return lines, problems


def line_ids(found: ShopReturn, skus: dict[str, str]) -> list[tuple[str, str, int]]:
    """(ReturnLineItem id, SKU, units) of each return line that carries its id: the lines a
    later `returns/update` names."""
    out = []
    for item in found.return_line_items:
        ref = item.fulfillment_line_item.line_item if item.fulfillment_line_item else item.line_item
        if item.id is not None and ref is not None and str(ref.id) in skus:
            out.append((str(item.id), skus[str(ref.id)], item.quantity))
    return out


class LineChange(_Shopify):
    """One return line item changed by `returns/update`: its ReturnLineItem gid and the units
    (`delta`) taken off or put on. A line new to the return names its order line item too."""

    admin_graphql_api_id: str = Field(pattern=r"^gid://shopify/ReturnLineItem/[1-9][0-9]{0,18}$")
    delta: int = Field(ge=1, le=1_000_000)
    fulfillment_line_item: _FulfillmentLineItem | None = None
    line_item: _LineItemRef | None = None

    @property
    def line_id(self) -> str:
        """Shopify's ReturnLineItem id (the number at the end of its gid)."""
        return self.admin_graphql_api_id.rsplit("/", 1)[1]


class LineChanges(_Shopify):
    """The return's line changes: units taken off (`removals`) and put on (`additions`). Any
    other kind of change is refused as not understood (`extra="forbid"`): a kind we do not
    read would otherwise be dropped without a word."""

    model_config = ConfigDict(extra="forbid")

    removals: list[LineChange] = Field(default_factory=list, max_length=500)
    additions: list[LineChange] = Field(default_factory=list, max_length=500)


class ReturnUpdate(_Shopify):
    """A return's lines changed, as `returns/update` sends it: the return's gid (Shopify sends
    no numeric id) and its line changes, both required: a body without them is not one we
    understand. The fee changes Shopify sends beside them (`restocking_fees`,
    `return_shipping_fees`, `exchange_line_items`) are the shop's money, not goods: not read."""

    admin_graphql_api_id: str = Field(pattern=r"^gid://shopify/Return/[1-9][0-9]{0,18}$")
    return_line_items: LineChanges

    @property
    def id(self) -> int:
        """Shopify's return id, as `returns/approve` gives it."""
        return int(self.admin_graphql_api_id.rsplit("/", 1)[1])


def changed_lines(
    kept: dict[str, tuple[str, int]], update: ReturnUpdate, skus: dict[str, str]
) -> tuple[dict[str, tuple[str, int]], list[tuple[str, str]]]:
    """The return's lines (ReturnLineItem id to SKU and units) after `update`, and every
    problem: a removal of a line the return does not have or of more units than it holds, an
    addition of a new line that names no line item of the order's shipped goods (`skus`)."""
    lines = dict(kept)
    problems: list[tuple[str, str]] = []
    for i, change in enumerate(update.return_line_items.removals):
        where = f"return_line_items.removals[{i}]"
        if change.line_id not in lines:
            problems.append(
                (f"{where}.admin_graphql_api_id",
                 f"return line item {change.line_id} is not one of this return's lines")
            )  # fmt: skip
            continue
        sku, qty = lines[change.line_id]
        if change.delta > qty:
            problems.append(
                (f"{where}.delta",
                 f"{change.delta} of return line item {change.line_id} removed, it holds {qty}")
            )  # fmt: skip
            continue
        lines[change.line_id] = (sku, qty - change.delta)
    for i, change in enumerate(update.return_line_items.additions):
        where = f"return_line_items.additions[{i}]"
        if change.line_id in lines:
            sku, qty = lines[change.line_id]
            lines[change.line_id] = (sku, qty + change.delta)
            continue
        ref = change.fulfillment_line_item.line_item if change.fulfillment_line_item else None
        ref = ref or change.line_item
        if ref is None:
            problems.append(
                (f"{where}.fulfillment_line_item",
                 "missing: a line new to the return names the order's line item")
            )  # fmt: skip
        elif str(ref.id) not in skus:
            problems.append(
                (f"{where}.fulfillment_line_item.line_item.id",
                 f"line item {ref.id} is not one of the order's goods we shipped")
            )  # fmt: skip
        else:
            lines[change.line_id] = (skus[str(ref.id)], change.delta)
    return lines, problems


# A return authorised before its return line ids were kept (migration 0039) keeps its lines
# one per SKU under this prefix (a Shopify id is a number: never one of these).
POOLED = "sku:"


def pooled_lines(
    pools: dict[str, int], update: ReturnUpdate, skus: dict[str, str]
) -> tuple[dict[str, tuple[str, int]], list[tuple[str, str]], list[str]]:
    """The lines of a return kept per SKU (`pools`: units per SKU; the return's line ids were
    never kept) after `update`, keyed `sku:<SKU>`; every problem; and the return line items
    whose SKU cannot be told (they name no order line item and the return holds several SKUs):
    with any of those, nothing may be applied. A change finds its SKU through the order's line
    item it names, else it is the return's only SKU."""
    only = next(iter(pools)) if len(pools) == 1 else None
    units = dict(pools)
    problems: list[tuple[str, str]] = []
    unknown: list[str] = []
    changes = update.return_line_items
    for kind, listed in (("removals", changes.removals), ("additions", changes.additions)):
        for i, change in enumerate(listed):
            where = f"return_line_items.{kind}[{i}]"
            ref = change.fulfillment_line_item.line_item if change.fulfillment_line_item else None
            ref = ref or change.line_item
            if ref is not None and str(ref.id) not in skus:
                problems.append(
                    (f"{where}.fulfillment_line_item.line_item.id",
                     f"line item {ref.id} is not one of the order's goods we shipped")
                )  # fmt: skip
                continue
            sku = skus[str(ref.id)] if ref is not None else only
            if sku is None:
                unknown.append(change.line_id)
                continue
            if kind == "additions":
                units[sku] = units.get(sku, 0) + change.delta
            elif change.delta > units.get(sku, 0):
                problems.append(
                    (f"{where}.delta",
                     f"{change.delta} of {sku} removed, the return holds {units.get(sku, 0)}")
                )  # fmt: skip
            else:
                units[sku] -= change.delta
    return {f"{POOLED}{sku}": (sku, n) for sku, n in sorted(units.items())}, problems, unknown
