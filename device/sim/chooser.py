"""What a simulated worker scans next on a screen: the demo's workers and the load fleet share it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

WRONG_BARCODES = ("WRONG-0000", "4006381333931", "Z-99-99")


class ScanChooser:
    """What a person looking at a screen would scan next; now and then the wrong thing."""

    def __init__(self, rng: random.Random, wrong_scan_rate: float, tote_base: int):
        self.rng = rng
        self.wrong_scan_rate = wrong_scan_rate
        self.next_tote = tote_base
        self.bench = tote_base // 1000  # which bench of the fleet: where it reaches in the pile
        self.wrong = 0
        self._tried: set[str] = set()

    def choose(
        self,
        screen: str,
        expected: Sequence[str],
        order_id: str | None,
        printed_orders: Callable[[], Iterable[str]],
    ) -> str | None:
        """The barcode to scan on a screen (`DeviceState.screen`, `.expect.barcodes`,
        `.order_id`), or None: wait for the screen to change.

        `printed_orders` tells which orders' labels came out of the printer: a packer
        scans a label only once it has one in hand.
        """
        if (
            screen in ("pick_location", "pick_item", "pick_put", "pack_verify")
            and self.rng.random() < self.wrong_scan_rate
        ):
            self.wrong += 1
            return self.rng.choice(WRONG_BARCODES)
        if screen == "pick_tote":
            self.next_tote += 1
            return f"TOTE-{self.next_tote}"
        if screen in ("pick_location", "pick_item", "pick_put", "pack_verify") and expected:
            return expected[0]
        if screen == "pick_done" and expected:
            return expected[0]  # the totes are at packing: the drop-off is confirmed
        if screen == "pack_start":
            # Try each waiting tote once per screen; another bench may have taken it. Each
            # bench starts at its own place in the list, as packers reach into the pile at
            # different ends: all taking the first tote mostly meet it on another bench.
            k = self.bench % len(expected) if expected else 0
            for tote in [*expected[k:], *expected[:k]]:
                if tote not in self._tried:
                    self._tried.add(tote)
                    return tote
            self._tried.clear()
            return None
        if screen == "pack_label" and expected and order_id in printed_orders():
            self._tried.clear()
            return expected[0]
        return None
