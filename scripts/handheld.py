"""`make handheld` (`python -m scripts.handheld`): a handheld in this terminal, on the demo's server.

Run `make demo-serve` in one terminal; once it says the server stays up, run
`make handheld` in another. This enrols a new device in the demo's site (a
token of its own, so the demo's simulated devices keep theirs), writes its
config beside theirs, and runs `scanfloor-device` with the keyboard as its
scanner (`stdin://`): type a barcode and press Enter, as a keyboard-wedge
scanner does. The screen is the full-screen terminal view when this is a
terminal, else one plain line per change. Ctrl-C ends it.

`--role packer` makes a pack station (its labels go to a file in the demo's
folder), `--warehouse WH-WEST` the other warehouse; `--out` picks a demo
folder other than the newest, `--server` a server other than the one the demo
wrote to `<out>/server.url`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from server.people import auth
from server.store import open_store

DEMO_OUT = Path("demo-out")


def newest_demo(root: Path = DEMO_OUT) -> Path | None:
    """The newest demo folder whose server wrote its address."""
    runs = sorted((p for p in root.glob("*") if (p / "server.url").is_file()), reverse=True)
    return runs[0] if runs else None


def enrol(data: Path, role: str, warehouse: str) -> tuple[str, str]:
    """A new device in the site's database: (name, token)."""
    store = open_store(data / "scanfloor.db")
    try:
        known = {r["code"] for r in store.all("SELECT code FROM warehouses")}
        if warehouse not in known:
            raise click.BadParameter(
                f"no warehouse {warehouse} in this site ({', '.join(sorted(known))})",
                param_hint="--warehouse",
            )
        n = 1
        while store.one("SELECT 1 FROM devices WHERE name = ?", (f"handheld-{role}-{n}",)):
            n += 1
        name = f"handheld-{role}-{n}"
        return name, auth.create_device(store, name, role, warehouse)
    finally:
        store.close()


def device_config(out: Path, name: str, role: str, server: str, token: str) -> Path:
    """The device's TOML beside the demo's devices; a packer prints to a file."""
    lines = [
        "[device]",
        f"name = {json.dumps(name)}",
        f"server = {json.dumps(server)}",
        f"token = {json.dumps(token)}",
        'scanner = "stdin://"',
        f"data_dir = {json.dumps(str(out / 'devices'))}",
        'screen = "tty"',
    ]
    if role == "packer":
        labels = out / "labels" / name
        labels.mkdir(parents=True, exist_ok=True)
        lines.append(f"printer = {json.dumps('file://' + str(labels / 'labels.zpl'))}")
    path = out / "devices" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", type=click.Path(path_type=Path), help="the demo's folder (default: newest)")
@click.option("--server", help="the server's URL (default: the one the demo wrote)")
@click.option(
    "--role", type=click.Choice(["picker", "packer"]), default="picker", show_default=True
)
@click.option("--warehouse", default="WH-EAST", show_default=True)
def main(out: Path | None, server: str | None, role: str, warehouse: str) -> None:
    """Run a handheld with the keyboard as its scanner against the demo's server."""
    out = out or newest_demo()
    if out is None or not (out / "data" / "scanfloor.db").is_file():
        raise click.ClickException(
            "no demo to join: run `make demo-serve` first (or give --out DEMO_FOLDER)"
        )
    if server is None:
        if not (out / "server.url").is_file():
            raise click.ClickException(f"{out} has no server.url: give --server URL")
        server = (out / "server.url").read_text().strip()
    name, token = enrol(out / "data", role, warehouse)
    config = device_config(out, name, role, server, token)
    click.echo(f"{name} ({role}, {warehouse}) on {server}: token {token}", err=True)
    click.echo(f"config {config}; type a barcode and Enter to scan, Ctrl-C to stop", err=True)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "device.main", "--config", str(config)])


if __name__ == "__main__":
    main()
