"""Events to a device: numbered per device and kept until the device has seen them."""

from __future__ import annotations

import json
from typing import Any

from server.core.clock import now
from server.store import Store
from server.store.db import dumps
from shared import messages as say
from shared.protocol import ProtocolError


def push(store: Store, device_id: int, event: str, payload: dict[str, Any]) -> int:
    """Persist an event for a device (inside a write); returns its seq."""
    store.execute("UPDATE devices SET out_seq = out_seq + 1 WHERE id = ?", (device_id,))
    seq = store.one("SELECT out_seq FROM devices WHERE id = ?", (device_id,))["out_seq"]
    store.execute(
        "INSERT INTO device_events (device_id, seq, event, payload, created_at) VALUES (?, ?, ?, ?, ?)",
        (device_id, seq, event, dumps({**payload, "seq": seq}), now()),
    )
    return seq


def unseen(store: Store, device_id: int, after: int) -> list[tuple[int, str, dict[str, Any]]]:
    """Events with seq above `after`, in order: (seq, event, payload)."""
    rows = store.all(
        "SELECT seq, event, payload FROM device_events WHERE device_id = ? AND seq > ? ORDER BY seq",
        (device_id, after),
    )
    return [(r["seq"], r["event"], json.loads(r["payload"])) for r in rows]


def seen(store: Store, device_id: int, seq: int) -> None:
    """A device's `seen`: forget its events up to seq; ProtocolError if seq was never issued.

    Unlike the connect auth (see mark_seen), a `seen` names an event the device got on
    this link, so a seq above every one issued is a device bug: refused, nothing changes.
    """
    with store.write():
        issued = store.one("SELECT out_seq FROM devices WHERE id = ?", (device_id,))["out_seq"]
        if seq > issued:
            raise ProtocolError("seq_not_issued", say.seq_not_issued(seq, issued))
        mark_seen(store, device_id, seq)


def mark_seen(store: Store, device_id: int, seq: int) -> None:
    """The device has handled everything up to seq: forget those events."""
    with store.write():
        row = store.one("SELECT out_seq, seen_seq FROM devices WHERE id = ?", (device_id,))
        if seq > row["out_seq"]:
            # The device has seen numbers we never sent (our database was restored or
            # rebuilt): number new events above them, or the device would drop them as replays.
            store.execute("UPDATE devices SET out_seq = ? WHERE id = ?", (seq, device_id))
            store.execute("DELETE FROM device_events WHERE device_id = ?", (device_id,))
        if seq > row["seen_seq"]:
            store.execute("UPDATE devices SET seen_seq = ? WHERE id = ?", (seq, device_id))
            store.execute(
                "DELETE FROM device_events WHERE device_id = ? AND seq <= ?", (device_id, seq)
            )
