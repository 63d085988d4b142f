"""`scanfloor demo`'s options: a value out of range is a usage error before anything is made."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from scripts.demo.__main__ import demo


@pytest.mark.parametrize(
    "option, value, said",
    [
        ("--wrong-rate", "5", "Invalid value for '--wrong-rate': 5.0 is not in the range 0<=x<=1."),
        ("--wrong-rate", "-0.1", "Invalid value for '--wrong-rate'"),
        ("--timeout", "0", "Invalid value for '--timeout': 0.0 is not in the range x>0."),
    ],
)
def test_an_option_out_of_range_is_refused_and_nothing_is_made(tmp_path, option, value, said):
    # Once taken: a wrong-rate of 5 seeded the site (and, without --seed-only, started the
    # server, then every simulated device refused its wrong_scan_rate).
    out = tmp_path / "demo"
    result = CliRunner().invoke(demo, ["--out", str(out), "--seed-only", option, value])
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert not out.exists()
