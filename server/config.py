"""Server settings: config/server.toml, then SCANFLOOR_* environment variables."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from server.shipping.domain.carriers.local import (
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


DATABASE_SCHEMES = ("sqlite:", "postgresql://", "postgres://")


def check_database_url(url: str) -> str:
    """The URL if it names a database we can open; else ValueError saying the forms."""
    if not url.startswith(DATABASE_SCHEMES):
        raise ValueError(
            f"database_url {url!r} must start with sqlite:/// or postgresql:// "
            "(e.g. postgresql://scanfloor@127.0.0.1:5432/scanfloor)"
        )
    if url.startswith("sqlite:") and not url.startswith("sqlite:///"):
        raise ValueError(f"database_url {url!r}: a SQLite URL is sqlite:///PATH")
    return url


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8800
    max_body_bytes: int = Field(256 * 1024, description="REST bodies larger than this get 413.")
    # Origins a browser may open Socket.IO from (e.g. "https://board.example.com"). Empty: only
    # the server's own origin (scheme://Host of the request). Clients that send no Origin
    # header (the handhelds' python-socketio) are not checked.
    allowed_origins: list[str] = []
    # Set behind TLS: the session cookie is then sent over HTTPS only.
    secure_cookies: bool = False


class LoginSettings(BaseModel):
    """Log-in to the board: how long a session lasts, how often a wrong password may be tried."""

    session_hours: float = Field(12.0, gt=0)
    # More than `attempts` failures for one user name from one address within
    # `window_seconds` get 429 (with Retry-After) until the oldest leaves the window.
    attempts: int = Field(5, ge=1)
    window_seconds: float = Field(300.0, gt=0)


class DeviceLinkSettings(BaseModel):
    # Engine.IO heartbeat: a dead link (bytes swallowed, no FIN) is noticed
    # after ping_interval + ping_timeout.
    ping_interval: float = 2.0
    ping_timeout: float = 3.0
    max_message_bytes: int = 64 * 1024
    # A picker silent (link down) this long gives its pick list back to the queue.
    lease_seconds: float = 300.0
    # true: a handheld does no work until a worker scans their badge (BADGE-<user>).
    require_badge: bool = False


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
    # The shared secret the carrier signs its tracking events with (Standard Webhooks:
    # whsec_ + base64 of 24 to 64 random bytes). Unset or empty: the carrier cannot post events.
    events_secret: str | None = None
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

    @field_validator("events_secret")
    @classmethod
    def _whsec(cls, secret: str | None) -> str | None:
        if not secret:
            return None
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not secret.startswith("whsec_") or not 24 <= len(key) <= 64:
            raise ValueError("events_secret is whsec_ followed by base64 of 24 to 64 random bytes")
        return secret

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


class BoxSettings(BaseModel):
    """One box type at the pack benches (`[[boxes]]`): inner dimensions, load, tare."""

    code: str = Field(min_length=1, max_length=40)
    barcode: str = Field(min_length=1, max_length=200, description="printed on the box stock")
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)
    max_weight_g: int = Field(gt=0, description="the most the box may carry (its contents)")
    tare_g: int = Field(ge=0, description="the empty box with its filling")


class PackingSettings(BaseModel):
    """Box choice and the weight check at the pack benches."""

    # Items fit a box when their volume is at most this share of its inner volume.
    fill_factor: float = Field(0.8, gt=0, le=1)
    # A weighed package is held when it is further than max(grams, share × expected) off.
    weight_tolerance_g: int = Field(50, ge=0)
    weight_tolerance_pct: float = Field(5.0, ge=0, le=100)


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


class EmailSettings(BaseModel):
    """Telling customers by e-mail at the shipping milestones, and the public tracking page."""

    enabled: bool = Field(False, description="false: mails are noted as `off`, never sent")
    host: str = "127.0.0.1"
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="upgrade the connection with STARTTLS first")
    # Where the server's certificate is checked against: empty = the system's CA store.
    ca_file: str = ""
    username: str = Field("", description="empty: no SMTP login")
    password: str = ""
    sender: str = Field("shop@example.com", alias="from", description="the From: address")
    shop_name: str = Field("Our shop", description="the shop's name in mails and on the page")
    shop_names: dict[str, str] = Field(
        default_factory=dict, description="channel code -> the shop's name, where they differ"
    )
    public_base_url: str = Field(
        "", description="how customers reach this server, e.g. https://track.example.com"
    )
    timeout_seconds: float = Field(20.0, gt=0)
    # After the n-th failed attempt: retry_base_seconds * 2^(n-1), at most retry_max_seconds.
    retry_base_seconds: float = Field(30.0, gt=0)
    retry_max_seconds: float = Field(3600.0, gt=0)
    poll_seconds: float = Field(2.0, gt=0)

    model_config = {"populate_by_name": True}


class BoardSettings(BaseModel):
    """The supervisors' board."""

    # A list not yet packed whose earliest promise falls within this many minutes is at risk.
    at_risk_minutes: int = Field(60, ge=1, le=7 * 24 * 60)


class Settings(BaseSettings):
    """Everything the server reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="SCANFLOOR_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        None,
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB; unset: the SQLite file "
        "data_dir/scanfloor.db.",
    )
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
    email: EmailSettings = EmailSettings()
    login: LoginSettings = LoginSettings()
    board: BoardSettings = BoardSettings()
    packing: PackingSettings = PackingSettings()
    boxes: list[BoxSettings] = Field(default_factory=list)
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

    @field_validator("boxes")
    @classmethod
    def _distinct_boxes(cls, boxes: list[BoxSettings]) -> list[BoxSettings]:
        for attr in ("code", "barcode"):
            seen = [getattr(b, attr) for b in boxes]
            twice = sorted({v for v in seen if seen.count(v) > 1})
            if twice:
                raise ValueError(f"boxes: {attr} {', '.join(twice)} used by more than one box")
        return boxes

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, url: str | None) -> str | None:
        return None if url is None else check_database_url(url)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "scanfloor.db"

    @property
    def database(self) -> str:
        """The database URL in force: database_url, or the SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.db_path}"

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
