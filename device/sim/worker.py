"""A simulated worker: reads each instruction on the device and scans what it asks.

It stands where a person would: it sees the screen's state, waits a moment,
and pulls the trigger on the device's fake scanner. Now and then it scans the
wrong thing, so the error paths of the floor run too. It keeps going while the
link is down, as a person would: the device guides it from the steps it holds.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from device.client import DeviceClient
from device.config import SimulateSettings
from device.drivers import FakeScanner
from shared.protocol import DeviceState

WRONG_BARCODES = ("WRONG-0000", "4006381333931", "Z-99-99")


class SimulatedWorker:
    """Drives a device's FakeScanner from its screen state."""

    def __init__(
        self, client: DeviceClient, scanner: FakeScanner, cfg: SimulateSettings, tote_base: int
    ):
        self.client = client
        self.scanner = scanner
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.next_tote = tote_base
        self.wrong = 0
        self._turn = threading.Event()
        self._stop = threading.Event()
        self._tried: set[str] = set()
        client.listeners.append(self._on_event)
        self._thread = threading.Thread(target=self._run, name="sim-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._turn.set()

    def _on_event(self, kind: str, payload: Any) -> None:
        if kind in ("state", "reply", "local", "ack", "printed", "link"):
            self._turn.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._turn.wait(1.0)
            self._turn.clear()
            state = self.client.state
            if state is None or self.client.busy():
                continue  # the last scan has no answer yet (server's or device's): wait
            if state.screen.startswith("pack") and not self.client.online:
                continue  # packing needs the server: a packer waits for the link
            barcode = self._choose(state)
            if barcode is None:
                continue
            time.sleep(self.cfg.think_seconds)
            if self.client.state is not state:
                self._turn.set()
                continue  # the screen changed while thinking: look again
            self.scanner.inject(barcode)

    def _choose(self, state: DeviceState) -> str | None:
        """What a person looking at this screen would scan next (or None: wait)."""
        expected = state.expect.barcodes
        if (
            state.screen in ("pick_location", "pick_item", "pick_put", "pack_verify")
            and self.rng.random() < self.cfg.wrong_scan_rate
        ):
            self.wrong += 1
            return self.rng.choice(WRONG_BARCODES)
        if state.screen == "pick_tote":
            self.next_tote += 1
            return f"TOTE-{self.next_tote}"
        if state.screen in ("pick_location", "pick_item", "pick_put", "pack_verify") and expected:
            return expected[0]
        if state.screen == "pack_start":
            # Try each waiting tote once per screen; another bench may have taken it.
            for tote in expected:
                if tote not in self._tried:
                    self._tried.add(tote)
                    return tote
            self._tried.clear()
            return None
        if (
            state.screen == "pack_label"
            and expected
            and state.order_id in self.client.journal.printed_orders()
        ):
            self._tried.clear()
            return expected[0]
        return None
