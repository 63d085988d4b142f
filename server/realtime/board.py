"""Namespace /board: the supervisors' live board. It only ever receives snapshots and deltas;
supervisors act through the JSON routes under /board/api (server/web/board_api.py).

A board gets its first view as soon as it connects (the snapshot: counts, every column's
total and first lists, devices; built once for every board connecting before the next
update); after that `Hub.board_changed()` sends every board a `delta` with the rows a
change touched and the column totals (a fresh snapshot after changes only a whole board
shows); while nothing changes, a keep-alive holding only the time at least every 1.5 s and
the totals every 10 s (`Hub._tick_boards`). Later lists, filters, a search and other sorts come
from `GET /board/api/lists`. Nothing is built while no board is connected.

Only a supervisor's or admin's log-in session opens it (`access.board_socket_allowed`):
anything else, a picker's session or a device token in the connect auth, is refused
before anything is sent. Browsers from other origins are refused by Engine.IO itself
(`[http] allowed_origins`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gevent
from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace

from server.people import users
from server.runtime import httpd, metrics
from server.web.access import board_socket_allowed

if TYPE_CHECKING:
    from server.realtime.hub import Hub

log = logging.getLogger("scanfloor.board")


class BoardNamespace(Namespace):
    def __init__(self, namespace: str, hub: Hub):
        super().__init__(namespace)
        self.hub = hub
        # sid -> the session it was opened with (user id, epoch, password stamp)
        self.sessions: dict[str, tuple[int, int, str]] = {}

    def on_connect(self, auth_data: Any = None) -> bool:
        """Count the board in (deltas are built only while one is open) and send it the whole board."""
        try:
            return self._connect()
        finally:  # the next connection's handshake may start (server/runtime/httpd.py)
            httpd.signed_in(request.environ)

    def _connect(self) -> bool:
        if not board_socket_allowed():
            log.info("board connection refused: no supervisor's log-in session")
            raise ConnectionRefusedError("log in at /login as a supervisor or admin first")
        self.sessions[request.sid] = (current_user.db_id, current_user.epoch, current_user.stamp)
        self.hub.board_joined()
        metrics.board_connected(request.sid)
        # Sent once the client holds the connection (not before its CONNECT packet).
        self.hub.socketio.start_background_task(self._send_snapshot, request.sid)
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        self.sessions.pop(request.sid, None)
        self.hub.board_left()
        metrics.board_disconnected(request.sid)

    def cut_ended_sessions(self) -> list[str]:
        """Disconnect the boards whose log-in session ended (log-out, new password, new role,
        user removed: server/people/users.py), on any process; returns their sids."""
        ended = [
            sid
            for sid, (user_id, epoch, stamp) in list(self.sessions.items())
            if users.session_user(self.hub.store, user_id, epoch, stamp) is None
        ]
        for sid in ended:
            self.sessions.pop(sid, None)
            self.hub.socketio.server.disconnect(sid, namespace=self.namespace)
        return ended

    def watch_sessions(self, period: float = 1.0) -> None:
        """Check the open boards' sessions for ever (a background greenlet): one indexed read
        per open board per period."""
        while True:
            gevent.sleep(period)
            try:
                if self.sessions:
                    self.cut_ended_sessions()
            except Exception:  # keep watching
                log.exception("board session check failed")

    def _send_snapshot(self, sid: str) -> None:
        try:
            self.hub.send_first_view(sid)
        except Exception:
            # Refusing would stop the browser from retrying: accept, and let the
            # next floor change bring the board its data.
            log.exception("board snapshot on connect failed")
