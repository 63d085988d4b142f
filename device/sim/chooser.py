"""What a simulated worker scans next on a screen: the demo's workers and the load fleet share it.

Besides picking and packing, a worker moves stock to a pick face as a person would (the
reserve bin's label, each unit, the face's label), and reports a short pick where the shelf
lacks what the system says it holds (`empty`: pairs of a bin's label and an item's barcode,
found empty the first time; a face this worker refilled is no longer empty).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

from shared.commands import SHORT  # a short pick: asks how many are in the bin; again: none

WRONG_BARCODES = ("WRONG-0000", "4006381333931", "Z-99-99")


class ScanChooser:
    """What a person looking at a screen would scan next; now and then the wrong thing."""

    def __init__(
        self,
        rng: random.Random,
        wrong_scan_rate: float,
        tote_base: int,
        empty: Iterable[tuple[str, str]] = (),
    ):
        self.rng = rng
        self.wrong_scan_rate = wrong_scan_rate
        self.next_tote = tote_base
        self.bench = tote_base // 1000  # which bench of the fleet: where it reaches in the pile
        self.wrong = 0
        self._tried: set[str] = set()
        self.empty = set(empty)  # (bin label, item barcode) not on the shelf
        self.at_bin: str | None = None  # the bin last asked for on a pick
        self.shorted = 0

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
        if screen == "pick_location" and expected:
            self.at_bin = expected[0]
        if screen == "pick_item" and (missing := self._missing(expected)):
            self.empty.discard(missing)  # said once: the bin is counted and refilled after
            self.shorted += 1
            return SHORT
        if screen == "pick_short":
            return SHORT  # how many are there: none (the short's second CMD-SHORT)
        if screen in ("replen_reserve", "replen_item") and expected:
            return expected[0]
        if screen == "replen_face" and expected:
            self.empty = {e for e in self.empty if e[0] != expected[0]}  # refilled by us
            return expected[0]
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

    def _missing(self, expected: Sequence[str]) -> tuple[str, str] | None:
        """The (bin, item) of this pick found empty on the shelf, if it is one."""
        for item in expected:
            if (self.at_bin, item) in self.empty:
                return (self.at_bin, item)
        return None
