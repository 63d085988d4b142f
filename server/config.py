"""Server settings: config/server.toml, then SCANFLOOR_* environment variables."""

from __future__ import annotations

import base64
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
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
GC_THRESHOLD_0 = 10_000  # measured: docs/scaling.md, *Garbage collection*
EXAMPLE_SECRET_KEY = "change-me"  # what config/server.toml ships with: never a real secret
# Each setting's description is the string under it (docs/configuration.md is made from them).
# A key no model names is refused: a typo stops the server rather than being ignored.
DOCUMENTED = ConfigDict(use_attribute_docstrings=True, extra="forbid")


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
    """Where the server listens, and what it takes from browsers and REST clients."""

    model_config = DOCUMENTED

    host: str = "127.0.0.1"
    """The address the server listens on (with `serve-cluster`: where nginx listens)."""
    port: int = 8800
    """The port the server listens on (with `serve-cluster`: where nginx listens)."""
    max_body_bytes: int = 256 * 1024
    """Larger REST bodies get 413, chunked ones (no Content-Length) too, and nothing is
    written."""
    allowed_origins: list[str] = []
    """Web origins a browser may open the board's Socket.IO from, e.g.
    `["https://board.example.com"]`; empty: only the server's own origin (`scheme://Host` of
    the request, so a proxy must pass `Host` with its port, as `config/nginx` does). A
    WebSocket or polling request with another `Origin` gets 400 before anything is sent (under
    gunicorn with gevent-websocket's own worker class instead of scanfloor's, such a WebSocket
    is opened and closed at once, still before anything is sent). Clients that send no
    `Origin` header (the handhelds' python-socketio over polling) are not checked; over
    WebSocket they send their own origin."""
    handshakes: int = Field(16, ge=0)
    """How many new connections `scanfloor-server` (or gunicorn with scanfloor's worker class)
    lets be in their handshake at once (the request read, the WebSocket upgrade, the device's
    sign-in); the others wait, accepted, for a place. At shift start it keeps the scans of the
    handhelds already signed in quick while the rest sign in (docs/scaling.md, *Shift
    start*). 0: no limit."""
    secure_cookies: bool = False
    """`true` when the site is served over TLS (directly or behind a TLS proxy): the session
    cookie then carries `Secure` and is sent over HTTPS only. It is always `HttpOnly` and
    `SameSite=Lax`."""


class LoginSettings(BaseModel):
    """Log-in to the board: how long a session lasts, how often a wrong password may be tried."""

    model_config = DOCUMENTED

    session_hours: float = Field(12.0, gt=0)
    """How long a board log-in lasts."""
    attempts: int = Field(5, ge=1)
    """After `attempts` wrong passwords for one user name from one address within
    `window_seconds`, `POST /login` answers 429 with `Retry-After` (seconds) until the oldest
    failure leaves the window, even for the right password. Counted in the database, so every
    server process of a site shares the count and it survives a restart. Behind nginx the
    address is nginx's, so the limit is per user name."""
    window_seconds: float = Field(300.0, gt=0)
    """The window, in seconds, in which `attempts` wrong passwords are counted."""


class DeviceLinkSettings(BaseModel):
    """The handhelds' links."""

    model_config = DOCUMENTED

    ping_interval: float = 2.0
    """Seconds between Engine.IO pings; a dead device link (bytes swallowed, no FIN) is
    noticed within `ping_interval` + `ping_timeout`."""
    ping_timeout: float = 3.0
    """Seconds a device has to answer a ping."""
    max_message_bytes: int = 64 * 1024
    """Larger device messages are refused."""
    lease_seconds: float = 300.0
    """A picker whose link is down this long gives its pick list back to the queue, at the step
    reached."""
    require_badge: bool = False
    """`true`: a handheld takes no scan but a badge (`BADGE-<user>`) until a worker has signed
    in; others are answered `sign_in_first`."""


class LabelSettings(BaseModel):
    """The shipping labels."""

    model_config = DOCUMENTED

    gs1_company_prefix: str = "0614141"
    """The GS1 company prefix in the SSCC-18 on each label."""
    sscc_extension: int = 0
    """The extension digit of the SSCC-18 on each label."""
    dpi: int = 203
    """The label printers' resolution: 203 or 300 dpi."""


