"""Bodies the REST API and the importer accept, defined once; OpenAPI comes from these."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
OptText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
BarcodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(Body):
    name: Text
    line1: Text
    line2: OptText = ""
    city: Text
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20, strip_whitespace=True)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2"
    )
    phone: OptText = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class OrderLineIn(Body):
    sku: Code
    qty: int = Field(gt=0, le=10_000)


class OrderIn(Body):
    """An order from a shop. `order_id` is the shop's id and the idempotency key."""

    order_id: Code
    channel: Code = "web"
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    ship_to: AddressIn
    priority: int = Field(0, ge=0, le=9, description="9 is most urgent")
    promised_by: datetime | None = None


class WarehouseIn(Body):
    code: Code
    name: Text
    address: AddressIn
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class LocationIn(Body):
    warehouse: Code
    code: Code = Field(description="e.g. A-03-02")
    barcode: BarcodeText | None = Field(None, description="defaults to the code")
    zone: OptText = ""
    aisle: int = Field(0, ge=0)
    bay: int = Field(0, ge=0)
    level: int = Field(0, ge=0)


class ProductIn(Body):
    sku: Code
    name: Text
    barcodes: list[BarcodeText] = Field(default_factory=list, description="GTINs and other codes")
    weight_g: int = Field(0, ge=0)
    length_mm: int = Field(0, ge=0)
    width_mm: int = Field(0, ge=0)
    height_mm: int = Field(0, ge=0)


class StockIn(Body):
    """Set the quantity on hand of a SKU in a location."""

    warehouse: Code
    location: Code
    sku: Code
    on_hand: int = Field(ge=0)


class CatalogueIn(Body):
    """Everything at once: what `scanfloor import` and `POST /api/catalogue` take."""

    warehouses: list[WarehouseIn] = Field(default_factory=list)
    locations: list[LocationIn] = Field(default_factory=list)
    products: list[ProductIn] = Field(default_factory=list)
    stock: list[StockIn] = Field(default_factory=list)


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


class OrderOut(BaseModel):
    id: str
    order_id: str
    channel: str
    status: Literal[
        "received",
        "backordered",
        "allocated",
        "picking",
        "picked",
        "packed",
        "shipped",
        "cancelled",
    ]
    priority: int
    promised_by: str | None
    warehouse: str | None
    ship_to: dict
    lines: list[OrderLineOut]
    packages: list[dict]
    timeline: list[OrderEventOut]
