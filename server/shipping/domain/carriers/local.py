"""The built-in `local` carrier: our own vans, priced from the config.

- Services: named levels with days in transit (`economy` 5, `standard` 3,
  `express` 1 by default).
- Zones: by great-circle distance from the warehouse to the ship-to, in bands
  (`zone_km = [150, 600, 1500]`: zone 1 up to 150 km, 2 up to 600, 3 up to
  1,500, 4 beyond). A ship-to without coordinates is in the last zone: the
  dearest, so a quote never comes out too low.
- Rates: per service, one row per zone, one price (cents) per weight band
  (`weight_g = [500, 2000, 5000, 10000, 30000]`: up to 0.5 kg, 2 kg, ...).
  A package heavier than the last band pays the last band's price for every
  started last-band weight (45 kg = 2 x the 30 kg price).
- Tracking numbers: prefix, 9-digit serial, GS1 mod-10 check digit
  (`SF0000000420`), the form `server.shipping.domain.labels.make_tracking` writes.
- Label: the house 4x6 label with the zone in large type under the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from server.core.geo import great_circle_km
from server.shipping.domain.carriers.base import (
    LatLon,
    ManifestLine,
    Rate,
    RateError,
    ServiceLevel,
    manifest_rows,
)
from server.shipping.domain.labels import (
    ShippingLabel,
    is_valid_tracking,
    make_tracking,
    render_zpl,
)

DEFAULT_SERVICES = (
    ServiceLevel("economy", 5),
    ServiceLevel("standard", 3),
    ServiceLevel("express", 1),
)
DEFAULT_ZONE_KM = (150.0, 600.0, 1500.0)
DEFAULT_WEIGHT_G = (500, 2000, 5000, 10000, 30000)
DEFAULT_RATES: dict[str, tuple[tuple[int, ...], ...]] = {
    "economy": (
        (450, 550, 750, 1100, 1900),
        (520, 640, 880, 1300, 2250),
        (600, 750, 1050, 1550, 2700),
        (700, 880, 1250, 1850, 3200),
    ),
    "standard": (
        (550, 650, 900, 1300, 2200),
        (650, 780, 1080, 1550, 2650),
        (760, 920, 1280, 1850, 3150),
        (890, 1080, 1500, 2200, 3750),
    ),
    "express": (
        (900, 1050, 1400, 1950, 3200),
        (1100, 1280, 1700, 2400, 3900),
        (1300, 1520, 2050, 2900, 4700),
        (1550, 1800, 2450, 3450, 5600),
    ),
}
_SHAPE = re.compile(r"([A-Z]{1,4})(\d{10})")


@dataclass(frozen=True)
class LocalCarrier:
    """Our own delivery service, zones by distance and rates by weight from the config."""

    name: str = "local"
    title: str = "SCANFLOOR LOCAL"
    tracking_prefix: str = "SF"
    service_levels: tuple[ServiceLevel, ...] = DEFAULT_SERVICES
    zone_km: tuple[float, ...] = DEFAULT_ZONE_KM
    weight_g: tuple[int, ...] = DEFAULT_WEIGHT_G
    rates: Mapping[str, tuple[tuple[int, ...], ...]] = field(
        default_factory=lambda: dict(DEFAULT_RATES)
    )

    def __post_init__(self) -> None:
        for problem in rate_table_problems(
            [s.name for s in self.service_levels], self.zone_km, self.weight_g, self.rates
        ):
            raise ValueError(f"carrier {self.name}: {problem}")
        make_tracking(self.tracking_prefix, 0)  # a bad prefix fails here, not at packing

    def services(self) -> tuple[ServiceLevel, ...]:
        return self.service_levels

    def zone(self, origin: LatLon | None, destination: LatLon | None) -> int:
        """1 for the nearest band, len(zone_km) + 1 beyond the last (and for no coordinates)."""
        last = len(self.zone_km) + 1
        if origin is None or destination is None:
            return last
        km = great_circle_km(*origin, *destination)
        return next((i + 1 for i, limit in enumerate(self.zone_km) if km <= limit), last)

    def rate(
        self, weight_g: int, origin: LatLon | None, destination: LatLon | None, service: str
    ) -> Rate:
        level = next((s for s in self.service_levels if s.name == service), None)
        if level is None:
            offered = ", ".join(s.name for s in self.service_levels)
            raise RateError(f"{self.name} has no service {service!r} (it has {offered})")
        if weight_g < 0:
            raise RateError(f"weight cannot be negative: {weight_g}")
        zone = self.zone(origin, destination)
        row = self.rates[service][zone - 1]
        band = next((i for i, limit in enumerate(self.weight_g) if weight_g <= limit), None)
        if band is None:  # heavier than the last band: its price per started last-band weight
            heaviest = self.weight_g[-1]
            cents = row[-1] * -(-weight_g // heaviest)
        else:
            cents = row[band]
        return Rate(self.name, service, zone, cents, level.transit_days)

    def tracking_number(self, serial: int) -> str:
        return make_tracking(self.tracking_prefix, serial)

    def is_tracking(self, value: str) -> bool:
        return is_valid_tracking(value) and value.startswith(self.tracking_prefix)

    def looks_like_tracking(self, value: str) -> bool:
        m = _SHAPE.fullmatch(value)
        return bool(m) and m.group(1) == self.tracking_prefix

    def label(self, label: ShippingLabel, rate: Rate, dpi: int) -> str:
        return render_zpl(label, dpi=dpi, zone=f"ZONE {rate.zone}")

    def manifest(self, lines: Sequence[ManifestLine]) -> list[dict[str, str]]:
        return manifest_rows(lines)


def rate_table_problems(
    services: Sequence[str],
    zone_km: Sequence[float],
    weight_g: Sequence[int],
    rates: Mapping[str, Sequence[Sequence[int]]],
) -> list[str]:
    """What is wrong with a rate table (empty: nothing), each a sentence."""
    problems = []
    if not services:
        problems.append("needs at least one service")
    if len(set(services)) != len(services):
        problems.append("names a service twice")
    if list(zone_km) != sorted(set(zone_km)) or any(z <= 0 for z in zone_km):
        problems.append(f"zone_km must rise and be above 0, got {list(zone_km)}")
    if not weight_g or list(weight_g) != sorted(set(weight_g)) or weight_g[0] <= 0:
        problems.append(f"weight_g must rise and be above 0, got {list(weight_g)}")
    zones = len(zone_km) + 1
    for name in services:
        table = rates.get(name)
        if table is None:
            problems.append(f"has no rates for service {name!r}")
            continue
        if len(table) != zones:
            problems.append(f"rates.{name} needs {zones} rows (one per zone), got {len(table)}")
        for i, row in enumerate(table, 1):
            if len(row) != len(weight_g):
                problems.append(
                    f"rates.{name} zone {i} needs {len(weight_g)} prices (one per weight band), "
                    f"got {len(row)}"
                )
            if any(c < 0 for c in row):
                problems.append(f"rates.{name} zone {i} has a negative price")
    for name in rates:
        if name not in services:
            problems.append(f"has rates for {name!r}, which is not one of its services")
    return problems
