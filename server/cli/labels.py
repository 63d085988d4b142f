"""`scanfloor labels`: print the floor's own labels (totes, bins, command cards, badges) as ZPL."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from server.cli.options import open_db, settings_options
from server.config import Settings
from server.floor.domain import floor_labels
from server.floor.domain.floor_labels import FloorLabel
from server.floor.printers import PrinterUnreachable, parse_printer_url, send_raw


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --size, --dpi, --out and --printer; the command returns labels, this prints them."""

    @click.option(
        "--size", type=click.Choice(list(floor_labels.SIZES)), default="4x6", show_default=True
    )
    @click.option(
        "--dpi", type=click.Choice(["203", "300"]), default="203", show_default=True,
        help="the printer's resolution",
    )  # fmt: skip
    @click.option(
        "-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
        help="write the ZPL to this file (default: standard output)",
    )  # fmt: skip
    @click.option("--printer", help="send the ZPL to a printer instead: tcp://host:9100 (raw)")
    @functools.wraps(fn)
    def wrapper(size: str, dpi: str, out: Path | None, printer: str | None, **kwargs: Any) -> None:
        if out is not None and printer is not None:
            raise click.UsageError("give --out or --printer, not both")
        if printer is not None:
            try:
                parse_printer_url(printer)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--printer") from None
        labels: list[FloorLabel] = fn(**kwargs)
        if not labels:
            raise click.ClickException("no labels to print")
        try:
            zpl = floor_labels.render_all(labels, size, int(dpi))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if printer is not None:
            try:
                send_raw(printer, zpl.encode("utf-8"))
            except PrinterUnreachable as exc:
                raise click.ClickException(f"{exc}; nothing was printed") from None
            click.echo(f"sent {len(labels)} labels to {printer}", err=True)
        elif out is not None:
            out.write_text(zpl, encoding="utf-8")
            click.echo(f"wrote {len(labels)} labels to {out}", err=True)
        else:
            sys.stdout.write(zpl)

    return wrapper


@click.group()
def labels() -> None:
    """Print the floor's own labels as ZPL (4x6 or 2x1 inch): to a file, stdout or a printer."""


@labels.command("totes")
@click.option("--from", "first", type=click.IntRange(0, floor_labels.MAX_TOTE), required=True)
@click.option("--to", "last", type=click.IntRange(0, floor_labels.MAX_TOTE), required=True)
@click.option("--digits", type=click.IntRange(0, 8), default=0, help="zero-pad: 4 gives TOTE-0007")
@output_options
def totes(first: int, last: int, digits: int) -> list[FloorLabel]:
    """Tote labels: TOTE-<from> to TOTE-<to>."""
    if last < first:
        raise click.UsageError(f"--to {last} is below --from {first}")
    if last - first >= 10_000:
        raise click.UsageError("at most 10,000 tote labels at once")
    return floor_labels.totes(first, last, digits)


@labels.command("bins")
@click.option("--warehouse", help="only this warehouse's bins")
@click.option("--aisle", type=click.IntRange(0), help="only this aisle's bins")
@output_options
@settings_options
def bins(settings: Settings, warehouse: str | None, aisle: int | None) -> list[FloorLabel]:
    """Bin labels: from the locations table, code in large type, barcode in the bars."""
    store = open_db(settings)
    try:
        if warehouse is not None and not store.one(
            "SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)
        ):
            raise click.ClickException(f"unknown warehouse {warehouse}")
        rows = store.all(
            """SELECT warehouse, code, barcode, zone FROM locations
               WHERE (CAST(:wh AS TEXT) IS NULL OR warehouse = :wh)
                 AND (CAST(:aisle AS INTEGER) IS NULL OR aisle = :aisle)
               ORDER BY warehouse, aisle, bay, level, code""",
            {"wh": warehouse, "aisle": aisle},
        )
    finally:
        store.close()
    return [
        floor_labels.bin_label(r["warehouse"], r["code"], r["barcode"], r["zone"]) for r in rows
    ]


@labels.command("commands")
@click.option(
    "--found-up-to", type=click.IntRange(0, 99), default=5, show_default=True,
    help="also the count cards CMD-COUNT-1 .. CMD-COUNT-N (N units in the bin)",
)  # fmt: skip
@output_options
def commands(found_up_to: int) -> list[FloorLabel]:
    """Command cards: every CMD- card, a set for a cart or a bench."""
    return floor_labels.commands(found_up_to)


@labels.command("carriers")
@output_options
@settings_options
def carrier_cards(settings: Settings) -> list[FloorLabel]:
    """Dock cards: CARRIER-<NAME> for each carrier in the config, for a pack station in dock mode."""
    return [floor_labels.carrier(name, c.title) for name, c in sorted(settings.carriers.items())]


@labels.command("badges")
@click.argument("names", nargs=-1, required=True)
@output_options
def badges(names: tuple[str, ...]) -> list[FloorLabel]:
    """Worker badges: BADGE-<name> for each name, for signing in on a device."""
    try:
        return [floor_labels.badge(n) for n in names]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAMES") from None
