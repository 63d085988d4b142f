"""Namespace /device: handhelds and pack stations. Each handler: decode, use case, reply.

A python-socketio namespace, not a Flask-SocketIO one: a device event needs no Flask
request context (no URL routing, no cookie session), and building one for every scan
cost more than the scan's own reads.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError

from server.core.clock import now
from server.floor import actions, outbox, scanning, screens, views, work
from server.floor.domain.floor import pick_list_ref
from server.people import auth
from server.realtime.hub import Hub, device_room
from server.realtime.wire import UNREADABLE, Encoded
from server.runtime import httpd, metrics
from server.shipping import packages
from shared import messages as say
from shared.protocol import (
    CLIENT_EVENTS,
    DEVICE_NAMESPACE,
    PROTOCOL_VERSION,
    Ack,
    ActionIn,
    ConnectAuth,
    PrintResultIn,
    ProtocolError,
    ReplacedEvent,
    ScanIn,
    SeenIn,
    dump,
    parse,
)

log = logging.getLogger("scanfloor.device")


def _refusal(data: Any, err: ProtocolError) -> dict:
    msg_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    return dump(Ack(id=msg_id, ok=False, error=err.body()))


NOT_CONNECTED = ProtocolError("not_connected", "connect with a device token first")


def answer_before_connect(server: socketio.Server) -> None:
    """An event on /device from a link that has not joined it (no connect, or one refused)
    gets the error ack `not_connected`: python-socketio itself drops such an event, before
    any handler, and the sender got no answer at all. Every other event goes on to the
    library's own `Server._handle_event` as before."""
    library_handle_event = server._handle_event

    def handle_event(eio_sid: str, namespace: str | None, ack_id: int | None, data: list) -> None:
        if namespace == DEVICE_NAMESPACE and ack_id is not None:
            sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
            if not server.manager.is_connected(sid, namespace):
                refusal = _refusal(data[1] if len(data) > 1 else None, NOT_CONNECTED)
                ack = socketio.packet.ACK
                server._send_packet(
                    eio_sid,
                    server.packet_class(ack, namespace=namespace, id=ack_id, data=[refusal]),
                )
                return
        library_handle_event(eio_sid, namespace, ack_id, data)

    server._handle_event = handle_event


