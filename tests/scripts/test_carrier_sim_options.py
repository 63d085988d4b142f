"""`scanfloor carrier-sim`'s options: a value out of range is a usage error before anything is
posted."""

from __future__ import annotations

from click.testing import CliRunner

from scripts.carrier_sim import main
from scripts.demo.procs import free_port
from server.notify.webhooks import new_secret


def test_a_negative_pause_is_refused_before_anything_is_posted():
    # Once taken: the first round of events was posted, then time.sleep(-1) failed.
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: any request would fail otherwise
    args = ["--url", url, "--secret", new_secret(), "--tracking", "SF123", "--pause", "-1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--pause': -1.0 is not in the range x>=0." in result.output
