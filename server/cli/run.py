"""`scanfloor serve-cluster`, `demo` and `carrier-sim`: programs the CLI starts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from server.cli.options import settings_options
from server.config import Settings, check_database_url


@click.command("serve-cluster")
@click.option("--processes", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--host", help="where nginx listens (default: http.host)")
@click.option("--port", type=int, help="where nginx listens (default: http.port)")
@click.option("--redis-url", help="Redis for the processes (default: redis_url, else local 6379)")
@click.option(
    "--database",
    help="the site's database URL for every process: postgresql://... or sqlite:///... "
    "(default: database_url, else the SQLite file in the data dir)",
)
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
    database: str | None,
    private_redis: bool,
    log_dir: Path | None,
    state_file: Path | None,
) -> None:
    """Run several server processes joined by Redis, nginx in front, until SIGTERM or Ctrl-C."""
    import contextlib
    import tempfile

    from server.runtime import cluster

    if redis_url is not None and private_redis:
        raise click.UsageError("--redis-url and --private-redis: give one or the other")
    if database is not None:
        try:
            settings = settings.model_copy(update={"database_url": check_database_url(database)})
        except ValueError as exc:
            raise click.ClickException(f"bad --database: {exc}") from None
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
                    database_url=settings.database_url,
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


@click.command(
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


@click.command(
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


@click.command(
    "worker",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    },
)
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the site's worker: cart planning, lease sweeps, webhooks, mail (--config, --data-dir)."""
    # Its own program (server/runtime/worker.py: gevent must patch before anything imports
    # sockets), run in this process's place: systemd's SIGTERM reaches the worker itself.
    os.execv(sys.executable, [sys.executable, "-m", "server.runtime.worker", *ctx.args])
