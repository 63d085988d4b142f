"""Carriers: the interface every carrier offers, and the built-in `local` one."""

from server.shipping.domain.carriers.base import (
    MANIFEST_COLUMNS,
    Carrier,
    LatLon,
    ManifestLine,
    Rate,
    RateError,
    ServiceLevel,
    choose_service,
    manifest_csv,
    manifest_rows,
    service_named,
)
from server.shipping.domain.carriers.local import LocalCarrier, rate_table_problems

__all__ = [
    "MANIFEST_COLUMNS",
    "Carrier",
    "LatLon",
    "LocalCarrier",
    "ManifestLine",
    "Rate",
    "RateError",
    "ServiceLevel",
    "choose_service",
    "manifest_csv",
    "manifest_rows",
    "rate_table_problems",
    "service_named",
]
