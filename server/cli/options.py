"""What every command group shares: --config/--data-dir, the database, tables, the actor, Redis notices."""

from __future__ import annotations

import functools
import getpass
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import psycopg

from server.config import Settings, SettingsError, load_settings
from server.notify import mail
from server.store import Store, open_store


def settings_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config and --data-dir, and pass the loaded Settings as `settings`."""

    @click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="server TOML (default $SCANFLOOR_CONFIG or config/server.toml)",
    )
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="where the database lives (overrides the config)",
    )
    @functools.wraps(fn)
    def wrapper(config: Path | None, data_dir: Path | None, **kwargs: Any) -> Any:
        try:
            settings = load_settings(config, **({"data_dir": data_dir} if data_dir else {}))
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        return fn(settings=settings, **kwargs)

    return wrapper


def open_db(settings: Settings, create: bool = False) -> Store:
    """The site's database, migrated; unless creating, it must exist (`scanfloor init`)."""
    mail.configure(settings.email)  # status changes made here queue mails as the server's do
    url = settings.database
    where = shown(url)
    if not url.startswith("postgres"):
        path = Path(url.removeprefix("sqlite:///"))
        if not create and not path.exists():
            raise click.ClickException(f"no database at {path}: run `scanfloor init` first")
        where = str(path)
    try:
        return open_store(url, synchronous=settings.sqlite_synchronous, migrate=not create)
    except (OSError, sqlite3.Error, psycopg.Error) as exc:
        raise click.ClickException(f"cannot open the database at {where}: {exc}") from None


def shown(url: str) -> str:
    """A database URL fit to print: the SQLite file's path, or the URL without its password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return re.sub(r"^(\w+://[^:/@]*):[^@]*@", r"\1:***@", url)


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def cli_actor() -> str:
    """Who acts, for the audit log: the operating-system user running the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"cli:uid-{os.getuid()}"


def cut_links(settings: Settings, device_ids: list[int]) -> None:
    """Tell the server processes to cut these devices' links now (with Redis: at once;
    alone, the server notices within a second by itself)."""
    if not settings.redis_url:
        return
    from server.realtime.bus import publish_cut

    if not publish_cut(settings.redis_url, device_ids):
        click.echo(
            f"could not reach Redis at {settings.redis_url}: the servers cut the link "
            "within a second by themselves",
            err=True,
        )


def work_arrived(settings: Settings) -> None:
    """Wake a server process to hand the new work out now: with several (redis_url set) over
    the bus, alone through the change log it reads a few times a second."""
    if not settings.redis_url:
        from server.runtime import signals

        store = open_db(settings)
        try:
            with store.write():
                signals.emit(store, {"k": "work", "w": None})
        finally:
            store.close()
        return
    from server.realtime.bus import publish_work

    if not publish_work(settings.redis_url):
        click.echo(
            f"could not reach Redis at {settings.redis_url}: idle pickers get the new work "
            "when they next connect",
            err=True,
        )
