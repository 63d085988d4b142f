"""The carriers of this site, built from the config, and the service each package gets."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from server.config import CarrierSettings, Settings
from server.shipping.domain.carriers import (
    Carrier,
    LatLon,
    LocalCarrier,
    Rate,
    ServiceLevel,
    choose_service,
)

log = logging.getLogger("scanfloor.carriers")

# Set by the app (and the CLI) from config: plain module state, like packages.LABEL_SETTINGS.
REGISTRY: dict[str, Carrier] = {"local": LocalCarrier()}
SHIPPING: dict[str, Any] = {"carrier": "local", "channel_services": {}}


def build(name: str, cfg: CarrierSettings) -> Carrier:
    """One carrier from its `[carriers.<name>]` table."""
    if cfg.kind == "local":
        return LocalCarrier(
            name=name,
            title=cfg.title,
            tracking_prefix=cfg.tracking_prefix,
            service_levels=tuple(ServiceLevel(k, v.transit_days) for k, v in cfg.services.items()),
            zone_km=tuple(cfg.zone_km),
            weight_g=tuple(cfg.weight_g),
            rates={k: tuple(tuple(r) for r in v) for k, v in cfg.rates.items()},
        )
    raise ValueError(f"carrier {name}: unknown kind {cfg.kind!r}")  # pragma: no cover


def configure(settings: Settings) -> None:
    """Build the registry from the settings."""
    REGISTRY.clear()
    REGISTRY.update({name: build(name, cfg) for name, cfg in settings.carriers.items()})
    SHIPPING.update(settings.shipping.model_dump())


def get(name: str) -> Carrier:
    """The carrier called `name`; KeyError if there is none."""
    return REGISTRY[name]


def split_service(value: str | None) -> tuple[str | None, str | None]:
    """An order's service as (carrier, service): `local:express`, or `express` (no carrier)."""
    if not value:
        return None, None
    if ":" in value:
        carrier, service = value.split(":", 1)
        return carrier.lower(), service.lower()
    return None, value.lower()


def service_problem(value: str) -> str | None:
    """Why an order's `service` names nothing this site ships with, or None."""
    carrier_name, service = split_service(value)
    name = carrier_name or SHIPPING["carrier"]
    carrier = REGISTRY.get(name)
    if carrier is None:
        return f"no carrier {name!r} (carriers: {', '.join(sorted(REGISTRY))})"
    offered = [s.name for s in carrier.services()]
    if service not in offered:
        return f"{name} has no service {service!r} (it has {', '.join(offered)})"
    return None


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def quote(
    order: dict[str, Any],
    weight_g: int,
    origin: LatLon | None,
    destination: LatLon | None,
    today: date,
) -> tuple[Carrier, Rate, str]:
    """The carrier, rate and reason (`order`, `channel`, `promised`, `fastest`, `cheapest`)
    for a package of `order` (a row with `channel`, `service`, `promised_by`)."""
    wanted_carrier, wanted = split_service(order.get("service"))
    carrier = REGISTRY.get(wanted_carrier or SHIPPING["carrier"])
    if carrier is None:  # the config lost the carrier the order named: ship with ours
        log.warning("order %s names carrier %s, not configured", order.get("id"), wanted_carrier)
        carrier, wanted = REGISTRY[SHIPPING["carrier"]], None
    rate, why = choose_service(
        carrier,
        weight_g,
        origin,
        destination,
        wanted=wanted,
        channel_default=SHIPPING["channel_services"].get(order.get("channel", "")),
        promised_by=_day(order.get("promised_by")),
        today=today,
    )
    return carrier, rate, why
