"""Namespace /board: the supervisors' live board. Read-only: it only ever receives snapshots.

A board gets a full snapshot as soon as it connects; after that `Hub.board_changed()`
broadcasts one to every board whenever the floor changes. For now the board is open
to anyone on the site's network (no token); a read-only board token can be checked
in `on_connect` later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import Namespace

from server import metrics
from server.services import board

if TYPE_CHECKING:
    from server.realtime.hub import Hub

log = logging.getLogger("scanfloor.board")


class BoardNamespace(Namespace):
    def __init__(self, namespace: str, hub: Hub):
        super().__init__(namespace)
        self.hub = hub

    def on_connect(self, auth_data: Any = None) -> bool:
        """Send the newcomer the whole board at once."""
        metrics.board_connected(request.sid)
        try:
            self.emit("snapshot", board.snapshot(self.hub.store), room=request.sid)
        except Exception:
            # Refusing would stop the browser from retrying: accept, and let the
            # next floor change bring the board its data.
            log.exception("board snapshot on connect failed")
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        metrics.board_disconnected(request.sid)
