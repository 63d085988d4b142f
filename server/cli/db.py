"""`scanfloor db copy`, `backup` and `restore`: moving a site's database and keeping it safe."""

from __future__ import annotations

from pathlib import Path

import click
import psycopg

from server.cli.options import settings_options, shown
from server.config import Settings, check_database_url
from server.runtime import processes
from server.store import open_store
from server.store.backup import BackupError, data_rows, is_postgres, sqlite_path
from server.store.backup import backup as take_backup
from server.store.backup import restore as put_back
from server.store.checks import stock_problems
from server.store.copy import CopyRefused, copy_site, open_source


def _stopped(url: str, what: str) -> None:
    """Refuse while a server or worker runs against the database (their heartbeats tell)."""
    if not is_postgres(url) and not sqlite_path(url).is_file():
        return
    try:
        store = open_source(url)
    except (CopyRefused, psycopg.Error) as exc:
        raise click.ClickException(f"cannot open {shown(url)}: {exc}") from None
    try:
        live = processes.running(store)
    finally:
        store.close()
    if live:
        names = ", ".join(p["instance"] for p in live)
        raise click.ClickException(
            f"{what} {shown(url)} is in use by running processes ({names}): stop them first"
        )


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A database URL of a form we open (sqlite:///PATH, postgresql://...), else a usage
    error: anything else would be taken for a SQLite file of that name and written."""
    if value is None:
        return None
    try:
        return check_database_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("database_url ")) from None


@click.group()
def db() -> None:
    """Move a site's database between SQLite and PostgreSQL."""


@db.command("copy")
@click.argument("source", callback=_url)
@click.argument("target", callback=_url)
def copy_cmd(source: str, target: str) -> None:
    """Copy a stopped site from SOURCE into the empty database TARGET.

    SOURCE and TARGET are database URLs: sqlite:///PATH or postgresql://USER@HOST:PORT/DB
    (either way round). Every table is copied in one transaction, row counts and the stock
    invariants are checked on both sides, ids continue past the copied ones. A TARGET that
    holds data is refused and nothing is written.
    """
    _stopped(source, "the source")
    try:
        report = copy_site(source, target, lambda t, n: n and click.echo(f"  {t}: {n}"))
    except CopyRefused as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"PostgreSQL: {exc}; nothing was written") from None
    click.echo(
        f"copied {report.total} rows in {len(report.rows)} tables from {shown(source)} "
        f"to {shown(target)} in {report.seconds:.2f} s; counts and stock invariants match"
    )


def _database(settings: Settings, database: str | None) -> str:
    return database or settings.database


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--database", callback=_url, help="database URL (default: the site's, from the settings)"
)
@settings_options
def backup(settings: Settings, dest: Path, database: str | None) -> None:
    """Back the site's database up into the new file DEST, while the server runs.

    SQLite: a copy made through SQLite's online backup API (one consistent snapshot; the
    server keeps writing). PostgreSQL: a pg_dump custom-format file. Restore either with
    `scanfloor restore DEST`.
    """
    url = _database(settings, database)
    try:
        report = take_backup(url, dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up {shown(url)} to {report.path} "
        f"({report.bytes / 1e6:.1f} MB in {report.seconds:.2f} s)"
    )


@click.command("restore")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--database", callback=_url, help="database URL (default: the site's, from the settings)"
)
@click.option("--force", is_flag=True, help="replace a database that holds data")
@settings_options
def restore(settings: Settings, src: Path, database: str | None, force: bool) -> None:
    """Restore the backup SRC into the site's database, which must hold no data.

    A database holding data is refused unless --force (which replaces it); a running server
    or worker on it is always refused. A SQLite backup restores into SQLite or PostgreSQL,
    a pg_dump file into PostgreSQL. The stock invariants are checked afterwards.
    """
    url = _database(settings, database)
    _stopped(url, "the database")
    try:
        seconds = put_back(src, url, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(url)  # brings an older backup up to this version's migrations
    try:
        problems = stock_problems(store)
    finally:
        store.close()
    if problems:
        raise click.ClickException(
            "restored, but the stock invariants fail: " + "; ".join(problems)
        )
    click.echo(
        f"restored {src} into {shown(url)} ({data_rows(url)} rows) in {seconds:.2f} s; "
        "stock invariants hold"
    )
