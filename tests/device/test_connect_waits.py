"""The first connect's backoff (docs/protocol.md: 0.5 s doubling to 5 s, randomised)."""

from __future__ import annotations

import itertools
import random

from device.client import connect_waits


def test_the_waits_double_from_half_a_second_to_five_within_half_either_way():
    waits = list(itertools.islice(connect_waits(random.Random(7).random), 40))
    base = [0.5, 1.0, 2.0, 4.0] + [5.0] * 36
    for wait, middle in zip(waits, base, strict=True):
        assert 0.5 * middle <= wait <= 1.5 * middle


def test_handhelds_started_together_do_not_wait_in_step():
    floor = [list(itertools.islice(connect_waits(random.Random(n).random), 6)) for n in range(50)]
    for attempt in range(6):
        # Fifty handhelds' waits before the same attempt spread over most of the window.
        at = sorted(device[attempt] for device in floor)
        assert at[-1] - at[0] > 0.5 * at[len(at) // 2]
