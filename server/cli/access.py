"""`scanfloor api-key ...` and `scanfloor device ...`: who may call the API, which handhelds may connect."""

from __future__ import annotations

import json
from typing import Any

import click

from server.cli.options import cli_actor, cut_links, open_db, settings_options, table
from server.config import Settings
from server.people import auth


class _KeyGroup(click.Group):
    """`scanfloor api-key NAME ...` makes a key; `api-key list|revoke|add` are subcommands."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["add", *args]
        return super().resolve_command(ctx, args)


@click.group("api-key", cls=_KeyGroup)
def api_key() -> None:
    """REST API keys: `api-key NAME --scope S` makes one; `list`, `revoke NAME`."""


@api_key.command("add")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"what the key may do, repeatable: {', '.join(auth.ALL_SCOPES)}, or all",
)
@click.option(
    "--expires", default="never", show_default=True, help="e.g. 90d or 12h from now, or never"
)
@settings_options
def api_key_add(settings: Settings, name: str, scopes: tuple[str, ...], expires: str) -> None:
    """Make an API key for REST clients and print it (shown once)."""
    store = open_db(settings)
    try:
        click.echo(auth.create_api_key(store, name, scopes, auth.parse_expiry(expires)))
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


@api_key.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON array")
@settings_options
def api_key_list(settings: Settings, as_json: bool) -> None:
    """Every API key: name, scopes, created, expires, last used, revoked (never the key)."""
    store = open_db(settings)
    try:
        keys = auth.list_api_keys(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(keys, indent=1))
        return
    table(
        ["name", "scopes", "created", "expires", "last used", "revoked"],
        [
            [
                k["name"],
                " ".join(k["scopes"]),
                k["created_at"][:16],
                (k["expires_at"] or "never")[:16],
                (k["last_used_at"] or "never")[:16],
                (k["revoked_at"] or "yes")[:16] if k["revoked"] else "no",
            ]
            for k in keys
        ],
    )


@api_key.command("revoke")
@click.argument("name")
@settings_options
def api_key_revoke(settings: Settings, name: str) -> None:
    """Revoke an API key: it is refused (401) from the next request on."""
    store = open_db(settings)
    try:
        changed = auth.revoke_api_key(store, name, actor=cli_actor())
    except KeyError:
        raise click.ClickException(f"no API key named {name}") from None
    finally:
        store.close()
    click.echo(f"API key {name} revoked" if changed else f"API key {name} was revoked already")


@click.group()
def device() -> None:
    """Handhelds and pack stations."""


@device.command("add")
@click.argument("name", required=False)
@click.option("--role", type=click.Choice(["picker", "packer"]), required=True)
@click.option("--warehouse", required=True, help="the warehouse code it works in")
@click.option("--zones", default="", help="pickers: only work in these zones (comma-separated)")
@click.option("--cart-totes", default=6, show_default=True, help="pickers: orders one cart carries")
@click.option(
    "--count",
    type=click.IntRange(1, 10_000),
    help="enrol this many devices at once, named PREFIX001, PREFIX002, ...",
)
@click.option("--prefix", help="with --count: the name prefix (e.g. fleet-p)")
@click.option("--start", default=1, show_default=True, help="with --count: the first number")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="with --count: how the names and tokens are printed",
)
@settings_options
def device_add(
    settings: Settings,
    name: str | None,
    role: str,
    warehouse: str,
    zones: str,
    cart_totes: int,
    count: int | None,
    prefix: str | None,
    start: int,
    fmt: str,
) -> None:
    """Register a device and print its token (shown once); with --count, a whole fleet."""
    if count is None and not name:
        raise click.UsageError("give a NAME, or --count N --prefix P for several devices")
    if count is not None and (name or not prefix):
        raise click.UsageError("--count takes --prefix and no NAME")
    store = open_db(settings)
    try:
        names = [name] if count is None else auth.fleet_names(prefix, count, start)
        made = auth.create_devices(store, names, role, warehouse, zones, cart_totes)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if count is None:
        click.echo(made[0][1])
    elif fmt == "json":
        click.echo(json.dumps([{"name": n, "token": t, "role": role} for n, t in made], indent=1))
    else:
        click.echo("name,token,role")
        for n, t in made:
            click.echo(f"{n},{t},{role}")


@device.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON array")
@settings_options
def device_list(settings: Settings, as_json: bool) -> None:
    """Every device: name, role, warehouse, connected, last seen, worker, revoked."""
    store = open_db(settings)
    try:
        rows = auth.list_devices(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    table(
        ["name", "role", "warehouse", "connected", "last seen", "worker", "revoked"],
        [
            [
                r["name"],
                r["role"],
                r["warehouse"],
                "yes" if r["connected"] else "no",
                (r["last_seen"] or "never")[:19],
                r["worker"] or "-",
                (r["revoked_at"] or "yes")[:19] if r["revoked"] else "no",
            ]
            for r in rows
        ],
    )


@device.command("revoke")
@click.argument("name")
@settings_options
def device_revoke(settings: Settings, name: str) -> None:
    """Revoke a device for good: its link is cut, its pick list goes back to the queue."""
    store = open_db(settings)
    try:
        did, released = auth.revoke_device(store, name, actor=cli_actor())
    except KeyError:
        raise click.ClickException(f"no device named {name}") from None
    finally:
        store.close()
    click.echo(
        f"device {name} revoked"
        + (f"; {len(released)} pick list back in the queue" if released else "")
    )
    cut_links(settings, [did])


@device.command("rotate")
@click.argument("name")
@settings_options
def device_rotate(settings: Settings, name: str) -> None:
    """Give a device a new token and print it (shown once); the old one stops working now."""
    store = open_db(settings)
    try:
        did, token, _ = auth.rotate_device(store, name, actor=cli_actor())
    except KeyError:
        raise click.ClickException(f"no device named {name}") from None
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(token)
    cut_links(settings, [did])
