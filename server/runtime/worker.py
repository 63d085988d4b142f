"""`scanfloor worker`: run the site's worker process (gevent): planning, leases, webhooks, mail.

What it runs is in server/runtime/background.py. One per site: `scanfloor-server`
starts it beside itself unless `[worker] with_server = false`, `scanfloor serve-cluster`
starts one for the whole cluster, and config/systemd/scanfloor-worker.service runs it
on its own.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Run the worker until SIGTERM."""
    parser = argparse.ArgumentParser(prog="scanfloor worker", description=__doc__)
    parser.add_argument(
        "--config", help="server TOML (default config/server.toml or $SCANFLOOR_CONFIG)"
    )
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    from server.config import SettingsError, load_settings
    from server.runtime import logs
    from server.runtime.background import Worker, redis_publisher
    from server.runtime.wiring import configure
    from server.store import open_store

    try:
        settings = load_settings(args.config)
    except SettingsError as exc:  # what is wrong, no traceback; nothing started
        parser.exit(2, f"{parser.prog}: {exc}\n")
    if args.data_dir:
        settings.data_dir = type(settings.data_dir)(args.data_dir)
    logs.setup(settings.log_format)
    # The serving process wins a busy core: at least this nice (systemd's Nice= may be more).
    os.nice(max(0, settings.worker.nice - os.nice(0)))
    configure(settings)
    store = open_store(settings.database, synchronous=settings.sqlite_synchronous)
    # Servers share the file: wait for their write lock in short gevent sleeps.
    store.cooperative_lock_wait = True
    publish = redis_publisher(settings.redis_url) if settings.redis_url else None
    logging.getLogger("scanfloor").info("worker pid %d on %s", os.getpid(), settings.data_dir)
    Worker(store, settings, publish).run()


if __name__ == "__main__":
    main()