class ServiceLevelSettings(BaseModel):
    """One service of a carrier."""

    model_config = DOCUMENTED

    transit_days: int = Field(ge=0, le=60)
    """Days in transit with this service."""


class CarrierSettings(BaseModel):
    """`[carriers.<name>]`: one carrier the floor hands packages to (`kind` picks its code)."""

    model_config = DOCUMENTED

    kind: Literal["local"] = "local"
    """The carrier's code: `local` is the built-in one (rates from this table)."""
    title: str = Field("SCANFLOOR LOCAL", min_length=1, max_length=40)
    """Printed on its labels and manifests."""
    tracking_prefix: str = Field("SF", pattern="^[A-Z]{1,4}$")
    """Its tracking numbers: this prefix (one per carrier) + 9 digits + a GS1 mod-10 check
    digit."""
    cutoff: str = Field("16:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """The day's last hand-over to this carrier (HH:MM, the server's local time): the board
    counts down to it."""
    events_secret: str | None = None
    """The secret the carrier signs its tracking events with (Standard Webhooks: `whsec_` +
    base64 of 24 to 64 random bytes); unset or empty, the carrier cannot post events (404)."""
    services: dict[str, ServiceLevelSettings] = Field(
        default_factory=lambda: {
            s.name: ServiceLevelSettings(transit_days=s.transit_days) for s in DEFAULT_SERVICES
        }
    )
    """`{name = {transit_days = n}}`: its services and their days in transit."""
    zone_km: list[float] = Field(default_factory=lambda: list(DEFAULT_ZONE_KM))
    """Zone upper bounds in km (great circle, warehouse to ship-to): zone 1 up to the first,
    and one zone more beyond the last; a ship-to without coordinates is in the last zone."""
    weight_g: list[int] = Field(default_factory=lambda: list(DEFAULT_WEIGHT_G))
    """Weight band upper bounds in grams; heavier than the last pays the last band's price per
    started last-band weight."""
    rates: dict[str, list[list[int]]] = Field(
        default_factory=lambda: {k: [list(r) for r in v] for k, v in DEFAULT_RATES.items()}
    )
    """Per service, in cents: one row per zone, one price per weight band. A table that does
    not fit the zones and bands stops the server at start with what is wrong."""

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

    model_config = DOCUMENTED

    carrier: str = "local"
    """The carrier of every package whose order names no other (a `[carriers.<name>]`)."""
    channel_services: dict[str, str] = Field(default_factory=dict)
    """`{channel = "service"}`: the service a channel's orders get when they name none."""


class BoxSettings(BaseModel):
    """One box type at the pack benches (`[[boxes]]`): inner dimensions, load, tare."""

    model_config = DOCUMENTED

    code: str = Field(min_length=1, max_length=40)
    """The box's name on the pack station ("Box: S"); each code once."""
    barcode: str = Field(min_length=1, max_length=200)
    """The barcode printed on the box stock, scanned to take this box; each barcode once."""
    length_mm: int = Field(gt=0)
    """Inner length."""
    width_mm: int = Field(gt=0)
    """Inner width."""
    height_mm: int = Field(gt=0)
    """Inner height."""
    max_weight_g: int = Field(gt=0)
    """The most the box may carry (its contents)."""
    tare_g: int = Field(ge=0)
    """The empty box's weight with its filling."""


class CountClassSettings(BaseModel):
    """One ABC class of the count schedule."""

    model_config = DOCUMENTED

    name: str = Field(pattern=r"^[A-Z]$")
    """The class's letter (A counted most often)."""
    share: float = Field(gt=0, le=1)
    """The share of a warehouse's bins in this class, most picked first."""
    every_days: int = Field(ge=1, le=3650)
    """A bin of this class is due for a count when its last count is this many days old."""


