"""Server settings: config/server.toml, then SCANFLOOR_* environment variables."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from server.domain.carriers.local import (
    DEFAULT_RATES,
    DEFAULT_SERVICES,
    DEFAULT_WEIGHT_G,
    DEFAULT_ZONE_KM,
    rate_table_problems,
)

# Carrier and service names: in URLs, on labels, and on the dock's carrier cards.
NAME = re.compile(r"[a-z][a-z0-9_]{0,19}")
DEFAULT_CONFIG = Path("config/server.toml")
EXAMPLE_SECRET_KEY = "change-me"  # what config/server.toml ships with: never a real secret


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8800
    max_body_bytes: int = Field(256 * 1024, description="REST bodies larger than this get 413.")


class DeviceLinkSettings(BaseModel):
    # Engine.IO heartbeat: a dead link (bytes swallowed, no FIN) is noticed
    # after ping_interval + ping_timeout.
    ping_interval: float = 2.0
    ping_timeout: float = 3.0
    max_message_bytes: int = 64 * 1024
    # A picker silent (link down) this long gives its pick list back to the queue.
    lease_seconds: float = 300.0


class LabelSettings(BaseModel):
    gs1_company_prefix: str = "0614141"
    sscc_extension: int = 0
    dpi: int = 203


class ServiceLevelSettings(BaseModel):
    """One service of a carrier."""

    transit_days: int = Field(ge=0, le=60)


class CarrierSettings(BaseModel):
    """`[carriers.<name>]`: one carrier the floor hands packages to (`kind` picks its code)."""

    kind: Literal["local"] = "local"
    title: str = Field("SCANFLOOR LOCAL", min_length=1, max_length=40)
    tracking_prefix: str = Field("SF", pattern="^[A-Z]{1,4}$")
    # The shared secret the carrier signs tracking events with (helper `track` reads it).
    events_secret: str = ""
    services: dict[str, ServiceLevelSettings] = Field(
        default_factory=lambda: {
            s.name: ServiceLevelSettings(transit_days=s.transit_days) for s in DEFAULT_SERVICES
        }
    )
    zone_km: list[float] = Field(default_factory=lambda: list(DEFAULT_ZONE_KM))
    weight_g: list[int] = Field(default_factory=lambda: list(DEFAULT_WEIGHT_G))
    rates: dict[str, list[list[int]]] = Field(
        default_factory=lambda: {k: [list(r) for r in v] for k, v in DEFAULT_RATES.items()}
    )

    @model_validator(mode="after")
    def _whole_table(self) -> CarrierSettings:
        problems = rate_table_problems(list(self.services), self.zone_km, self.weight_g, self.rates)
        problems += [
            f"service name {name!r} must be a-z, 0-9 or _ (starting with a letter, up to 20)"
            for name in self.services
            if not NAME.fullmatch(name)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ShippingSettings(BaseModel):
    """Which carrier and service a package goes with."""

    carrier: str = Field("local", description="the carrier of every package")
    # channel -> service its orders get when they name none (`shop = "express"`).
    channel_services: dict[str, str] = Field(default_factory=dict)


class WebhookSettings(BaseModel):
    """Delivering status changes to the shops' webhook subscriptions."""

    # After the n-th failed attempt: retry_base_seconds * 2^(n-1), at most retry_max_seconds.
    retry_base_seconds: float = Field(5.0, gt=0)
    retry_max_seconds: float = Field(3600.0, gt=0)
    # A delivery failing this long after its first attempt is dead (listed, retried by hand).
    retry_for_seconds: float = Field(26 * 3600.0, ge=0)
    timeout_seconds: float = Field(10.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    concurrency: int = Field(8, ge=1, le=256)


class Settings(BaseSettings):
    """Everything the server reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="SCANFLOOR_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path("var")
    sqlite_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL)$")
    log_format: str = Field(
        "text", pattern="^(text|json)$", description="json: one JSON object per log line."
    )
    http: HttpSettings = HttpSettings()
    device: DeviceLinkSettings = DeviceLinkSettings()
    label: LabelSettings = LabelSettings()
    webhooks: WebhookSettings = WebhookSettings()
    carriers: dict[str, CarrierSettings] = Field(
        default_factory=lambda: {"local": CarrierSettings()}
    )
    shipping: ShippingSettings = ShippingSettings()
    redis_url: str | None = None
    secret_key: str = EXAMPLE_SECRET_KEY

    @model_validator(mode="after")
    def _carrier_known(self) -> Settings:
        for name in self.carriers:
            if not NAME.fullmatch(name):
                raise ValueError(
                    f"carrier name {name!r} must be a-z, 0-9 or _ (starting with a letter, up to 20)"
                )
        prefixes = [c.tracking_prefix for c in self.carriers.values()]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"two carriers share a tracking_prefix: {prefixes}")
        if self.shipping.carrier not in self.carriers:
            raise ValueError(
                f"shipping.carrier {self.shipping.carrier!r} has no [carriers.{self.shipping.carrier}]"
            )
        services = self.carriers[self.shipping.carrier].services
        for channel, service in self.shipping.channel_services.items():
            if service not in services:
                raise ValueError(
                    f"shipping.channel_services.{channel}: {self.shipping.carrier} has no "
                    f"service {service!r} (it has {', '.join(services)})"
                )
        return self

    def weak_secret(self) -> str | None:
        """Why `secret_key` is not fit to serve with, or None when it is."""
        if self.secret_key == EXAMPLE_SECRET_KEY:
            return f'secret_key is the example value "{EXAMPLE_SECRET_KEY}"'
        if len(self.secret_key) < 16:
            return "secret_key is shorter than 16 characters"
        return None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "scanfloor.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("SCANFLOOR_CONFIG", DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(config: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from a TOML file (or SCANFLOOR_CONFIG / config/server.toml) and the environment."""
    if config is not None:
        os.environ["SCANFLOOR_CONFIG"] = str(config)
    return Settings(**overrides)
