"""`scanfloor user ...`: the people who log in to the board and sign in on handhelds."""

from __future__ import annotations

import getpass
import os

import click

from server.cli.options import open_db, settings_options, table
from server.config import Settings
from server.people import users

PASSWORD_ENV = "SCANFLOOR_PASSWORD"


def _password(name: str) -> str:
    """From $SCANFLOOR_PASSWORD (scripts), else typed twice at the terminal (not echoed)."""
    given = os.environ.get(PASSWORD_ENV)
    if given is not None:
        return given
    if not os.isatty(0):
        raise click.ClickException(
            f"no terminal to type {name}'s password at: set {PASSWORD_ENV} for scripts"
        )
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise click.ClickException("the two passwords differ; nothing changed")
    return first


@click.group("user")
def user() -> None:
    """People: admins and supervisors log in to the board; pickers and packers scan their badge."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@settings_options
def user_add(settings: Settings, name: str, role: str) -> None:
    """Add a user; the password comes from $SCANFLOOR_PASSWORD or is typed twice."""
    try:
        users.check_name(name)
        password = _password(name)
        store = open_db(settings)
        try:
            users.add(store, name, role, password)
        finally:
            store.close()
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {name} added ({role}); badge BADGE-{name}")


@user.command("list")
@settings_options
def user_list(settings: Settings) -> None:
    """Every user and role (never a password)."""
    store = open_db(settings)
    try:
        rows = users.list_users(store)
    finally:
        store.close()
    table(
        ["name", "role", "created", "password changed"],
        [[r["name"], r["role"], r["created_at"][:16], r["password_changed_at"][:16]] for r in rows],
    )


@user.command("remove")
@click.argument("name")
@settings_options
def user_remove(settings: Settings, name: str) -> None:
    """Remove a user: their sessions end, their badge stops working."""
    store = open_db(settings)
    try:
        users.remove(store, name)
    except KeyError:
        raise click.ClickException(f"no user named {name}") from None
    finally:
        store.close()
    click.echo(f"user {name} removed")


@user.command("passwd")
@click.argument("name")
@settings_options
def user_passwd(settings: Settings, name: str) -> None:
    """Set a user's password ($SCANFLOOR_PASSWORD or typed twice); their sessions end."""
    store = open_db(settings)
    try:
        users.set_password(store, name, _password(name))
    except KeyError:
        raise click.ClickException(f"no user named {name}") from None
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"password of {name} changed; their log-in sessions have ended")
