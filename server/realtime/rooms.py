"""Socket.IO's room book-keeping with an index from each link to its rooms.

python-socketio keeps `rooms[namespace][room] -> members` only, so a disconnect copies
the namespace's room table and asks every room whether the link is in it. Every handheld
has two rooms (its link's and its device's), so on a floor of N handhelds each disconnect
costs O(N) and a shift's end, or a storm of reconnects after a network blip, costs O(N²)
on the serving loop: at 1,500 handhelds that was a quarter of the server's samples in a
reconnect storm (py-spy, issue 14). Here each link's rooms are kept beside the table, and
a disconnect leaves just those.
"""

from __future__ import annotations

from typing import Any

import socketio


class _RoomIndex:
    """Mixin over a python-socketio manager: (namespace, sid) -> the rooms it is in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # may refuse: raises
        self.rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        held = self.rooms_of.get((namespace, sid))
        if held is not None:
            held.discard(room)
            if not held:
                del self.rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        if namespace not in self.rooms:
            return
        for room in list(self.rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        # The library then tidies the rest (callbacks, pending connects and disconnects),
        # walking the room table to find the link: give it an empty one to walk.
        table = self.rooms.get(namespace)
        self.rooms[namespace] = {}
        try:
            super().basic_disconnect(sid, namespace, **kwargs)
        finally:
            if table:
                self.rooms[namespace] = table
            else:
                self.rooms.pop(namespace, None)

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [r for r in self.rooms_of.get((namespace, sid), ()) if r is not None]


class IndexedManager(_RoomIndex, socketio.Manager):
    """One serving process: rooms kept in memory."""


class IndexedRedisManager(_RoomIndex, socketio.RedisManager):
    """Several processes: rooms kept here, messages passed through Redis."""


def client_manager(redis_url: str | None, channel: str) -> socketio.Manager:
    """The manager for a serving process: over Redis when the site runs several."""
    if redis_url:
        return IndexedRedisManager(redis_url, channel=channel)
    return IndexedManager()
