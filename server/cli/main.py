"""`scanfloor`: the admin CLI — database, imports, API keys, devices, users, allocation."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from server.capture import orders
from server.cli.imports import Catalogue, ImportProblems, read_catalogue, read_orders
from server.config import Settings, load_settings
from server.inventory import allocate, catalogue
from server.notify import mail
from server.people import auth
from server.store import Store, open_store

KINDS = ("warehouses", "locations", "products", "stock", "orders")


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
        if config is not None and not config.is_file():
            raise click.ClickException(f"config file {config} not found")
        try:
            settings = load_settings(config, **({"data_dir": data_dir} if data_dir else {}))
        except ValidationError as exc:
            raise click.ClickException(f"bad settings: {exc}") from None
        return fn(settings=settings, **kwargs)

    return wrapper


def open_db(settings: Settings, create: bool = False) -> Store:
    """The site's database, migrated; unless creating, it must exist (`scanfloor init`)."""
    mail.configure(settings.email)  # status changes made here queue mails as the server's do
    path = settings.db_path
    if not create and not path.exists():
        raise click.ClickException(f"no database at {path}: run `scanfloor init` first")
    try:
        return open_store(path, synchronous=settings.sqlite_synchronous, migrate=not create)
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"cannot open the database at {path}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run the floor of eCommerce warehouses: admin commands."""


@main.command()
@settings_options
def init(settings: Settings) -> None:
    """Create the database in the data dir, or bring it up to date."""
    store = open_db(settings, create=True)
    try:
        applied = store.migrate()
    finally:
        store.close()
    click.echo(f"database ready at {settings.db_path}")
    for name in applied:
        click.echo(f"  applied {name}")


@main.command("import")
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


class _KeyGroup(click.Group):
    """`scanfloor api-key NAME ...` makes a key; `api-key list|revoke|add` are subcommands."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["add", *args]
        return super().resolve_command(ctx, args)


@main.group("api-key", cls=_KeyGroup)
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
    _table(
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


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@main.group()
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
    _table(
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
    _cut_links(settings, [did])


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
    _cut_links(settings, [did])


def cli_actor() -> str:
    """Who acts, for the audit log: the operating-system user running the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"cli:uid-{os.getuid()}"


def _cut_links(settings: Settings, device_ids: list[int]) -> None:
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


@main.command("allocate")
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
        _work_arrived(settings)


def _work_arrived(settings: Settings) -> None:
    """With several server processes (redis_url set), wake one to hand the new work out now."""
    if not settings.redis_url:
        return  # one process: idle pickers get the work when they next connect or ask
    from server.realtime.bus import publish_work

    if not publish_work(settings.redis_url):
        click.echo(
            f"could not reach Redis at {settings.redis_url}: idle pickers get the new work "
            "when they next connect",
            err=True,
        )


@main.command("serve-cluster")
@click.option("--processes", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--host", help="where nginx listens (default: http.host)")
@click.option("--port", type=int, help="where nginx listens (default: http.port)")
@click.option("--redis-url", help="Redis for the processes (default: redis_url, else local 6379)")
@click.option(
    "--private-redis",
    is_flag=True,
    help="start a redis-server of its own on a free port (the admin CLI will not reach it)",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="one log file per process here (default: this terminal)",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write what runs where (pids, ports) to this JSON file",
)
@settings_options
def serve_cluster(
    settings: Settings,
    processes: int,
    host: str | None,
    port: int | None,
    redis_url: str | None,
    private_redis: bool,
    log_dir: Path | None,
    state_file: Path | None,
) -> None:
    """Run several server processes joined by Redis, nginx in front, until SIGTERM or Ctrl-C."""
    import contextlib
    import tempfile

    from server.runtime import cluster

    with contextlib.ExitStack() as stack:
        try:
            if private_redis:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scanfloor-")))
                redis_url = stack.enter_context(cluster.private_redis(tmp))
            url = redis_url or settings.redis_url or "redis://127.0.0.1:6379/0"
            cluster.run(
                cluster.Cluster(
                    data_dir=settings.data_dir,
                    redis_url=url,
                    processes=processes,
                    host=host or settings.http.host,
                    port=port if port is not None else settings.http.port,
                    log_dir=log_dir,
                    state_file=state_file,
                    max_body_bytes=settings.http.max_body_bytes,
                )
            )
        except cluster.ClusterError as exc:
            raise click.ClickException(str(exc)) from None


@main.command(
    "demo",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    },
)
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the demo floor (scripts/demo): seeded site, real server, simulated devices, virtual printers."""
    # Its own program (the demo drives server and devices from outside, and the server
    # must not import device code), run in this process's place: a SIGTERM or SIGINT sent
    # to `scanfloor demo` reaches the demo, which stops its server and devices.
    os.execv(sys.executable, [sys.executable, "-m", "scripts.demo", *ctx.args])


@main.command(
    "carrier-sim",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    },
)
@click.pass_context
def carrier_sim(ctx: click.Context) -> None:
    """Play a carrier (scripts/carrier_sim.py): signed tracking events for shipped packages."""
    # A client of the server over HTTP, as a real carrier is: its own program, run in this
    # process's place (`scanfloor carrier-sim --help` for its options).
    os.execv(sys.executable, [sys.executable, "-m", "scripts.carrier_sim", *ctx.args])


# The shops' commands and `scanfloor labels ...` live beside this module and use its
# helpers (settings_options, open_db), so they join last.
from server.cli.carriers import closeout  # noqa: E402
from server.cli.labels import labels  # noqa: E402
from server.cli.shop import channel, webhook  # noqa: E402
from server.cli.users import user  # noqa: E402

main.add_command(channel)
main.add_command(webhook)
main.add_command(labels)
main.add_command(closeout)
main.add_command(user)

if __name__ == "__main__":
    main()
