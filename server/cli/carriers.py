"""`scanfloor closeout`: end of day for one carrier and warehouse, a manifest to print."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.options import open_db, settings_options
from server.config import Settings
from server.floor import screens
from server.shipping import carriers, manifests


@click.command("closeout")
@click.option("--carrier", required=True, help="the carrier's name in config: local")
@click.option("--warehouse", required=True, help="the warehouse code: WH-NJ")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
    help="also write the manifest as CSV to this file",
)  # fmt: skip
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
    help="also write the printable manifest page to this file",
)  # fmt: skip
@settings_options
def closeout(
    settings: Settings,
    carrier: str,
    warehouse: str,
    csv_path: Path | None,
    html_path: Path | None,
) -> None:
    """Close out a carrier's packed packages of a warehouse into a manifest for the dock."""
    carriers.configure(settings)
    if carrier not in carriers.REGISTRY:
        known = ", ".join(sorted(carriers.REGISTRY))
        raise click.ClickException(f"no carrier {carrier} (carriers: {known})")
    store = open_db(settings)
    try:
        try:
            manifest_id = manifests.closeout(store, carrier, warehouse)
        except KeyError:
            raise click.ClickException(f"no warehouse {warehouse}") from None
        except manifests.NothingToClose as exc:
            raise click.ClickException(str(exc)) from None
        with store.write():  # pack stations loading this truck see the new count when they next
            screens.refresh_docks(store, carrier, warehouse)  # hear from the server
        found = manifests.get(store, manifest_id)
    finally:
        store.close()
    assert found is not None
    if csv_path is not None:
        csv_path.write_text(manifests.csv_text(found), encoding="utf-8", newline="")
    if html_path is not None:
        html_path.write_text(_page(found), encoding="utf-8")
    click.echo(
        f"manifest {manifest_id}: {found['count']} {carrier} package(s) of {warehouse}, "
        f"{found['weight_g'] / 1000:.3f} kg"
    )
    for p in found["packages"]:
        click.echo(f"  {p['tracking']}  {p['order']}  {p['service']}  {p['postcode']}")
    base = f"/api/carriers/{carrier}/manifests/{manifest_id}"
    click.echo(f"CSV: {base}.csv  page: {base}")


def _page(found: dict) -> str:
    """The printable page, rendered with the server's own template."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "web" / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("manifest.html").render(m=found, rows=manifests.rows(found))
