"""`scanfloor-server`: run the server process (gevent, websockets)."""

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
    if args.config:
        os.environ["SCANFLOOR_CONFIG"] = args.config
    from server.app import create_app
    from server.config import load_settings
    from server.runtime import httpd, logs

    settings = load_settings()
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
    # Not socketio.run(): its handler leaves Nagle on (see server/runtime/httpd.py).
    httpd.make_server(app, socketio, settings.http.host, settings.http.port).serve_forever()


if __name__ == "__main__":
    main()
