"""A handheld for a person to try against the demo's server, once the run is over (`--serve`).

It enrols one more picker over REST (`POST /api/devices`, as the dock stations are) and
writes its device config beside the simulated devices' ones: the demo's server, its token, a
`stdin://` scanner (type or paste barcodes, Enter after each) and the `tty` screen. The demo
prints the command that starts it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from scripts.demo import seed
from scripts.demo.floor import Floor

NAME = "try-picker"


def enrol(floor: Floor) -> Path:
    """Enrol the picker in the first warehouse and write its config; returns the config's path."""
    warehouse = seed.WAREHOUSES[0][0]
    resp = floor.api.post(
        f"{floor.base}/api/devices",
        json={"name": NAME, "role": "picker", "warehouse": warehouse},
        timeout=10,
    )
    resp.raise_for_status()
    token = resp.json()["devices"][0]["token"]
    config = {
        "name": NAME,
        "server": floor.base,
        "token": token,
        "scanner": "stdin://",
        "data_dir": str(floor.out / "devices" / NAME),
        "screen": "tty",
    }
    path = floor.out / "devices" / f"{NAME}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# A picker of {warehouse} to try by hand: type or paste barcodes.", "[device]"]
    path.write_text("\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in config.items()]) + "\n")
    return path


def command(config: Path) -> str:
    """The command line that starts it, relative to where the demo runs when it can be."""
    program = Path(sys.executable).parent / "scanfloor-device"

    def short(p: Path) -> str:
        rel = os.path.relpath(p)
        return rel if not rel.startswith("..") else str(p)

    return f"{short(program)} --config {short(config)}"
