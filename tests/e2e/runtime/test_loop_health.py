"""The real server process measures its own loop: the probe's histogram moves, a stop shows as a stall."""

from __future__ import annotations

import os
import signal
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_serving_loop_is_probed_and_a_stop_shows_as_a_stall(server_proc, tmp_path):
    base = server_proc(tmp_path / "data")
    first = scrape(base)
    time.sleep(0.5)
    second = scrape(base)
    woken = value(second, "scanfloor_loop_lateness_seconds_count") - value(
        first, "scanfloor_loop_lateness_seconds_count"
    )
    assert woken >= 10  # a probe every 10 ms: about 50 in half a second, fewer on a busy box
    for g in "012":  # the collector is timed (an idle server may not have collected yet)
        assert ("scanfloor_gc_pause_seconds_count", (("generation", g),)) in second
    assert "gc.freeze (start-up)" in server_proc.log(base)

    # The whole process stopped for 0.6 s (as a long collection stops it): the probe sees it.
    pid = server_proc.procs[base].pid
    os.kill(pid, signal.SIGSTOP)
    time.sleep(0.6)
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.1)
    after = scrape(base)
    assert value(after, "scanfloor_loop_stall_max_seconds") >= 0.5
    assert value(after, "scanfloor_loop_stall_recent_seconds") >= 0.5
    assert value(after, "scanfloor_loop_lateness_seconds_bucket", le="0.5") < value(
        after, "scanfloor_loop_lateness_seconds_bucket", le="+Inf"
    )
