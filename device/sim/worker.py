"""A simulated worker: reads each instruction on the device and scans what it asks.

It stands where a person would: it sees the screen's state, waits a moment,
and pulls the trigger on the device's fake scanner. At a pack station with a
fake scale it puts the package on the scale before scanning its label: the
weight the screen expects, plus the scale's `offset_g` (0 unless a test makes
it weigh wrong). Now and then it scans the
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
from device.drivers import FakeScale, FakeScanner
from device.sim.chooser import ScanChooser


class SimulatedWorker:
    """Drives a device's FakeScanner from its screen state."""

    def __init__(
        self,
        client: DeviceClient,
        scanner: FakeScanner,
        cfg: SimulateSettings,
        tote_base: int,
        scale: FakeScale | None = None,
    ):
        self.client = client
        self.scanner = scanner
        self.scale = scale
        self.cfg = cfg
        self.chooser = ScanChooser(
            random.Random(cfg.seed),
            cfg.wrong_scan_rate,
            tote_base,
            empty=[tuple(e.split()) for e in cfg.empty_on_shelf],
        )
        self._turn = threading.Event()
        self._stop = threading.Event()
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
            barcode = self.chooser.choose(
                state.screen,
                state.expect.barcodes,
                state.order_id,
                self.client.journal.printed_orders,
            )
            if barcode is None:
                continue
            time.sleep(self.cfg.think_seconds)
            if self.client.state is not state:
                self._turn.set()
                continue  # the screen changed while thinking: look again
            if self.scale is not None and state.screen == "pack_label":
                self.scale.put(state.expected_weight_g or 0)
            self.scanner.inject(barcode)
