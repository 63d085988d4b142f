"""`scanfloor-server`: run the server process (gevent, websockets), and the worker beside it.

Unless `[worker] with_server = false`, it starts one worker process
(server/runtime/worker.py), starts it again if it dies and stops it with itself.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Serve REST, the board and the device namespace on one port."""
    parser = argparse.ArgumentParser(prog="scanfloor-server", description=__doc__)
    parser.add_argument(
        "--config", help="server TOML (default config/server.toml or $SCANFLOOR_CONFIG)"
    )
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    from server.config import SettingsError, load_settings
    from shared.lean import UNUSED_CLIENTS, keep_out

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:  # what is wrong, no traceback; nothing started
        parser.exit(2, f"{parser.prog}: {exc}\n")
    # Redis only where the site has one (several processes); aiohttp never (shared/lean.py).
    keep_out(*(n for n in UNUSED_CLIENTS if n != "redis" or not settings.redis_url))
    from server.app import create_app
    from server.runtime import httpd, logs

    if args.host:
        settings.http.host = args.host
    if args.port is not None:
        settings.http.port = args.port
    if args.data_dir:
        settings.data_dir = type(settings.data_dir)(args.data_dir)
    logs.setup(settings.log_format)
    app, socketio = create_app(settings)
    logging.getLogger("scanfloor").info(
        "serving on http://%s:%s (data %s)",
        settings.http.host,
        settings.http.port,
        settings.data_dir,
    )
    if settings.worker.with_server:
        _start_worker(settings.data_dir, settings.worker.nice)
    # Not socketio.run(): its handler leaves Nagle on (see server/runtime/httpd.py).
    httpd.make_server(
        app, socketio, settings.http.host, settings.http.port, settings.http.handshakes
    ).serve_forever()


def _start_worker(data_dir: object, nice: int) -> None:
    """Start the site's worker beside this process, keep it running, stop it on SIGTERM or
    SIGINT (and, through the kernel's parent-death signal, should this process be killed)."""
    import signal

    import gevent

    from server.runtime.keeper import Keeper, worker_command

    keeper = Keeper(worker_command(data_dir), nice=nice)
    keeper.start()
    gevent.spawn(keeper.keep)

    def stop(signum: int) -> None:
        keeper.stop(timeout=5)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, lambda s=signum: gevent.spawn(stop, s))


if __name__ == "__main__":
    main()
