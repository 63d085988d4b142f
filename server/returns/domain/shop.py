"""A shop's refund as a return: Shopify's `refunds/create` webhook, read.

Shopify sends `refunds/create` when a merchant refunds an order; each refund line item says
how its goods are restocked (`restock_type`). Only `return` lines are goods coming back to
us (`cancel` is for goods never sent, `no_restock` keeps nothing): those become the lines of
the return, found by their line item's `sku`. A refund with no `return` line is no return.
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


class Refund(_Shopify):
    id: int = Field(ge=1, le=MAX_ID)
    order_id: int = Field(ge=1, le=MAX_ID)
    note: str | None = None
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
