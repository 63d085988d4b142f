"""`scanfloor init`, `import` and `allocate`: the site's database, its data, its reservations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from server.capture import orders
from server.cli.imports import Catalogue, ImportProblems, read_catalogue, read_orders
from server.cli.options import open_db, settings_options, shown, work_arrived
from server.config import Settings
from server.inventory import allocate, catalogue
from server.store import Store

KINDS = ("warehouses", "locations", "products", "stock", "orders")


@click.command()
@settings_options
def init(settings: Settings) -> None:
    """Create the database in the data dir, or bring it up to date."""
    store = open_db(settings, create=True)
    try:
        applied = store.migrate()
    finally:
        store.close()
    click.echo(f"database ready at {shown(settings.database)}")
    for name in applied:
        click.echo(f"  applied {name}")


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="what the CSV files hold (default: from the file name, e.g. products.csv)",
)
@settings_options
def import_(settings: Settings, files: tuple[Path, ...], kind: str | None) -> None:
    """Import a catalogue (JSON shaped like CatalogueIn, or CSV) or orders (CSV); all or nothing."""
    for path in files:
        if not path.is_file():
            raise click.ClickException(f"{path}: no such file")
    order_files = [p for p in files if _kind(p, kind) == "orders"]
    cat_files = [p for p in files if p not in order_files]
    try:
        cat = read_catalogue([(p, _kind(p, kind)) for p in cat_files]) if cat_files else None
        new_orders = [o for p in order_files for o in read_orders(p)]
    except ImportProblems as exc:
        _fail(exc.problems)
    store = open_db(settings)
    try:
        if cat is not None:
            _import_catalogue(store, cat)
        if new_orders:
            _import_orders(store, new_orders)
    finally:
        store.close()


def _kind(path: Path, kind: str | None) -> str:
    if path.suffix.lower() == ".json":
        return "json"
    if kind:
        return kind
    if path.stem in KINDS:
        return path.stem
    raise click.ClickException(
        f"{path}: say what it holds with --kind ({'|'.join(KINDS)}) or name it e.g. products.csv"
    )


def _fail(problems: list[tuple[str, str]]) -> None:
    for where, message in problems:
        click.echo(f"  {where}: {message}", err=True)
    raise click.ClickException(f"{len(problems)} problem(s); nothing was imported")


def _import_catalogue(store: Store, cat: Catalogue) -> None:
    try:
        counts = catalogue.load(store, cat.data)
    except catalogue.CatalogueError as exc:
        _fail([(cat.where(field), message) for field, message in exc.problems])
    click.echo("imported " + ", ".join(f"{n} {what}" for what, n in counts.items()))


def _import_orders(store: Store, new: list[tuple[str, Any]]) -> None:
    problems: list[tuple[str, str]] = []
    created = 0

    class Rollback(Exception):
        pass

    try:
        with store.write():  # one transaction: a bad order keeps every order out
            for where, order in new:
                try:
                    created += orders.capture(store, order)[1]
                except orders.OrderRejected as exc:
                    problems += [(f"{where} {f}", msg) for f, msg in exc.problems]
                except orders.OrderConflict as exc:
                    problems.append((where, str(exc)))
            if problems:
                raise Rollback
    except Rollback:
        _fail(problems)
    click.echo(f"imported {created} orders ({len(new) - created} were there already)")
    click.echo("run `scanfloor allocate` to reserve stock for them")


@click.command("allocate")
@settings_options
def allocate_cmd(settings: Settings) -> None:
    """Reserve stock for every order waiting for it, most urgent first."""
    store = open_db(settings)
    try:
        counts = allocate.allocate_pending(store)
    finally:
        store.close()
    if not counts:
        click.echo("no orders waiting")
    for status, n in sorted(counts.items()):
        click.echo(f"{status}: {n}")
    if counts:
        work_arrived(settings)
