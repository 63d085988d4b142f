"""The room index (server/realtime/rooms.py) against python-socketio's own manager.

The same random connects, room changes and disconnects go to both; after each step their
room tables, callbacks and pending lists must say the same, and the index must name
exactly the rooms each link is in.
"""

from __future__ import annotations

import random

import pytest
import socketio

from server.realtime.rooms import IndexedManager

NS = "/device"


def _managers() -> tuple[socketio.Manager, IndexedManager]:
    plain, indexed = socketio.Manager(), IndexedManager()
    for m in (plain, indexed):
        socketio.Server(client_manager=m)  # sets the manager's server (ids come from its eio)
    return plain, indexed


def _view(m: socketio.Manager, sids: list[str]) -> dict:
    """The manager's state with its random sids replaced by their index in `sids`."""
    name = {s: n for n, s in enumerate(sids)}
    keep = lambda r: r if r is None or r not in name else f"link{name[r]}"  # noqa: E731
    return {
        "rooms": {
            ns: {keep(r): sorted(name[s] for s in members) for r, members in table.items()}
            for ns, table in m.rooms.items()
        },
        "callbacks": sorted(name[s] for s in m.callbacks),
        "pending": {ns: sorted(name[s] for s in v) for ns, v in m.pending_connect.items()},
        "leaving": {ns: sorted(name[s] for s in v) for ns, v in m.pending_disconnect.items()},
    }


@pytest.mark.parametrize("seed", range(8))
def test_the_indexed_manager_keeps_the_same_rooms_as_the_library(seed):
    rng = random.Random(seed)
    plain, indexed = _managers()
    links: list[tuple[str, str]] = []  # (plain sid, indexed sid), by link number
    live: list[int] = []
    for step in range(300):
        op = rng.random()
        if op < 0.3 or not live:
            eio = f"eio{step}"
            pair = (plain.connect(eio, NS), indexed.connect(eio, NS))
            links.append(pair)
            live.append(len(links) - 1)
        elif op < 0.55:
            n = rng.choice(live)
            room = f"device:{rng.randrange(6)}"
            plain.enter_room(links[n][0], NS, room)
            indexed.enter_room(links[n][1], NS, room)
        elif op < 0.7:
            n = rng.choice(live)
            room = f"device:{rng.randrange(6)}"
            plain.leave_room(links[n][0], NS, room)
            indexed.leave_room(links[n][1], NS, room)
        elif op < 0.75:
            room = f"device:{rng.randrange(6)}"
            plain.close_room(room, NS)
            indexed.close_room(room, NS)
        elif op < 0.8:
            n = rng.choice(live)
            for m, sid in zip((plain, indexed), links[n], strict=True):
                m._generate_ack_id(sid, lambda *a: None)  # an ack waited for
        else:
            n = live.pop(rng.randrange(len(live)))
            if rng.random() < 0.5:  # as the server does: marked leaving, then gone
                plain.pre_disconnect(links[n][0], NS)
                indexed.pre_disconnect(links[n][1], NS)
            plain.disconnect(links[n][0], NS)
            indexed.disconnect(links[n][1], NS)
        assert _view(plain, [p for p, _ in links]) == _view(indexed, [i for _, i in links]), step
        for n in live:  # a link's own room named "self" on both sides
            p_sid, i_sid = links[n]
            assert sorted(
                str("self" if r == i_sid else r) for r in indexed.get_rooms(i_sid, NS)
            ) == (sorted(str("self" if r == p_sid else r) for r in plain.get_rooms(p_sid, NS)))
    for n in set(range(len(links))) - set(live):
        assert (NS, links[n][1]) not in indexed.rooms_of  # nothing kept for a gone link
