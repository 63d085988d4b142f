"""Socket.IO namespaces: /device for handhelds and pack stations, /board for supervisors."""

from __future__ import annotations

import logging

from flask import Flask
from flask_socketio import SocketIO

from server.realtime.board import BoardNamespace
from server.realtime.device import DeviceNamespace, answer_before_connect
from server.realtime.hub import Hub
from server.runtime import metrics, processes
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE

log = logging.getLogger("scanfloor.realtime")


def init_app(app: Flask, socketio: SocketIO) -> Hub:
    """Register the namespaces; the hub is how the rest of the server reaches devices."""
    settings = app.config["SETTINGS"]
    store = app.extensions["store"]
    hub = Hub(store, socketio, instance=processes.new_instance())
    app.extensions["scanfloor.hub"] = hub
    # /device is registered on python-socketio's server itself: see server/realtime/device.py.
    socketio.server.register_namespace(
        DeviceNamespace(DEVICE_NAMESPACE, hub, app.extensions.get(metrics.KEY))
    )
    answer_before_connect(socketio.server)
    boards = BoardNamespace(BOARD_NAMESPACE, hub)
    socketio.on_namespace(boards)
    app.extensions["scanfloor.boards"] = boards
    hub.background.append(socketio.start_background_task(boards.watch_sessions))
    _join_site(hub, settings.redis_url)
    hub.background.append(socketio.start_background_task(hub.watch_tokens))
    if not settings.redis_url:
        # One process alone: the worker's news comes through its change log, not the bus.
        hub.start_signals()
        hub.background.append(socketio.start_background_task(hub.watch_signals))
    return hub


def _join_site(hub: Hub, redis_url: str | None) -> None:
    """Register this process; alone, no device is connected yet; with others, join their bus."""
    with hub.store.write():
        processes.register(hub.store, hub.instance)
        if not redis_url:
            processes.clear_all(hub.store, hub.instance)
            return
        cleared = processes.reap(hub.store, hub.instance, everyone=True)
    if cleared:
        log.info("cleared %d device link(s) left by server processes gone", len(cleared))
    from server.realtime.bus import Bus

    hub.bus = Bus(redis_url, hub.instance, hub.on_bus)
    hub.bus.start()
    hub.background.append(hub.socketio.start_background_task(hub.watch_processes))
