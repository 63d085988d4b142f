"""Scans on the device: journalled first, judged here when the server cannot answer, sent in order.

Each scan (and each worker action: short pick, help, log out) is written to the
journal before anything else, then sent one at a time in journal order with an
acknowledgement; an unanswered one is resent with the same id (the server
applies an id once). When the server cannot answer (link down, or no answer
within `offline_after` seconds) the device judges the waiting scans itself
against the steps it holds (`device.offline`) and keeps guiding the worker.
The server judges them again on replay and its word wins: the screen is always
the server's latest state plus the scans it has not answered yet, and a
verdict the server overrules is shown in red ("Changed while offline"). A scan
judged here while the answer to its first send was still on the way is sent
once more with its verdict, so the server's audit has what the worker saw.

`ScanFlow` is mixed into `DeviceClient`, which owns the attributes declared here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import socketio
from pydantic import ValidationError

from device import offline
from device.config import DeviceSettings
from device.drivers import Scale, ScaleError, Scanner, ScannerError
from device.journal import Entry, Journal
from device.screen import Screen
from shared import messages as say
from shared import picking as picking_rules
from shared.commands import read_card
from shared.protocol import (
    DEVICE_NAMESPACE,
    Ack,
    ActionIn,
    DeviceState,
    ErrorBody,
    LocalVerdict,
    ProtocolError,
    ScanIn,
    ScanReply,
    barcode_problem,
    dump,
    parse,
)

log = logging.getLogger("scanfloor.device")
NS = DEVICE_NAMESPACE


def parse_command(barcode: str) -> str | None:
    """A command card's action as the journal keeps it: `help`, `help::REASON`, `logout`,
    `short:FOUND:REASON`.

    `CMD-SHORT` is a short pick with no count yet (`short::empty`: FOUND empty), a
    question; `CMD-SHORT-DAMAGED` (or `-EMPTY`, `-MISSING`, `-WRONG`) the same with a
    reason; `CMD-COUNT-2` (or `CMD-SHORT-2`) says 2 units are in the bin (`short:2:missing`).
    On the question's screen the device turns `CMD-SHORT` into the answer "empty"
    (`short:0:REASON`). The cards are listed once, in `shared/commands.py`.
    """
    card = read_card(barcode)
    if card is None:
        return None
    if card.action == "short":
        found = "" if card.found is None else card.found
        return f"short:{found}:{card.reason or 'empty'}"
    if card.reason:  # help, return_grade: the same form as a short, no count, a reason
        return f"{card.action}::{card.reason}"
    return card.action


# What a taken request did, said when its answer comes. The others (short pick, log in and
# out, receiving) are followed by a `state` event whose message says it better.
ACTION_DONE = {
    "help": lambda state: say.help_requested(),
    "reprint": lambda state: say.label_sent_again(state.order_id if state else None),
}


class ScanFlow:
    """The scan half of a device client: journal, local verdicts, sending, answers."""

    settings: DeviceSettings
    scanner: Scanner
    scale: Scale | None
    screen: Screen
    journal: Journal
    sio: socketio.Client
    state: DeviceState | None
    server_state: DeviceState | None
    server_version: tuple[int, int]
    rtts: list[float]
    wrong_scans: int
    offline_scans: int
    conflicts: int
    _stop: threading.Event
    _online: threading.Event
    _flow: threading.RLock
    _emit: Callable[[str, Any], None]
    _show_status: Callable[[], None]
    signed_out: bool
    take_over: Callable[[], None]
    _asked_reason: str | None  # the reason card a short pick was asked with
    _drop: DeviceState | None  # a finished list whose totes are not yet confirmed at packing

    def busy(self) -> bool:
        """A scan is waiting for its first answer (from the server or the device)."""
        return any(not e.judged for e in self.journal.pending())

    # ------------------------------------------------------------ the screen's state
    def _load_server_state(self) -> tuple[DeviceState | None, tuple[int, int]]:
        saved = self.journal.get_meta("server_state")
        if not saved:
            return None, (0, 0)
        data = json.loads(saved)
        return DeviceState.model_validate(data["state"]), tuple(data["version"])

    def _judged_scans(self) -> list[tuple[str, int | None, int | None]]:
        return [
            (e.barcode, e.list_id, e.move_id)
            for e in self.journal.pending()
            if e.judged and e.kind == "scan"
        ]

    def _offer_state(self, state: DeviceState | None, version: tuple[int, int]) -> bool:
        """Keep a state from the server if it is not older than the one held."""
        if state is None or version < self.server_version:
            return False
        self.server_state, self.server_version = state, version
        self.journal.set_meta(
            "server_state", json.dumps({"version": version, "state": state.model_dump(mode="json")})
        )
        return True

    def _rebase(self) -> None:
        """Show the server's state plus every scan the device judged that it has not answered."""
        self._set_display(self._shown_state())

    def _shown_state(self) -> DeviceState | None:
        """What the worker sees: a finished list's drop-off until it is confirmed, else the
        server's state plus the scans it has not answered (a list already dropped off shows
        as waiting for work, not as its drop-off again)."""
        if self._drop is not None:
            return self._drop
        state = offline.replay(self.server_state, self._judged_scans())
        if (
            state is not None
            and state.screen == "pick_done"
            and str(state.pick_list_id) == self.journal.get_meta("dropped_list")
        ):
            return picking_rules.idle()
        return state

    # ------------------------------------------------------------ the drop-off
    def _load_drop_off(self) -> DeviceState | None:
        saved = self.journal.get_meta("drop_off")
        return DeviceState.model_validate_json(saved) if saved else None

    def _start_drop_off(self, done: DeviceState | None) -> None:
        """A list is done: its totes go to packing first; the next list waits for the picker
        to say so (a scan of one of the totes), and a restart keeps it on screen."""
        if done is None or done.pick_list_id is None:
            return
        self._drop = picking_rules.drop_off(done) if done.screen != "pick_done" else done
        self.journal.set_meta("drop_off", self._drop.model_dump_json())

    def _confirm_drop_off(self, barcode: str) -> None:
        """A scan while the drop-off shows: a tote of the list confirms it, anything else is
        refused (it would otherwise start the next list with a full tote on the cart)."""
        drop = self._drop
        totes = list(drop.expect.barcodes) if drop is not None else []
        if picking_rules.read_scan(barcode)[0] not in totes:
            self.wrong_scans += 1
            self.screen.scan_result(False, say.drop_off_first(totes), "drop_off_first")
            return
        with self._flow:
            self._drop = None
            self.journal.set_meta("drop_off", "")
            self.journal.set_meta("dropped_list", str(drop.pick_list_id))
            self._rebase()
        self.screen.scan_result(True, say.dropped_off(totes))

    def _set_display(self, state: DeviceState | None) -> None:
        self.state = state
        self.screen.show(state)
        self._emit("state", state)

    # ------------------------------------------------------------ scans and actions
    def _read_scans(self) -> None:
        # A scanner that fails is tried again every second (one unplugged may come back); the
        # log says a problem once, not every second, and says when the scanner works again.
        problem = None
        while not self._stop.is_set():
            try:
                barcode = self.scanner.read(timeout=0.5)
            except ScannerError as exc:
                if self._stop.is_set():
                    return
                if str(exc) != problem:
                    problem = str(exc)
                    log.warning("scanner: %s (trying again every second)", exc)
                self._stop.wait(1)
                continue
            if problem is not None:
                problem = None
                log.warning("scanner: working again")
            if barcode:
                self.scan(barcode)

    def scan(self, barcode: str) -> None:
        """A scan from the scanner: to disk first, then judged or sent."""
        action = parse_command(barcode)
        problem = None if action else barcode_problem(barcode)
        if problem is not None:
            # No `scan` message can carry it (too long, a character outside printable ASCII
            # and GS): journalled, it would fail to send on every try and hold up the rest.
            log.warning("barcode %r not sent: %s", barcode, problem)
            self.screen.scan_result(False, say.barcode_not_sent(barcode))
            return
        if self.signed_out:
            if action != "login":
                # Another handheld holds this token now: a scan here would count on its cart.
                self.screen.scan_result(False, say.replaced_on_device(), "replaced")
                return
            self.take_over()
        if action is None and self._drop is not None:
            self._confirm_drop_off(barcode)  # the device's own step: nothing goes to the server
            return
        if action is not None and action.startswith("short:"):
            action = self._short_card(action)
            if action is None:
                return  # a question the device answered itself (offline), or nothing to short
        weight = None
        if action is None and self._weighs(barcode):
            weight = self._weigh()
            if weight is None:
                self.screen.scan_result(False, say.scale_not_steady())
                return
        with self._flow:
            s = self.state
            list_id = s.pick_list_id if s else None
            if action:
                step_id = s.step.step_id if s and s.step else None
                self.journal.append(action, kind="action", list_id=list_id, step_id=step_id)
            else:
                self.journal.append(barcode, list_id=list_id, weight_g=weight)
            self._show_status()
            # Offline, or behind scans the device already judged: judge this one here too.
            pending = self.journal.pending()
            if not self._online.is_set() or any(e.judged for e in pending):
                self._judge_waiting()
                if action and self.state is not None and self.state.screen == "pick_short":
                    # Answered offline: back at the bin until the server says what it did.
                    self._set_display(picking_rules.at_bin(self.state))

    def _weighs(self, barcode: str) -> bool:
        """A label scanned on a bench with a scale: the package on the scale is weighed with it."""
        s = self.state
        return (
            self.scale is not None
            and s is not None
            and s.screen in ("pack_label", "pack_check")
            # As the server reads it: without an AIM prefix (`]C0`) and the like.
            and picking_rules.read_scan(barcode)[0] in s.expect.barcodes
        )

    def _weigh(self) -> int | None:
        try:
            return self.scale.stable_weight(timeout=self.settings.scale_wait)
        except ScaleError as exc:
            log.warning("scale: %s", exc)
            return None

    def _short_card(self, action: str) -> str | None:
        """A short card as sent: a question (no count) at the bin, the answer on the question's
        screen. Offline the device asks the question itself and sends nothing."""
        _, found, reason = action.split(":")
        s = self.state
        if s is not None and s.screen == "pick_short":
            if self._asked_reason and reason in ("empty", "missing"):
                reason = self._asked_reason  # CMD-SHORT-DAMAGED, then the count: damaged
            self._asked_reason = None
            return f"short:{found or 0}:{reason}"
        if found:
            return action  # a count at the bin is its own answer
        self._asked_reason = None if reason == "empty" else reason
        if self._online.is_set():
            return action  # the server asks, saying where the rest would come from
        asked = picking_rules.ask_short(s, say.short_plan_offline())
        if asked is None:
            self.screen.scan_result(False, say.short_nothing_to_do())
        else:
            with self._flow:
                self._set_display(asked)
        return None

    def _judge_waiting(self) -> None:
        """Give the worker the device's own verdict on every scan still waiting for one."""
        for e in self.journal.pending():
            if e.judged:
                continue
            list_id = self.state.pick_list_id if self.state else None
            if e.kind == "action":
                self.journal.judged(e.msg_id, None, offline.QUEUED, e.list_id)
                name = e.barcode.partition(":")[0].capitalize()
                self.screen.notice(f"{name} request saved: sent when back online")
                continue
            move_id = self.state.move.task_id if self.state and self.state.move else None
            verdict = offline.judge(self.state, e.barcode)
            self.journal.judged(e.msg_id, verdict.ok, verdict.code, list_id, move_id)
            self.offline_scans += 1
            if verdict.code == "list_done":
                self._start_drop_off(verdict.state)
            if verdict.state is not self.state:
                self._set_display(self._drop if verdict.code == "list_done" else verdict.state)
            if verdict.ok is None:
                self.screen.notice(offline.queued_message(self.journal.counts()["waiting"]))
            else:
                self.wrong_scans += not verdict.ok
                self.screen.scan_result(verdict.ok, verdict.message, verdict.code)
            self._emit("local", verdict)

    def _send_scans(self) -> None:
        while not self._stop.is_set():
            if not self.journal.wait_for_pending(0.5) or not self._online.wait(0.5):
                continue
            with self._flow:
                pending = self.journal.pending()
            if pending and not self._send_one(pending[0]):
                self._stop.wait(0.3)

    def _payload(self, e: Entry) -> tuple[str, dict]:
        if e.kind == "action":
            action, _, detail = e.barcode.partition(":")
            found, _, reason = detail.partition(":")
            msg = ActionIn(
                id=e.msg_id, action=action, at=e.at, seq=e.seq, offline=e.judged,
                pick_list_id=e.list_id, step_id=e.step_id,
                found=int(found) if found else None, reason=reason or None,
            )  # fmt: skip
            return "action", dump(msg)
        local = LocalVerdict(ok=e.local_ok, code=e.local_code) if e.local_ok is not None else None
        # The list it was judged on, so the server can refuse it if that list is gone; a scan
        # not judged here is judged by the server against whatever the device holds now.
        msg = ScanIn(
            id=e.msg_id, barcode=e.barcode, at=e.at, seq=e.seq, offline=e.judged, local=local,
            pick_list_id=e.list_id if e.judged else None, weight_g=e.weight_g,
            move_id=e.move_id if e.judged else None,
        )  # fmt: skip
        return "scan", dump(msg)

    def _send_one(self, entry: Entry) -> bool:
        """Send one journal entry and handle its answer; False to try again later."""
        try:
            event, payload = self._payload(entry)
        except ValidationError as exc:
            # Journalled before the device checked barcodes: answer it here, or it would
            # fail on every try and hold up every entry behind it.
            log.warning("journal entry %s cannot be sent: %s", entry.msg_id, exc)
            error = ErrorBody(code="bad_message", message=say.barcode_not_sent(entry.barcode))
            with self._flow:
                self._on_answer(entry, dump(Ack(id=entry.msg_id, ok=False, error=error)), 0.0)
            return True
        t0 = time.monotonic()
        got = self._call(event, payload, entry)
        if got is None:
            return False  # resent with the same id later
        rtt = time.monotonic() - t0
        now = {e.msg_id: e for e in self.journal.pending()}.get(entry.msg_id)
        # A slow link: the answer came after the worker got the device's own verdict. Send it
        # again (same id: applied once) so the server's audit keeps that verdict.
        late = event == "scan" and not payload["offline"] and now is not None and now.judged
        if late and self._call(event, self._payload(now)[1], now) is None:
            return False
        with self._flow:
            self._on_answer(entry, got[0] if got else None, rtt)
        return True

    def _call(self, event: str, payload: dict, entry: Entry) -> list[Any] | None:
        """Emit and wait for the answer's arguments; None if none came (the link went, or
        too slow). Past `offline_after` the worker gets the device's own verdict meanwhile."""
        got: list[Any] = []
        answered = threading.Event()
        t0 = time.monotonic()
        try:
            self.sio.emit(
                event, payload, namespace=NS, callback=lambda *a: (got.extend(a), answered.set())
            )
        except socketio.exceptions.BadNamespaceError:
            return None
        judge_at = t0 + self.settings.offline_after
        while not answered.wait(0.05):
            now = time.monotonic()
            if self._stop.is_set() or not self._online.is_set():
                return None  # the link went: resend with the same id after reconnecting
            if now - t0 > self.settings.reply_timeout:
                log.info("%s %s not acknowledged; will resend", event, entry.msg_id)
                return None
            if now > judge_at and not entry.judged:
                with self._flow:  # the worker should not wait on a slow link
                    self._judge_waiting()
                judge_at = float("inf")
        return got

    def _on_answer(self, entry: Entry, raw: Any, rtt: float) -> None:
        now = {e.msg_id: e for e in self.journal.pending()}.get(entry.msg_id, entry)
        self.journal.ack(entry.msg_id, raw if isinstance(raw, dict) else {"raw": raw})
        self._show_status()
        if entry.kind == "action" or not (isinstance(raw, dict) and "state" in raw):
            self._on_ack(now, raw)
            return
        reply = parse(ScanReply, raw)
        self.rtts.append(rtt)
        version = (reply.event_seq if reply.event_seq is not None else self.server_version[0], 1)
        self._offer_state(reply.state, version)
        if not now.judged:
            self.wrong_scans += not reply.ok
            if reply.code == "list_done" and self.state is not None:
                # The next list comes with it: the drop-off of this one is shown first.
                self._start_drop_off(self.state)
            self._rebase()
            self.screen.scan_result(reply.ok, reply.message, reply.code)
        elif now.local_ok is None:  # queued offline without a verdict: only news if it failed
            self._rebase()
            if not reply.ok:
                self.screen.scan_result(False, f"{now.barcode}: {reply.message}")
        elif now.local_ok != reply.ok or (reply.ok and now.local_code != reply.code):
            # The world changed while offline (list reassigned, stock corrected): server wins.
            self.conflicts += 1
            self._rebase()
            self.screen.scan_result(False, f"Changed while offline: {reply.message}")
        elif not self.journal.counts()["waiting"]:
            self._rebase()  # caught up: show the server's own screen (next list, etc.)
        self._emit("reply", reply)

    def _on_ack(self, entry: Entry, raw: Any) -> None:
        try:
            ack = parse(Ack, raw)
        except ProtocolError:
            log.warning("unreadable answer to %s: %r", entry.msg_id, raw)
            return
        if not self.journal.counts()["waiting"]:
            self._rebase()
        name = entry.barcode.partition(":")[0]
        if ack.ok and entry.kind == "action" and name in ACTION_DONE:
            self.screen.notice(ACTION_DONE[name](self.server_state))
        elif not ack.ok:
            self.screen.scan_result(False, ack.error.message if ack.error else "refused")
        self._emit("ack", ack)