class CountSettings(BaseModel):
    """Cycle counts: the variance a count may show before a recount, and the ABC schedule."""

    model_config = DOCUMENTED

    max_variance_units: int = Field(0, ge=0)
    """A counted line (a SKU and lot of the bin) within this many units of what the system
    held adjusts the bin at once; further off, a second worker recounts, and a recount still
    off waits for a supervisor's approval."""
    max_variance_pct: float = Field(0.0, ge=0, le=100)
    """The same, as a percentage of the units the system held: a line is within tolerance
    when it is within the larger of the two."""
    pick_days: int = Field(90, ge=1)
    """`scanfloor counts schedule` ranks bins by the picks of this many past days."""
    classes: list[CountClassSettings] = Field(
        default_factory=lambda: [
            CountClassSettings(name="A", share=0.2, every_days=7),
            CountClassSettings(name="B", share=0.3, every_days=30),
            CountClassSettings(name="C", share=0.5, every_days=90),
        ]
    )
    """`[[counts.classes]]`: the ABC classes in order, A first. The last class takes every
    bin left."""
    schedule_every_hours: float = Field(0.0, ge=0, le=24 * 366)
    """How often the worker process makes the count tasks the ABC schedule says are due (as
    `scanfloor counts schedule` does), the first time when it starts; 0: never (run the
    command from cron or a timer instead). Running it more often makes nothing twice: a bin
    due keeps its one open task."""


class ReorderClassSettings(BaseModel):
    """One ABC class of the reorder policy."""

    model_config = DOCUMENTED

    name: str = Field(pattern=r"^[A-Z]$")
    """The class's letter (A sells most)."""
    share: float = Field(gt=0, le=1)
    """The share of a warehouse's SKUs in this class, most units sold first."""
    lead_time_days: float = Field(7.0, gt=0, le=365)
    """Days from a reorder to the goods on the shelf (the supplier's lead time)."""
    service_level: float = Field(0.95, ge=0.5, lt=1)
    """The chance of not running out before a reorder arrives: sets the safety stock (z, the
    normal quantile of it, times the forecast error over the lead time)."""
    cover_days: float = Field(28.0, ge=0, le=365)
    """A reorder brings the stock up to the reorder point plus this many days of forecast
    demand."""
    overstock_days: float | None = Field(None, gt=0, le=3660)
    """More days of cover than this is overstock for the class's SKUs (unset:
    `forecast.overstock_days`)."""


class ReorderSkuSettings(BaseModel):
    """One SKU's own reorder policy: each key set here wins over its class's."""

    model_config = DOCUMENTED

    lead_time_days: float | None = Field(None, gt=0, le=365)
    """The SKU's lead time in days (unset: its class's)."""
    service_level: float | None = Field(None, ge=0.5, lt=1)
    """The SKU's service level (unset: its class's)."""
    cover_days: float | None = Field(None, ge=0, le=365)
    """The SKU's cover ordered, in days (unset: its class's)."""
    overstock_days: float | None = Field(None, gt=0, le=3660)
    """More days of cover than this is overstock for the SKU (unset: its class's)."""


class ForecastSettings(BaseModel):
    """The demand forecast and the reorder suggestions the worker makes from it."""

    model_config = DOCUMENTED

    every_hours: float = Field(0.0, ge=0, le=24 * 366)
    """How often the worker process forecasts every SKU of every warehouse and stores the
    reorder suggestions (as `scanfloor replen forecast` does), the first time when it starts;
    0: never (run the command from cron or a timer instead)."""
    history_days: int = Field(182, ge=14, le=3 * 366)
    """Days of order history a forecast is fitted on (the days up to yesterday)."""
    horizon_days: int = Field(28, ge=1, le=366)
    """Days ahead the forecast runs; the daily demand used for the reorder point is its mean."""
    overstock_days: float = Field(90.0, gt=0, le=3660)
    """A SKU with more days of cover than this (stock ÷ forecast daily demand) is flagged
    overstock; so is stock with no forecast demand at all."""
    classes: list[ReorderClassSettings] = Field(
        default_factory=lambda: [
            ReorderClassSettings(name="A", share=0.2, service_level=0.98),
            ReorderClassSettings(name="B", share=0.3, service_level=0.95),
            ReorderClassSettings(name="C", share=0.5, service_level=0.9),
        ]
    )
    """`[[forecast.classes]]`: the ABC classes in order, A first, each with its reorder policy.
    The last class takes every SKU left."""
    skus: dict[str, ReorderSkuSettings] = Field(default_factory=dict)
    """`[forecast.skus.SKU]`: a SKU's own lead time, service level, cover or overstock days,
    over its class's. A policy set over REST or `scanfloor replen policy` (kept in the
    database) wins over both, key by key."""

    @field_validator("classes")
    @classmethod
    def _some_classes(cls, classes: list[ReorderClassSettings]) -> list[ReorderClassSettings]:
        names = [c.name for c in classes]
        if not classes or len(set(names)) != len(names):
            raise ValueError("forecast.classes: at least one, each letter once")
        return classes


