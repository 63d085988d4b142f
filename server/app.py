"""The Flask app and its Socket.IO server, wired from settings."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from gevent import monkey
from werkzeug.routing import Rule

from server.api.table import CONVERTERS
from server.config import Settings, load_settings
from server.realtime import pings, rooms
from server.realtime.wire import DevicePacket
from server.runtime.wiring import configure
from server.store import open_store
from shared.protocol import MAX_MESSAGE_BYTES

log = logging.getLogger("scanfloor.app")
SOCKETIO_CHANNEL = "flask-socketio"  # Flask-SocketIO's default, the one its docs and emitters use


class _LazyRule(Rule):
    """A route whose URL builders (werkzeug compiles two Python functions per rule, for
    url_for) are compiled the first time a URL is built from it. Most of our 110 routes are
    never built from: compiling them all took about 0.08 s of CPU in every app made, every
    server start and every in-process test."""

    def _compile_builder(self, append_unknown: bool = True):  # type: ignore[override]
        compiled = None

        def build(rule: Rule, **values: Any) -> tuple[str, str]:
            nonlocal compiled
            if compiled is None:
                compiled = Rule._compile_builder(rule, append_unknown)
            return compiled(rule, **values)

        return build


class _Flask(Flask):
    url_rule_class = _LazyRule


def create_app(settings: Settings | None = None) -> tuple[Flask, SocketIO]:
    """Build the app: storage, REST API, board, Socket.IO namespaces."""
    settings = settings or load_settings()
    weak = settings.weak_secret()
    if weak:
        log.warning(
            "%s: set secret_key in the server config (or SCANFLOOR_SECRET_KEY) to a long random "
            "string, e.g. the output of `python -c 'import secrets; print(secrets.token_hex(32))'`",
            weak,
        )
    app = _Flask(__name__, template_folder="web/templates", static_folder="web/static")
    # Every id in every route (REST, board API, pages) is `<id:...>`: 1 to 2^63-1, else 404;
    # device names `<device:...>` and codes `<code:...>` as the bodies that make them take them.
    app.url_map.converters.update(CONVERTERS)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.config["SETTINGS"] = settings
    store = open_store(settings.database, synchronous=settings.sqlite_synchronous)
    app.extensions["store"] = store
    if monkey.is_module_patched("threading"):
        # Serving under gevent: scans that arrive together share one commit (one fsync).
        store.group_commit()
        # Several processes on one file (servers, the worker): another's write lock is
        # waited for cooperatively.
        store.cooperative_lock_wait = True
    configure(settings)

    # Several processes: Flask-SocketIO's Redis queue. Its channel named here, as an emitter
    # elsewhere must name it (`SocketIO(message_queue=..., channel=...)`) to be heard. Either
    # way the manager indexes each link's rooms (server/realtime/rooms.py).
    manager = rooms.client_manager(settings.redis_url, SOCKETIO_CHANNEL)
    pings.install()  # each link's Engine.IO ping from a loop timer, not a greenlet
    socketio = SocketIO(
        app,
        async_mode="gevent",
        ping_interval=settings.device.ping_interval,
        ping_timeout=settings.device.ping_timeout,
        max_http_buffer_size=min(settings.device.max_message_bytes, MAX_MESSAGE_BYTES),
        # Browsers only from these origins (empty setting: the server's own, by Host); a
        # client sending no Origin header (the handhelds) is not checked by Engine.IO.
        cors_allowed_origins=settings.http.allowed_origins or None,
        serializer=DevicePacket,  # a payload it cannot decode gets an error ack
        client_manager=manager,
    )
    app.extensions["scanfloor.socketio"] = socketio

    from server import api, realtime, web
    from server.runtime import metrics
    from server.web import tracking

    metrics.init_app(app)
    api.init_app(app)
    web.init_app(app)
    tracking.init_app(app)
    realtime.init_app(app, socketio)
    # Planning, lease sweeps, webhooks and mail run in the worker process
    # (server/runtime/background.py), never here.
    if monkey.is_module_patched("threading"):
        _watch_and_settle(app, settings)
    return app, socketio


def _watch_and_settle(app: Flask, settings: Settings) -> None:
    """Serving: probe the loop, time collections, tune them and freeze what start-up made."""
    from server.runtime import loopwatch

    metrics = app.extensions["scanfloor.metrics"]
    loopwatch.settle(settings.gc, lambda: metrics.connects)
    # Started after start-up's own collection: what it measures is the serving loop's.
    metrics.loop.start()
