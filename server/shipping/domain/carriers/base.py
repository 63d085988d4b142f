"""What every carrier offers the floor: services, rates, tracking numbers, labels, manifests.

A carrier is a plain object behind the `Carrier` protocol; the registry builds
one per `[carriers.<name>]` table of the config (its `kind` picks the class).
Nothing here does IO: rates come from the config, tracking numbers from a
serial the store hands out, labels are ZPL text, manifests are rows.

Which service a package gets (`choose_service`), first that applies:
1. the service the order names (the shop sold it: `express`);
2. the channel's default service (config `shipping.channel_services`);
3. the cheapest service whose transit days bring it by the order's
   `promised_by` date (calendar days from the day it is packed); when none
   can, the fastest; with no promised date, the cheapest.
A service the carrier does not offer is skipped to the next rule.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

from server.shipping.domain.labels import ShippingLabel

LatLon = tuple[float, float]

# Manifest columns, in order: what a driver's scanner list and the carrier's import read.
MANIFEST_COLUMNS = (
    "tracking",
    "sscc",
    "order",
    "service",
    "weight_kg",
    "postcode",
    "country",
    "rate",
)


class RateError(ValueError):
    """A rate cannot be given (a service the carrier does not offer)."""


@dataclass(frozen=True)
class ServiceLevel:
    """A carrier's service: its name as orders and labels say it, and days in transit."""

    name: str
    transit_days: int


@dataclass(frozen=True)
class Rate:
    """What one package costs with one service of one carrier."""

    carrier: str
    service: str
    zone: int
    cents: int
    transit_days: int


@dataclass(frozen=True)
class ManifestLine:
    """One package as a manifest lists it."""

    tracking: str
    sscc: str
    order: str  # the shop's number (#1043), else our order id
    service: str
    weight_g: int
    postcode: str
    country: str
    rate_cents: int | None


@runtime_checkable
class Carrier(Protocol):
    """A carrier the floor hands packages to."""

    name: str  # the registry key: `local`
    title: str  # printed on labels and manifests: `SCANFLOOR LOCAL`

    def services(self) -> tuple[ServiceLevel, ...]:
        """Its services, in the order they are listed."""
        ...

    def rate(
        self, weight_g: int, origin: LatLon | None, destination: LatLon | None, service: str
    ) -> Rate:
        """The rate of a package of `weight_g` from `origin` to `destination` with `service`."""
        ...

    def tracking_number(self, serial: int) -> str:
        """The tracking number for the carrier's `serial`-th package."""
        ...

    def is_tracking(self, value: str) -> bool:
        """Whether `value` is one of its tracking numbers (check digit included)."""
        ...

    def looks_like_tracking(self, value: str) -> bool:
        """Whether `value` has the shape of its tracking numbers, right check digit or not."""
        ...

    def label(self, label: ShippingLabel, rate: Rate, dpi: int) -> str:
        """The package's label in its own layout, as ZPL."""
        ...

    def manifest(self, lines: Sequence[ManifestLine]) -> list[dict[str, str]]:
        """The manifest's rows, one per package, keyed by `MANIFEST_COLUMNS`."""
        ...


def service_named(carrier: Carrier, name: str | None) -> ServiceLevel | None:
    """The carrier's service called `name` (any case), or None."""
    if not name:
        return None
    return next((s for s in carrier.services() if s.name == name.lower()), None)


def choose_service(
    carrier: Carrier,
    weight_g: int,
    origin: LatLon | None,
    destination: LatLon | None,
    *,
    wanted: str | None = None,
    channel_default: str | None = None,
    promised_by: date | None = None,
    today: date,
) -> tuple[Rate, str]:
    """The rate of the service a package gets, and why (`order`, `channel`, `promised`, `cheapest`)."""
    for name, why in ((wanted, "order"), (channel_default, "channel")):
        service = service_named(carrier, name)
        if service is not None:
            return carrier.rate(weight_g, origin, destination, service.name), why
    rates = [carrier.rate(weight_g, origin, destination, s.name) for s in carrier.services()]
    if not rates:
        raise RateError(f"carrier {carrier.name} offers no service")
    if promised_by is None:
        return min(rates, key=lambda r: (r.cents, r.transit_days)), "cheapest"
    in_time = [r for r in rates if today + timedelta(days=r.transit_days) <= promised_by]
    if in_time:
        return min(in_time, key=lambda r: (r.cents, r.transit_days)), "promised"
    return min(rates, key=lambda r: (r.transit_days, r.cents)), "fastest"


def manifest_rows(lines: Sequence[ManifestLine]) -> list[dict[str, str]]:
    """Rows in `MANIFEST_COLUMNS` order: the common manifest a carrier may use as it is."""
    return [
        {
            "tracking": x.tracking,
            "sscc": x.sscc,
            "order": x.order,
            "service": x.service.upper(),
            "weight_kg": f"{x.weight_g / 1000:.3f}",
            "postcode": x.postcode,
            "country": x.country,
            "rate": "" if x.rate_cents is None else f"{x.rate_cents / 100:.2f}",
        }
        for x in lines
    ]


def manifest_csv(rows: Sequence[dict[str, str]]) -> str:
    """The rows as CSV text with a header line (RFC 4180: CRLF line ends, quotes as needed)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        # A cell starting =, +, - or @ is a formula to a spreadsheet: quote it as text.
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def _safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