class PackingSettings(BaseModel):
    """Box choice and the weight check at the pack benches."""

    model_config = DOCUMENTED

    fill_factor: float = Field(0.8, gt=0, le=1)
    """Items fit a box when their volume is at most this share of its inner volume (and each
    item fits inside it in some orientation, and their weight is at most its
    `max_weight_g`)."""
    weight_tolerance_g: int = Field(50, ge=0)
    """A package weighed at a pack station with a scale further than max(`weight_tolerance_g`
    grams, `weight_tolerance_pct` % of the expected weight) from its expected weight (items +
    the box's tare) is held for a check."""
    weight_tolerance_pct: float = Field(5.0, ge=0, le=100)
    """The tolerance as a share of the expected weight, in percent (see
    `weight_tolerance_g`)."""


class WebhookSettings(BaseModel):
    """Delivering status changes to the shops' webhook subscriptions."""

    model_config = DOCUMENTED

    retry_base_seconds: float = Field(5.0, gt=0)
    """A failed delivery is tried again after base, 2 base, 4 base … seconds, at most
    `retry_max_seconds` apart."""
    retry_max_seconds: float = Field(3600.0, gt=0)
    """The longest wait between two attempts of a delivery."""
    retry_for_seconds: float = Field(26 * 3600.0, ge=0)
    """How long after its first attempt a failing delivery is retried before it is dead
    (listed at `/api/webhook-deliveries?status=dead`, retried by hand)."""
    timeout_seconds: float = Field(10.0, gt=0)
    """How long a receiver has to answer."""
    poll_seconds: float = Field(1.0, gt=0)
    """How often the delivery worker looks for due deliveries."""
    concurrency: int = Field(8, ge=1, le=256)
    """Deliveries posted at once (one per order and subscription)."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Hosts (as written in subscription URLs: names or IP addresses) that may be posted to
    whatever address they are: a shop's own receiver inside the network. Every other host must
    be a public address (no loopback, private, link-local or metadata address):
    [security](security.md)."""


class ShopLook(BaseModel):
    """How one sales channel's shop shows itself to its customers (`[email.channels.<code>]`);
    an empty value takes the `[email]` one."""

    model_config = DOCUMENTED

    name: str = ""
    """The shop's name in this channel's mails and on its tracking pages."""
    reply_to: str = ""
    """The `Reply-To:` address of this channel's mails."""
    colour: str = Field("", pattern=r"^(#[0-9a-fA-F]{6})?$")
    """The shop's colour, `#rrggbb`."""
    contact: str = ""
    """How this channel's customers reach the shop (a line of text)."""


