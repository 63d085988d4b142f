"""Socket.IO namespaces: /device for handhelds and pack stations, /board for supervisors."""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from server import metrics
from server.realtime.board import BoardNamespace
from server.realtime.device import DeviceNamespace
from server.realtime.hub import Hub
from shared.protocol import BOARD_NAMESPACE, DEVICE_NAMESPACE


def init_app(app: Flask, socketio: SocketIO) -> Hub:
    """Register the namespaces; the hub is how the rest of the server reaches devices."""
    hub = Hub(app.extensions["store"], socketio)
    app.extensions["scanfloor.hub"] = hub
    # /device is registered on python-socketio's server itself: see server/realtime/device.py.
    socketio.server.register_namespace(
        DeviceNamespace(DEVICE_NAMESPACE, hub, app.extensions.get(metrics.KEY))
    )
    socketio.on_namespace(BoardNamespace(BOARD_NAMESPACE, hub))
    settings = app.config["SETTINGS"]
    socketio.start_background_task(hub.watch_leases, settings.device.lease_seconds)
    socketio.start_background_task(hub.plan_carts)
    hub.plan_soon_everywhere()
    return hub
