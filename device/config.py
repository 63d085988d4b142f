"""Device settings from a TOML file (config/device.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class SimulateSettings(BaseModel):
    """A simulated worker that reads each instruction and scans what it asks (demo, tests)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    think_seconds: float = Field(0.05, ge=0)
    wrong_scan_rate: float = Field(0.05, ge=0, le=1)
    seed: int | None = None


class DeviceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "device"
    server: str = Field("http://127.0.0.1:8800", description="the server's base URL")
    token: str = Field(min_length=8)
    scanner: str = "stdin://"
    printer: str | None = None
    # A pack station's scale (serial:///dev/ttyUSB0?baud=9600, fake://name); unset: no weighing.
    scale: str | None = None
    # How long a label scan waits for the scale to settle before asking to scan again.
    scale_wait: float = Field(3.0, gt=0, le=30)
    data_dir: Path = Path("var/device")
    screen: str = Field("tty", pattern="^(tty|plain|none)$")
    stats_file: Path | None = None
    reply_timeout: float = 5.0
    # No answer within this many seconds: the device judges the scan itself (offline mode).
    offline_after: float = Field(1.0, gt=0)
    # No packet from the server for this long: the link is dead (Wi-Fi dead zone), reconnect.
    link_timeout: float = Field(4.0, gt=0)
    # Run on every scan result with {kind} = good or bad, e.g. "aplay /opt/sounds/{kind}.wav".
    sound_command: str | None = None
    simulate: SimulateSettings = SimulateSettings()

    @property
    def journal_path(self) -> Path:
        return self.data_dir / f"{self.name}.journal.db"


def load_device_settings(path: str | Path) -> DeviceSettings:
    """Read and validate a device TOML file; the error names the bad key."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    return DeviceSettings.model_validate(data.get("device", data))