class EmailSettings(BaseModel):
    """Telling customers by e-mail at the shipping milestones, and the public tracking page."""

    model_config = ConfigDict(populate_by_name=True, use_attribute_docstrings=True, extra="forbid")

    enabled: bool = False
    """Send customers their shipping e-mails; off, they are noted `off` and never sent (so
    turning it on later does not send old news)."""
    host: str = "127.0.0.1"
    """The SMTP server."""
    port: int = Field(587, ge=1, le=65535)
    """The SMTP server's port."""
    starttls: bool = True
    """Upgrade the connection with STARTTLS before anything else (the server's certificate is
    checked)."""
    ca_file: str = ""
    """A CA bundle to check the SMTP server's certificate against; empty: the system's."""
    username: str = ""
    """SMTP login; empty: no login."""
    password: str = ""
    """SMTP password."""
    sender: str = Field("shop@example.com", alias="from")
    """The From address (its display name is the shop's name); the key is `from`."""
    shop_name: str = "Our shop"
    """The shop's name in mails and on the tracking page."""
    shop_names: dict[str, str] = Field(default_factory=dict)
    """`[email.shop_names]`: channel code = the shop's name, where a channel's differs."""
    public_base_url: str = ""
    """How customers reach this server (e.g. `https://track.example.com`): the tracking links
    are this + `/track/<token>`; empty: relative links."""
    reply_to: str = ""
    """The `Reply-To:` address of every customer mail; empty: none (replies go to `from`). A
    channel may have its own (`[email.channels.<code>]`)."""
    colour: str = Field("#1f5fbf", pattern=r"^#[0-9a-fA-F]{6}$")
    """The shop's colour (`#rrggbb`) in the mails and on the tracking page."""
    contact: str = ""
    """How customers reach the shop (one line of text, e.g. a phone number and hours), on the
    tracking page and at the foot of every mail."""
    channels: dict[str, ShopLook] = Field(default_factory=dict)
    """`[email.channels.<code>]`: a channel's own shop name, Reply-To, colour and contact, each
    empty one taken from `[email]` (docs/customers.md)."""
    timeout_seconds: float = Field(20.0, gt=0)
    """How long the SMTP server has to answer."""
    retry_base_seconds: float = Field(30.0, gt=0)
    """A failed send is tried again after base, 2 base, 4 base … seconds, at most
    `retry_max_seconds` apart, until it goes."""
    retry_max_seconds: float = Field(3600.0, gt=0)
    """The longest wait between two attempts of a mail."""
    poll_seconds: float = Field(2.0, gt=0)
    """How often the mail worker looks for due mails."""


class BoardSettings(BaseModel):
    """The supervisors' board."""

    model_config = DOCUMENTED

    at_risk_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    """On the board, a pick list not yet packed whose earliest promise falls within this many
    minutes is at risk (amber); past it, late (red)."""