class DeviceNamespace(socketio.Namespace):
    def __init__(self, namespace: str, hub: Hub, floor_metrics: metrics.FloorMetrics | None = None):
        super().__init__(namespace)
        self.hub = hub
        self.store = hub.store
        self.metrics = floor_metrics
        self.devices: dict[str, int] = {}  # sid -> device id
        # device id -> its links held here (one, but for the moment a newer link takes over):
        # a connect finds the older links of its device without a scan over every link.
        self.links: dict[int, set[str]] = {}
        self.link_tokens: dict[str, str] = {}  # sid -> the hash of the token it connected with
        hub.cut_links = self.cut_stale_links

    # ------------------------------------------------------------ link
    def on_connect(self, sid: str, environ: dict, auth_data: Any = None) -> bool:
        try:
            return self._connect(sid, auth_data)
        finally:  # signed in or refused: the next connection's handshake may start
            httpd.signed_in(environ)

    def _connect(self, sid: str, auth_data: Any) -> bool:
        try:
            creds = parse(ConnectAuth, auth_data)
        except ProtocolError as err:
            raise ConnectionRefusedError(f"bad connect auth: {err.message}") from None
        device = auth.device_for_token(self.store, creds.token)
        if device is None or device["revoked"]:
            raise ConnectionRefusedError(auth.token_refusal(self.store, creds.token))
        did = device["id"]
        older = list(self.links.get(did, ()))
        # First: closing an older link must not mark the device offline.
        self.devices[sid] = did
        self.links.setdefault(did, set()).add(sid)
        self.link_tokens[sid] = auth.link_token(creds.token)
        if self.metrics is not None:
            self.metrics.device_connected(sid, device["role"])
        self._close_older_links(sid, did, older)
        self.enter_room(sid, device_room(did))
        # In the group commit: a sign-in storm's connects share commits, and the fsync is
        # not paid on the loop once per connect; in its second lane, so the scans of the
        # devices already signed in go first (server/store/group.py).
        given = self.store.grouped(lambda: self._link_up(did, device, creds), urgent=False)
        self.hub.connected(did, creds.last_seen_seq)
        log.info(
            "device %s (%s) connected, last seen seq %s",
            device["name"],
            device["role"],
            creds.last_seen_seq,
        )
        # Events go out once the client holds the connection: anything emitted from this
        # handler would reach it before the namespace's CONNECT packet.
        self.hub.socketio.start_background_task(self._welcome, did, device, given)
        return True

    def _link_up(self, did: int, device: dict, creds: ConnectAuth) -> int | None:
        """The connect's one write: the device online, what it saw, its work and first screen."""
        self.store.execute(
            "UPDATE devices SET connected = 1, link_owner = ?, last_seen = ?, "
            "journal_seq = COALESCE(?, journal_seq), software = COALESCE(?, software) "
            "WHERE id = ?",
            (self.hub.instance, now(), creds.journal_seq, creds.device_version, did),
        )
        outbox.mark_seen(self.store, did, creds.last_seen_seq)
        # An idle picker's work goes into the first screen it is sent (one indexed read).
        given = work.work_on_connect(self.store, device)
        note = f"Connected: new pick list {pick_list_ref(given)}" if given else "Connected"
        screens.push_state(self.store, did, message=note)
        return given

    def _close_older_links(self, sid: str, did: int, older: list[str]) -> None:
        """The newest connection with a token wins: older links are told why, then closed."""
        # To the device's room before this link joins it, so a link held by another process
        # (behind a message queue) hears it too; a device told so closes its link itself.
        # Never to this link: with a message queue the emit reaches this process late, when
        # this link may have joined the room already.
        self.emit(
            "replaced",
            dump(ReplacedEvent(message=say.replaced())),
            room=device_room(did),
            skip_sid=sid,
        )
        for other in older:
            log.info("device %s connected again: closing its older link %s", did, other)
            self.disconnect(other)

    def _welcome(self, did: int, device: dict, given: int | None) -> None:
        """After a connect: what the device missed and its screen."""
        self.hub.deliver(did)
        self.hub.board_changed(lists=() if given is None else (given,), devices=(did,))

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.metrics is not None:
            self.metrics.device_disconnected(sid)
        did = self.devices.pop(sid, None)
        self.link_tokens.pop(sid, None)
        if did is None:
            return
        held = self.links.get(did)
        if held is not None:
            held.discard(sid)
        if not held:
            self.links.pop(did, None)
            self.hub.disconnected(did)
            # Only our own link: the device may hold a newer one on another process by now.
            self.store.grouped(
                lambda: self.store.execute(
                    """UPDATE devices SET connected = 0, link_owner = NULL, last_seen = ?
                       WHERE id = ? AND COALESCE(link_owner, ?) = ?""",
                    (now(), did, self.hub.instance, self.hub.instance),
                ),
                urgent=False,
            )
        self.hub.board_changed(devices=(did,))

    def cut_stale_links(self, device_ids: Any = None) -> set[str]:
        """Disconnect the links held here whose token was revoked or replaced since they
        connected (`device_ids`: only those devices). Returns their warehouses."""
        if device_ids is None:
            held = dict(self.devices)
        else:
            held = {sid: did for did in set(device_ids) for sid in self.links.get(did, ())}
        if not held:
            return set()
        marks = ",".join("?" * len(set(held.values())))
        # Only devices ever revoked or rotated come back: the rest keep their links.
        rows = {
            r["id"]: r
            for r in self.store.all(
                f"SELECT id, name, warehouse, token_hash, revoked FROM devices "
                f"WHERE id IN ({marks}) AND (revoked = 1 OR token_rotated_at IS NOT NULL)",
                tuple(sorted(set(held.values()))),
            )
        }
        warehouses: set[str] = set()
        for sid, did in held.items():
            row = rows.get(did)
            if row is None:
                continue
            if not row["revoked"] and row["token_hash"] == self.link_tokens.get(sid):
                continue
            why = "revoked" if row["revoked"] else "given a new token"
            log.info("device %s was %s: cutting its link %s", row["name"], why, sid)
            warehouses.add(row["warehouse"])
            self.disconnect(sid)
        return warehouses

    def _device_row(self, did: int) -> dict:
        """The device's row, with its list's head and count task (one read, in the write)."""
        return views.device_at_work(self.store, did)

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Route an event; one the protocol does not name gets a clear error, not silence."""
        if event in ("connect", "disconnect"):
            return super().trigger_event(event, *args)
        data = args[1] if len(args) > 1 else None
        if event == UNREADABLE:
            reason = data.get("reason") if isinstance(data, dict) else "?"
            return _refusal(None, ProtocolError("bad_message", f"unreadable message: {reason}"))
        if event not in CLIENT_EVENTS:
            return _refusal(
                data,
                ProtocolError(
                    "unknown_event", f"no event {event!r} in protocol v{PROTOCOL_VERSION}"
                ),
            )
        if args[0] not in self.devices:  # args[0] is the sid
            return _refusal(data, NOT_CONNECTED)
        if len(args) != 2:  # the sid and one message: a handler called otherwise would raise
            got = len(args) - 1
            return _refusal(
                data,
                ProtocolError("bad_message", f"expected one message after {event!r}, got {got}"),
            )
        return super().trigger_event(event, *args)

    # ------------------------------------------------------------ events
    @metrics.timed_scan
    def on_scan(self, sid: str, data: Any) -> dict:
        try:
            msg = parse(ScanIn, data)
        except ProtocolError as err:
            return _refusal(data, err)
        did = self.devices[sid]
        try:
            reply, effects, text = self.store.grouped(
                lambda: scanning.handle_scan(
                    self.store, views.device_at_work(self.store, did, msg.id), msg
                )
            )
        except ProtocolError as err:  # e.g. id_reused: the id named another event
            return _refusal(data, err)
        self.hub.apply(effects, did)
        if text is None:  # a repeat
            return dump(reply)
        # The JSON stored for a repeat is the JSON sent: the reply is serialised once.
        return Encoded(text, {"code": reply.code, "ok": reply.ok, "duplicate": False})

    def on_action(self, sid: str, data: Any) -> dict:
        try:
            msg = parse(ActionIn, data)
        except ProtocolError as err:
            return _refusal(data, err)
        did = self.devices[sid]
        try:
            ack, effects = self.store.grouped(
                lambda: actions.handle_action(self.store, self._device_row(did), msg)
            )
        except ProtocolError as err:
            return _refusal(data, err)
        self.hub.apply(effects, did)
        return dump(ack)

    def on_print_result(self, sid: str, data: Any) -> dict:
        try:
            msg = parse(PrintResultIn, data)
        except ProtocolError as err:
            return _refusal(data, err)
        did = self.devices[sid]
        if not self.store.grouped(
            lambda: packages.print_result(self.store, did, msg.job_id, msg.ok, msg.error)
        ):
            return _refusal(
                data, ProtocolError("unknown_job", f"print job {msg.job_id} is not this device's")
            )
        self.hub.board_changed(devices=(did,), full=not msg.ok)
        return dump(Ack(id=msg.id, ok=True))

    def on_seen(self, sid: str, data: Any) -> dict:
        try:
            msg = parse(SeenIn, data)
        except ProtocolError as err:
            return _refusal(data, err)
        did = self.devices[sid]
        try:
            self.store.grouped(lambda: outbox.seen(self.store, did, msg.seq))
        except ProtocolError as err:
            return _refusal(data, err)
        return dump(Ack(id=msg.id, ok=True))
