"""`scanfloor stock`: where every unit went, per SKU."""

from __future__ import annotations

import json

import click

from server.cli.options import open_db, settings_options
from server.config import Settings
from server.inventory import stock as stock_service
from server.inventory.domain.accounting import from_out, line


@click.group("stock")
def stock() -> None:
    """Stock: the unit accounting."""


@stock.command("accounting")
@click.option("--sku", default=None, help="one SKU (default: every SKU)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def accounting_cmd(settings: Settings, sku: str | None, as_json: bool) -> None:
    """Per SKU: received = shipped + on hand + in transit + scrapped; exits 1 if one does not hold."""
    store = open_db(settings)
    try:
        if sku and store.one("SELECT 1 FROM products WHERE sku = ?", (sku,)) is None:
            raise click.ClickException(f"no SKU {sku}")  # as REST's 404
        report = stock_service.accounting(store, sku)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for row in report["skus"]:
            click.echo(line(from_out(row)))
        click.echo(report["summary"])
    if not report["holds"]:
        raise SystemExit(1)