class GcSettings(BaseModel):
    """`[gc]`: Python's garbage collector in a serving process (docs/scaling.md, *Garbage collection*)."""

    model_config = DOCUMENTED

    threshold: tuple[int, int, int] = (GC_THRESHOLD_0, 5, 400)
    """`gc.set_threshold`: allocations before a young collection; young collections before a
    middle one; middle collections before a full one."""
    freeze: bool = True
    """`gc.freeze()` once start-up is done and again `warmup_seconds` later (the sign-in storm
    over): what is alive then is never walked by a collection again."""
    warmup_seconds: float = Field(60.0, ge=0)
    """When the second `gc.freeze()` runs, in seconds after start-up (0: only the first)."""
    warmup_freeze_every: float = Field(1.0, ge=0)
    """Through the warm-up, `gc.freeze()` every this many seconds too, so that what the
    sign-in storm and the first scans make is never walked by a collection (0: not)."""
    settle_seconds: float = Field(5.0, ge=0)
    """`gc.freeze()` again whenever 50 or more devices have signed in since the last freeze
    and none has for this many seconds (a sign-in storm over); 0: not."""

    @field_validator("threshold")
    @classmethod
    def _positive(cls, threshold: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(threshold) < 1:
            raise ValueError("gc.threshold: three whole numbers of at least 1")
        return threshold


class WorkerSettings(BaseModel):
    """The worker process: planning, lease sweeps, webhook and mail delivery (docs/scaling.md)."""

    model_config = DOCUMENTED

    with_server: bool = True
    """true: `scanfloor-server` starts one worker beside itself, restarts it if it dies and
    stops it with itself. false: the worker runs on its own (`scanfloor worker`, e.g. the
    systemd unit config/systemd/scanfloor-worker.service)."""
    plan_poll_seconds: float = Field(0.5, gt=0, le=60)
    """How often the planner looks at each warehouse's planned carts when it has nothing to do."""
    nice: int = Field(5, ge=0, le=19)
    """The worker's nice value: the serving process wins a busy core."""
    plan_pause_seconds: float = Field(0.0, ge=0, le=600)
    """For fault tests only: the planner waits this long between computing a cart and writing
    it."""


class Settings(BaseSettings):
    """Everything the server reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="SCANFLOOR_",
        env_nested_delimiter="__",
        # Unknown keys in the file (and SCANFLOOR_A__B variables under a known table) are
        # refused; other SCANFLOOR_* variables (SCANFLOOR_PASSWORD, ...) are not settings.
        extra="forbid",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("var")
    """Where the SQLite database lives (with `database_url` unset), and the demo's files."""
    database_url: str | None = None
    """`sqlite:///PATH` or `postgresql://USER@HOST:PORT/DB`; unset: the SQLite file
    `data_dir/scanfloor.db` ([Scaling: the database](scaling.md#the-database))."""
    sqlite_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL)$")
    """`FULL`: a committed scan survives power loss; `NORMAL` is faster but may lose the last
    commits on power loss."""
    log_format: str = Field("text", pattern="^(text|json)$")
    """`json`: one JSON object per line with `time` (UTC, ISO 8601), `level`, `logger`,
    `message`, and `exc` (the traceback) when there is one."""
    http: HttpSettings = HttpSettings()
    device: DeviceLinkSettings = DeviceLinkSettings()
    label: LabelSettings = LabelSettings()
    webhooks: WebhookSettings = WebhookSettings()
    carriers: dict[str, CarrierSettings] = Field(
        default_factory=lambda: {"local": CarrierSettings()}
    )
    """One table per carrier (name: `a-z`, digits, `_`, starting with a letter, up to 20);
    the default is one carrier, `local`, with the defaults of its keys."""
    shipping: ShippingSettings = ShippingSettings()
    email: EmailSettings = EmailSettings()
    login: LoginSettings = LoginSettings()
    board: BoardSettings = BoardSettings()
    worker: WorkerSettings = WorkerSettings()
    packing: PackingSettings = PackingSettings()
    gc: GcSettings = GcSettings()
    counts: CountSettings = CountSettings()
    forecast: ForecastSettings = ForecastSettings()
    boxes: list[BoxSettings] = Field(default_factory=list)
    """`[[boxes]]`: the box types at the pack benches. The bench suggests the smallest box (by
    volume) the items fit in, or says none fits; the packer scans another box's barcode to
    take it. No boxes: no suggestion, no tare."""
    redis_url: str | None = None
    """Several server processes: the Redis that joins them (e.g.
    `redis://127.0.0.1:6379/0`). Unset, one process runs alone and never connects to a
    Redis."""
    secret_key: str = EXAMPLE_SECRET_KEY
    """Flask's signing key; the server logs a warning at start while it is the example
    `change-me` or shorter than 16 characters (there is no separate production mode that would
    refuse it): set a long random one, e.g.
    `python -c 'import secrets; print(secrets.token_hex(32))'`."""

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


class SettingsError(ValueError):
    """The settings cannot be used: what is wrong, in words fit to print."""


# Values never printed back in an error (they may be secrets).
_SECRET_KEYS = ("secret", "password", "username")


def _problems(exc: ValidationError) -> str:
    """One line per problem: the key (dotted) and what is wrong with it."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "settings"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {where}: not a setting")
            continue
        what = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = (
            isinstance(value, str | int | float | bool)
            and not any(k in where for k in _SECRET_KEYS)
            and repr(value) not in what  # said already
        )
        lines.append(f"  {where}: {what}" + (f" (got {value!r})" if shown else ""))
    return "\n".join(lines)


def load_settings(config: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from a TOML file (or SCANFLOOR_CONFIG / config/server.toml) and the environment.

    Raises SettingsError, saying what is wrong, for a `config` file that does not exist, a
    file that is not TOML, and a setting that is unknown or not valid."""
    if config is not None:
        if not Path(config).is_file():
            raise SettingsError(f"config file {config} not found")
        os.environ["SCANFLOOR_CONFIG"] = str(config)
    path = Path(os.environ.get("SCANFLOOR_CONFIG", DEFAULT_CONFIG))
    source = f"{path} and SCANFLOOR_* variables" if path.exists() else "SCANFLOOR_* variables"
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise SettingsError(f"bad settings ({source}):\n{_problems(exc)}") from None
