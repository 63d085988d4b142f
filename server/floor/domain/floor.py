"""What the floor's domain works on: pick lists and their steps, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.picking import gtin_key, is_tote, matches_item, parse_pick_list_ref, pick_list_ref

__all__ = [
    "PickList",
    "Step",
    "gtin_key",
    "is_tote",
    "matches_item",
    "parse_pick_list_ref",
    "pick_list_ref",
]


@dataclass(frozen=True)
class Step:
    """One pick step: take qty of a SKU from a location for an order, into its tote."""

    step_id: int
    seq: int
    order_id: str
    location: str
    location_barcode: str
    sku: str
    product_name: str
    item_barcodes: tuple[str, ...]
    qty: int
    picked: int = 0
    at_location: bool = False
    verified: int = 0
    put: int = 0
    lot: str = ""

    @property
    def open(self) -> bool:
        return self.put < self.qty


@dataclass(frozen=True)
class PickList:
    """A pick list; `totes` maps each order on the cart to its tote (once scanned)."""

    list_id: int
    status: str
    tote: str | None
    steps: tuple[Step, ...] = field(default_factory=tuple)
    orders: tuple[str, ...] = ()  # cart position order
    totes: dict[str, str] = field(default_factory=dict)
    cart_away: bool = False  # given back mid-pick: its cart is where the last picker left it
    reships: dict[str, str] = field(default_factory=dict)  # order -> lost parcel's tracking

    @property
    def ref(self) -> str:
        return pick_list_ref(self.list_id)

    @property
    def order_ids(self) -> list[str]:
        return list(self.orders) or sorted({s.order_id for s in self.steps})

    def current(self) -> Step | None:
        """The first step whose units are not all in their tote."""
        return next((s for s in self.steps if s.open), None)

    def for_order(self, order_id: str) -> PickList:
        """The same list narrowed to one order's steps (a packer's bench)."""
        steps = tuple(s for s in self.steps if s.order_id == order_id)
        tote = self.totes.get(order_id)
        return PickList(
            self.list_id, self.status, tote, steps, (order_id,), {order_id: tote} if tote else {},
            reships={o: t for o, t in self.reships.items() if o == order_id},
        )  # fmt: skip
