"""Device settings from a TOML file (config/device.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SimulateSettings(BaseModel):
    """A simulated worker that reads each instruction and scans what it asks (demo, tests)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    enabled: bool = False
    """Run the simulated worker; it needs a `fake://` scanner. Never on a real device."""
    think_seconds: float = Field(0.05, ge=0)
    """Seconds "thinking" before each scan."""
    wrong_scan_rate: float = Field(0.05, ge=0, le=1)
    """Share of scans that are deliberately wrong (0 to 1), so the error paths run."""
    seed: int | None = None
    """Random seed for repeatable runs; unset, a different run each time."""
    empty_on_shelf: list[str] = Field(default_factory=list)
    """Picks the worker finds empty on the shelf though the server says the bin holds them,
    each "BIN-LABEL ITEM-BARCODE": the first time it is sent there for that item it reports
    a short pick (none found), once; a face it refilled itself is no longer empty."""

    @field_validator("empty_on_shelf")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        for entry in value:
            if len(entry.split()) != 2:
                raise ValueError(f"{entry!r}: want a bin's label and an item's barcode")
        return value


class DeviceSettings(BaseModel):
    """`[device]` in config/device.toml: one handheld or pack station. Unknown keys are
    refused, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    name: str = "device"
    """The name the server knows this device by: the NAME of `scanfloor device add NAME`."""
    server: str = "http://127.0.0.1:8800"
    """The server's base URL, `http://` or `https://` and its address, as reachable from the
    floor's Wi-Fi; anything else is refused at start."""
    token: str = Field(min_length=8, max_length=200)
    """The token `scanfloor device add` printed (8 to 200 characters, as the connect takes).
    Keep the file readable by the service's user only."""
    scanner: str = "stdin://"
    """Where scans come from, by URL: `stdin://`, `evdev://…`, `serial://…`, `fake://NAME`
    (the scanner table below)."""
    printer: str | None = None
    """A pack station's label printer, by URL: `tcp://…:9100`, `file://…`, `serial://…`,
    `cups://QUEUE`, `fake://` (the printer table below); pickers need none."""
    scale: str | None = None
    """A pack station's scale, by URL: `serial:///dev/ttyUSB0?baud=9600`, `fake://NAME` (the
    scale table below); unset: packages are not weighed."""
    scale_wait: float = Field(3.0, gt=0, le=30)
    """Seconds a label scan waits for the scale to settle before asking to scan again."""
    data_dir: Path = Path("var/device")
    """Where the scan journal (SQLite) lives: it must survive reboots and be writable by the
    service's user (relative paths from the working directory)."""
    screen: str = Field("tty", pattern="^(tty|plain|none)$")
    """`tty`: large words and colours on the terminal (drawn as `plain` when standard output
    is not a terminal, e.g. redirected to a file); `plain`: one line per event, for logs and
    dumb terminals; `none`."""
    stats_file: Path | None = None
    """Write round-trip figures to this JSON file on exit (demo, benchmarks)."""
    reply_timeout: float = Field(5.0, gt=0)
    """Seconds to wait for the server's answer to a scan before treating the link as down (the
    scan stays in the journal and is sent again)."""
    offline_after: float = Field(1.0, gt=0)
    """Seconds without the server's answer after which the device judges a scan itself from the
    steps it holds (offline mode); the scan is still sent and the server's answer wins."""
    link_timeout: float = Field(4.0, gt=0)
    """Seconds without any packet from the server after which the link counts as dead (a Wi-Fi
    dead zone swallows bytes without closing anything) and the device reconnects."""
    sound_command: str | None = None
    """A command run on every scan result, `{kind}` being `good` or `bad`, e.g.
    `aplay -q /opt/scanfloor-sounds/{kind}.wav` (a bad scan rings the terminal's bell too)."""
    simulate: SimulateSettings = SimulateSettings()

    @field_validator("server")
    @classmethod
    def _server_url(cls, value: str) -> str:
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number 0-65535
        except ValueError:
            raise ValueError(f"{value!r}: bad port") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not the server's URL: write http:// or https:// and its "
                "address, e.g. http://10.0.0.2:8800"
            )
        return value

    @property
    def journal_path(self) -> Path:
        return self.data_dir / f"{self.name}.journal.db"


def load_device_settings(path: str | Path) -> DeviceSettings:
    """Read and validate a device TOML file; the error names the bad key."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    if "device" not in data:
        return DeviceSettings.model_validate(data)
    # Every key goes under [device]: a table or key beside it (`[simulate]` for
    # `[device.simulate]`) would otherwise be skipped without a word.
    others = sorted(key for key in data if key != "device")
    if others:
        raise ValueError(
            f"unknown key(s) outside [device]: {', '.join(others)} "
            "(every setting goes under [device], e.g. [device.simulate])"
        )
    return DeviceSettings.model_validate(data["device"])
